package chart

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

const customValues = "testdata/values-custom.yaml"

type appsDeployment = appsv1.Deployment

func TestHelmLint(t *testing.T) {
	for name, args := range map[string][]string{
		"default values":  nil,
		"custom values":   {"--values", customValues},
		"other namespace": {"--namespace", "platform-ops", "--set", "image.digest=sha256:" + strings.Repeat("ab", 32)},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, append([]string{"lint", "--strict", chartDir}, args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
			// --strict turns warnings into failures; INFO lines (e.g. "icon is recommended") stay.
			if strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
				t.Errorf("helm lint reports problems:\n%s", out)
			}
		})
	}
}

// TestValuesSchemaRejects checks that values.schema.json refuses wrong types and unknown keys.
func TestValuesSchemaRejects(t *testing.T) {
	for name, set := range map[string]string{
		"unknown top-level key":       "replicas=2",
		"unknown nested key":          "image.name=foo",
		"string for integer":          "replicaCount=two",
		"string for boolean":          "serviceMonitor.enabled=yes",
		"bad pull policy":             "image.pullPolicy=Sometimes",
		"port out of range":           "metrics.port=70000",
		"class enabled without spec":  "defaultTenantClass.enabled=true",
		"bad interval":                "serviceMonitor.interval=often",
		"resources with unknown key":  "resources.request.cpu=1",
		"non-string label value type": "commonLabels.team[0]=x",
		"dashboards unknown key":      "grafanaDashboards.folder=x",
		"dashboards bad label key":    "grafanaDashboards.label=not a label",
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, "template", "slotbook", chartDir, "--set", set)
			if err == nil {
				t.Fatalf("helm template --set %s succeeded, want a schema error:\n%s", set, out)
			}
			if !strings.Contains(err.Error(), "schema") && !strings.Contains(err.Error(), "required") {
				t.Errorf("error does not come from the values schema: %v", err)
			}
		})
	}
}

// TestChartInSyncWithConfig keeps the chart's CRDs byte-identical to config/crd/bases and the
// operator's ClusterRole identical to the generated config/rbac/role.yaml (`make chart-sync`).
func TestChartInSyncWithConfig(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join(repoRoot, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	chartCRDs, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if got, want := baseNames(chartCRDs), baseNames(bases); !slices.Equal(got, want) {
		t.Errorf("chart crds/ has %v, config/crd/bases has %v: run make chart-sync", got, want)
	}
	for _, base := range bases {
		want := mustRead(t, base)
		got, err := os.ReadFile(filepath.Join(chartDir, "crds", filepath.Base(base)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("charts/%s/crds/%s differs from config/crd/bases: run make chart-sync", chartName, filepath.Base(base))
		}
	}
	if !bytes.Equal(mustRead(t, filepath.Join(chartDir, "files", "manager-role.yaml")), mustRead(t, filepath.Join(repoRoot, "config", "rbac", "role.yaml"))) {
		t.Errorf("charts/%s/files/manager-role.yaml differs from config/rbac/role.yaml: run make chart-sync", chartName)
	}

	// And what the chart renders from it has the same rules.
	generated := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(mustRead(t, filepath.Join(repoRoot, "config", "rbac", "role.yaml")), generated); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"--values", customValues}} {
		objs := renderChart(t, "slotbook-system", args...)
		name := "slotbook-manager-role"
		if args != nil {
			name = "acme-slotbook-manager-role"
		}
		rendered := toTyped[rbacv1.ClusterRole](t, mustFind(t, objs, "ClusterRole", name))
		if got, want := normalizeRules(rendered.Rules), normalizeRules(generated.Rules); !reflect.DeepEqual(got, want) {
			t.Errorf("ClusterRole %s rules differ from config/rbac/role.yaml:\n got %v\nwant %v", name, got, want)
		}
	}
}

// TestChartAppliesToAPIServer renders the chart for several sets of values and applies every
// object with server-side apply, so the API server's validation (OpenAPI schemas of the built-in
// kinds and the CRDs, CEL rules) judges the output.
func TestChartAppliesToAPIServer(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, namespace string
		args            []string
		check           func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{"default values", "slotbook-system", nil, checkDefaultRender},
		{"custom values in another namespace", "platform-ops", []string{"--values", customValues}, checkCustomRender},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := renderChart(t, c.namespace, c.args...)
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					t.Errorf("helm template without --include-crds rendered %s", objectID(o))
				}
				if ns := o.GetNamespace(); ns != "" && ns != c.namespace {
					t.Errorf("%s is not in the release namespace %s", objectID(o), c.namespace)
				}
			}
			c.check(t, objs)
			applyAll(ctx, t, "helm-chart-test", objs)
		})
	}
}

// TestAPIServerCatchesBadValues proves that the apply above really validates: values that the
// chart's schema lets through (the class spec is free-form there) but the TenantClass CRD's rules
// refuse make the API server reject the object.
func TestAPIServerCatchesBadValues(t *testing.T) {
	objs := renderChart(t, "platform-ops", "--values", customValues,
		"--set", "defaultTenantClass.name=bad-class", "--set", "defaultTenantClass.spec.backup.egressCIDRs[0]=not-a-cidr")
	errs := tryApplyAll(context.Background(), t, "helm-chart-test", objs)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "TenantClass bad-class") {
		t.Fatalf("want exactly the TenantClass refused, got %v", errs)
	}
	t.Logf("refused as expected: %v", errs[0])
}

func checkDefaultRender(t *testing.T, objs []*unstructured.Unstructured) {
	want := []string{
		"ClusterRole slotbook-manager-role",
		"ClusterRole slotbook-metrics-auth-role",
		"ClusterRole slotbook-metrics-reader",
		"ClusterRole slotbook-tenant-editor-role",
		"ClusterRole slotbook-tenant-viewer-role",
		"ClusterRoleBinding slotbook-manager-rolebinding",
		"ClusterRoleBinding slotbook-metrics-auth-rolebinding",
		"Deployment slotbook-system/slotbook-operator",
		"NetworkPolicy slotbook-system/slotbook-operator",
		"Role slotbook-system/slotbook-leader-election-role",
		"RoleBinding slotbook-system/slotbook-leader-election-rolebinding",
		"Service slotbook-system/slotbook-operator-metrics",
		"ServiceAccount slotbook-system/slotbook-operator",
		"ValidatingAdmissionPolicy slotbook-tenant-deletion-protection",
		"ValidatingAdmissionPolicyBinding slotbook-tenant-deletion-protection",
	}
	if got := objectIDs(objs); !slices.Equal(got, want) {
		t.Errorf("default render:\n got %v\nwant %v", got, want)
	}
	// The Deployment matches config/manager: restricted security context, resources, leader
	// election, the chart's appVersion as the tag of the same image.
	chartDep := toTyped[appsDeployment](t, mustFind(t, objs, "Deployment", "slotbook-operator"))
	kustDep := managerDeployment(t)
	pod, kpod := chartDep.Spec.Template.Spec, kustDep.Spec.Template.Spec
	if !reflect.DeepEqual(pod.SecurityContext, kpod.SecurityContext) {
		t.Errorf("pod securityContext %+v differs from config/manager's %+v", pod.SecurityContext, kpod.SecurityContext)
	}
	c, kc := pod.Containers[0], kpod.Containers[0]
	if !reflect.DeepEqual(c.SecurityContext, kc.SecurityContext) {
		t.Errorf("container securityContext %+v differs from config/manager's %+v", c.SecurityContext, kc.SecurityContext)
	}
	if !reflect.DeepEqual(c.Resources, kc.Resources) {
		t.Errorf("resources %+v differ from config/manager's %+v", c.Resources, kc.Resources)
	}
	if !slices.Contains(c.Args, "--leader-elect=true") {
		t.Errorf("args %v: leader election is not on", c.Args)
	}
	if repo, _, _ := strings.Cut(kc.Image, ":"); c.Image != repo+":"+chartAppVersion(t) {
		t.Errorf("image %s, want config/manager's repository %s with the chart's appVersion", c.Image, repo)
	}
	for _, kind := range []string{"ServiceMonitor", "PodMonitor", "PrometheusRule", "TenantClass", "ConfigMap"} {
		for _, o := range objs {
			if o.GetKind() == kind {
				t.Errorf("%s rendered although disabled by default", objectID(o))
			}
		}
	}
}

func checkCustomRender(t *testing.T, objs []*unstructured.Unstructured) {
	for _, id := range []string{
		"ServiceMonitor platform-ops/acme-slotbook-operator",
		"PodMonitor platform-ops/acme-slotbook-operator",
		"PrometheusRule platform-ops/acme-slotbook-alerts",
		"ConfigMap platform-ops/acme-slotbook-grafana-dashboards",
		"TenantClass eu-standard",
		"ValidatingAdmissionPolicyBinding acme-slotbook-tenant-deletion-protection",
	} {
		if !slices.Contains(objectIDs(objs), id) {
			t.Errorf("custom render lacks %s: %v", id, objectIDs(objs))
		}
	}
	for _, id := range []string{"ClusterRole acme-slotbook-tenant-editor-role", "ClusterRole acme-slotbook-tenant-viewer-role"} {
		if slices.Contains(objectIDs(objs), id) {
			t.Errorf("%s rendered with rbac.userRoles=false", id)
		}
	}
	dep := toTyped[appsDeployment](t, mustFind(t, objs, "Deployment", "acme-slotbook-operator"))
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example.com/platform/slotbook-operator:1.2.3-rc.1" || c.ImagePullPolicy != "Always" {
		t.Errorf("image %s (%s)", c.Image, c.ImagePullPolicy)
	}
	if got := c.Resources.Limits.Cpu().String(); got != "1" {
		t.Errorf("cpu limit %s", got)
	}
	for _, arg := range []string{"--metrics-bind-address=:9443", "--health-probe-bind-address=:9081", "--concurrency=8", "--zap-log-level=debug"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	if dep.Spec.Template.Spec.ServiceAccountName != "acme-slotbook-operator" {
		t.Errorf("serviceAccountName %s", dep.Spec.Template.Spec.ServiceAccountName)
	}
	checkRenderedMonitoring(t, objs)
	class := mustFind(t, objs, "TenantClass", "eu-standard")
	if class.GetAnnotations()["slotbook.io/is-default-class"] != "true" {
		t.Errorf("TenantClass is not marked default: %v", class.GetAnnotations())
	}
	binding := mustFind(t, objs, "ClusterRoleBinding", "acme-slotbook-manager-rolebinding")
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if ns := subjects[0].(map[string]any)["namespace"]; ns != "platform-ops" {
		t.Errorf("ClusterRoleBinding subject namespace %v", ns)
	}
}

func chartAppVersion(t *testing.T) string {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(chartDir, "Chart.yaml")), &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %v", err)
	}
	return chart.AppVersion
}

// managerDeployment is the Deployment of config/manager/manager.yaml.
func managerDeployment(t *testing.T) *appsDeployment {
	t.Helper()
	objs, err := parseObjects(string(mustRead(t, filepath.Join(repoRoot, "config", "manager", "manager.yaml"))))
	if err != nil {
		t.Fatal(err)
	}
	return toTyped[appsDeployment](t, mustFind(t, objs, "Deployment", "operator"))
}

func toTyped[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s: %v", objectID(u), err)
	}
	return out
}

// normalizeRules sorts rules and their lists, so that equal permissions compare equal.
func normalizeRules(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, list := range [][]string{r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs, r.Verbs} {
			sort.Strings(list)
		}
		out = append(out, strings.Join([]string{
			strings.Join(r.APIGroups, ","), strings.Join(r.Resources, ","), strings.Join(r.ResourceNames, ","),
			strings.Join(r.NonResourceURLs, ","), strings.Join(r.Verbs, ","),
		}, " | "))
	}
	sort.Strings(out)
	return out
}

func baseNames(paths []string) []string {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	sort.Strings(out)
	return out
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
