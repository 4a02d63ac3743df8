package controllers

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// prunableLists are the kinds of which a tenant needs a varying set: a PodDisruptionBudget only
// with several replicas, a monitoring NetworkPolicy only when the class allows scraping, the SMTP
// NetworkPolicy and credentials Secret only when the class sets smtp, a CA Secret only when the
// class names one, an owner setup Job only for the current spec.owner, the app's PodMonitor only
// while the class enables monitoring. Objects of these kinds that the Tenant controls but no
// longer wants are deleted.
func (r *TenantReconciler) prunableLists() []client.ObjectList {
	return append([]client.ObjectList{
		&networkingv1.NetworkPolicyList{},
		&policyv1.PodDisruptionBudgetList{},
		&corev1.SecretList{},
		&batchv1.JobList{}, // the owner setup Job of an e-mail address no longer in spec.owner
	}, r.ownedOptionalKinds()...)
}

func (r *TenantReconciler) prune(ctx context.Context, tenant *slotbookv1alpha1.Tenant, desired []client.Object) error {
	wanted := map[string]bool{}
	for _, o := range desired {
		wanted[kindAndName(o)] = true
	}
	for _, list := range r.prunableLists() {
		if err := r.Client.List(ctx, list, client.InNamespace(tenant.NamespaceName()),
			client.MatchingLabels{slotbookv1alpha1.TenantLabel: tenant.Name}); err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			obj := item.(client.Object)
			// Only what this Tenant controls: cert-manager's TLS Secret carries our labels too.
			if !metav1.IsControlledBy(obj, tenant) {
				continue
			}
			if err := r.setKind(obj); err != nil {
				return err
			}
			if wanted[kindAndName(obj)] {
				continue
			}
			// Background: a Job's pods go with it (the API's default for Jobs orphans them).
			if err := r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "Pruned", "Prune", "Deleted %s, no longer needed", kindAndName(obj))
		}
	}
	return nil
}

// setKind fills in the kind of a typed object read from the cache, which leaves it empty.
func (r *TenantReconciler) setKind(obj client.Object) error {
	gvk, err := r.Client.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}
