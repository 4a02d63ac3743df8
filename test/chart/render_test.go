package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// helm runs the helm CLI and returns its stdout; stderr goes into the error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No repositories, plugins or registry logins of the machine's user.
	cmd.Env = append(cmd.Environ(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// renderChart runs `helm template` for the release "slotbook" in namespace with the given extra
// arguments (e.g. --values, --set, --include-crds) and parses the output.
func renderChart(t *testing.T, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", "slotbook", chartDir, "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseObjects(out)
	if err != nil {
		t.Fatalf("parsing helm template output: %v\n%s", err, out)
	}
	return objs
}

// parseObjects splits a multi-document YAML stream into objects, dropping empty documents.
func parseObjects(stream string) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("object without apiVersion, kind or name: %v", u.Object)
		}
		objs = append(objs, u)
	}
}

// objectID names an object by kind, namespace and name.
func objectID(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + " " + u.GetName()
	}
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

func objectIDs(objs []*unstructured.Unstructured) []string {
	ids := make([]string, 0, len(objs))
	for _, o := range objs {
		ids = append(ids, objectID(o))
	}
	sort.Strings(ids)
	return ids
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func mustFind(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o := find(objs, kind, name)
	if o == nil {
		t.Fatalf("no %s %s among %v", kind, name, objectIDs(objs))
	}
	return o
}

// applyAll applies every object with server-side apply (namespaced ones into their namespace,
// created first), as `kubectl apply --server-side` or Argo CD/Flux would, and fails the test on
// any error. Objects of the prometheus-operator kinds are skipped with a log line when their CRDs
// are not installed.
func applyAll(ctx context.Context, t *testing.T, fieldOwner string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, err := range tryApplyAll(ctx, t, fieldOwner, objs) {
		t.Error(err)
	}
}

// tryApplyAll is applyAll returning the API server's refusals.
func tryApplyAll(ctx context.Context, t *testing.T, fieldOwner string, objs []*unstructured.Unstructured) []error {
	t.Helper()
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			ensureNamespace(ctx, t, ns)
		}
	}
	var errs []error
	for _, o := range objs {
		if isMonitoring(o.GetAPIVersion()) && !monitoringCRDs {
			t.Logf("SKIPPED applying %s: prometheus-operator CRDs not installed (%s)", objectID(o), monitoringSkipReason)
			continue
		}
		obj := o.DeepCopy()
		if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			errs = append(errs, fmt.Errorf("server-side apply of %s: %w", objectID(o), err))
		}
	}
	return errs
}

func ensureNamespace(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if err := k8s.Apply(ctx, client.ApplyConfigurationFromUnstructured(ns), client.FieldOwner("test-namespaces")); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}
