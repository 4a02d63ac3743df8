package controllers

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// The operator's own metrics, served with controller-runtime's on the manager's metrics endpoint.
// Every per-tenant series carries the label tenant (the Tenant's name; its namespace is
// tenant-<name>) and disappears when the Tenant is deleted. A fleet of N tenants has at most
// N × (8 condition series + 1 + 1 + 1 + 1 + 1 + 1) of them. The alerts in config/prometheus/rules.yaml and
// the Grafana dashboard use these names; docs/runbooks.md explains them.
//
// Restore tests (restoretest.go) report slotbook_tenant_last_restore_test_timestamp_seconds
// {tenant,result}: when the latest finished test ended, labelled Succeeded or Failed; absent
// before the first one ends.
const (
	MetricTenantCondition         = "slotbook_tenant_condition"
	MetricTenantCreated           = "slotbook_tenant_created_timestamp_seconds"
	MetricReconcileErrors         = "slotbook_reconcile_errors_total"
	MetricLastBackup              = "slotbook_tenant_last_backup_timestamp_seconds"
	MetricBackupScheduleInterval  = "slotbook_tenant_backup_schedule_interval_seconds"
	MetricCertificateExpiry       = "slotbook_tenant_certificate_expiry_timestamp_seconds"
	MetricTenantInfo              = "slotbook_tenant_info"
	MetricLastRestoreTest         = "slotbook_tenant_last_restore_test_timestamp_seconds"
	metricsTenantLabel            = "tenant"
	reconcileErrorReasonOther     = "Other"
	reconcileErrorReasonStatus    = "StatusPatch"
	reconcileErrorReasonFinalizer = "Finalizer"
)

var (
	tenantConditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricTenantCondition,
		Help: "1 for each condition of each Tenant with its current status (True, False or Unknown); one series per tenant and condition type.",
	}, []string{metricsTenantLabel, "type", "status"})
	tenantCreated = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricTenantCreated,
		Help: "Creation time of the Tenant (Unix seconds).",
	}, []string{metricsTenantLabel})
	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricReconcileErrors,
		Help: "Tenant reconciles that failed, by the step that failed (ClassLookup, Inputs, Build, Apply, Prune, Observe, OwnerSetup, RestoreTest, StatusPatch, Finalizer, Delete, Other).",
	}, []string{"reason"})
	lastBackup = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricLastBackup,
		Help: "When the tenant's last successful base backup completed (Unix seconds), as CloudNativePG and the Barman Cloud plugin report it; absent before the first one.",
	}, []string{metricsTenantLabel})
	backupScheduleInterval = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricBackupScheduleInterval,
		Help: "Longest gap (seconds) between two runs of the tenant's backup schedule; absent while the tenant is suspended (backups paused).",
	}, []string{metricsTenantLabel})
	lastRestoreTest = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricLastRestoreTest,
		Help: "When the tenant's latest finished restore test ended (Unix seconds), labelled with its result (Succeeded or Failed); absent before the first one ends.",
	}, []string{metricsTenantLabel, "result"})
	tenantInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricTenantInfo,
		Help: "1 per tenant, labelled with the images it runs (status.versions): app_image and postgres_image, empty until observed. count by (app_image) (slotbook_tenant_info) shows a fleet upgrade's progress.",
	}, []string{metricsTenantLabel, "app_image", "postgres_image"})
	certificateExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricCertificateExpiry,
		Help: "When the tenant's current TLS certificate expires (Unix seconds, cert-manager's status.notAfter); absent before it is issued.",
	}, []string{metricsTenantLabel, "certificate"})
)

// reconcileErrorReasons are all values of slotbook_reconcile_errors_total's reason label. They are
// initialised to 0, so rate() and increase() see the first error.
var reconcileErrorReasons = []string{
	"ClassLookup", "Inputs", "Build", "Apply", "Prune", "Observe", "OwnerSetup", "RestoreTest",
	reconcileErrorReasonStatus, reconcileErrorReasonFinalizer, "Delete", reconcileErrorReasonOther,
}

func init() {
	metrics.Registry.MustRegister(tenantConditionGauge, tenantCreated, reconcileErrors, lastBackup, backupScheduleInterval, certificateExpiry, tenantInfo, lastRestoreTest)
	for _, r := range reconcileErrorReasons {
		reconcileErrors.WithLabelValues(r)
	}
}

// MetricNames are the names of the operator's own metrics, for tests of the alerts and dashboards.
func MetricNames() []string {
	return []string{MetricTenantCondition, MetricTenantCreated, MetricReconcileErrors, MetricLastBackup,
		MetricBackupScheduleInterval, MetricCertificateExpiry, MetricTenantInfo, MetricLastRestoreTest}
}

// MetricLabels are the labels of each of the operator's metrics (besides those the scrape adds).
func MetricLabels() map[string][]string {
	return map[string][]string{
		MetricTenantCondition:        {metricsTenantLabel, "type", "status"},
		MetricTenantCreated:          {metricsTenantLabel},
		MetricReconcileErrors:        {"reason"},
		MetricLastBackup:             {metricsTenantLabel},
		MetricBackupScheduleInterval: {metricsTenantLabel},
		MetricCertificateExpiry:      {metricsTenantLabel, "certificate"},
		MetricTenantInfo:             {metricsTenantLabel, "app_image", "postgres_image"},
		MetricLastRestoreTest:        {metricsTenantLabel, "result"},
	}
}

// stepError marks an error with the reconcile step it happened in (the reason label of
// slotbook_reconcile_errors_total).
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// inStep wraps err (if any) with the step it happened in.
func inStep(step string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: step, err: err}
}

// countReconcileError counts a failed reconcile by the step that failed.
func countReconcileError(err error) {
	if err == nil {
		return
	}
	reason := reconcileErrorReasonOther
	var se *stepError
	if errors.As(err, &se) {
		reason = se.step
	}
	reconcileErrors.WithLabelValues(reason).Inc()
}

// tenantMetrics remembers which condition series each tenant has, so a change replaces exactly
// the stale series (a scrape never sees a tenant without its Ready series).
var tenantMetrics = struct {
	sync.Mutex
	conditions map[string]map[string]string // tenant → condition type → status
	info       map[string][2]string         // tenant → its info series' app and postgres image
}{conditions: map[string]map[string]string{}, info: map[string][2]string{}}

// recordTenantMetrics sets the per-tenant series from the tenant's status and what the reconcile
// observed. It never writes to the API server.
func recordTenantMetrics(t *slotbookv1alpha1.Tenant, obs observation) {
	name := t.Name
	tenantCreated.WithLabelValues(name).Set(float64(t.CreationTimestamp.Unix()))

	current := map[string]string{}
	for _, c := range t.Status.Conditions {
		current[c.Type] = string(c.Status)
	}
	tenantMetrics.Lock()
	previous := tenantMetrics.conditions[name]
	for typ, status := range current {
		tenantConditionGauge.WithLabelValues(name, typ, status).Set(1)
	}
	for typ, status := range previous {
		if current[typ] != status {
			tenantConditionGauge.DeleteLabelValues(name, typ, status)
		}
	}
	tenantMetrics.conditions[name] = current
	var images [2]string
	if v := t.Status.Versions; v != nil {
		images = [2]string{v.App, v.Postgres}
	}
	tenantInfo.WithLabelValues(name, images[0], images[1]).Set(1)
	if old, ok := tenantMetrics.info[name]; ok && old != images {
		tenantInfo.DeleteLabelValues(name, old[0], old[1])
	}
	tenantMetrics.info[name] = images
	tenantMetrics.Unlock()

	if b := t.Status.LastSuccessfulBackup; b != nil {
		lastBackup.WithLabelValues(name).Set(float64(b.Unix()))
	} else {
		lastBackup.DeleteLabelValues(name)
	}

	if interval, ok := scheduleInterval(resources.BackupSchedule(t)); ok && !t.Spec.Suspend {
		backupScheduleInterval.WithLabelValues(name).Set(interval.Seconds())
	} else {
		backupScheduleInterval.DeleteLabelValues(name)
	}

	// The latest finished restore test: one series, its label the result.
	if rt := t.Status.RestoreTest; rt != nil && rt.FinishedAt != nil {
		other := slotbookv1alpha1.RestoreTestSucceeded
		if rt.Phase == slotbookv1alpha1.RestoreTestSucceeded {
			other = slotbookv1alpha1.RestoreTestFailed
		}
		lastRestoreTest.WithLabelValues(name, rt.Phase).Set(float64(rt.FinishedAt.Unix()))
		lastRestoreTest.DeleteLabelValues(name, other)
	} else if rt == nil {
		lastRestoreTest.DeletePartialMatch(prometheus.Labels{metricsTenantLabel: name})
	}

	// A stalled tenant (obs.problem) was not observed: its last known expiry stays.
	if c := obs.certificate; c != nil && c.Status.NotAfter != nil {
		certificateExpiry.WithLabelValues(name, c.Name).Set(float64(c.Status.NotAfter.Unix()))
	} else if obs.problem == nil {
		certificateExpiry.DeleteLabelValues(name, resources.CertificateName)
	}
}

// forgetTenantMetrics removes every series of a deleted tenant.
func forgetTenantMetrics(name string) {
	tenantMetrics.Lock()
	delete(tenantMetrics.conditions, name)
	delete(tenantMetrics.info, name)
	tenantMetrics.Unlock()
	for _, v := range []*prometheus.GaugeVec{tenantConditionGauge, tenantCreated, lastBackup, backupScheduleInterval, certificateExpiry, tenantInfo, lastRestoreTest} {
		v.DeletePartialMatch(prometheus.Labels{metricsTenantLabel: name})
	}
}

// scheduleIntervalCache holds the interval of each schedule seen: computing one walks a year.
var scheduleIntervalCache sync.Map // schedule string → time.Duration (0: unparsable)

// scheduleInterval is the longest gap between two consecutive runs of a CloudNativePG schedule
// (6-field cron with seconds, parsed by the same library CloudNativePG uses), over a year of runs
// from a fixed start so the result does not depend on when it is computed.
func scheduleInterval(schedule string) (time.Duration, bool) {
	if v, ok := scheduleIntervalCache.Load(schedule); ok {
		d := v.(time.Duration)
		return d, d > 0
	}
	d := computeScheduleInterval(schedule)
	scheduleIntervalCache.Store(schedule, d)
	return d, d > 0
}

func computeScheduleInterval(schedule string) time.Duration {
	sched, err := cron.Parse(schedule)
	if err != nil {
		return 0
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	const maxRuns = 10000 // a schedule running more often than hourly has its answer long before
	var runs []time.Time
	for t := sched.Next(start); !t.IsZero() && t.Before(end) && len(runs) < maxRuns; t = sched.Next(t) {
		runs = append(runs, t)
	}
	if len(runs) < 2 {
		// Less than twice a year (e.g. every 29 February): a year is the best bound we give.
		return 365 * 24 * time.Hour
	}
	gaps := make([]time.Duration, 0, len(runs))
	for i := 1; i < len(runs); i++ {
		gaps = append(gaps, runs[i].Sub(runs[i-1]))
	}
	// The wrap-around gap from the last run of the year to the first of the next counts too.
	if len(runs) < maxRuns {
		gaps = append(gaps, sched.Next(runs[len(runs)-1]).Sub(runs[len(runs)-1]))
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] > gaps[j] })
	return gaps[0]
}
