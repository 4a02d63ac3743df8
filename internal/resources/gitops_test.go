package resources

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestChildrenCarryNoGitOpsMetadata: a Tenant applied by Argo CD or Flux carries their tracking
// metadata (Argo CD's tracking-id annotation or its app.kubernetes.io/instance label, Flux's
// kustomize.toolkit.fluxcd.io labels, kubectl's last-applied annotation). If the operator copied
// any of it to the Tenant's children, the GitOps tool would take them for its own objects, show
// them out of sync and prune them. So no child, pod template or generated Secret template may
// carry the Tenant's annotations, or its labels' values.
func TestChildrenCarryNoGitOpsMetadata(t *testing.T) {
	const appName = "argo-app-tenants"
	tenantAnnotations := map[string]string{
		"argocd.argoproj.io/tracking-id":                   appName + ":slotbook.io/Tenant:/acme",
		"argocd.argoproj.io/sync-wave":                     "5",
		"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"Tenant"}`,
		"kustomize.toolkit.fluxcd.io/checksum":             "0123abcd",
	}
	tenantLabels := map[string]string{
		"app.kubernetes.io/instance":            appName,
		"argocd.argoproj.io/instance":           appName,
		"kustomize.toolkit.fluxcd.io/name":      "flux-tenants",
		"kustomize.toolkit.fluxcd.io/namespace": "flux-system",
		"team":                                  "hair-and-beauty",
	}
	for _, c := range propertyCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs()
			in.Tenant.Annotations = map[string]string{}
			for k, v := range tenantAnnotations {
				in.Tenant.Annotations[k] = v
			}
			in.Tenant.Labels = map[string]string{}
			for k, v := range tenantLabels {
				in.Tenant.Labels[k] = v
			}
			for _, obj := range mustBuild(t, in) {
				u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
				if err != nil {
					t.Fatal(err)
				}
				id := fmt.Sprintf("%T %s", obj, obj.GetName())
				walkMetadata(u, "", func(path, key, value string) {
					if _, ok := tenantAnnotations[key]; ok {
						t.Errorf("%s: %s carries the Tenant's %s", id, path, key)
					}
					if strings.HasPrefix(key, "argocd.argoproj.io/") || strings.HasPrefix(key, "kustomize.toolkit.fluxcd.io/") {
						t.Errorf("%s: %s carries GitOps metadata %s", id, path, key)
					}
					for lk, lv := range tenantLabels {
						if value == lv && strings.HasSuffix(path, "labels") {
							t.Errorf("%s: %s[%s]=%s copies the Tenant's label %s", id, path, key, value, lk)
						}
					}
				})
			}
		})
	}
}

// walkMetadata calls fn for every entry of every "labels" and "annotations" map in an object,
// however deep (metadata, pod templates, CloudNativePG's inheritedMetadata, cert-manager's
// secretTemplate, ...).
func walkMetadata(v any, path string, fn func(path, key, value string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := path + "." + k
			if m, ok := child.(map[string]any); ok && (k == "labels" || k == "annotations") {
				for mk, mv := range m {
					s, _ := mv.(string)
					fn(p, mk, s)
				}
				continue
			}
			walkMetadata(child, p, fn)
		}
	case []any:
		for i, child := range v {
			walkMetadata(child, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}
