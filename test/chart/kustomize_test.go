package chart

import (
	"context"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// rbacRole reads both Roles and ClusterRoles (the same fields).
type rbacRole = rbacv1.ClusterRole

// renderKustomize builds a kustomization folder the way `kubectl apply -k` does.
func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseObjects(string(out))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestKustomizeInstallsWhatTheChartInstalls compares `kubectl apply -k config/default` with the
// chart's default render (CRDs included): the same kinds and names, the same permissions, policy
// and Deployment settings. The only difference is the Namespace, which kustomize creates (with
// the restricted Pod Security labels) and Helm leaves to `--create-namespace` or the user.
func TestKustomizeInstallsWhatTheChartInstalls(t *testing.T) {
	kust := renderKustomize(t, filepath.Join(repoRoot, "config", "default"))
	chart := renderChart(t, "slotbook-system", "--include-crds")
	// kustomize (v0.21) does not know that ValidatingAdmissionPolicy(Binding) is cluster-scoped
	// and puts them into slotbook-system; the API server drops the namespace of cluster-scoped
	// objects, so compare what the cluster stores.
	clusterScopedWithoutNamespace(t, kust)
	clusterScopedWithoutNamespace(t, chart)

	kustIDs := slices.DeleteFunc(objectIDs(kust), func(id string) bool { return id == "Namespace slotbook-system" })
	if len(kustIDs) != len(kust)-1 {
		t.Errorf("config/default does not create the namespace slotbook-system: %v", objectIDs(kust))
	}
	if chartIDs := objectIDs(chart); !slices.Equal(kustIDs, chartIDs) {
		t.Errorf("object sets differ:\nkustomize %v\nchart     %v", kustIDs, chartIDs)
	}

	// References inside each set resolve (kustomize renames only what it knows about).
	for name, objs := range map[string][]*unstructured.Unstructured{"kustomize": kust, "chart": chart} {
		checkReferences(t, name, objs)
	}

	// The same content where it matters.
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, k := range kust {
			if k.GetKind() != kind {
				continue
			}
			c := find(chart, kind, k.GetName())
			if c == nil {
				continue // reported above
			}
			if got, want := normalizeRules(toTyped[rbacRole](t, c).Rules), normalizeRules(toTyped[rbacRole](t, k).Rules); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: chart rules %v, kustomize rules %v", objectID(k), got, want)
			}
			if got, want := k.GetLabels()["rbac.authorization.k8s.io/aggregate-to-view"], c.GetLabels()["rbac.authorization.k8s.io/aggregate-to-view"]; got != want {
				t.Errorf("%s: aggregation label %q in kustomize, %q in the chart", objectID(k), got, want)
			}
		}
	}
	for _, id := range []struct{ kind, name string }{
		{"ValidatingAdmissionPolicy", "slotbook-tenant-deletion-protection"},
		{"NetworkPolicy", "slotbook-operator"},
		{"Service", "slotbook-operator-metrics"},
	} {
		k, c := find(kust, id.kind, id.name), find(chart, id.kind, id.name)
		if k == nil || c == nil {
			continue
		}
		if !reflect.DeepEqual(k.Object["spec"], c.Object["spec"]) {
			t.Errorf("%s %s: spec differs\nkustomize %v\nchart     %v", id.kind, id.name, k.Object["spec"], c.Object["spec"])
		}
	}
	for _, crd := range kust {
		if crd.GetKind() == "CustomResourceDefinition" {
			// GitOps tools must not delete the CRDs (and so every Tenant) on their own.
			a := crd.GetAnnotations()
			if a["kustomize.toolkit.fluxcd.io/prune"] != "disabled" || a["argocd.argoproj.io/sync-options"] != "Delete=false" {
				t.Errorf("CRD %s lacks the annotations that keep Flux and Argo CD from deleting it: %v", crd.GetName(), a)
			}
			c := find(chart, crd.GetKind(), crd.GetName())
			if c != nil && !reflect.DeepEqual(crd.Object["spec"], c.Object["spec"]) {
				t.Errorf("CRD %s differs between kustomize and chart", crd.GetName())
			}
		}
	}
	kd := toTyped[appsDeployment](t, mustFind(t, kust, "Deployment", "slotbook-operator"))
	cd := toTyped[appsDeployment](t, mustFind(t, chart, "Deployment", "slotbook-operator"))
	if !maps.Equal(kd.Spec.Selector.MatchLabels, cd.Spec.Selector.MatchLabels) {
		t.Errorf("selectors differ: kustomize %v, chart %v", kd.Spec.Selector.MatchLabels, cd.Spec.Selector.MatchLabels)
	}
	kc, cc := kd.Spec.Template.Spec.Containers[0], cd.Spec.Template.Spec.Containers[0]
	if !reflect.DeepEqual(kc.Ports, cc.Ports) || !reflect.DeepEqual(kc.LivenessProbe, cc.LivenessProbe) || !reflect.DeepEqual(kc.ReadinessProbe, cc.ReadinessProbe) {
		t.Errorf("ports or probes differ:\nkustomize %+v\nchart     %+v", kc, cc)
	}
	if kd.Spec.Template.Spec.ServiceAccountName != cd.Spec.Template.Spec.ServiceAccountName {
		t.Errorf("serviceAccountName: kustomize %s, chart %s", kd.Spec.Template.Spec.ServiceAccountName, cd.Spec.Template.Spec.ServiceAccountName)
	}
}

// TestKustomizeAppliesToAPIServer applies config/default to the API server, as
// `kubectl apply -k config/default --server-side` would (its CRDs are already installed).
func TestKustomizeAppliesToAPIServer(t *testing.T) {
	objs := renderKustomize(t, filepath.Join(repoRoot, "config", "default"))
	applyAll(context.Background(), t, "kustomize-test", objs)
}

// clusterScopedWithoutNamespace clears the namespace of cluster-scoped objects, as the API
// server does, asking the API server which kinds are cluster-scoped.
func clusterScopedWithoutNamespace(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if o.GetNamespace() == "" {
			continue
		}
		namespaced, err := k8s.IsObjectNamespaced(o)
		if err != nil {
			t.Fatalf("%s: %v", objectID(o), err)
		}
		if !namespaced {
			o.SetNamespace("")
		}
	}
}

// checkReferences checks that bindings name roles, policies and ServiceAccounts of the same set.
func checkReferences(t *testing.T, set string, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRoleBinding", "RoleBinding":
			kind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
			name, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
			if find(objs, kind, name) == nil {
				t.Errorf("%s: %s refers to the missing %s %s", set, objectID(o), kind, name)
			}
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subjects {
				s := s.(map[string]any)
				if s["kind"] == "ServiceAccount" {
					sa := find(objs, "ServiceAccount", s["name"].(string))
					if sa == nil || sa.GetNamespace() != s["namespace"] {
						t.Errorf("%s: %s refers to the missing ServiceAccount %v/%v", set, objectID(o), s["namespace"], s["name"])
					}
				}
			}
		case "ValidatingAdmissionPolicyBinding":
			name, _, _ := unstructured.NestedString(o.Object, "spec", "policyName")
			if find(objs, "ValidatingAdmissionPolicy", name) == nil {
				t.Errorf("%s: %s refers to the missing ValidatingAdmissionPolicy %s", set, objectID(o), name)
			}
		case "Deployment":
			sa, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "serviceAccountName")
			if s := find(objs, "ServiceAccount", sa); s == nil || s.GetNamespace() != o.GetNamespace() {
				t.Errorf("%s: %s runs as the missing ServiceAccount %s", set, objectID(o), sa)
			}
		}
	}
}
