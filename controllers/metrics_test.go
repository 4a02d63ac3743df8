package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// series returns the samples of a metric family in controller-runtime's registry (the one the
// operator serves) whose labels include want, as "label=value,..." → value.
func series(t *testing.T, name string, want map[string]string) map[string]float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			var labels []string
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			for k, v := range want {
				if have[k] != v {
					continue metric
				}
			}
			out[strings.Join(labels, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}

// waitForSeries waits until the tenant's series of a metric are exactly want.
func waitForSeries(t *testing.T, name string, labels map[string]string, want map[string]float64) {
	t.Helper()
	eventually(t, waitTimeout, fmt.Sprintf("%s%v", name, labels), func() error {
		got := series(t, name, labels)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("got %v, want %v", got, want)
		}
		return nil
	})
}

func TestScheduleInterval(t *testing.T) {
	for schedule, want := range map[string]time.Duration{
		"0 0 2 * * *":      24 * time.Hour,
		"0 30 */6 * * *":   6 * time.Hour,
		"0 0 2 * * 1,4":    4 * 24 * time.Hour, // Thursday → Monday
		"0 0 3 1 * *":      31 * 24 * time.Hour,
		"*/30 * * * * *":   30 * time.Second,
		"0 0 0 29 2 *":     365 * 24 * time.Hour, // once in 4 years: capped at a year
		"not a schedule":   0,
		"0 0 25 * * *":     0,
		"0 0 2 * * MON-FR": 0,
	} {
		got, ok := scheduleInterval(schedule)
		if got != want || ok != (want > 0) {
			t.Errorf("scheduleInterval(%q) = %s, %v; want %s", schedule, got, ok, want)
		}
	}
}

func TestReconcileErrorsByReason(t *testing.T) {
	before := testutil.ToFloat64(reconcileErrors.WithLabelValues("Apply"))
	other := testutil.ToFloat64(reconcileErrors.WithLabelValues(reconcileErrorReasonOther))
	countReconcileError(fmt.Errorf("wrapped: %w", inStep("Apply", errors.New("conflict"))))
	countReconcileError(errors.New("unclassified"))
	countReconcileError(nil)
	if got := testutil.ToFloat64(reconcileErrors.WithLabelValues("Apply")); got != before+1 {
		t.Errorf("Apply errors %v, want %v", got, before+1)
	}
	if got := testutil.ToFloat64(reconcileErrors.WithLabelValues(reconcileErrorReasonOther)); got != other+1 {
		t.Errorf("Other errors %v, want %v", got, other+1)
	}
	// Every reason exists from the start, so rate() sees the first error.
	for _, r := range reconcileErrorReasons {
		if len(series(t, MetricReconcileErrors, map[string]string{"reason": r})) != 1 {
			t.Errorf("no series for reason %s", r)
		}
	}
}

// TestTenantMetrics follows one tenant's series through provisioning, health, a failing backup
// and deletion.
func TestTenantMetrics(t *testing.T) {
	f := newFixture(t, "metrics")
	f.class()
	tenant := f.tenant("metrics-a", func(tn *slotbookv1alpha1.Tenant) {
		tn.Spec.Postgres.Backup.Schedule = "0 0 */12 * * *"
	})
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()
	byTenant := map[string]string{"tenant": tenant.Name}
	ready := map[string]string{"tenant": tenant.Name, "type": slotbookv1alpha1.ConditionReady}

	waitForSeries(t, MetricTenantCondition, ready, map[string]float64{"status=False,tenant=metrics-a,type=Ready": 1})
	waitForSeries(t, MetricBackupScheduleInterval, byTenant, map[string]float64{"tenant=metrics-a": 12 * 3600})
	created, _ := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
	waitForSeries(t, MetricTenantCreated, byTenant, map[string]float64{"tenant=metrics-a": float64(created.CreationTimestamp.Unix())})
	// Nothing is known yet about backups or the certificate: no series rather than a made-up value.
	waitForSeries(t, MetricLastBackup, byTenant, map[string]float64{})
	waitForSeries(t, MetricCertificateExpiry, byTenant, map[string]float64{})
	// One info series from the start; its images are filled in as they are observed (TestSetVersions).
	waitForSeries(t, MetricTenantInfo, byTenant, map[string]float64{"app_image=,postgres_image=,tenant=metrics-a": 1})

	makeHealthy(t, tenant)
	backupAt := time.Date(2026, 11, 26, 2, 0, 5, 0, time.UTC)
	notAfter := time.Date(2027, 2, 24, 12, 0, 0, 0, time.UTC)
	eventually(t, waitTimeout, "cluster lastSuccessfulBackup", func() error {
		c, err := get(t, &cnpgv1.Cluster{}, ns, resources.PostgresClusterName)
		if err != nil {
			return err
		}
		c.Status.LastSuccessfulBackup = backupAt.Format(time.RFC3339)
		return k8s.Status().Update(context.Background(), c)
	})
	eventually(t, waitTimeout, "certificate notAfter", func() error {
		c, err := get(t, &cmv1.Certificate{}, ns, resources.CertificateName)
		if err != nil {
			return err
		}
		c.Status.NotAfter = &metav1.Time{Time: notAfter}
		return k8s.Status().Update(context.Background(), c)
	})
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady)
	// The False series went when Ready turned True: one series per tenant and condition.
	waitForSeries(t, MetricTenantCondition, ready, map[string]float64{"status=True,tenant=metrics-a,type=Ready": 1})
	waitForSeries(t, MetricLastBackup, byTenant, map[string]float64{"tenant=metrics-a": float64(backupAt.Unix())})
	waitForSeries(t, MetricCertificateExpiry, byTenant, map[string]float64{
		"certificate=" + resources.CertificateName + ",tenant=metrics-a": float64(notAfter.Unix())})
	if got := series(t, MetricTenantCondition, byTenant); len(got) != 6 { // Ready and the five parts
		t.Errorf("condition series %v, want one per condition", got)
	}

	// Suspended: backups pause, so the schedule interval goes (no backup alert while suspended).
	eventually(t, waitTimeout, "suspend", func() error {
		tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
		if err != nil {
			return err
		}
		tn.Spec.Suspend = true
		return k8s.Update(context.Background(), tn)
	})
	waitForSeries(t, MetricBackupScheduleInterval, byTenant, map[string]float64{})

	deleteTenantAndWait(t, tenant.Name)
	for _, name := range MetricNames() {
		if name == MetricReconcileErrors {
			continue
		}
		waitForSeries(t, name, byTenant, map[string]float64{})
	}
}

// TestProvisioningStory checks the Events a new tenant gets, in order, and that a steady-state
// reconcile adds none.
func TestProvisioningStory(t *testing.T) {
	f := newFixture(t, "story")
	f.class()
	tenant := f.tenant("story-a")
	waitForChildren(t, tenant)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, ReasonPending)
	makeHealthy(t, tenant)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady)

	want := []string{"ClassResolved", "Created", "NamespaceReady", "DatabaseProvisioning", "CertificatePending",
		"DatabaseReady", "CertificateIssued", "AppAvailable", "Ready"}
	var got []string
	var story []eventsv1.Event
	eventually(t, waitTimeout, "the provisioning story's Events", func() error {
		var list eventsv1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return err
		}
		got, story = got[:0], story[:0]
		for _, e := range list.Items {
			if e.Regarding.Kind == "Tenant" && e.Regarding.Name == tenant.Name {
				got = append(got, e.Reason)
				story = append(story, e)
			}
		}
		for _, reason := range want {
			if !contains(got, reason) {
				return fmt.Errorf("no %s Event among %v", reason, got)
			}
		}
		return nil
	})
	sort.Slice(story, func(i, j int) bool { return story[i].EventTime.Before(&story[j].EventTime) })
	for _, e := range story {
		t.Logf("%-8s %-20s %s", e.Type, e.Reason, e.Note)
	}
	for _, e := range got {
		if e == "Updated" || e == "BackupsFailing" || e == "Degraded" {
			t.Errorf("unexpected %s Event while provisioning: %v", e, got)
		}
	}
	// Steady state: no writes and no Events (forceReconcile counts both).
	eventually(t, waitTimeout, "a reconcile without writes", func() error {
		if n := forceReconcile(t, tenant.Name); n != 0 {
			return fmt.Errorf("%d writes", n)
		}
		return nil
	})
	for range 3 {
		if n := forceReconcile(t, tenant.Name); n != 0 {
			t.Fatalf("steady-state reconcile made %d writes or Events", n)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// TestAppPodMonitor: a class that enables monitoring gets each tenant a PodMonitor for the app's
// metrics port and lets the monitoring namespaces reach it; turning monitoring off prunes both.
func TestAppPodMonitor(t *testing.T) {
	if monitoringSkipReason != "" {
		t.Skip("prometheus-operator CRDs not installed:", monitoringSkipReason)
	}
	f := newFixture(t, "podmon")
	class := f.class(func(c *slotbookv1alpha1.TenantClass) {
		c.Spec.Monitoring.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}
	})
	tenant := f.tenant("podmon-a")
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()

	var pm *monitoringv1.PodMonitor
	eventually(t, waitTimeout, "PodMonitor", func() (err error) {
		pm, err = get(t, &monitoringv1.PodMonitor{}, ns, resources.AppPodMonitorName)
		return err
	})
	owner, _ := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
	if !metav1.IsControlledBy(pm, owner) || pm.Labels[slotbookv1alpha1.TenantLabel] != tenant.Name {
		t.Errorf("PodMonitor not controlled and labelled by the tenant: %+v %v", pm.OwnerReferences, pm.Labels)
	}
	if ep := pm.Spec.PodMetricsEndpoints; len(ep) != 1 || *ep[0].Port != "metrics" || ep[0].Path != "/metrics" {
		t.Errorf("podMetricsEndpoints %+v", ep)
	}
	np, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolMonitoring)
	if err != nil {
		t.Fatalf("monitoring NetworkPolicy: %v", err)
	}
	if from := np.Spec.Ingress[0].From[0].NamespaceSelector; from.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
		t.Errorf("monitoring NetworkPolicy admits %v", from)
	}
	var hasMetricsPort bool
	for _, p := range np.Spec.Ingress[0].Ports {
		hasMetricsPort = hasMetricsPort || p.Port.IntVal == resources.AppMetricsPort
	}
	if !hasMetricsPort {
		t.Errorf("monitoring NetworkPolicy ports %+v lack the app's metrics port", np.Spec.Ingress[0].Ports)
	}

	// Drift is corrected.
	pm.Spec.PodMetricsEndpoints[0].Path = "/elsewhere"
	if err := k8s.Update(context.Background(), pm); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitTimeout, "PodMonitor drift corrected", func() error {
		got, err := get(t, &monitoringv1.PodMonitor{}, ns, resources.AppPodMonitorName)
		if err != nil {
			return err
		}
		if p := got.Spec.PodMetricsEndpoints[0].Path; p != "/metrics" {
			return fmt.Errorf("path %s", p)
		}
		return nil
	})
	eventually(t, waitTimeout, "a reconcile without writes", func() error {
		if n := forceReconcile(t, tenant.Name); n != 0 {
			return fmt.Errorf("%d writes", n)
		}
		return nil
	})

	// Monitoring turned off: the PodMonitor and the NetworkPolicy are pruned.
	eventually(t, waitTimeout, "turn monitoring off", func() error {
		c, err := get(t, &slotbookv1alpha1.TenantClass{}, "", class.Name)
		if err != nil {
			return err
		}
		c.Spec.Monitoring.NamespaceSelector = nil
		return k8s.Update(context.Background(), c)
	})
	eventually(t, waitTimeout, "PodMonitor and NetworkPolicy pruned", func() error {
		if _, err := get(t, &monitoringv1.PodMonitor{}, ns, resources.AppPodMonitorName); err == nil {
			return errors.New("PodMonitor still there")
		}
		if _, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolMonitoring); err == nil {
			return errors.New("NetworkPolicy still there")
		}
		return nil
	})
}

// MetricLabels, which the alert and dashboard tests check queries against, says what the
// registered collectors really have.
func TestMetricLabelsMatchTheCollectors(t *testing.T) {
	labels := MetricLabels()
	if len(labels) != len(MetricNames()) {
		t.Fatalf("MetricLabels has %d metrics, MetricNames %d", len(labels), len(MetricNames()))
	}
	for _, c := range []interface {
		Describe(chan<- *prometheus.Desc)
	}{tenantConditionGauge, tenantCreated, reconcileErrors, lastBackup, backupScheduleInterval, certificateExpiry} {
		ch := make(chan *prometheus.Desc, 1)
		c.Describe(ch)
		desc := (<-ch).String()
		var name string
		for n := range labels {
			if strings.Contains(desc, `fqName: "`+n+`"`) {
				name = n
			}
		}
		if name == "" {
			t.Errorf("%s is not in MetricLabels", desc)
			continue
		}
		if want := "variableLabels: {" + strings.Join(labels[name], ",") + "}"; !strings.Contains(desc, want) {
			t.Errorf("%s: want %s", desc, want)
		}
	}
}
