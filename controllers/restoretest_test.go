package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// TestRestoreTestSchedule: when a test starts, and how a running one ends.
func TestRestoreTestSchedule(t *testing.T) {
	created := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) // a Thursday
	sunday4 := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	backup := metav1.NewTime(created.Add(time.Hour))
	tenant := func(mutate func(*slotbookv1alpha1.Tenant)) *slotbookv1alpha1.Tenant {
		tn := &slotbookv1alpha1.Tenant{}
		tn.CreationTimestamp = metav1.NewTime(created)
		tn.Status.LastSuccessfulBackup = &backup
		if mutate != nil {
			mutate(tn)
		}
		return tn
	}
	for _, tc := range []struct {
		name      string
		tenant    *slotbookv1alpha1.Tenant
		now       time.Time
		wantStart bool
		wantWait  time.Duration
	}{
		{"not yet due: the first Sunday 04:00 after creation", tenant(nil), sunday4.Add(-time.Hour), false, time.Hour},
		{"due", tenant(nil), sunday4.Add(time.Minute), true, 0},
		{"due but no backup yet", tenant(func(tn *slotbookv1alpha1.Tenant) { tn.Status.LastSuccessfulBackup = nil }), sunday4.Add(time.Minute), false, restoreTestPoll},
		{"due but suspended", tenant(func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Suspend = true }), sunday4.Add(time.Minute), false, restoreTestPoll},
		{"restore tests suspended", tenant(func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.Postgres.Backup.RestoreTest = &slotbookv1alpha1.RestoreTestSpec{Suspend: true}
		}), sunday4.Add(time.Minute), false, 0},
		{"own schedule", tenant(func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.Postgres.Backup.RestoreTest = &slotbookv1alpha1.RestoreTestSpec{Schedule: "0 30 12 * * *"}
		}), created.Add(31 * time.Minute), true, 0},
		{"the last one started after the latest firing", tenant(func(tn *slotbookv1alpha1.Tenant) {
			tn.Status.RestoreTest = &slotbookv1alpha1.RestoreTestStatus{Phase: slotbookv1alpha1.RestoreTestSucceeded, StartedAt: metav1.NewTime(sunday4.Add(time.Second))}
		}), sunday4.Add(time.Hour), false, 7*24*time.Hour - time.Hour},
		{"a firing while the last one ran does not start another", tenant(func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.Postgres.Backup.RestoreTest = &slotbookv1alpha1.RestoreTestSpec{Schedule: "0 * * * * *"}
			tn.Status.RestoreTest = &slotbookv1alpha1.RestoreTestStatus{Phase: slotbookv1alpha1.RestoreTestSucceeded,
				StartedAt: metav1.NewTime(sunday4.Add(-90 * time.Second)), FinishedAt: &metav1.Time{Time: sunday4.Add(10 * time.Second)}}
		}), sunday4.Add(20 * time.Second), false, 40 * time.Second},
		{"one is running", tenant(func(tn *slotbookv1alpha1.Tenant) {
			tn.Status.RestoreTest = &slotbookv1alpha1.RestoreTestStatus{Phase: slotbookv1alpha1.RestoreTestRunning, StartedAt: metav1.NewTime(sunday4)}
		}), sunday4.Add(8 * 24 * time.Hour), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.tenant.Status.RestoreTest.DeepCopy()
			wait := startRestoreTest(tc.tenant, tc.now)
			started := tc.tenant.Status.RestoreTest != nil && tc.tenant.Status.RestoreTest.Phase == slotbookv1alpha1.RestoreTestRunning &&
				(before == nil || before.Phase != slotbookv1alpha1.RestoreTestRunning)
			if started != tc.wantStart || wait != tc.wantWait {
				t.Fatalf("started %v, wait %s; want %v, %s", started, wait, tc.wantStart, tc.wantWait)
			}
			if started && !tc.tenant.Status.RestoreTest.StartedAt.Time.Equal(tc.now) {
				t.Fatalf("startedAt %s", tc.tenant.Status.RestoreTest.StartedAt)
			}
		})
	}

	running := func() *slotbookv1alpha1.Tenant {
		return tenant(func(tn *slotbookv1alpha1.Tenant) {
			tn.Status.RestoreTest = &slotbookv1alpha1.RestoreTestStatus{Phase: slotbookv1alpha1.RestoreTestRunning, StartedAt: metav1.NewTime(sunday4)}
		})
	}
	cluster := func(phase string, ready int) *cnpgv1.Cluster {
		return &cnpgv1.Cluster{Status: cnpgv1.ClusterStatus{Phase: phase, ReadyInstances: ready, Image: "pg:15.20"}}
	}
	for _, tc := range []struct {
		name      string
		c         *cnpgv1.Cluster
		after     time.Duration
		wantPhase string
	}{
		{"cluster not there yet", nil, time.Minute, slotbookv1alpha1.RestoreTestRunning},
		{"recovering", cluster("Setting up primary", 0), 5 * time.Minute, slotbookv1alpha1.RestoreTestRunning},
		{"healthy and ready", cluster(cnpgv1.PhaseHealthy, 1), 3 * time.Minute, slotbookv1alpha1.RestoreTestSucceeded},
		{"still not ready after the timeout", cluster("Setting up primary", 0), restoreTestTimeout, slotbookv1alpha1.RestoreTestFailed},
		{"never created", nil, restoreTestTimeout + time.Minute, slotbookv1alpha1.RestoreTestFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := running()
			ended := finishRestoreTest(tn, tc.c, sunday4.Add(tc.after))
			rt := tn.Status.RestoreTest
			if rt.Phase != tc.wantPhase || ended != (tc.wantPhase != slotbookv1alpha1.RestoreTestRunning) {
				t.Fatalf("phase %s (ended %v): %s; want %s", rt.Phase, ended, rt.Message, tc.wantPhase)
			}
			if (rt.LastSucceededAt != nil) != (tc.wantPhase == slotbookv1alpha1.RestoreTestSucceeded) || (ended && rt.FinishedAt == nil) {
				t.Fatalf("status %+v", rt)
			}
		})
	}
}

// TestRestoreTestRuns: a due test creates the throw-away cluster recovering the tenant's own
// backups; once CloudNativePG reports it healthy the test succeeds and the cluster goes.
func TestRestoreTestRuns(t *testing.T) {
	f := newFixture(t, "rtest")
	f.class()
	tenant := f.tenant("rtest-a", func(tn *slotbookv1alpha1.Tenant) {
		tn.Spec.Postgres.Backup.RestoreTest = &slotbookv1alpha1.RestoreTestSpec{Schedule: "* * * * * *"} // every second
	})
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()
	if _, err := get(t, &cnpgv1.Cluster{}, ns, resources.RestoreTestClusterName); !apierrors.IsNotFound(err) {
		t.Fatalf("a restore test cluster before there is a backup: %v", err)
	}
	makeHealthy(t, tenant)
	eventually(t, waitTimeout, "a successful backup", func() error {
		c, err := get(t, &cnpgv1.Cluster{}, ns, resources.PostgresClusterName)
		if err != nil {
			return err
		}
		c.Status.LastSuccessfulBackup = time.Now().UTC().Format(time.RFC3339)
		return k8s.Status().Update(context.Background(), c)
	})
	var test *cnpgv1.Cluster
	eventually(t, waitTimeout, "restore test cluster", func() error {
		var err error
		test, err = get(t, &cnpgv1.Cluster{}, ns, resources.RestoreTestClusterName)
		return err
	})
	rec := test.Spec.Bootstrap.Recovery
	if rec == nil || rec.Source != resources.ObjectStoreName || len(test.Spec.Plugins) != 0 || test.Spec.Instances != 1 ||
		test.Spec.ExternalClusters[0].PluginConfiguration.Parameters["serverName"] != resources.PostgresClusterName {
		t.Fatalf("restore test cluster %+v", test.Spec)
	}
	// The status is patched at the end of the reconcile that created the cluster.
	eventually(t, waitTimeout, "status.restoreTest Running", func() error {
		tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
		if err != nil {
			return err
		}
		if rt := tn.Status.RestoreTest; rt == nil || rt.Phase != slotbookv1alpha1.RestoreTestRunning {
			return fmt.Errorf("status.restoreTest %+v", rt)
		}
		return nil
	})

	// CloudNativePG recovered it.
	eventually(t, waitTimeout, "restore test cluster healthy", func() error {
		c, err := get(t, &cnpgv1.Cluster{}, ns, resources.RestoreTestClusterName)
		if err != nil {
			return err
		}
		c.Status.Phase, c.Status.ReadyInstances, c.Status.Image = cnpgv1.PhaseHealthy, 1, "pg:15.20"
		return k8s.Status().Update(context.Background(), c)
	})
	eventually(t, waitTimeout, "test succeeded", func() error {
		tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
		if err != nil {
			return err
		}
		if rt := tn.Status.RestoreTest; rt == nil || rt.LastSucceededAt == nil {
			return fmt.Errorf("status.restoreTest %+v", rt)
		}
		return nil
	})
	// The metric carries the latest finished test's result and end.
	done, _ := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
	if rt := done.Status.RestoreTest; rt.FinishedAt != nil && rt.Phase == slotbookv1alpha1.RestoreTestSucceeded {
		waitForSeries(t, MetricLastRestoreTest, map[string]string{"tenant": tenant.Name},
			map[string]float64{"result=Succeeded,tenant=rtest-a": float64(rt.FinishedAt.Unix())})
	}
	// Suspended: no new test starts; one that started meanwhile (the schedule fires every
	// second) still runs to its end, and then the cluster goes.
	updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Postgres.Backup.RestoreTest.Suspend = true })
	eventually(t, waitTimeout, "restore test cluster deleted", func() error {
		c, err := get(t, &cnpgv1.Cluster{}, ns, resources.RestoreTestClusterName)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil && c.Status.Phase != cnpgv1.PhaseHealthy {
			c.Status.Phase, c.Status.ReadyInstances = cnpgv1.PhaseHealthy, 1
			_ = k8s.Status().Update(context.Background(), c)
		}
		return fmt.Errorf("still there (%v)", err)
	})
	// The cluster is deleted in the reconcile whose status patch ends the test.
	eventually(t, waitTimeout, "no test running", func() error {
		tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
		if err != nil {
			return err
		}
		if rt := tn.Status.RestoreTest; rt.Phase == slotbookv1alpha1.RestoreTestRunning {
			return fmt.Errorf("still running: %+v", rt)
		}
		return nil
	})
}
