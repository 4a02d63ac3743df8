package controllers

import (
	"context"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// observation is what one reconcile saw of a tenant's instance. Status is computed from it by
// pure functions (status.go).
type observation struct {
	// problem stalls the tenant until a person fixes it.
	problem *problem
	// applyErr is set when applying the desired objects failed.
	applyErr  error
	className string
	// smtp is the class's mail server as status.smtp shows it, nil without one.
	smtp *slotbookv1alpha1.SMTPStatus

	namespace   *corev1.Namespace
	cluster     *cnpgv1.Cluster
	objectStore *barmancloudv1.ObjectStore
	certificate *cmv1.Certificate
	deployment  *appsv1.Deployment

	// ownerJobName is the owner setup Job the tenant wants ("" without spec.owner); ownerJob is
	// the live Job, nil until it is created (once the database is ready).
	ownerJobName string
	ownerJob     *batchv1.Job
}

// observe reads the live state of the children whose health makes up the tenant's status.
func (r *TenantReconciler) observe(ctx context.Context, tenant *slotbookv1alpha1.Tenant, obs *observation) error {
	ns := tenant.NamespaceName()
	reads := []struct {
		key  types.NamespacedName
		into client.Object
	}{
		{types.NamespacedName{Name: ns}, &corev1.Namespace{}},
		{types.NamespacedName{Namespace: ns, Name: resources.PostgresClusterName}, &cnpgv1.Cluster{}},
		{types.NamespacedName{Namespace: ns, Name: resources.ObjectStoreName}, &barmancloudv1.ObjectStore{}},
		{types.NamespacedName{Namespace: ns, Name: resources.CertificateName}, &cmv1.Certificate{}},
		{types.NamespacedName{Namespace: ns, Name: resources.AppName}, &appsv1.Deployment{}},
	}
	for _, read := range reads {
		err := r.Client.Get(ctx, read.key, read.into)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		switch o := read.into.(type) {
		case *corev1.Namespace:
			obs.namespace = o
		case *cnpgv1.Cluster:
			obs.cluster = o
		case *barmancloudv1.ObjectStore:
			obs.objectStore = o
		case *cmv1.Certificate:
			obs.certificate = o
		case *appsv1.Deployment:
			obs.deployment = o
		}
	}
	return nil
}
