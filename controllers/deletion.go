package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// reconcileDelete carries out the deletion policy, then lets the Tenant go.
//   - Delete: the namespace is deleted, and with it the database, secrets and app. Backups in the
//     object store stay until their retention expires.
//   - Retain: every object the Tenant controls is released (owner reference removed, labelled
//     slotbook.io/retained=true), so garbage collection keeps the namespace and the data.
func (r *TenantReconciler) reconcileDelete(ctx context.Context, tenant *slotbookv1alpha1.Tenant) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(tenant, Finalizer) {
		return ctrl.Result{}, nil
	}
	var err error
	switch tenant.Spec.DeletionPolicy {
	case slotbookv1alpha1.DeletionPolicyDelete:
		err = r.deleteNamespace(ctx, tenant)
	default:
		// A restore test's throw-away cluster is no data to keep.
		if err = r.deleteRestoreTestCluster(ctx, tenant); err == nil {
			err = r.releaseChildren(ctx, tenant)
		}
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	patch := client.MergeFrom(tenant.DeepCopy())
	controllerutil.RemoveFinalizer(tenant, Finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, tenant, patch))
}

func (r *TenantReconciler) deleteNamespace(ctx context.Context, tenant *slotbookv1alpha1.Tenant) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant.NamespaceName()}}
	err := r.Client.Delete(ctx, ns, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting namespace %s: %w", ns.Name, err)
	}
	r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "Deleted", "Delete",
		"Deleted namespace %s (deletionPolicy Delete); backups stay in the object store until their retention expires", ns.Name)
	return nil
}

// releaseChildren removes the Tenant's owner reference from everything it controls. The kinds
// are those the controller owns, so nothing is missed when the builders change.
func (r *TenantReconciler) releaseChildren(ctx context.Context, tenant *slotbookv1alpha1.Tenant) error {
	released := 0
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: tenant.NamespaceName()}, ns); err == nil {
		if ok, err := r.release(ctx, tenant, ns); err != nil {
			return err
		} else if ok {
			released++
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	lists := r.ownedOptionalKinds()
	for _, kind := range ownedNamespacedKinds {
		lists = append(lists, kind.list())
	}
	for _, list := range lists {
		if err := r.APIReader.List(ctx, list, client.InNamespace(tenant.NamespaceName()),
			client.MatchingLabels{slotbookv1alpha1.TenantLabel: tenant.Name}); err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			ok, err := r.release(ctx, tenant, item.(client.Object))
			if err != nil {
				return err
			}
			if ok {
				released++
			}
		}
	}
	r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "Retained", "Delete",
		"Released %d objects in namespace %s (deletionPolicy Retain); the database and its backups are kept", released, tenant.NamespaceName())
	return nil
}

func (r *TenantReconciler) release(ctx context.Context, tenant *slotbookv1alpha1.Tenant, obj client.Object) (bool, error) {
	if !metav1.IsControlledBy(obj, tenant) {
		return false, nil
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	var refs []metav1.OwnerReference
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID != tenant.UID {
			refs = append(refs, ref)
		}
	}
	obj.SetOwnerReferences(refs)
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[slotbookv1alpha1.RetainedLabel] = "true"
	obj.SetLabels(labels)
	if err := r.Client.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return false, err
	}
	return true, nil
}
