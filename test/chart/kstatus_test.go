package chart

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestNewTenantIsInProgress: a Tenant the operator has not reconciled yet (none runs here) must
// not look healthy to kstatus (Flux's health checks) just because it has no conditions. The
// chart's CRD defaults status.observedGeneration to 0, which kstatus reads as "generation 1 not
// observed yet", i.e. InProgress. The other states are in controllers/kstatus_test.go.
func TestNewTenantIsInProgress(t *testing.T) {
	ctx := context.Background()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "slotbook.io/v1alpha1", "kind": "Tenant",
		"metadata": map[string]any{"name": "fresh-tenant"},
		"spec":     map[string]any{"host": "booking.fresh-tenant.example"},
	}}
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := k8s.Get(ctx, client.ObjectKey{Name: "fresh-tenant"}, got); err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(got)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != status.InProgressStatus {
		t.Errorf("kstatus of a new Tenant: %s (%s), want InProgress; status %v", res.Status, res.Message, got.Object["status"])
	}
}
