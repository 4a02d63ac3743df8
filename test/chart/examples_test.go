package chart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// knownExampleKinds are the kinds docs/examples may use, by apiVersion.
var knownExampleKinds = map[string][]string{
	"argoproj.io/v1alpha1":           {"Application"},
	"source.toolkit.fluxcd.io/v1":    {"GitRepository", "HelmRepository", "OCIRepository"},
	"kustomize.toolkit.fluxcd.io/v1": {"Kustomization"},
	"helm.toolkit.fluxcd.io/v2":      {"HelmRelease"},
	"v1":                             {"ConfigMap"},
}

// TestDocsExamples parses docs/examples/*.yaml: valid YAML, known kinds, paths that exist in this
// repository, and Helm values that the chart accepts (rendered with helm template).
func TestDocsExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "examples", "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v %v", files, err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			objs, err := parseObjects(string(mustRead(t, file)))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			for _, o := range objs {
				seen[o.GetKind()] = true
				if !slices.Contains(knownExampleKinds[o.GetAPIVersion()], o.GetKind()) {
					t.Errorf("%s: unknown kind %s %s", objectID(o), o.GetAPIVersion(), o.GetKind())
				}
				if _, ok := o.Object["spec"]; !ok && o.GetKind() != "ConfigMap" {
					t.Errorf("%s has no spec", objectID(o))
				}
				checkExample(t, o)
			}
		})
	}
	for _, kind := range []string{"Application", "Kustomization", "HelmRelease", "OCIRepository", "GitRepository"} {
		if !seen[kind] {
			t.Errorf("no example uses %s", kind)
		}
	}
}

func checkExample(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	switch o.GetKind() {
	case "Application":
		path, _, _ := unstructured.NestedString(o.Object, "spec", "source", "path")
		checkRepoPath(t, o, path)
		if values, found, _ := unstructured.NestedMap(o.Object, "spec", "source", "helm", "valuesObject"); found {
			if path != "charts/slotbook-operator" {
				t.Errorf("%s: helm values for path %s", objectID(o), path)
			}
			checkChartValues(t, o, values)
		}
	case "Kustomization":
		path, _, _ := unstructured.NestedString(o.Object, "spec", "path")
		if ref, _, _ := unstructured.NestedString(o.Object, "spec", "sourceRef", "name"); ref == "slotbook" {
			checkRepoPath(t, o, path)
		}
	case "HelmRelease":
		values, _, _ := unstructured.NestedMap(o.Object, "spec", "values")
		checkChartValues(t, o, values)
	}
}

func checkRepoPath(t *testing.T, o *unstructured.Unstructured, path string) {
	t.Helper()
	if path == "" {
		t.Errorf("%s: no path", objectID(o))
		return
	}
	if _, err := os.Stat(filepath.Join(repoRoot, strings.TrimPrefix(path, "./"))); err != nil {
		t.Errorf("%s: path %s does not exist in this repository", objectID(o), path)
	}
}

// checkChartValues renders the chart with an example's values, so the values schema judges them.
func checkChartValues(t *testing.T, o *unstructured.Unstructured, values map[string]any) {
	t.Helper()
	data, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := helm(t, "template", "slotbook", chartDir, "--namespace", "slotbook-system", "--values", file); err != nil {
		t.Errorf("%s: the chart refuses its values: %v", objectID(o), err)
	}
}
