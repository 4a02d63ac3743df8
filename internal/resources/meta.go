package resources

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// tenantLabels are put on every object of a tenant, so the operator (and people) can find them.
func tenantLabels(in Inputs) map[string]string {
	labels := map[string]string{
		slotbookv1alpha1.TenantLabel: in.Tenant.Name,
		managedByLabel:               managedByValue,
	}
	if in.Released {
		labels[slotbookv1alpha1.RetainedLabel] = "true"
	}
	return labels
}

// appLabels select the booking app's pods.
func appSelectorLabels(in Inputs) map[string]string {
	return map[string]string{
		appNameLabel:     AppName,
		appInstanceLabel: in.Tenant.Name,
	}
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// objectMeta is the metadata of an object in the tenant namespace, owned by the Tenant unless
// the Tenant is being released.
func objectMeta(in Inputs, name string, extraLabels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       in.Tenant.NamespaceName(),
		Labels:          merge(extraLabels, tenantLabels(in)),
		OwnerReferences: ownerReferences(in),
	}
}

func ownerReferences(in Inputs) []metav1.OwnerReference {
	if in.Released {
		return nil
	}
	return []metav1.OwnerReference{{
		APIVersion:         slotbookv1alpha1.GroupVersion.String(),
		Kind:               "Tenant",
		Name:               in.Tenant.Name,
		UID:                in.Tenant.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
