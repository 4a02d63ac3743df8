// Package apply writes desired objects with server-side apply, but only when the live object
// differs from what is desired. A steady-state reconcile therefore makes no API writes at all,
// while drift (an edited or deleted object) is still corrected on the next reconcile.
package apply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Result says what Apply did.
type Result string

const (
	Unchanged Result = "Unchanged" // live object already as desired: nothing written
	Created   Result = "Created"
	Updated   Result = "Updated" // drift corrected or desired state changed
)

// Applier applies objects under one field owner.
type Applier struct {
	// Client reads live objects (normally from the informer cache) and writes applies.
	Client     client.Client
	FieldOwner string
}

// Apply makes the live object match desired. desired must be a typed object known to the
// client's scheme; its status is never written.
func (a *Applier) Apply(ctx context.Context, desired client.Object) (Result, error) {
	gvk, err := apiutil.GVKForObject(desired, a.Client.Scheme())
	if err != nil {
		return "", err
	}
	want, err := ToApplyMap(desired)
	if err != nil {
		return "", err
	}
	want["apiVersion"], want["kind"] = gvk.GroupVersion().String(), gvk.Kind

	live, err := a.Client.Scheme().New(gvk)
	if err != nil {
		return "", err
	}
	liveObj := live.(client.Object)
	result := Updated
	switch err := a.Client.Get(ctx, client.ObjectKeyFromObject(desired), liveObj); {
	case apierrors.IsNotFound(err):
		result = Created
	case err != nil:
		return "", fmt.Errorf("reading %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(desired), err)
	default:
		have, err := runtime.DefaultUnstructuredConverter.ToUnstructured(liveObj)
		if err != nil {
			return "", err
		}
		if IsSubset(withoutTypeMeta(want), have) {
			return Unchanged, nil
		}
	}
	u := &unstructured.Unstructured{Object: want}
	if err := a.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(a.FieldOwner), client.ForceOwnership); err != nil {
		return "", fmt.Errorf("applying %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(desired), err)
	}
	return result, nil
}

// ToApplyMap turns a typed object into the map server-side apply should receive: no status, no
// server-populated metadata and no nulls (typed structs serialise unset pointers and timestamps as
// null, which apply would read as "remove this field").
func ToApplyMap(obj runtime.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		for _, k := range []string{"creationTimestamp", "resourceVersion", "uid", "generation", "managedFields"} {
			delete(meta, k)
		}
	}
	return dropNulls(m).(map[string]any), nil
}

func withoutTypeMeta(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	return out
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
		return v
	default:
		return v
	}
}
