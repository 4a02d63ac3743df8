package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// TestKubectlGetColumns asks the API server for the Table `kubectl get tenants` prints: host,
// ready, backups, last backup (a date, shown as an age), reason (-o wide) and age.
func TestKubectlGetColumns(t *testing.T) {
	f := newFixture(t, "cols")
	f.class()
	tenant := f.tenant("cols-a")
	waitForChildren(t, tenant)
	makeHealthy(t, tenant)
	backupAt := time.Date(2026, 11, 26, 2, 0, 5, 0, time.UTC)
	eventually(t, waitTimeout, "cluster lastSuccessfulBackup", func() error {
		c, err := get(t, &cnpgv1.Cluster{}, tenant.NamespaceName(), resources.PostgresClusterName)
		if err != nil {
			return err
		}
		c.Status.LastSuccessfulBackup = backupAt.Format(time.RFC3339)
		return k8s.Status().Update(context.Background(), c)
	})
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady)

	cs, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	eventually(t, waitTimeout, "table with the last backup", func() error {
		raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis/slotbook.io/v1alpha1/tenants/"+tenant.Name).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &table); err != nil {
			return err
		}
		// The API server renders date columns as ages, as kubectl shows them.
		if want := duration.HumanDuration(time.Since(backupAt)); len(table.Rows) != 1 || table.Rows[0].Cells[4] != want {
			return fmt.Errorf("cells %v, want last backup %s", table.Rows[0].Cells, want)
		}
		return nil
	})
	var names, types []string
	for _, c := range table.ColumnDefinitions {
		if c.Priority == 0 {
			names, types = append(names, c.Name), append(types, c.Type)
		}
	}
	if want := []string{"Name", "Host", "Ready", "Backups", "Last Backup", "Age"}; !slices.Equal(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
	if types[4] != "date" {
		t.Errorf("Last Backup is a %s, want date (shown as an age)", types[4])
	}
	cells := table.Rows[0].Cells
	if cells[1] != tenant.Spec.Host || cells[2] != "True" || cells[3] != "True" {
		t.Errorf("cells %v", cells)
	}
}
