// Package v1alpha1 contains the Slotbook API: the cluster-scoped Tenant (one isolated booking
// instance per customer) and TenantClass (the platform defaults a Tenant is provisioned with).
// +kubebuilder:object:generate=true
// +groupName=slotbook.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of the Slotbook API.
	GroupVersion = schema.GroupVersion{Group: "slotbook.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Slotbook types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Slotbook types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
