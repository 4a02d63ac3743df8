package controllers

import (
	"context"
	"fmt"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/apply"
	"github.com/slotbook/slotbook/internal/resources"
)

// isCreateOnly reports whether obj is created once and never updated by applyAll: the owner setup
// Job, whose pod template is immutable and which must run once, not again on every change of the
// app's configuration.
func isCreateOnly(obj client.Object) bool {
	_, ok := obj.(*batchv1.Job)
	return ok
}

// ensureOwnerSetupJob creates the owner setup Job (spec.owner) if it does not exist, once the
// database is ready (before that `slotbook admin create-owner` could only fail and use up its
// retries). An existing Job is left as it is, finished or not: deleting it makes the next
// reconcile run it again, which replaces the setup link. The old Job of a changed e-mail address
// has another name and is pruned like any unwanted child.
func (r *TenantReconciler) ensureOwnerSetupJob(ctx context.Context, tenant *slotbookv1alpha1.Tenant, desired []client.Object, obs *observation) error {
	var job *batchv1.Job
	for _, o := range desired {
		if j, ok := o.(*batchv1.Job); ok {
			job = j
		}
	}
	if job == nil {
		return nil
	}
	obs.ownerJobName = job.Name
	live := &batchv1.Job{}
	switch err := r.Client.Get(ctx, client.ObjectKeyFromObject(job), live); {
	case err == nil:
		obs.ownerJob = live
		return nil
	case !apierrors.IsNotFound(err):
		return err
	}
	if tenant.Spec.Suspend || !clusterReady(obs.cluster) {
		return nil
	}
	applier := apply.Applier{Client: r.Client, FieldOwner: resources.FieldOwner}
	if _, err := applier.Apply(ctx, job); err != nil {
		r.Recorder.Eventf(tenant, nil, corev1.EventTypeWarning, "ApplyFailed", "Apply", "%v", err)
		return err
	}
	r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "OwnerSetupStarted", "Create",
		"Created Job %s/%s to set up the owner account; its log will hold the one-time setup link", job.Namespace, job.Name)
	obs.ownerJob = job
	return nil
}

func clusterReady(c *cnpgv1.Cluster) bool {
	return c != nil && meta.IsStatusConditionTrue(c.Status.Conditions, string(cnpgv1.ConditionClusterReady))
}

// setOwnerSetupStatus reports the owner setup Job's state and how to get the setup link.
func setOwnerSetupStatus(t *slotbookv1alpha1.Tenant, obs observation) {
	if obs.ownerJobName == "" {
		t.Status.OwnerSetup = nil
		return
	}
	logs := fmt.Sprintf("kubectl -n %s logs job/%s", t.NamespaceName(), obs.ownerJobName)
	s := &slotbookv1alpha1.OwnerSetupStatus{JobName: obs.ownerJobName}
	switch job := obs.ownerJob; {
	case job == nil && t.Spec.Suspend:
		s.State = slotbookv1alpha1.OwnerSetupWaitingForDatabase
		s.Message = "The owner setup Job runs once the tenant is resumed and its database is ready"
	case job == nil:
		s.State = slotbookv1alpha1.OwnerSetupWaitingForDatabase
		s.Message = "The owner setup Job runs once the database is ready"
	case jobCondition(job, batchv1.JobComplete):
		s.State = slotbookv1alpha1.OwnerSetupSucceeded
		s.Message = "Get the owner's one-time setup link (valid 24 h) with: " + logs +
			" (if the owner has already set a password, the log says so). To issue a new link, delete the Job: " +
			"the operator runs it again, which replaces the link"
	case jobCondition(job, batchv1.JobFailed):
		s.State = slotbookv1alpha1.OwnerSetupFailed
		s.Message = "The owner setup Job failed; see " + logs + ", then delete the Job to run it again"
	case job.Status.Active > 0:
		s.State = slotbookv1alpha1.OwnerSetupRunning
		s.Message = "Setting up the owner account; then get the one-time setup link with: " + logs
	default:
		s.State = slotbookv1alpha1.OwnerSetupPending
		s.Message = "The owner setup Job is starting; then get the one-time setup link with: " + logs
	}
	t.Status.OwnerSetup = s
}

func jobCondition(job *batchv1.Job, typ batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == typ && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
