package v1alpha1_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestEveryFieldIsDocumented: `kubectl explain tenant.spec` (and tenantclass, and status) shows a
// description for every field, i.e. every field of the generated CRDs has a doc comment.
func TestEveryFieldIsDocumented(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no CRDs in config/crd/bases")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatal(err)
		}
		for _, v := range crd.Spec.Versions {
			root := v.Schema.OpenAPIV3Schema
			var missing []string
			for _, top := range []string{"spec", "status"} {
				if prop, ok := root.Properties[top]; ok {
					missing = append(missing, undocumented(crd.Spec.Names.Singular+"."+top, prop)...)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("%s %s: fields without a description (add a doc comment in api/):\n  %s",
					crd.Name, v.Name, strings.Join(missing, "\n  "))
			}
		}
	}
}

// undocumented lists the fields under path without a description. Fields of Kubernetes' own types
// (e.g. metav1.Condition, corev1.Toleration) come documented from their packages.
func undocumented(path string, s apiextensionsv1.JSONSchemaProps) []string {
	var out []string
	if strings.TrimSpace(s.Description) == "" {
		out = append(out, path)
	}
	for name, p := range s.Properties {
		out = append(out, undocumented(path+"."+name, p)...)
	}
	// A list's items are described by the list; their fields need descriptions of their own.
	if s.Items != nil && s.Items.Schema != nil {
		for name, p := range s.Items.Schema.Properties {
			out = append(out, undocumented(path+"[]."+name, p)...)
		}
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil && len(s.AdditionalProperties.Schema.Properties) > 0 {
		out = append(out, undocumented(path+"{}", *s.AdditionalProperties.Schema)...)
	}
	return out
}
