package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestHelmInstallUpgradeUninstall runs the real Helm life cycle against an empty API server of
// its own: `helm install` creates the CRDs from crds/ and the release, `helm upgrade` changes the
// release but not the CRDs, and `helm uninstall` removes the operator but keeps the CRDs and the
// Tenants, as docs/install.md promises.
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	ctx := context.Background()
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.AddUser(envtest.User{Name: "helm-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfigFile := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfigFile, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := helm(t, append(args, "--kubeconfig", kubeconfigFile)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	run("install", "slotbook", chartDir, "--namespace", "slotbook-system", "--create-namespace")
	for _, name := range []string{"tenants.slotbook.io", "tenantclasses.slotbook.io"} {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
			t.Errorf("CRD %s after helm install: %v", name, err)
		}
	}
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "slotbook-system", Name: "slotbook-operator"}, dep); err != nil {
		t.Fatalf("Deployment after helm install: %v", err)
	}

	// A Tenant, to show that it survives the uninstall. envtest's client has a RESTMapper that
	// discovers the new CRD lazily.
	tenant := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "slotbook.io/v1alpha1", "kind": "Tenant",
		"metadata": map[string]any{"name": "survivor"},
		"spec":     map[string]any{"host": "booking.survivor.example"},
	}}
	if err := c.Create(ctx, tenant); err != nil {
		t.Fatalf("creating a Tenant: %v", err)
	}

	run("upgrade", "slotbook", chartDir, "--namespace", "slotbook-system", "--reuse-values", "--set", "replicaCount=2")
	if err := c.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil || *dep.Spec.Replicas != 2 {
		t.Errorf("after helm upgrade: replicas %v, %v", dep.Spec.Replicas, err)
	}
	if out := run("list", "--namespace", "slotbook-system"); !strings.Contains(out, "deployed") {
		t.Errorf("helm list:\n%s", out)
	}

	run("uninstall", "slotbook", "--namespace", "slotbook-system")
	if err := c.Get(ctx, client.ObjectKeyFromObject(dep), dep); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after helm uninstall: %v", err)
	}
	for _, name := range []string{"tenants.slotbook.io", "tenantclasses.slotbook.io"} {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
			t.Errorf("CRD %s after helm uninstall: %v", name, err)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "survivor"}, tenant); err != nil {
		t.Errorf("Tenant after helm uninstall: %v", err)
	}
}
