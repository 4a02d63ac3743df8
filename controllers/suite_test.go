package controllers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/testenv"
)

// The suite runs the real controller in a manager against a real kube-apiserver and etcd
// (envtest) with the real CloudNativePG, Barman Cloud plugin and cert-manager CRDs installed.
var (
	testEnv    *envtest.Environment
	restConfig *rest.Config
	k8s        client.Client // uncached, for assertions
	mgrCtx     context.Context
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds kube-apiserver and etcd (hack/envtest-binaries.sh)")
		return 1
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapcore.Level(zapLevel()))))
	crds, err := testenv.CRDDirectoryPaths("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// prometheus-operator's CRDs, for the app's PodMonitor; without them those tests skip.
	if files, reason := testenv.MonitoringCRDFiles(); reason != "" {
		monitoringSkipReason = reason
		fmt.Fprintln(os.Stderr, "controllers: prometheus-operator CRDs not available, PodMonitor tests will be skipped:", reason)
	} else {
		crds = append(crds, files...)
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     crds,
		ErrorIfCRDPathMissing: true,
	}
	restConfig, err = testEnv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		_ = testEnv.Stop() // a failed CRD install leaves the control plane running
		return 1
	}
	defer func() { _ = testEnv.Stop() }()

	k8s, err = client.New(restConfig, client.Options{Scheme: NewScheme()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The manager runs as the operator's ServiceAccount with only the generated ClusterRole, so
	// every test also proves that config/rbac/role.yaml grants what the controller uses.
	operatorConfig, err := operatorIdentity(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the operator's RBAC:", err)
		return 1
	}
	mgr, err := ctrl.NewManager(operatorConfig, ctrl.Options{
		Scheme:  NewScheme(),
		Cache:   CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := NewTenantReconciler(mgr, 4).SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testManager = mgr
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	mgrCtx = ctx
	return m.Run()
}

var testManager ctrl.Manager

// monitoringSkipReason says why prometheus-operator's CRDs are not installed ("" when they are).
var monitoringSkipReason string

const operatorServiceAccount = "system:serviceaccount:slotbook-system:slotbook-operator"

// operatorIdentity installs config/rbac/role.yaml bound to the operator's ServiceAccount and
// returns a rest.Config that impersonates it.
func operatorIdentity(ctx context.Context) (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		return nil, err
	}
	role.Name = "slotbook-test-manager-role"
	if err := k8s.Create(ctx, role); err != nil {
		return nil, err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "slotbook-test-manager"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "slotbook-system", Name: "slotbook-operator"}},
	}
	if err := k8s.Create(ctx, binding); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: operatorServiceAccount}
	return cfg, nil
}

func zapLevel() int8 {
	if os.Getenv("TEST_VERBOSE") != "" {
		return -1
	}
	return 2 // errors only (zap levels: info 0, warn 1, error 2)
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
}

const waitTimeout = 30 * time.Second

// fixture creates, per test, a TenantClass with its credentials Secret, so tests don't share state.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	prefix string
}

func newFixture(t *testing.T, prefix string) *fixture {
	t.Helper()
	return &fixture{t: t, ctx: context.Background(), prefix: prefix}
}

func (f *fixture) create(obj client.Object) {
	f.t.Helper()
	if err := k8s.Create(f.ctx, obj); err != nil {
		f.t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// ensureNamespace creates a namespace for class-level Secrets if it does not exist.
func (f *fixture) ensureNamespace(name string) {
	f.t.Helper()
	err := k8s.Create(f.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		f.t.Fatal(err)
	}
}

// class creates a TenantClass named <prefix>-class and its credentials Secret.
func (f *fixture) class(mutate ...func(*slotbookv1alpha1.TenantClass)) *slotbookv1alpha1.TenantClass {
	f.t.Helper()
	f.ensureNamespace("slotbook-system")
	secretName := f.prefix + "-backup-creds"
	f.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "slotbook-system", Name: secretName},
		Data: map[string][]byte{
			"ACCESS_KEY_ID":     []byte("AKIATEST"),
			"ACCESS_SECRET_KEY": []byte("secret-" + f.prefix),
		},
	})
	class := testClass(f.prefix+"-class", secretName)
	for _, m := range mutate {
		m(class)
	}
	f.create(class)
	return class
}

func testClass(name, secretName string) *slotbookv1alpha1.TenantClass {
	return &slotbookv1alpha1.TenantClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: slotbookv1alpha1.TenantClassSpec{
			Ingress: slotbookv1alpha1.IngressSpec{
				ClassName: "traefik",
				ControllerNamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{
					"kubernetes.io/metadata.name": "ingress",
				}},
			},
			TLS: slotbookv1alpha1.TLSSpec{IssuerRef: slotbookv1alpha1.IssuerReference{Name: "slotbook-ca", Kind: "ClusterIssuer"}},
			Backup: slotbookv1alpha1.BackupSpec{
				DestinationPath:      "s3://backups/slotbook",
				EndpointURL:          "http://objects.example:9000",
				CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "slotbook-system", Name: secretName},
				EgressCIDRs:          []string{"10.0.0.10/32"},
			},
			App: slotbookv1alpha1.ClassAppSpec{Image: "slotbook/app:v1"},
		},
	}
}

// tenant creates a Tenant of the fixture's class.
func (f *fixture) tenant(name string, mutate ...func(*slotbookv1alpha1.Tenant)) *slotbookv1alpha1.Tenant {
	f.t.Helper()
	tenant := &slotbookv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: slotbookv1alpha1.TenantSpec{
			ClassName: f.prefix + "-class",
			Host:      name + ".booking.example",
		},
	}
	for _, m := range mutate {
		m(tenant)
	}
	f.create(tenant)
	return tenant
}

// get reads an object fresh from the API server.
func get[T client.Object](t *testing.T, obj T, namespace, name string) (T, error) {
	t.Helper()
	err := k8s.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj)
	return obj, err
}

// tenantCondition returns the tenant's condition of a type, or nil.
func tenantCondition(t *testing.T, name, typ string) (*metav1.Condition, error) {
	t.Helper()
	tenant, err := get(t, &slotbookv1alpha1.Tenant{}, "", name)
	if err != nil {
		return nil, err
	}
	for i := range tenant.Status.Conditions {
		if tenant.Status.Conditions[i].Type == typ {
			return &tenant.Status.Conditions[i], nil
		}
	}
	return nil, fmt.Errorf("tenant %s has no %s condition (conditions: %+v)", name, typ, tenant.Status.Conditions)
}

// waitForCondition waits until the tenant's condition has the status and reason (any reason if empty).
func waitForCondition(t *testing.T, name, typ string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	eventually(t, waitTimeout, fmt.Sprintf("tenant %s condition %s=%s (%s)", name, typ, status, reason), func() error {
		c, err := tenantCondition(t, name, typ)
		if err != nil {
			return err
		}
		if c.Status != status || (reason != "" && c.Reason != reason) {
			return fmt.Errorf("is %s (%s): %s", c.Status, c.Reason, c.Message)
		}
		got = c
		return nil
	})
	return got
}
