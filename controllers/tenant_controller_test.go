package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// child names one object a tenant must have.
type child struct {
	obj  client.Object
	name string
}

func tenantChildren() []child {
	return []child{
		{&corev1.ResourceQuota{}, resources.ResourceQuotaName},
		{&corev1.LimitRange{}, resources.LimitRangeName},
		{&corev1.Secret{}, resources.BackupCredentialsSecretName},
		{&corev1.Secret{}, resources.DatabaseSecretName},
		{&corev1.Secret{}, resources.SessionSecretName},
		{&barmancloudv1.ObjectStore{}, resources.ObjectStoreName},
		{&cnpgv1.Cluster{}, resources.PostgresClusterName},
		{&cnpgv1.ScheduledBackup{}, resources.ScheduledBackupName},
		{&cmv1.Certificate{}, resources.CertificateName},
		{&networkingv1.NetworkPolicy{}, resources.NetpolDefaultDeny},
		{&networkingv1.NetworkPolicy{}, resources.NetpolAllowDNS},
		{&networkingv1.NetworkPolicy{}, resources.NetpolIngressToApp},
		{&networkingv1.NetworkPolicy{}, resources.NetpolAppToPostgres},
		{&networkingv1.NetworkPolicy{}, resources.NetpolPostgresFromApp},
		{&networkingv1.NetworkPolicy{}, resources.NetpolPostgresReplication},
		{&networkingv1.NetworkPolicy{}, resources.NetpolOperatorToPostgres},
		{&networkingv1.NetworkPolicy{}, resources.NetpolPostgresToAPIServer},
		{&networkingv1.NetworkPolicy{}, resources.NetpolPostgresToObjectStore},
		{&corev1.ServiceAccount{}, resources.AppName},
		{&appsv1.Deployment{}, resources.AppName},
		{&corev1.Service{}, resources.AppName},
		{&networkingv1.Ingress{}, resources.AppName},
		{&policyv1.PodDisruptionBudget{}, resources.AppName},
	}
}

// waitForChildren waits until the namespace and every child of the tenant exist.
func waitForChildren(t *testing.T, tenant *slotbookv1alpha1.Tenant) {
	t.Helper()
	ns := tenant.NamespaceName()
	eventually(t, waitTimeout, "tenant "+tenant.Name+" children", func() error {
		if _, err := get(t, &corev1.Namespace{}, "", ns); err != nil {
			return err
		}
		for _, c := range tenantChildren() {
			if _, err := get(t, c.obj.DeepCopyObject().(client.Object), ns, c.name); err != nil {
				return fmt.Errorf("%T %s: %w", c.obj, c.name, err)
			}
		}
		return nil
	})
}

func TestProvisioningCreatesEveryChild(t *testing.T) {
	f := newFixture(t, "prov")
	f.class()
	tenant := f.tenant("prov-a", func(tn *slotbookv1alpha1.Tenant) {
		tn.Spec.Security.MFA = slotbookv1alpha1.MFARequired
	})
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()
	tenant, _ = get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)

	t.Run("namespace is isolated and labelled", func(t *testing.T) {
		n, _ := get(t, &corev1.Namespace{}, "", ns)
		for k, v := range map[string]string{
			"slotbook.io/tenant":                 "prov-a",
			"slotbook.io/environment":            "production",
			"app.kubernetes.io/managed-by":       "slotbook",
			"pod-security.kubernetes.io/enforce": "restricted",
			"pod-security.kubernetes.io/audit":   "restricted",
			"pod-security.kubernetes.io/warn":    "restricted",
		} {
			if n.Labels[k] != v {
				t.Errorf("namespace label %s = %q, want %q", k, n.Labels[k], v)
			}
		}
		if !metav1.IsControlledBy(n, tenant) {
			t.Errorf("namespace is not controlled by the tenant: %+v", n.OwnerReferences)
		}
	})
	t.Run("every child is owned by the tenant", func(t *testing.T) {
		for _, c := range tenantChildren() {
			obj, _ := get(t, c.obj.DeepCopyObject().(client.Object), ns, c.name)
			if !metav1.IsControlledBy(obj, tenant) {
				t.Errorf("%T %s is not controlled by the tenant", c.obj, c.name)
			}
			if obj.GetLabels()[slotbookv1alpha1.TenantLabel] != tenant.Name {
				t.Errorf("%T %s lacks the tenant label", c.obj, c.name)
			}
		}
	})
	t.Run("postgres cluster", func(t *testing.T) {
		c, _ := get(t, &cnpgv1.Cluster{}, ns, "postgres")
		if c.Spec.Instances != 3 || c.Spec.StorageConfiguration.Size != "5Gi" {
			t.Errorf("instances/size = %d/%s, want 3/5Gi", c.Spec.Instances, c.Spec.StorageConfiguration.Size)
		}
		if c.Spec.Bootstrap == nil || c.Spec.Bootstrap.InitDB.Database != "booking" || c.Spec.Bootstrap.InitDB.Owner != "booking" {
			t.Errorf("bootstrap = %+v", c.Spec.Bootstrap)
		}
		if !slices.Contains(c.Spec.PostgresConfiguration.PgHBA, "hostnossl all all 0.0.0.0/0 reject") {
			t.Errorf("pg_hba does not reject plain-text connections: %v", c.Spec.PostgresConfiguration.PgHBA)
		}
		if len(c.Spec.Plugins) != 1 || c.Spec.Plugins[0].Name != resources.BarmanCloudPluginName || !*c.Spec.Plugins[0].IsWALArchiver {
			t.Errorf("plugins = %+v", c.Spec.Plugins)
		}
	})
	t.Run("object store and scheduled backup", func(t *testing.T) {
		s, _ := get(t, &barmancloudv1.ObjectStore{}, ns, resources.ObjectStoreName)
		if got := s.Spec.Configuration.DestinationPath; got != "s3://backups/slotbook/prov-a" {
			t.Errorf("destinationPath = %s", got)
		}
		if s.Spec.RetentionPolicy != "30d" {
			t.Errorf("retention = %s", s.Spec.RetentionPolicy)
		}
		sb, _ := get(t, &cnpgv1.ScheduledBackup{}, ns, resources.ScheduledBackupName)
		if sb.Spec.Schedule != "0 0 2 * * *" || sb.Spec.Method != cnpgv1.BackupMethodPlugin || sb.Spec.BackupOwnerReference != "self" {
			t.Errorf("scheduled backup = %+v", sb.Spec)
		}
		creds, _ := get(t, &corev1.Secret{}, ns, resources.BackupCredentialsSecretName)
		if string(creds.Data["ACCESS_SECRET_KEY"]) != "secret-prov" {
			t.Errorf("credentials not copied: %v", creds.Data)
		}
	})
	t.Run("certificate", func(t *testing.T) {
		c, _ := get(t, &cmv1.Certificate{}, ns, resources.CertificateName)
		if !slices.Equal(c.Spec.DNSNames, []string{"prov-a.booking.example"}) || c.Spec.IssuerRef.Name != "slotbook-ca" ||
			c.Spec.PrivateKey.RotationPolicy != cmv1.RotationPolicyAlways {
			t.Errorf("certificate = %+v", c.Spec)
		}
	})
	t.Run("app deployment", func(t *testing.T) {
		d, _ := get(t, &appsv1.Deployment{}, ns, resources.AppName)
		if *d.Spec.Replicas != 2 {
			t.Errorf("replicas = %d", *d.Spec.Replicas)
		}
		pod := d.Spec.Template.Spec
		sc := pod.Containers[0].SecurityContext
		if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot || sc.Capabilities.Drop[0] != "ALL" ||
			pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || *pod.AutomountServiceAccountToken {
			t.Errorf("pod is not restricted: %+v %+v", pod.SecurityContext, sc)
		}
		env := map[string]string{}
		for _, e := range pod.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["SLOTBOOK_MFA"] != "Required" || env["SLOTBOOK_BASE_URL"] != "https://prov-a.booking.example" {
			t.Errorf("env = %v", env)
		}
		if d.Spec.Template.Annotations[resources.ConfigChecksumAnnotation] == "" {
			t.Error("no config checksum on the pod template")
		}
	})
	t.Run("ingress uses the class and the certificate secret", func(t *testing.T) {
		i, _ := get(t, &networkingv1.Ingress{}, ns, resources.AppName)
		if *i.Spec.IngressClassName != "traefik" || i.Spec.TLS[0].SecretName != resources.TLSSecretName || i.Spec.Rules[0].Host != tenant.Spec.Host {
			t.Errorf("ingress = %+v", i.Spec)
		}
	})
	t.Run("apiserver egress uses the kubernetes EndpointSlices", func(t *testing.T) {
		p, _ := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolPostgresToAPIServer)
		var slices discoveryv1.EndpointSliceList
		if err := k8s.List(context.Background(), &slices, client.InNamespace("default"),
			client.MatchingLabels{discoveryv1.LabelServiceName: "kubernetes"}); err != nil || len(slices.Items) == 0 {
			t.Fatalf("no kubernetes EndpointSlice: %v", err)
		}
		want := slices.Items[0].Endpoints[0].Addresses[0] + "/32"
		if len(p.Spec.Egress) != 1 || len(p.Spec.Egress[0].To) == 0 || p.Spec.Egress[0].To[0].IPBlock.CIDR != want ||
			p.Spec.Egress[0].Ports[0].Port.IntVal != *slices.Items[0].Ports[0].Port {
			t.Errorf("egress = %+v, want %s port %d", p.Spec.Egress, want, *slices.Items[0].Ports[0].Port)
		}
	})
	t.Run("generated secrets are stable", func(t *testing.T) {
		s1, _ := get(t, &corev1.Secret{}, ns, resources.SessionSecretName)
		forceReconcile(t, tenant.Name)
		s2, _ := get(t, &corev1.Secret{}, ns, resources.SessionSecretName)
		if string(s1.Data["key"]) != string(s2.Data["key"]) || len(s1.Data["key"]) < 32 {
			t.Errorf("session key changed or too short")
		}
	})
	t.Run("provisioning is reported in an Event", func(t *testing.T) {
		eventually(t, waitTimeout, "Created event", func() error {
			var events eventsv1.EventList
			if err := k8s.List(context.Background(), &events); err != nil {
				return err
			}
			for _, e := range events.Items {
				if e.Regarding.Kind == "Tenant" && e.Regarding.Name == tenant.Name && e.Reason == "Created" &&
					strings.Contains(e.Note, "Namespace tenant-prov-a") && strings.Contains(e.Note, "more") {
					return nil
				}
			}
			return fmt.Errorf("no Created event summing up the objects among %d events: %+v", len(events.Items), events.Items)
		})
	})
	t.Run("status", func(t *testing.T) {
		tn, _ := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
		if tn.Status.Namespace != ns || tn.Status.URL != "https://prov-a.booking.example" || tn.Status.ClassName != "prov-class" {
			t.Errorf("status = %+v", tn.Status)
		}
		want := slotbookv1alpha1.SecuritySpec{MFA: slotbookv1alpha1.MFARequired, SessionIdleTimeout: "15m", PasswordMinLength: 12}
		if tn.Status.Security == nil || *tn.Status.Security != want {
			t.Errorf("status.security = %+v, want %+v", tn.Status.Security, want)
		}
		waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionNamespaceReady, metav1.ConditionTrue, "")
		waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonProvisioning)
		waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReconciling, metav1.ConditionTrue, ReasonProvisioning)
	})
}

// countingClient counts the calls that write; reads go to the wrapped (cached) client.
type countingClient struct {
	client.Client
	writes *atomic.Int64
}

func (c countingClient) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	c.writes.Add(1)
	return c.Client.Create(ctx, o, opts...)
}

func (c countingClient) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	c.writes.Add(1)
	return c.Client.Update(ctx, o, opts...)
}

func (c countingClient) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.writes.Add(1)
	return c.Client.Patch(ctx, o, p, opts...)
}

func (c countingClient) Apply(ctx context.Context, o runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.writes.Add(1)
	return c.Client.Apply(ctx, o, opts...)
}

func (c countingClient) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	c.writes.Add(1)
	return c.Client.Delete(ctx, o, opts...)
}

func (c countingClient) Status() client.SubResourceWriter {
	return countingStatusWriter{c.Client.Status(), c.writes}
}

type countingStatusWriter struct {
	client.SubResourceWriter
	writes *atomic.Int64
}

func (w countingStatusWriter) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	w.writes.Add(1)
	return w.SubResourceWriter.Patch(ctx, o, p, opts...)
}

func (w countingStatusWriter) Update(ctx context.Context, o client.Object, opts ...client.SubResourceUpdateOption) error {
	w.writes.Add(1)
	return w.SubResourceWriter.Update(ctx, o, opts...)
}

// countingRecorder counts Events: they are writes to the API server too.
type countingRecorder struct {
	events.EventRecorder
	writes *atomic.Int64
}

func (c countingRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	c.writes.Add(1)
	c.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// forceReconcile runs one reconcile of the tenant outside the manager, with the manager's cache,
// and returns the number of writes it made, Events included.
func forceReconcile(t *testing.T, name string) int64 {
	t.Helper()
	var writes atomic.Int64
	r := NewTenantReconciler(testManager, 1)
	r.Client = countingClient{testManager.GetClient(), &writes}
	r.Recorder = countingRecorder{r.Recorder, &writes}
	if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: types.NamespacedName{Name: name}}); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return writes.Load()
}

// resourceVersions of the tenant and all its children.
func resourceVersions(t *testing.T, tenant *slotbookv1alpha1.Tenant) map[string]string {
	t.Helper()
	rvs := map[string]string{}
	tn, _ := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
	rvs["tenant"] = tn.ResourceVersion
	ns, _ := get(t, &corev1.Namespace{}, "", tenant.NamespaceName())
	rvs["namespace"] = ns.ResourceVersion
	for _, c := range tenantChildren() {
		obj, err := get(t, c.obj.DeepCopyObject().(client.Object), tenant.NamespaceName(), c.name)
		if err != nil {
			t.Fatalf("%T %s: %v", c.obj, c.name, err)
		}
		rvs[fmt.Sprintf("%T/%s", c.obj, c.name)] = obj.GetResourceVersion()
	}
	return rvs
}

func TestSteadyStateReconcileWritesNothing(t *testing.T) {
	f := newFixture(t, "steady")
	f.class()
	tenant := f.tenant("steady-a")
	waitForChildren(t, tenant)
	// Let the manager settle: the status reaches its provisioning state and the cache catches up.
	eventually(t, waitTimeout, "a reconcile without writes", func() error {
		if n := forceReconcile(t, tenant.Name); n != 0 {
			return fmt.Errorf("%d writes", n)
		}
		return nil
	})
	before := resourceVersions(t, tenant)
	for range 3 {
		if n := forceReconcile(t, tenant.Name); n != 0 {
			t.Fatalf("steady-state reconcile made %d writes", n)
		}
	}
	after := resourceVersions(t, tenant)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s resourceVersion changed %s → %s", k, v, after[k])
		}
	}
}

func TestDriftIsCorrected(t *testing.T) {
	f := newFixture(t, "drift")
	f.class()
	tenant := f.tenant("drift-a")
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()
	ctx := context.Background()

	cases := []struct {
		name    string
		disturb func() error
		check   func() error
	}{
		{
			name: "deleted NetworkPolicy comes back",
			disturb: func() error {
				return k8s.Delete(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: resources.NetpolDefaultDeny}})
			},
			check: func() error {
				_, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolDefaultDeny)
				return err
			},
		},
		{
			name: "deleted Deployment comes back",
			disturb: func() error {
				return k8s.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: resources.AppName}})
			},
			check: func() error {
				_, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
				return err
			},
		},
		{
			name: "deleted Certificate comes back",
			disturb: func() error {
				return k8s.Delete(ctx, &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: resources.CertificateName}})
			},
			check: func() error {
				_, err := get(t, &cmv1.Certificate{}, ns, resources.CertificateName)
				return err
			},
		},
		{
			name: "edited Deployment replicas and image are restored",
			disturb: func() error {
				d, _ := get(t, &appsv1.Deployment{}, ns, resources.AppName)
				d.Spec.Replicas = ptrTo[int32](7)
				d.Spec.Template.Spec.Containers[0].Image = "evil/image:latest"
				return k8s.Update(ctx, d)
			},
			check: func() error {
				d, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
				if err != nil {
					return err
				}
				if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "slotbook/app:v1" {
					return fmt.Errorf("replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
				}
				return nil
			},
		},
		{
			name: "edited NetworkPolicy rule is restored",
			disturb: func() error {
				p, _ := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolIngressToApp)
				p.Spec.Ingress[0].From = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}
				return k8s.Update(ctx, p)
			},
			check: func() error {
				p, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolIngressToApp)
				if err != nil {
					return err
				}
				if len(p.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels) == 0 {
					return fmt.Errorf("ingress still open to all namespaces")
				}
				return nil
			},
		},
		{
			name: "removed namespace Pod Security label is restored",
			disturb: func() error {
				n, _ := get(t, &corev1.Namespace{}, "", ns)
				delete(n.Labels, "pod-security.kubernetes.io/enforce")
				return k8s.Update(ctx, n)
			},
			check: func() error {
				n, err := get(t, &corev1.Namespace{}, "", ns)
				if err != nil {
					return err
				}
				if n.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
					return fmt.Errorf("labels %v", n.Labels)
				}
				return nil
			},
		},
		{
			name: "edited copied credentials are restored",
			disturb: func() error {
				s, _ := get(t, &corev1.Secret{}, ns, resources.BackupCredentialsSecretName)
				s.Data["ACCESS_SECRET_KEY"] = []byte("tampered")
				return k8s.Update(ctx, s)
			},
			check: func() error {
				s, err := get(t, &corev1.Secret{}, ns, resources.BackupCredentialsSecretName)
				if err != nil {
					return err
				}
				if string(s.Data["ACCESS_SECRET_KEY"]) != "secret-drift" {
					return fmt.Errorf("secret is %q", s.Data["ACCESS_SECRET_KEY"])
				}
				return nil
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.disturb(); err != nil {
				t.Fatalf("disturbing: %v", err)
			}
			eventually(t, waitTimeout, tc.name, tc.check)
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func setClusterConditions(t *testing.T, ns string, conds ...metav1.Condition) {
	t.Helper()
	eventually(t, waitTimeout, "update cluster status", func() error {
		c, err := get(t, &cnpgv1.Cluster{}, ns, resources.PostgresClusterName)
		if err != nil {
			return err
		}
		for _, cond := range conds {
			cond.LastTransitionTime = metav1.Now()
			setOrReplace(&c.Status.Conditions, cond)
		}
		c.Status.ReadyInstances = c.Spec.Instances
		return k8s.Status().Update(context.Background(), c)
	})
}

func setOrReplace(conds *[]metav1.Condition, c metav1.Condition) {
	for i := range *conds {
		if (*conds)[i].Type == c.Type {
			(*conds)[i] = c
			return
		}
	}
	*conds = append(*conds, c)
}

func setCertificateReady(t *testing.T, ns string) {
	t.Helper()
	eventually(t, waitTimeout, "update certificate status", func() error {
		c, err := get(t, &cmv1.Certificate{}, ns, resources.CertificateName)
		if err != nil {
			return err
		}
		c.Status.Conditions = []cmv1.CertificateCondition{{
			Type: cmv1.CertificateConditionReady, Status: cmmeta.ConditionTrue, Reason: "Ready", Message: "issued",
		}}
		return k8s.Status().Update(context.Background(), c)
	})
}

func setDeploymentAvailable(t *testing.T, ns string) {
	t.Helper()
	eventually(t, waitTimeout, "update deployment status", func() error {
		d, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
		if err != nil {
			return err
		}
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = *d.Spec.Replicas, *d.Spec.Replicas, *d.Spec.Replicas
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}
		return k8s.Status().Update(context.Background(), d)
	})
}

// makeHealthy simulates CloudNativePG, cert-manager and the Deployment controller reporting
// a healthy instance (none of them runs in envtest).
func makeHealthy(t *testing.T, tenant *slotbookv1alpha1.Tenant) {
	t.Helper()
	ns := tenant.NamespaceName()
	setClusterConditions(t, ns,
		metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "ClusterIsReady", Message: "Cluster is Ready"},
		metav1.Condition{Type: "ContinuousArchiving", Status: metav1.ConditionTrue, Reason: "ContinuousArchivingSuccess", Message: "ok"},
		metav1.Condition{Type: "LastBackupSucceeded", Status: metav1.ConditionTrue, Reason: "LastBackupSucceeded", Message: "ok"},
	)
	setCertificateReady(t, ns)
	setDeploymentAvailable(t, ns)
}

func TestStatusFollowsChildren(t *testing.T) {
	f := newFixture(t, "status")
	f.class()
	tenant := f.tenant("status-a")
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()

	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, ReasonPending)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionCertificateReady, metav1.ConditionFalse, ReasonPending)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonProvisioning)

	makeHealthy(t, tenant)
	for _, typ := range []string{
		slotbookv1alpha1.ConditionNamespaceReady, slotbookv1alpha1.ConditionDatabaseReady, slotbookv1alpha1.ConditionBackupsHealthy,
		slotbookv1alpha1.ConditionCertificateReady, slotbookv1alpha1.ConditionAppReady,
	} {
		waitForCondition(t, tenant.Name, typ, metav1.ConditionTrue, "")
	}
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady)
	eventually(t, waitTimeout, "Reconciling removed", func() error {
		if c, err := tenantCondition(t, tenant.Name, slotbookv1alpha1.ConditionReconciling); err == nil {
			return fmt.Errorf("still there: %+v", c)
		}
		return nil
	})

	// A failed backup degrades the tenant: Ready false, Reconciling true (kstatus InProgress).
	setClusterConditions(t, ns, metav1.Condition{Type: "LastBackupSucceeded", Status: metav1.ConditionFalse, Reason: "LastBackupFailed", Message: "bucket unreachable"})
	c := waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionBackupsHealthy, metav1.ConditionFalse, "LastBackupFailed")
	if !strings.Contains(c.Message, "bucket unreachable") {
		t.Errorf("message %q does not carry CNPG's", c.Message)
	}
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, "Degraded")
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReconciling, metav1.ConditionTrue, "Degraded")

	// WAL archiving failing is reported too.
	setClusterConditions(t, ns, metav1.Condition{Type: "ContinuousArchiving", Status: metav1.ConditionFalse, Reason: "ContinuousArchivingFailing", Message: "403"})
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionBackupsHealthy, metav1.ConditionFalse, "WALArchivingFailing")
}

func TestMissingClassAndSecretStall(t *testing.T) {
	f := newFixture(t, "stall")
	tenant := f.tenant("stall-a") // class stall-class does not exist yet
	c := waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled, metav1.ConditionTrue, "ClassNotFound")
	if !strings.Contains(c.Message, `"stall-class"`) {
		t.Errorf("message %q does not name the class", c.Message)
	}
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, "ClassNotFound")

	// A class whose credentials Secret is missing stalls with that reason.
	class := testClass("stall-class", "stall-missing-secret")
	f.create(class)
	c = waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled, metav1.ConditionTrue, "SecretNotFound")
	if !strings.Contains(c.Message, "slotbook-system/stall-missing-secret") {
		t.Errorf("message %q does not name the secret", c.Message)
	}
	// Creating the Secret un-stalls it (the class's Secrets are re-read on a timer; a class change
	// triggers it at once).
	f.ensureNamespace("slotbook-system")
	f.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "slotbook-system", Name: "stall-missing-secret"},
		Data:       map[string][]byte{"ACCESS_KEY_ID": []byte("a"), "ACCESS_SECRET_KEY": []byte("b")},
	})
	eventually(t, waitTimeout, "touch class", func() error {
		cl, err := get(t, &slotbookv1alpha1.TenantClass{}, "", "stall-class")
		if err != nil {
			return err
		}
		cl.Annotations = map[string]string{"touched": "yes"}
		return k8s.Update(context.Background(), cl)
	})
	waitForChildren(t, tenant)
	eventually(t, waitTimeout, "Stalled removed", func() error {
		if c, err := tenantCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled); err == nil {
			return fmt.Errorf("still stalled: %+v", c)
		}
		return nil
	})
}

func TestDefaultClassIsUsed(t *testing.T) {
	f := newFixture(t, "dflt")
	f.class(func(c *slotbookv1alpha1.TenantClass) {
		c.Annotations = map[string]string{slotbookv1alpha1.DefaultClassAnnotation: "true"}
	})
	defer func() {
		_ = k8s.Delete(context.Background(), &slotbookv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "dflt-class"}})
	}()
	tenant := f.tenant("dflt-a", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.ClassName = "" })
	waitForChildren(t, tenant)
	eventually(t, waitTimeout, "status.className", func() error {
		tn, _ := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
		if tn.Status.ClassName != "dflt-class" {
			return fmt.Errorf("className %q", tn.Status.ClassName)
		}
		return nil
	})
	// A second default makes the choice ambiguous: the tenant stalls rather than guessing.
	f2 := newFixture(t, "dflt2")
	f2.class(func(c *slotbookv1alpha1.TenantClass) {
		c.Annotations = map[string]string{slotbookv1alpha1.DefaultClassAnnotation: "true"}
	})
	defer func() {
		_ = k8s.Delete(context.Background(), &slotbookv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: "dflt2-class"}})
	}()
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled, metav1.ConditionTrue, "AmbiguousDefaultClass")
}

func TestClassChangeReachesItsTenants(t *testing.T) {
	f := newFixture(t, "cls")
	f.class()
	plain := f.tenant("cls-a")
	pinned := f.tenant("cls-b", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.App.Image = "slotbook/app:pinned" })
	waitForChildren(t, plain)
	waitForChildren(t, pinned)

	eventually(t, waitTimeout, "update class", func() error {
		c, err := get(t, &slotbookv1alpha1.TenantClass{}, "", "cls-class")
		if err != nil {
			return err
		}
		c.Spec.App.Image = "slotbook/app:v2"
		c.Spec.Backup.EgressCIDRs = []string{"10.0.0.20/32"}
		return k8s.Update(context.Background(), c)
	})
	eventually(t, waitTimeout, "new image and CIDR reach cls-a", func() error {
		d, _ := get(t, &appsv1.Deployment{}, plain.NamespaceName(), resources.AppName)
		p, _ := get(t, &networkingv1.NetworkPolicy{}, plain.NamespaceName(), resources.NetpolPostgresToObjectStore)
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "slotbook/app:v2" {
			return fmt.Errorf("image %s", img)
		}
		if len(p.Spec.Egress) == 0 || p.Spec.Egress[0].To[0].IPBlock.CIDR != "10.0.0.20/32" {
			return fmt.Errorf("egress %+v", p.Spec.Egress)
		}
		return nil
	})
	eventually(t, waitTimeout, "cls-b keeps its pinned image", func() error {
		d, _ := get(t, &appsv1.Deployment{}, pinned.NamespaceName(), resources.AppName)
		p, _ := get(t, &networkingv1.NetworkPolicy{}, pinned.NamespaceName(), resources.NetpolPostgresToObjectStore)
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "slotbook/app:pinned" {
			return fmt.Errorf("image %s", img)
		}
		if p.Spec.Egress[0].To[0].IPBlock.CIDR != "10.0.0.20/32" {
			return fmt.Errorf("egress %+v", p.Spec.Egress)
		}
		return nil
	})
}

func updateTenant(t *testing.T, name string, mutate func(*slotbookv1alpha1.Tenant)) {
	t.Helper()
	eventually(t, waitTimeout, "update tenant "+name, func() error {
		tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", name)
		if err != nil {
			return err
		}
		mutate(tn)
		return k8s.Update(context.Background(), tn)
	})
}

func TestSuspendAndResume(t *testing.T) {
	f := newFixture(t, "susp")
	f.class()
	tenant := f.tenant("susp-a")
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()
	makeHealthy(t, tenant)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady)

	updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Suspend = true })
	eventually(t, waitTimeout, "suspended", func() error {
		d, _ := get(t, &appsv1.Deployment{}, ns, resources.AppName)
		c, _ := get(t, &cnpgv1.Cluster{}, ns, resources.PostgresClusterName)
		sb, _ := get(t, &cnpgv1.ScheduledBackup{}, ns, resources.ScheduledBackupName)
		_, pdbErr := get(t, &policyv1.PodDisruptionBudget{}, ns, resources.AppName)
		switch {
		case *d.Spec.Replicas != 0:
			return fmt.Errorf("replicas %d", *d.Spec.Replicas)
		case c.Annotations[resources.HibernationAnnotation] != "on":
			return fmt.Errorf("hibernation %q", c.Annotations[resources.HibernationAnnotation])
		case sb.Spec.Suspend == nil || !*sb.Spec.Suspend:
			return fmt.Errorf("scheduled backup not suspended")
		case !apierrors.IsNotFound(pdbErr):
			return fmt.Errorf("PDB still there: %v", pdbErr)
		}
		return nil
	})
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonSuspended)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionAppReady, metav1.ConditionFalse, ReasonSuspended)

	updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Suspend = false })
	eventually(t, waitTimeout, "resumed", func() error {
		d, _ := get(t, &appsv1.Deployment{}, ns, resources.AppName)
		c, _ := get(t, &cnpgv1.Cluster{}, ns, resources.PostgresClusterName)
		_, pdbErr := get(t, &policyv1.PodDisruptionBudget{}, ns, resources.AppName)
		switch {
		case *d.Spec.Replicas != 2:
			return fmt.Errorf("replicas %d", *d.Spec.Replicas)
		case c.Annotations[resources.HibernationAnnotation] != "off":
			return fmt.Errorf("hibernation %q", c.Annotations[resources.HibernationAnnotation])
		case pdbErr != nil:
			return fmt.Errorf("PDB: %v", pdbErr)
		}
		return nil
	})
}

func TestSecuritySettingsRollThePods(t *testing.T) {
	f := newFixture(t, "roll")
	f.class()
	tenant := f.tenant("roll-a")
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()
	d, _ := get(t, &appsv1.Deployment{}, ns, resources.AppName)
	before := d.Spec.Template.Annotations[resources.ConfigChecksumAnnotation]

	updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) {
		tn.Spec.Security.SessionIdleTimeout = "5m"
		tn.Spec.Security.PasswordMinLength = 16
	})
	eventually(t, waitTimeout, "new settings on the pod template", func() error {
		d, _ := get(t, &appsv1.Deployment{}, ns, resources.AppName)
		env := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		if env["SLOTBOOK_SESSION_IDLE_TIMEOUT"] != "5m" || env["SLOTBOOK_PASSWORD_MIN_LENGTH"] != "16" {
			return fmt.Errorf("env %v", env)
		}
		if d.Spec.Template.Annotations[resources.ConfigChecksumAnnotation] == before {
			return fmt.Errorf("checksum unchanged")
		}
		return nil
	})
}

func TestDeletionPolicies(t *testing.T) {
	f := newFixture(t, "del")
	f.class()
	ctx := context.Background()

	t.Run("Retain releases every child and keeps the data", func(t *testing.T) {
		tenant := f.tenant("del-retain")
		waitForChildren(t, tenant)
		if err := k8s.Delete(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitTimeout, "tenant gone", func() error {
			if _, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name); !apierrors.IsNotFound(err) {
				return fmt.Errorf("tenant still there: %v", err)
			}
			return nil
		})
		ns, err := get(t, &corev1.Namespace{}, "", tenant.NamespaceName())
		if err != nil || !ns.DeletionTimestamp.IsZero() {
			t.Fatalf("namespace not kept: %v", err)
		}
		if len(ns.OwnerReferences) != 0 || ns.Labels[slotbookv1alpha1.RetainedLabel] != "true" {
			t.Errorf("namespace not released: %+v %v", ns.OwnerReferences, ns.Labels)
		}
		for _, c := range tenantChildren() {
			obj, err := get(t, c.obj.DeepCopyObject().(client.Object), tenant.NamespaceName(), c.name)
			if err != nil {
				t.Errorf("%T %s gone: %v", c.obj, c.name, err)
				continue
			}
			if len(obj.GetOwnerReferences()) != 0 || obj.GetLabels()[slotbookv1alpha1.RetainedLabel] != "true" {
				t.Errorf("%T %s not released: %+v", c.obj, c.name, obj.GetOwnerReferences())
			}
		}
	})
	t.Run("Delete removes the namespace", func(t *testing.T) {
		tenant := f.tenant("del-delete", func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.DeletionPolicy = slotbookv1alpha1.DeletionPolicyDelete
		})
		waitForChildren(t, tenant)
		if err := k8s.Delete(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitTimeout, "tenant gone and namespace deleting", func() error {
			if _, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name); !apierrors.IsNotFound(err) {
				return fmt.Errorf("tenant still there: %v", err)
			}
			// envtest runs no namespace controller, so the namespace stays Terminating.
			ns, err := get(t, &corev1.Namespace{}, "", tenant.NamespaceName())
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil || ns.DeletionTimestamp.IsZero() {
				return fmt.Errorf("namespace not being deleted: %v", err)
			}
			return nil
		})
	})
}

// TestRestoreFromAnotherTenant: a tenant created with spec.restore gets a database recovered
// from the other tenant's backups (the other tenant's object store path, read without a
// retention policy) and that tenant's session key; a tenant restored from one that no longer
// exists gets a fresh key.
func TestRestoreFromAnotherTenant(t *testing.T) {
	f := newFixture(t, "rest")
	f.class()
	source := f.tenant("rest-source")
	waitForChildren(t, source)
	sourceKey, err := get(t, &corev1.Secret{}, source.NamespaceName(), resources.SessionSecretName)
	if err != nil {
		t.Fatal(err)
	}
	at := metav1.NewTime(time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC))
	for _, tc := range []struct {
		name, from string
		sameKey    bool
	}{
		{"rest-copy", source.Name, true},
		{"rest-gone", "rest-deleted-long-ago", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restored := f.tenant(tc.name, func(tn *slotbookv1alpha1.Tenant) {
				tn.Spec.Restore = &slotbookv1alpha1.RestoreSpec{FromTenant: tc.from, TargetTime: &at}
			})
			waitForChildren(t, restored)
			ns := restored.NamespaceName()
			c, err := get(t, &cnpgv1.Cluster{}, ns, resources.PostgresClusterName)
			if err != nil {
				t.Fatal(err)
			}
			rec := c.Spec.Bootstrap.Recovery
			if c.Spec.Bootstrap.InitDB != nil || rec == nil || rec.Source != resources.RestoreSourceName ||
				rec.RecoveryTarget == nil || rec.RecoveryTarget.TargetTime != "2026-11-27T09:30:00Z" ||
				rec.Database != resources.DatabaseName || rec.Secret == nil || rec.Secret.Name != resources.DatabaseSecretName {
				t.Fatalf("bootstrap %+v (recovery %+v)", c.Spec.Bootstrap, rec)
			}
			if len(c.Spec.ExternalClusters) != 1 || c.Spec.ExternalClusters[0].PluginConfiguration.Parameters["barmanObjectName"] != resources.RestoreSourceName {
				t.Fatalf("external clusters %+v", c.Spec.ExternalClusters)
			}
			store, err := get(t, &barmancloudv1.ObjectStore{}, ns, resources.RestoreSourceName)
			if err != nil {
				t.Fatal(err)
			}
			own, err := get(t, &barmancloudv1.ObjectStore{}, ns, resources.ObjectStoreName)
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSuffix(own.Spec.Configuration.DestinationPath, tc.name) + tc.from; store.Spec.Configuration.DestinationPath != want ||
				store.Spec.RetentionPolicy != "" {
				t.Fatalf("restore source %s (retention %q), want %s and none", store.Spec.Configuration.DestinationPath, store.Spec.RetentionPolicy, want)
			}
			key, err := get(t, &corev1.Secret{}, ns, resources.SessionSecretName)
			if err != nil {
				t.Fatal(err)
			}
			if same := string(key.Data["key"]) == string(sourceKey.Data["key"]); same != tc.sameKey {
				t.Fatalf("session key the source's: %v, want %v", same, tc.sameKey)
			}
		})
	}
}
