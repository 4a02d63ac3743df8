package controllers

import (
	"context"
	"fmt"
	"time"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	"github.com/robfig/cron"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// Restore tests (TOM 5.1: regular verification that backups restore). On the tenant's schedule
// the controller sets status.restoreTest to Running; while it is Running the desired objects
// include a throw-away cluster (resources.RestoreTestCluster) that recovers the tenant's latest
// base backup and WAL from its object store. The test succeeds when CloudNativePG reports that
// cluster healthy with its instance ready, i.e. the backup was found, restored, the WAL replayed
// and PostgreSQL accepted connections; it fails if that has not happened restoreTestTimeout
// after the start. Either way the cluster is then deleted (by name: Clusters are never pruned
// generically, so no mistake can remove the tenant's real database). Suspending the tests (or the
// tenant) stops new ones from starting; a running one still ends as above.

const (
	// defaultRestoreTestSchedule: weekly, Sundays at 04:00 (after the nightly backup at 02:00).
	defaultRestoreTestSchedule = "0 0 4 * * 0"
	// restoreTestTimeout bounds a restore test.
	restoreTestTimeout = time.Hour
	// restoreTestPoll is how often a running test is looked at besides the Cluster's events.
	restoreTestPoll = 30 * time.Second
)

// restoreTestSchedule is the tenant's restore test schedule, the default filled in; false when
// the tests are suspended.
func restoreTestSchedule(t *slotbookv1alpha1.Tenant) (string, bool) {
	rt := t.Spec.Postgres.Backup.RestoreTest
	switch {
	case rt != nil && rt.Suspend:
		return "", false
	case rt == nil || rt.Schedule == "":
		return defaultRestoreTestSchedule, true
	}
	return rt.Schedule, true
}

// startRestoreTest starts a test when one is due: the schedule fired since the last test ended
// (or since the tenant was created), the tenant has a successful backup to restore and is not
// suspended, and no test is running. It returns how long until the next one is due (0: none
// scheduled, or one is running).
func startRestoreTest(t *slotbookv1alpha1.Tenant, now time.Time) time.Duration {
	schedule, ok := restoreTestSchedule(t)
	rt := t.Status.RestoreTest
	if !ok || (rt != nil && rt.Phase == slotbookv1alpha1.RestoreTestRunning) {
		return 0
	}
	sched, err := cron.Parse(schedule)
	if err != nil {
		return 0 // the CRD admits only 6 fields; a bad expression simply never fires
	}
	// The first firing after the last test ended (or, before the first, after the tenant was
	// created): a firing while a test ran does not start another right after it.
	since := t.CreationTimestamp.Time
	if rt != nil {
		since = rt.StartedAt.Time
		if rt.FinishedAt != nil {
			since = rt.FinishedAt.Time
		}
	}
	due := sched.Next(since)
	if due.IsZero() {
		return 0
	}
	if due.After(now) {
		return due.Sub(now)
	}
	if t.Spec.Suspend || t.Status.LastSuccessfulBackup == nil {
		return restoreTestPoll // due, but nothing to restore yet: look again soon
	}
	next := &slotbookv1alpha1.RestoreTestStatus{
		Phase:     slotbookv1alpha1.RestoreTestRunning,
		StartedAt: metav1.NewTime(now),
		Message:   fmt.Sprintf("restoring the latest backup (last successful backup %s) into cluster %s", t.Status.LastSuccessfulBackup.UTC().Format(time.RFC3339), resources.RestoreTestClusterName),
	}
	if rt != nil {
		next.LastSucceededAt = rt.LastSucceededAt
	}
	t.Status.RestoreTest = next
	return 0
}

// finishRestoreTest ends a running test from what its cluster (nil: not there yet) shows, and
// reports whether it ended.
func finishRestoreTest(t *slotbookv1alpha1.Tenant, c *cnpgv1.Cluster, now time.Time) bool {
	rt := t.Status.RestoreTest
	if rt == nil || rt.Phase != slotbookv1alpha1.RestoreTestRunning {
		return false
	}
	took := now.Sub(rt.StartedAt.Time).Round(time.Second)
	switch {
	case c != nil && c.Status.Phase == cnpgv1.PhaseHealthy && c.Status.ReadyInstances == 1:
		rt.Phase = slotbookv1alpha1.RestoreTestSucceeded
		rt.Message = fmt.Sprintf("the latest backup restored and PostgreSQL %s accepted connections after %s", c.Status.Image, took)
		rt.LastSucceededAt = &metav1.Time{Time: now}
	case took >= restoreTestTimeout:
		rt.Phase = slotbookv1alpha1.RestoreTestFailed
		state := "the cluster was not created"
		if c != nil {
			state = fmt.Sprintf("cluster phase %q: %s", c.Status.Phase, c.Status.PhaseReason)
		}
		rt.Message = fmt.Sprintf("not restored after %s (%s)", took, state)
	default:
		return false
	}
	rt.FinishedAt = &metav1.Time{Time: now}
	return true
}

// reconcileRestoreTest ends a running test when its cluster shows the outcome, and removes the
// throw-away cluster whenever no test runs. It returns how soon to look again (0: no need).
func (r *TenantReconciler) reconcileRestoreTest(ctx context.Context, t *slotbookv1alpha1.Tenant, now time.Time) (time.Duration, error) {
	c, err := r.restoreTestCluster(ctx, t)
	if err != nil {
		return 0, err
	}
	if finishRestoreTest(t, c, now) {
		kind, reason := corev1.EventTypeNormal, "RestoreTestSucceeded"
		if t.Status.RestoreTest.Phase == slotbookv1alpha1.RestoreTestFailed {
			kind, reason = corev1.EventTypeWarning, "RestoreTestFailed"
		}
		r.Recorder.Eventf(t, nil, kind, reason, "RestoreTest", "%s", t.Status.RestoreTest.Message)
	}
	if rt := t.Status.RestoreTest; rt != nil && rt.Phase == slotbookv1alpha1.RestoreTestRunning {
		return restoreTestPoll, nil
	}
	if c != nil {
		return 0, r.deleteCluster(ctx, t, c)
	}
	return 0, nil
}

// restoreTestCluster is the tenant's restore test cluster, nil if there is none.
func (r *TenantReconciler) restoreTestCluster(ctx context.Context, t *slotbookv1alpha1.Tenant) (*cnpgv1.Cluster, error) {
	c := &cnpgv1.Cluster{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: t.NamespaceName(), Name: resources.RestoreTestClusterName}, c)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return c, err
}

// deleteRestoreTestCluster deletes the tenant's restore test cluster, if there is one.
func (r *TenantReconciler) deleteRestoreTestCluster(ctx context.Context, t *slotbookv1alpha1.Tenant) error {
	c, err := r.restoreTestCluster(ctx, t)
	if err != nil || c == nil {
		return err
	}
	return r.deleteCluster(ctx, t, c)
}

// deleteCluster deletes c if the tenant controls it and it is not already going.
func (r *TenantReconciler) deleteCluster(ctx context.Context, t *slotbookv1alpha1.Tenant, c *cnpgv1.Cluster) error {
	if !metav1.IsControlledBy(c, t) || !c.DeletionTimestamp.IsZero() {
		return nil
	}
	if err := r.Client.Delete(ctx, c); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
