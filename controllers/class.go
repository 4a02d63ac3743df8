package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// problem is something only a person can fix, such as a missing TenantClass. It stalls the
// tenant with a readable reason instead of being retried in a hot loop.
type problem struct {
	reason  string
	message string
}

// resolveClass finds the tenant's TenantClass: the named one, or the single default class.
func (r *TenantReconciler) resolveClass(ctx context.Context, tenant *slotbookv1alpha1.Tenant) (*slotbookv1alpha1.TenantClass, *problem, error) {
	if name := tenant.Spec.ClassName; name != "" {
		class := &slotbookv1alpha1.TenantClass{}
		err := r.Client.Get(ctx, types.NamespacedName{Name: name}, class)
		if apierrors.IsNotFound(err) {
			return nil, &problem{"ClassNotFound", fmt.Sprintf("TenantClass %q does not exist", name)}, nil
		}
		return class, nil, err
	}
	var classes slotbookv1alpha1.TenantClassList
	if err := r.Client.List(ctx, &classes); err != nil {
		return nil, nil, err
	}
	var defaults []*slotbookv1alpha1.TenantClass
	for i := range classes.Items {
		if classes.Items[i].IsDefault() {
			defaults = append(defaults, &classes.Items[i])
		}
	}
	switch len(defaults) {
	case 1:
		return defaults[0], nil, nil
	case 0:
		return nil, &problem{"NoDefaultClass", fmt.Sprintf(
			"spec.className is empty and no TenantClass is annotated %s=\"true\"", slotbookv1alpha1.DefaultClassAnnotation)}, nil
	default:
		names := make([]string, len(defaults))
		for i, c := range defaults {
			names[i] = c.Name
		}
		sort.Strings(names)
		return nil, &problem{"AmbiguousDefaultClass", fmt.Sprintf(
			"spec.className is empty and %d TenantClasses are marked default (%s): set spec.className or unmark all but one",
			len(names), strings.Join(names, ", "))}, nil
	}
}

// tenantsOfClass maps a TenantClass event to the tenants that use it: those naming it, and those
// naming no class (the default may have changed).
func (r *TenantReconciler) tenantsOfClass(ctx context.Context, obj client.Object) []reconcile.Request {
	var tenants slotbookv1alpha1.TenantList
	if err := r.Client.List(ctx, &tenants); err != nil {
		return nil
	}
	var requests []reconcile.Request
	for _, t := range tenants.Items {
		if t.Spec.ClassName == obj.GetName() || t.Spec.ClassName == "" {
			requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Name: t.Name}})
		}
	}
	return requests
}

// allTenants maps an event that concerns every tenant (the kube-apiserver moved) to all of them.
func (r *TenantReconciler) allTenants(ctx context.Context, _ client.Object) []reconcile.Request {
	var tenants slotbookv1alpha1.TenantList
	if err := r.Client.List(ctx, &tenants); err != nil {
		return nil
	}
	requests := make([]reconcile.Request, 0, len(tenants.Items))
	for _, t := range tenants.Items {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Name: t.Name}})
	}
	return requests
}

// discoveryEndpointSlice is the kind of the kube-apiserver's EndpointSlices, for watches.
var discoveryEndpointSlice = discoveryv1.EndpointSlice{}

const (
	apiServerServiceNamespace = metav1.NamespaceDefault
	apiServerServiceName      = "kubernetes"
)

func isAPIServerEndpointSlice(obj client.Object) bool {
	return obj.GetNamespace() == apiServerServiceNamespace &&
		obj.GetLabels()[discoveryv1.LabelServiceName] == apiServerServiceName
}
