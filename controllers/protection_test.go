package controllers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// admissionDir holds the admission policies shipped with the operator.
var admissionDir = filepath.Join("..", "config", "admission")

// readManifests decodes every document of a multi-document YAML file.
func readManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decoding %s: %v", path, err)
		}
		if len(obj.Object) == 0 { // an empty document
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

// applyManifests creates the objects of a YAML file (replacing any left over) and deletes them
// when the test ends.
func applyManifests(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	ctx := context.Background()
	objs := readManifests(t, path)
	if len(objs) == 0 {
		t.Fatalf("%s holds no objects", path)
	}
	for _, obj := range objs {
		err := k8s.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			existing := &unstructured.Unstructured{}
			existing.SetGroupVersionKind(obj.GroupVersionKind())
			if err = k8s.Get(ctx, client.ObjectKeyFromObject(obj), existing); err == nil {
				obj.SetResourceVersion(existing.GetResourceVersion())
				err = k8s.Update(ctx, obj)
			}
		}
		if err != nil {
			t.Fatalf("applying %s %s from %s: %v", obj.GetKind(), obj.GetName(), path, err)
		}
		t.Cleanup(func() {
			if err := k8s.Delete(context.Background(), obj); client.IgnoreNotFound(err) != nil {
				t.Errorf("deleting %s %s: %v", obj.GetKind(), obj.GetName(), err)
			}
		})
	}
	return objs
}

// protected are the annotations of a protected tenant.
var protected = map[string]string{slotbookv1alpha1.DeletionProtectionAnnotation: "true"}

// protectionTenant creates a tenant of a missing class (the controller only stalls it).
func protectionTenant(t *testing.T, name string, annotations, labels map[string]string) *slotbookv1alpha1.Tenant {
	t.Helper()
	tenant := &slotbookv1alpha1.Tenant{}
	tenant.Name = name
	tenant.Labels = labels
	tenant.Annotations = annotations
	tenant.Spec = slotbookv1alpha1.TenantSpec{ClassName: validationMissingClass, Host: name + ".booking.example"}
	if err := k8s.Create(context.Background(), tenant); err != nil {
		t.Fatalf("creating tenant %s: %v", name, err)
	}
	// Last registered, first run: the policy is still there when the tenants are cleaned up, so
	// the protection must be lifted first.
	t.Cleanup(func() {
		unprotect(t, name)
		deleteTenantAndWait(t, name)
	})
	return tenant
}

// unprotect removes the deletion-protection annotation, if the tenant still exists.
func unprotect(t *testing.T, name string) {
	t.Helper()
	tenant := &slotbookv1alpha1.Tenant{}
	tenant.Name = name
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:null}}}`, slotbookv1alpha1.DeletionProtectionAnnotation)
	if err := k8s.Patch(context.Background(), tenant, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
		t.Errorf("removing the protection of tenant %s: %v", name, err)
	}
}

// assertDeletionRefused fails unless err is the policy's refusal of the tenant's deletion.
func assertDeletionRefused(t *testing.T, err error, name string) {
	t.Helper()
	if err := deletionRefusal(err, name); err != nil {
		t.Fatal(err)
	}
}

// deletionRefusal says why err is not the policy's refusal of the tenant's deletion, or nil.
func deletionRefusal(err error, name string) error {
	if err == nil {
		return fmt.Errorf("deleting protected tenant %s was accepted", name)
	}
	if !apierrors.IsForbidden(err) {
		return fmt.Errorf("want a Forbidden error, got (reason %q) %v", apierrors.ReasonForError(err), err)
	}
	for _, want := range []string{
		"tenant-deletion-protection",
		"Tenant " + name + " is protected against deletion",
		"kubectl annotate tenant " + name + " slotbook.io/deletion-protection-",
	} {
		if !strings.Contains(err.Error(), want) {
			return fmt.Errorf("the refusal does not contain %q: %v", want, err)
		}
	}
	return nil
}

func TestDeletionProtection(t *testing.T) {
	ctx := context.Background()

	// The kustomization ships the policy.
	kdata, err := os.ReadFile(filepath.Join(admissionDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kustomization struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(kdata, &kustomization); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(kustomization.Resources, "deletion-protection.yaml") {
		t.Errorf("config/admission/kustomization.yaml does not list deletion-protection.yaml: %v", kustomization.Resources)
	}

	objs := applyManifests(t, filepath.Join(admissionDir, "deletion-protection.yaml"))
	var kinds []string
	for _, obj := range objs {
		kinds = append(kinds, obj.GetKind())
	}
	if !slices.Equal(kinds, []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}) {
		t.Errorf("deletion-protection.yaml holds %v, want a policy and its binding", kinds)
	}

	// (The policy's status.typeChecking is written by kube-controller-manager, which envtest does
	// not run: the expressions are checked by the behaviour below instead.)
	locked := protectionTenant(t, "prot-locked", protected, nil)
	waitForFinalizer(t, locked.Name)

	// The API server loads a new policy asynchronously: probe with dry-run deletions, which go
	// through admission but delete nothing, until the policy refuses.
	eventually(t, waitTimeout, "the deletion-protection policy to become active", func() error {
		return deletionRefusal(k8s.Delete(ctx, locked.DeepCopy(), client.DryRunAll), locked.Name)
	})

	t.Run("deleting a protected tenant is refused", func(t *testing.T) {
		err := k8s.Delete(ctx, locked.DeepCopy())
		assertDeletionRefused(t, err, locked.Name)
		t.Logf("refused: %v", err)
		got, err := get(t, &slotbookv1alpha1.Tenant{}, "", locked.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DeletionTimestamp != nil {
			t.Errorf("the protected tenant is being deleted (deletionTimestamp %v)", got.DeletionTimestamp)
		}
	})

	t.Run("a protected tenant can still be updated", func(t *testing.T) {
		var err error
		for range 20 {
			tenant, getErr := get(t, &slotbookv1alpha1.Tenant{}, "", locked.Name)
			if getErr != nil {
				t.Fatal(getErr)
			}
			tenant.Spec.DisplayName = "Protected Salon"
			tenant.Spec.Suspend = true
			if err = k8s.Update(ctx, tenant); !apierrors.IsConflict(err) {
				break // else the controller wrote it in between: try again
			}
		}
		if err != nil {
			t.Fatalf("updating a protected tenant was refused: %v", err)
		}
		// Patches are updates too.
		tenant := &slotbookv1alpha1.Tenant{}
		tenant.Name = locked.Name
		patch := []byte(`{"metadata":{"labels":{"team":"bookings"}}}`)
		if err := k8s.Patch(ctx, tenant, client.RawPatch(types.MergePatchType, patch)); err != nil {
			t.Fatalf("patching a protected tenant was refused: %v", err)
		}
	})

	t.Run("only the value true protects", func(t *testing.T) {
		for name, annotations := range map[string]map[string]string{
			"prot-false":            {slotbookv1alpha1.DeletionProtectionAnnotation: "false"},
			"prot-no-annotation":    nil,
			"prot-other-annotation": {"example.com/owner": "team-bookings"},
		} {
			tenant := protectionTenant(t, name, annotations, nil)
			waitForFinalizer(t, name)
			if err := k8s.Delete(ctx, tenant); err != nil {
				t.Fatalf("deleting unprotected tenant %s (annotations %v) was refused: %v", name, annotations, err)
			}
			if err := waitTenantGone(name); err != nil {
				t.Errorf("unprotected tenant %s was not deleted: %v", name, err)
			}
		}
	})

	t.Run("deleting a collection spares protected tenants", func(t *testing.T) {
		labels := map[string]string{"slotbook.io/test": "prot-collection"}
		protectionTenant(t, "prot-coll-locked", protected, labels)
		protectionTenant(t, "prot-coll-open", nil, labels)
		// The API server deletes a collection item by item, each through admission, and gives up
		// at the first refusal: whether the unprotected tenant went first is not specified.
		err := k8s.DeleteAllOf(ctx, &slotbookv1alpha1.Tenant{}, client.MatchingLabels(labels))
		if err := deletionRefusal(err, "prot-coll-locked"); err != nil {
			t.Errorf("deleting the collection: %v", err)
		}
		got, err := get(t, &slotbookv1alpha1.Tenant{}, "", "prot-coll-locked")
		if err != nil {
			t.Fatalf("the protected tenant of the collection is gone: %v", err)
		}
		if got.DeletionTimestamp != nil {
			t.Errorf("the protected tenant of the collection is being deleted")
		}
	})

	t.Run("removing the protection allows deletion", func(t *testing.T) {
		unprotect(t, locked.Name)
		if err := k8s.Delete(ctx, locked.DeepCopy()); err != nil {
			t.Fatalf("deleting the tenant once unprotected was refused: %v", err)
		}
		if err := waitTenantGone(locked.Name); err != nil {
			t.Errorf("tenant %s was not deleted once unprotected: %v", locked.Name, err)
		}
	})
}
