package resources

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// propertyCases are the golden cases plus a few more shapes every property must hold for.
var propertyCases = append(slices.Clone(goldenCases), []struct {
	name   string
	inputs func() Inputs
}{
	{"no-apiserver-endpoints", func() Inputs {
		in := minimalInputs()
		in.APIServerEndpoints = nil
		return in
	}},
	{"full-released", func() Inputs {
		in := fullInputs()
		in.Released = true
		return in
	}},
	{"full-suspended", func() Inputs {
		in := fullInputs()
		in.Tenant.Spec.Suspend = true
		return in
	}},
	{"smtp-minimal", smtpMinimalInputs},
}...)

// smtpMinimalInputs are minimalInputs in a class whose smtp has only its required fields, as if
// the API server's defaulting had not run (the builders must fill in port 587 and StartTLS).
func smtpMinimalInputs() Inputs {
	in := minimalInputs()
	in.Class.Spec.SMTP = &slotbookv1alpha1.SMTPSpec{
		Host:                 "mail.example.net",
		From:                 "noreply@booking.example.net",
		CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "slotbook-system", Name: "smtp"},
		EgressCIDRs:          []string{"203.0.113.0/28"},
	}
	in.SMTPCredentials = map[string][]byte{"username": []byte("u"), "password": []byte("p")}
	return in
}

func mustBuild(t *testing.T, in Inputs) []client.Object {
	t.Helper()
	objects, err := Build(in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return objects
}

// all returns the objects of type T, in Build order.
func all[T client.Object](objects []client.Object) []T {
	var out []T
	for _, o := range objects {
		if typed, ok := o.(T); ok {
			out = append(out, typed)
		}
	}
	return out
}

// one returns the only object of type T named name, failing the test if there is not exactly one.
func one[T client.Object](t *testing.T, objects []client.Object, name string) T {
	t.Helper()
	var found []T
	for _, o := range all[T](objects) {
		if o.GetName() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T named %q, found %d", zero, name, len(found))
	}
	return found[0]
}

// absent fails the test if there is an object of type T named name.
func absent[T client.Object](t *testing.T, objects []client.Object, name string) {
	t.Helper()
	for _, o := range all[T](objects) {
		if o.GetName() == name {
			t.Errorf("want no %T named %q, found one", o, name)
		}
	}
}

func objectID(o client.Object) string {
	return fmt.Sprintf("%s %s/%s", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName())
}

func TestObjectMetadata(t *testing.T) {
	for _, tc := range propertyCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.inputs()
			objects := mustBuild(t, in)
			if len(all[*corev1.Namespace](objects)) != 1 {
				t.Fatalf("want exactly one Namespace")
			}
			if _, ok := objects[0].(*corev1.Namespace); !ok {
				t.Errorf("the Namespace must come first, got %s", objectID(objects[0]))
			}
			seen := map[string]bool{}
			for _, o := range objects {
				id := objectID(o)
				gvk := o.GetObjectKind().GroupVersionKind()
				if gvk.Version == "" || gvk.Kind == "" {
					t.Errorf("%T %s: apiVersion and kind must be set (server-side apply needs them)", o, o.GetName())
				}
				if seen[id] {
					t.Errorf("%s: built twice", id)
				}
				seen[id] = true

				labels := o.GetLabels()
				if got := labels[slotbookv1alpha1.TenantLabel]; got != in.Tenant.Name {
					t.Errorf("%s: label %s = %q, want %q", id, slotbookv1alpha1.TenantLabel, got, in.Tenant.Name)
				}
				if got := labels[managedByLabel]; got != managedByValue {
					t.Errorf("%s: label %s = %q, want %q", id, managedByLabel, got, managedByValue)
				}
				retained, hasRetained := labels[slotbookv1alpha1.RetainedLabel]
				if in.Released && retained != "true" {
					t.Errorf("%s: released objects must be labelled %s=true, got %q", id, slotbookv1alpha1.RetainedLabel, retained)
				}
				if !in.Released && hasRetained {
					t.Errorf("%s: owned objects must not carry %s", id, slotbookv1alpha1.RetainedLabel)
				}

				if _, isNamespace := o.(*corev1.Namespace); isNamespace {
					if o.GetNamespace() != "" {
						t.Errorf("%s: the Namespace is cluster-scoped", id)
					}
					if o.GetName() != "tenant-"+in.Tenant.Name {
						t.Errorf("namespace name = %q, want tenant-%s", o.GetName(), in.Tenant.Name)
					}
				} else if o.GetNamespace() != "tenant-"+in.Tenant.Name {
					t.Errorf("%s: namespace = %q, want tenant-%s", id, o.GetNamespace(), in.Tenant.Name)
				}

				refs := o.GetOwnerReferences()
				if in.Released {
					if len(refs) != 0 {
						t.Errorf("%s: released objects must have no owner references, got %v", id, refs)
					}
					continue
				}
				var controllers []metav1.OwnerReference
				for _, r := range refs {
					if r.Controller != nil && *r.Controller {
						controllers = append(controllers, r)
					}
				}
				if len(refs) != 1 || len(controllers) != 1 {
					t.Errorf("%s: want exactly one (controller) owner reference, got %v", id, refs)
					continue
				}
				want := metav1.OwnerReference{
					APIVersion: "slotbook.io/v1alpha1", Kind: "Tenant",
					Name: in.Tenant.Name, UID: testTenantUID,
				}
				got := refs[0]
				if got.APIVersion != want.APIVersion || got.Kind != want.Kind || got.Name != want.Name || got.UID != want.UID {
					t.Errorf("%s: owner reference = %+v, want the Tenant %+v", id, got, want)
				}
				if got.BlockOwnerDeletion == nil || !*got.BlockOwnerDeletion {
					t.Errorf("%s: owner reference should block owner deletion", id)
				}
			}
		})
	}
}

func TestNamespace(t *testing.T) {
	tests := []struct {
		name    string
		inputs  Inputs
		wantEnv string
	}{
		{"environment defaults to production", minimalInputs(), "production"},
		{"staging", fullInputs(), "staging"},
		{"explicit production", func() Inputs {
			in := minimalInputs()
			in.Tenant.Spec.Environment = slotbookv1alpha1.EnvironmentProduction
			return in
		}(), "production"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := Namespace(tc.inputs)
			for _, mode := range []string{"enforce", "audit", "warn"} {
				if got := ns.Labels["pod-security.kubernetes.io/"+mode]; got != "restricted" {
					t.Errorf("pod-security.kubernetes.io/%s = %q, want restricted", mode, got)
				}
			}
			if got := ns.Labels[slotbookv1alpha1.EnvironmentLabel]; got != tc.wantEnv {
				t.Errorf("%s = %q, want %q", slotbookv1alpha1.EnvironmentLabel, got, tc.wantEnv)
			}
		})
	}
}

// checkRestricted checks a pod spec against the "restricted" Pod Security Standard (and the
// operator's own rule that the app mounts no service account token).
func checkRestricted(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken must be false")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("host namespaces must not be used")
	}
	podSC := spec.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	if podSC.RunAsUser != nil && *podSC.RunAsUser == 0 {
		t.Errorf("pod runAsUser must not be 0")
	}
	for _, v := range spec.Volumes {
		s := v.VolumeSource
		if s.Secret == nil && s.EmptyDir == nil && s.ConfigMap == nil && s.Projected == nil &&
			s.DownwardAPI == nil && s.PersistentVolumeClaim == nil && s.Ephemeral == nil && s.CSI == nil {
			t.Errorf("volume %q has a type the restricted profile forbids: %+v", v.Name, s)
		}
	}
	containers := append(slices.Clone(spec.InitContainers), spec.Containers...)
	if len(containers) == 0 {
		t.Fatalf("no containers")
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("container %q: no securityContext", c.Name)
			continue
		}
		runAsNonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) ||
			(sc.RunAsNonRoot == nil && podSC.RunAsNonRoot != nil && *podSC.RunAsNonRoot)
		if !runAsNonRoot {
			t.Errorf("container %q: runAsNonRoot must be true", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("container %q: runAsUser must not be 0", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %q: readOnlyRootFilesystem must be true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %q: allowPrivilegeEscalation must be false", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %q: must not be privileged", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("container %q: capabilities must drop ALL", c.Name)
		} else if len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %q: must add no capabilities, adds %v", c.Name, sc.Capabilities.Add)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = podSC.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("container %q: seccomp profile must be RuntimeDefault, got %+v", c.Name, seccomp)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				t.Errorf("container %q: hostPort %d is forbidden", c.Name, p.HostPort)
			}
		}
	}
}

func TestPodSecurityRestricted(t *testing.T) {
	for _, tc := range propertyCases {
		t.Run(tc.name, func(t *testing.T) {
			objects := mustBuild(t, tc.inputs())
			deployments := all[*appsv1.Deployment](objects)
			if len(deployments) == 0 {
				t.Fatalf("no Deployment built")
			}
			for _, d := range deployments {
				checkRestricted(t, d.Spec.Template.Spec)
			}
			sa := one[*corev1.ServiceAccount](t, objects, AppName)
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount %s: automountServiceAccountToken must be false", sa.Name)
			}
		})
	}
}

func TestAppEnv(t *testing.T) {
	wantNames := []string{
		"SLOTBOOK_DATABASE_URL",
		"SLOTBOOK_BASE_URL",
		"SLOTBOOK_SESSION_KEY",
		"SLOTBOOK_MFA",
		"SLOTBOOK_SESSION_IDLE_TIMEOUT",
		"SLOTBOOK_PASSWORD_MIN_LENGTH",
		"SLOTBOOK_TIMEZONE",
		"SLOTBOOK_LISTEN_ADDR",
		"SLOTBOOK_METRICS_ADDR",
	}
	tests := []struct {
		name   string
		inputs Inputs
		extra  []string          // variables after wantNames
		want   map[string]string // values of the literal variables
	}{
		{"defaults", minimalInputs(), nil, map[string]string{
			"SLOTBOOK_BASE_URL":             "https://booking.acme.example",
			"SLOTBOOK_MFA":                  "Optional",
			"SLOTBOOK_SESSION_IDLE_TIMEOUT": "15m",
			"SLOTBOOK_PASSWORD_MIN_LENGTH":  "12",
			"SLOTBOOK_TIMEZONE":             "Europe/Berlin",
			"SLOTBOOK_LISTEN_ADDR":          ":8080",
			"SLOTBOOK_METRICS_ADDR":         ":9090",
		}},
		{"full", fullInputs(), []string{"SLOTBOOK_TRUSTED_PROXIES",
			"SLOTBOOK_SMTP_HOST", "SLOTBOOK_SMTP_PORT", "SLOTBOOK_SMTP_FROM", "SLOTBOOK_SMTP_USERNAME", "SLOTBOOK_SMTP_PASSWORD", "SLOTBOOK_SMTP_TLS",
		}, map[string]string{
			"SLOTBOOK_TRUSTED_PROXIES":      "10.42.0.0/16,fd00:10:42::/56",
			"SLOTBOOK_SMTP_HOST":            "smtp.mail.example",
			"SLOTBOOK_SMTP_PORT":            "465",
			"SLOTBOOK_SMTP_FROM":            "ACME Bookings <noreply@acme.example>",
			"SLOTBOOK_SMTP_TLS":             "implicit",
			"SLOTBOOK_BASE_URL":             "https://booking.acme.example",
			"SLOTBOOK_MFA":                  "Required",
			"SLOTBOOK_SESSION_IDLE_TIMEOUT": "30m",
			"SLOTBOOK_PASSWORD_MIN_LENGTH":  "16",
			"SLOTBOOK_TIMEZONE":             "America/New_York",
			"SLOTBOOK_LISTEN_ADDR":          ":8080",
			"SLOTBOOK_METRICS_ADDR":         ":9090",
		}},
		// Defaults filled in by the builder: port 587, STARTTLS.
		{"smtp-minimal", smtpMinimalInputs(), []string{
			"SLOTBOOK_SMTP_HOST", "SLOTBOOK_SMTP_PORT", "SLOTBOOK_SMTP_FROM", "SLOTBOOK_SMTP_USERNAME", "SLOTBOOK_SMTP_PASSWORD", "SLOTBOOK_SMTP_TLS",
		}, map[string]string{
			"SLOTBOOK_SMTP_HOST":            "mail.example.net",
			"SLOTBOOK_SMTP_PORT":            "587",
			"SLOTBOOK_SMTP_FROM":            "noreply@booking.example.net",
			"SLOTBOOK_SMTP_TLS":             "starttls",
			"SLOTBOOK_BASE_URL":             "https://booking.acme.example",
			"SLOTBOOK_MFA":                  "Optional",
			"SLOTBOOK_SESSION_IDLE_TIMEOUT": "15m",
			"SLOTBOOK_PASSWORD_MIN_LENGTH":  "12",
			"SLOTBOOK_TIMEZONE":             "Europe/Berlin",
			"SLOTBOOK_LISTEN_ADDR":          ":8080",
			"SLOTBOOK_METRICS_ADDR":         ":9090",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := AppEnv(tc.inputs)
			var names []string
			for _, e := range env {
				names = append(names, e.Name)
			}
			if want := append(slices.Clone(wantNames), tc.extra...); !slices.Equal(names, want) {
				t.Fatalf("env names = %v\nwant          %v", names, want)
			}
			// Secrets reach the app only through secretKeyRefs, never as literal values.
			secretRefs := map[string][2]string{
				"SLOTBOOK_DATABASE_URL":  {DatabaseSecretName, "url"},
				"SLOTBOOK_SESSION_KEY":   {SessionSecretName, "key"},
				"SLOTBOOK_SMTP_USERNAME": {SMTPCredentialsSecretName, "username"},
				"SLOTBOOK_SMTP_PASSWORD": {SMTPCredentialsSecretName, "password"},
			}
			for _, e := range env {
				if ref, ok := secretRefs[e.Name]; ok {
					if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
						e.ValueFrom.SecretKeyRef.Name != ref[0] || e.ValueFrom.SecretKeyRef.Key != ref[1] {
						t.Errorf("%s must come from secret %s key %s, got %+v", e.Name, ref[0], ref[1], e)
					}
					continue
				}
				if e.ValueFrom != nil {
					t.Errorf("%s: want a literal value, got valueFrom", e.Name)
				}
				if e.Value != tc.want[e.Name] {
					t.Errorf("%s = %q, want %q", e.Name, e.Value, tc.want[e.Name])
				}
			}
			// The Deployment runs with exactly this environment.
			d := AppDeployment(tc.inputs)
			if !equality.Semantic.DeepEqual(d.Spec.Template.Spec.Containers[0].Env, env) {
				t.Errorf("Deployment env differs from AppEnv")
			}
		})
	}
}

func TestDatabaseURL(t *testing.T) {
	in := minimalInputs()
	raw := DatabaseURL(in)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("DatabaseURL %q does not parse: %v", raw, err)
	}
	if !strings.Contains(raw, "sslmode=verify-full") {
		t.Errorf("DatabaseURL %q lacks sslmode=verify-full", raw)
	}
	if !strings.Contains(raw, "sslrootcert=") {
		t.Errorf("DatabaseURL %q lacks sslrootcert", raw)
	}
	q := u.Query()
	if got := q.Get("sslmode"); got != "verify-full" {
		t.Errorf("sslmode = %q, want verify-full", got)
	}
	wantRootCert := path.Join(postgresCAMountPath, "ca.crt")
	if got := q.Get("sslrootcert"); got != wantRootCert {
		t.Errorf("sslrootcert = %q, want %q", got, wantRootCert)
	}
	if u.Scheme != "postgresql" {
		t.Errorf("scheme = %q, want postgresql", u.Scheme)
	}
	if want := "postgres-rw.tenant-acme.svc:5432"; u.Host != want {
		t.Errorf("host = %q, want %q", u.Host, want)
	}
	if u.Path != "/"+DatabaseName {
		t.Errorf("path = %q, want /%s", u.Path, DatabaseName)
	}
	if pw, _ := u.User.Password(); u.User.Username() != DatabaseOwner || pw != in.DatabasePassword {
		t.Errorf("user = %q password = %q, want %q %q (special characters must round-trip)",
			u.User.Username(), pw, DatabaseOwner, in.DatabasePassword)
	}

	// The database Secret carries the URL, and the app mounts the CA at the sslrootcert path.
	secret := DatabaseSecret(in)
	if string(secret.Data["url"]) != raw {
		t.Errorf("Secret %s url = %q, want DatabaseURL", secret.Name, secret.Data["url"])
	}
	if secret.Type != corev1.SecretTypeBasicAuth ||
		string(secret.Data[corev1.BasicAuthUsernameKey]) != DatabaseOwner ||
		string(secret.Data[corev1.BasicAuthPasswordKey]) != in.DatabasePassword {
		t.Errorf("Secret %s must be basic-auth for %s with the database password", secret.Name, DatabaseOwner)
	}
	pod := AppDeployment(in).Spec.Template.Spec
	var caVolume string
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.MountPath == path.Dir(wantRootCert) {
			caVolume = m.Name
			if !m.ReadOnly {
				t.Errorf("CA mount must be read-only")
			}
		}
	}
	var found bool
	for _, v := range pod.Volumes {
		if v.Name != caVolume || v.Secret == nil {
			continue
		}
		found = true
		if v.Secret.SecretName != PostgresClusterName+"-ca" {
			t.Errorf("CA volume secret = %q, want CloudNativePG's %s-ca", v.Secret.SecretName, PostgresClusterName)
		}
		if len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "ca.crt" || v.Secret.Items[0].Path != path.Base(wantRootCert) {
			t.Errorf("CA volume must project only ca.crt (not the CA key), got %+v", v.Secret.Items)
		}
	}
	if !found {
		t.Errorf("no secret volume mounted at %s", path.Dir(wantRootCert))
	}
}

func TestConfigChecksum(t *testing.T) {
	base := ConfigChecksum(minimalInputs())
	if base != ConfigChecksum(minimalInputs()) {
		t.Fatalf("ConfigChecksum is not stable across calls")
	}
	if got := AppDeployment(minimalInputs()).Spec.Template.Annotations[ConfigChecksumAnnotation]; got != base {
		t.Errorf("pod template annotation %s = %q, want ConfigChecksum %q", ConfigChecksumAnnotation, got, base)
	}
	tests := []struct {
		name    string
		mutate  func(in *Inputs)
		changes bool
	}{
		{"mfa", func(in *Inputs) { in.Tenant.Spec.Security.MFA = slotbookv1alpha1.MFARequired }, true},
		{"idle timeout", func(in *Inputs) { in.Tenant.Spec.Security.SessionIdleTimeout = "30m" }, true},
		{"password min length", func(in *Inputs) { in.Tenant.Spec.Security.PasswordMinLength = 16 }, true},
		{"host", func(in *Inputs) { in.Tenant.Spec.Host = "termine.acme.example" }, true},
		{"session key", func(in *Inputs) { in.SessionKey = "another-session-key" }, true},
		{"database password", func(in *Inputs) { in.DatabasePassword = "another-password" }, true},
		{"time zone", func(in *Inputs) { in.Tenant.Spec.TimeZone = "America/New_York" }, true},

		// The API server's defaults give the same configuration as the builders' own defaults.
		{"explicit default mfa", func(in *Inputs) { in.Tenant.Spec.Security.MFA = slotbookv1alpha1.MFAOptional }, false},
		{"explicit default idle timeout", func(in *Inputs) { in.Tenant.Spec.Security.SessionIdleTimeout = "15m" }, false},
		{"explicit default min length", func(in *Inputs) { in.Tenant.Spec.Security.PasswordMinLength = 12 }, false},
		{"explicit default time zone", func(in *Inputs) { in.Tenant.Spec.TimeZone = "Europe/Berlin" }, false},

		// Nothing the app reads at start.
		{"replicas", func(in *Inputs) { in.Tenant.Spec.App.Replicas = 5 }, false},
		{"image", func(in *Inputs) { in.Tenant.Spec.App.Image = "example.com/booking:2" }, false},
		{"resources", func(in *Inputs) { in.Tenant.Spec.App.Resources = fullTenant().Spec.App.Resources }, false},
		{"suspend", func(in *Inputs) { in.Tenant.Spec.Suspend = true }, false},
		{"postgres", func(in *Inputs) { in.Tenant.Spec.Postgres = fullTenant().Spec.Postgres }, false},
		{"display name", func(in *Inputs) { in.Tenant.Spec.DisplayName = "ACME" }, false},
		{"deletion policy", func(in *Inputs) { in.Tenant.Spec.DeletionPolicy = slotbookv1alpha1.DeletionPolicyDelete }, false},
		{"environment", func(in *Inputs) { in.Tenant.Spec.Environment = slotbookv1alpha1.EnvironmentStaging }, false},
		{"tenant UID", func(in *Inputs) { in.Tenant.UID = "another-uid" }, false},
		{"trusted proxies", func(in *Inputs) { in.Class.Spec.Ingress.ProxyCIDRs = []string{"10.42.0.0/16"} }, true},
		{"class without proxies", func(in *Inputs) {
			in.Class = fullClass()
			in.Class.Spec.Ingress.ProxyCIDRs = nil
			in.Class.Spec.SMTP = nil
		}, false},
		{"owner", func(in *Inputs) { in.Tenant.Spec.Owner = &slotbookv1alpha1.OwnerSpec{Email: "owner@acme.example"} }, false},
		{"backup credentials", func(in *Inputs) { in.BackupCredentials = map[string][]byte{"ACCESS_KEY_ID": []byte("x")} }, false},
		{"apiserver endpoints", func(in *Inputs) { in.APIServerEndpoints = fullInputs().APIServerEndpoints }, false},
		{"released", func(in *Inputs) { in.Released = true }, false},
		{"smtp added", func(in *Inputs) { *in = smtpMinimalInputs() }, true},
		// Credentials of a mail server the class does not use change nothing.
		{"smtp credentials without smtp", func(in *Inputs) { in.SMTPCredentials = smtpCredentials() }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInputs()
			tc.mutate(&in)
			got := ConfigChecksum(in)
			if changed := got != base; changed != tc.changes {
				t.Errorf("checksum changed = %v, want %v", changed, tc.changes)
			}
			if got != ConfigChecksum(in) {
				t.Errorf("checksum not stable across calls")
			}
		})
	}
}

// TestConfigChecksumSMTP: every mail setting and both credentials roll the pods; what only the
// network policy uses does not.
func TestConfigChecksumSMTP(t *testing.T) {
	base := ConfigChecksum(smtpMinimalInputs())
	tests := []struct {
		name    string
		mutate  func(in *Inputs)
		changes bool
	}{
		{"host", func(in *Inputs) { in.Class.Spec.SMTP.Host = "mail2.example.net" }, true},
		{"port", func(in *Inputs) { in.Class.Spec.SMTP.Port = 2525 }, true},
		{"from", func(in *Inputs) { in.Class.Spec.SMTP.From = "Bookings <noreply@booking.example.net>" }, true},
		{"tls", func(in *Inputs) { in.Class.Spec.SMTP.TLS = slotbookv1alpha1.SMTPImplicitTLS }, true},
		{"username", func(in *Inputs) { in.SMTPCredentials["username"] = []byte("u2") }, true},
		{"password", func(in *Inputs) { in.SMTPCredentials["password"] = []byte("p2") }, true},
		{"smtp removed", func(in *Inputs) { in.Class.Spec.SMTP = nil }, true},

		{"explicit default port", func(in *Inputs) { in.Class.Spec.SMTP.Port = 587 }, false},
		{"explicit default tls", func(in *Inputs) { in.Class.Spec.SMTP.TLS = slotbookv1alpha1.SMTPStartTLS }, false},
		{"egress CIDRs", func(in *Inputs) { in.Class.Spec.SMTP.EgressCIDRs = []string{"198.51.100.0/24"} }, false},
		{"credentials Secret name", func(in *Inputs) { in.Class.Spec.SMTP.CredentialsSecretRef.Name = "other" }, false},
		{"unused credentials key", func(in *Inputs) { in.SMTPCredentials["note"] = []byte("x") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := smtpMinimalInputs()
			tc.mutate(&in)
			if changed := ConfigChecksum(in) != base; changed != tc.changes {
				t.Errorf("checksum changed = %v, want %v", changed, tc.changes)
			}
		})
	}
}

func policyNames(policies []*networkingv1.NetworkPolicy) []string {
	var names []string
	for _, p := range policies {
		names = append(names, p.Name)
	}
	return names
}

func findPolicy(policies []*networkingv1.NetworkPolicy, name string) *networkingv1.NetworkPolicy {
	for _, p := range policies {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func isEmptySelector(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// checkNarrowPeer fails if peer would match more than a bounded set of sources or destinations.
func checkNarrowPeer(t *testing.T, policy string, peer networkingv1.NetworkPolicyPeer) {
	t.Helper()
	switch {
	case peer.IPBlock != nil:
		prefix, err := netip.ParsePrefix(peer.IPBlock.CIDR)
		if err != nil {
			t.Errorf("%s: invalid CIDR %q: %v", policy, peer.IPBlock.CIDR, err)
		} else if prefix.Bits() == 0 {
			t.Errorf("%s: CIDR %q matches every address", policy, peer.IPBlock.CIDR)
		}
		if peer.PodSelector != nil || peer.NamespaceSelector != nil {
			t.Errorf("%s: ipBlock must not be combined with selectors", policy)
		}
	case peer.NamespaceSelector != nil:
		// Any namespace is fine only if the pods in it are narrowed down.
		if isEmptySelector(peer.NamespaceSelector) && (peer.PodSelector == nil || isEmptySelector(peer.PodSelector)) {
			t.Errorf("%s: peer selects every pod of every namespace", policy)
		}
	case peer.PodSelector != nil:
		if isEmptySelector(peer.PodSelector) {
			t.Errorf("%s: peer selects every pod of the namespace", policy)
		}
	default:
		t.Errorf("%s: empty peer matches everything", policy)
	}
}

func checkNarrowPorts(t *testing.T, policy string, ports []networkingv1.NetworkPolicyPort) {
	t.Helper()
	if len(ports) == 0 {
		t.Errorf("%s: rule without ports allows every port", policy)
	}
	for _, p := range ports {
		if p.Port == nil || p.Protocol == nil || p.EndPort != nil {
			t.Errorf("%s: port %+v must name one port and its protocol", policy, p)
		}
	}
}

func TestNetworkPolicies(t *testing.T) {
	for _, tc := range propertyCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.inputs()
			policies := NetworkPolicies(in)
			// Build returns the same policies, in the same order.
			var built []string
			for _, p := range all[*networkingv1.NetworkPolicy](mustBuild(t, in)) {
				built = append(built, p.Name)
			}
			if !slices.Equal(built, policyNames(policies)) {
				t.Errorf("Build policies %v, NetworkPolicies %v", built, policyNames(policies))
			}
			names := policyNames(policies)
			if sorted := slices.Compact(slices.Sorted(slices.Values(names))); len(sorted) != len(names) {
				t.Errorf("duplicate policy names: %v", names)
			}

			deny := findPolicy(policies, NetpolDefaultDeny)
			if deny == nil {
				t.Fatalf("no %s policy among %v", NetpolDefaultDeny, names)
			}
			if !isEmptySelector(&deny.Spec.PodSelector) {
				t.Errorf("%s must select every pod, selects %+v", deny.Name, deny.Spec.PodSelector)
			}
			if !slices.Equal(deny.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
				t.Errorf("%s policy types = %v, want [Ingress Egress]", deny.Name, deny.Spec.PolicyTypes)
			}
			if len(deny.Spec.Ingress) != 0 || len(deny.Spec.Egress) != 0 {
				t.Errorf("%s must have no rules", deny.Name)
			}

			for _, p := range policies {
				if p == deny {
					continue
				}
				hasIngress := slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
				hasEgress := slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
				if !hasIngress && !hasEgress {
					t.Errorf("%s: no policy types", p.Name)
				}
				// A declared type without rules would be another deny; rules without their type are ignored.
				if hasIngress != (len(p.Spec.Ingress) > 0) {
					t.Errorf("%s: Ingress type %v but %d ingress rules", p.Name, hasIngress, len(p.Spec.Ingress))
				}
				if hasEgress != (len(p.Spec.Egress) > 0) {
					t.Errorf("%s: Egress type %v but %d egress rules", p.Name, hasEgress, len(p.Spec.Egress))
				}
				for _, r := range p.Spec.Ingress {
					if len(r.From) == 0 {
						t.Errorf("%s: ingress rule without from allows every source", p.Name)
					}
					for _, peer := range r.From {
						checkNarrowPeer(t, p.Name, peer)
					}
					checkNarrowPorts(t, p.Name, r.Ports)
				}
				for _, r := range p.Spec.Egress {
					if len(r.To) == 0 {
						t.Errorf("%s: egress rule without to allows every destination", p.Name)
					}
					for _, peer := range r.To {
						checkNarrowPeer(t, p.Name, peer)
					}
					checkNarrowPorts(t, p.Name, r.Ports)
				}
			}

			// The object store policy allows exactly the class's CIDRs and ports.
			store := findPolicy(policies, NetpolPostgresToObjectStore)
			if store == nil {
				t.Fatalf("no %s policy", NetpolPostgresToObjectStore)
			}
			var cidrs []string
			var ports []int32
			for _, r := range store.Spec.Egress {
				for _, peer := range r.To {
					cidrs = append(cidrs, peer.IPBlock.CIDR)
				}
				for _, p := range r.Ports {
					ports = append(ports, p.Port.IntVal)
				}
			}
			if want := in.Class.Spec.Backup.EgressCIDRs; !slices.Equal(cidrs, want) {
				t.Errorf("%s CIDRs = %v, want the class's %v", store.Name, cidrs, want)
			}
			wantPorts := in.Class.Spec.Backup.EgressPorts
			if len(wantPorts) == 0 {
				wantPorts = []int32{443, 9000}
			}
			if !slices.Equal(ports, wantPorts) {
				t.Errorf("%s ports = %v, want %v", store.Name, ports, wantPorts)
			}
			if !selectsPostgresPods(t, store.Spec.PodSelector) {
				t.Errorf("%s must select the Postgres pods, selects %+v", store.Name, store.Spec.PodSelector)
			}

			if apiserver := findPolicy(policies, NetpolPostgresToAPIServer); (apiserver != nil) != (len(in.APIServerEndpoints) > 0) {
				t.Errorf("%s present = %v with %d API server endpoints", NetpolPostgresToAPIServer, apiserver != nil, len(in.APIServerEndpoints))
			}
			if monitoring := findPolicy(policies, NetpolMonitoring); (monitoring != nil) != (in.Class.Spec.Monitoring.NamespaceSelector != nil) {
				t.Errorf("%s present = %v, class monitoring selector set = %v", NetpolMonitoring, monitoring != nil, in.Class.Spec.Monitoring.NamespaceSelector != nil)
			}
			checkSMTPPolicy(t, in, findPolicy(policies, NetpolAppToSMTP))
		})
	}
}

// checkSMTPPolicy: with a mail server the app's pods (only they) may reach exactly its CIDRs on
// exactly its port; without one there is no such policy.
func checkSMTPPolicy(t *testing.T, in Inputs, p *networkingv1.NetworkPolicy) {
	t.Helper()
	smtp := in.Class.Spec.SMTP
	if (p != nil) != (smtp != nil) {
		t.Fatalf("%s present = %v, class smtp set = %v", NetpolAppToSMTP, p != nil, smtp != nil)
	}
	if p == nil {
		return
	}
	if !equality.Semantic.DeepEqual(p.Spec.PodSelector, metav1.LabelSelector{MatchLabels: appSelectorLabels(in)}) {
		t.Errorf("%s must select the app's pods, selects %+v", p.Name, p.Spec.PodSelector)
	}
	if !slices.Equal(p.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) || len(p.Spec.Ingress) != 0 {
		t.Errorf("%s must be egress only: %v", p.Name, p.Spec.PolicyTypes)
	}
	if len(p.Spec.Egress) != 1 {
		t.Fatalf("%s: %d egress rules, want 1", p.Name, len(p.Spec.Egress))
	}
	var cidrs []string
	for _, peer := range p.Spec.Egress[0].To {
		if peer.IPBlock == nil || len(peer.IPBlock.Except) > 0 {
			t.Errorf("%s: peer %+v, want a plain ipBlock", p.Name, peer)
			continue
		}
		cidrs = append(cidrs, peer.IPBlock.CIDR)
	}
	if !slices.Equal(cidrs, smtp.EgressCIDRs) {
		t.Errorf("%s CIDRs = %v, want the class's %v", p.Name, cidrs, smtp.EgressCIDRs)
	}
	wantPort := smtp.Port
	if wantPort == 0 {
		wantPort = 587
	}
	ports := p.Spec.Egress[0].Ports
	if len(ports) != 1 || *ports[0].Protocol != corev1.ProtocolTCP || ports[0].Port.IntVal != wantPort {
		t.Errorf("%s ports = %+v, want TCP %d only", p.Name, ports, wantPort)
	}
}

func TestNetworkPolicyAPIServer(t *testing.T) {
	ep := func(addr string, port int32) Endpoint { return Endpoint{Addr: netip.MustParseAddr(addr), Port: port} }
	tests := []struct {
		name      string
		endpoints []Endpoint
		wantCIDRs []string // nil: no policy
		wantPorts []int32
	}{
		{"no endpoints", nil, nil, nil},
		{"ipv4", []Endpoint{ep("172.18.0.2", 6443)}, []string{"172.18.0.2/32"}, []int32{6443}},
		{"ipv6", []Endpoint{ep("2001:db8::10", 6443)}, []string{"2001:db8::10/128"}, []int32{6443}},
		{"dual stack, sorted", []Endpoint{ep("2001:db8::10", 6443), ep("192.0.2.10", 6443)},
			[]string{"192.0.2.10/32", "2001:db8::10/128"}, []int32{6443}},
		{"duplicates collapse", []Endpoint{ep("10.0.0.2", 6443), ep("10.0.0.1", 443), ep("10.0.0.1", 6443), ep("10.0.0.2", 6443)},
			[]string{"10.0.0.1/32", "10.0.0.2/32"}, []int32{443, 6443}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInputs()
			in.APIServerEndpoints = tc.endpoints
			policy := findPolicy(NetworkPolicies(in), NetpolPostgresToAPIServer)
			if tc.wantCIDRs == nil {
				if policy != nil {
					t.Fatalf("want no %s policy without endpoints", NetpolPostgresToAPIServer)
				}
				return
			}
			if policy == nil {
				t.Fatalf("no %s policy", NetpolPostgresToAPIServer)
			}
			if !slices.Equal(policy.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) || len(policy.Spec.Egress) != 1 {
				t.Fatalf("want one egress rule, got %+v", policy.Spec)
			}
			if !selectsPostgresPods(t, policy.Spec.PodSelector) {
				t.Errorf("must select the Postgres pods, selects %+v", policy.Spec.PodSelector)
			}
			var cidrs []string
			for _, peer := range policy.Spec.Egress[0].To {
				cidrs = append(cidrs, peer.IPBlock.CIDR)
			}
			var ports []int32
			for _, p := range policy.Spec.Egress[0].Ports {
				if *p.Protocol != corev1.ProtocolTCP {
					t.Errorf("port %v: protocol %s, want TCP", p.Port, *p.Protocol)
				}
				ports = append(ports, p.Port.IntVal)
			}
			if !slices.Equal(cidrs, tc.wantCIDRs) {
				t.Errorf("CIDRs = %v, want %v", cidrs, tc.wantCIDRs)
			}
			if !slices.Equal(ports, tc.wantPorts) {
				t.Errorf("ports = %v, want %v", ports, tc.wantPorts)
			}
		})
	}
}

func TestNetworkPolicySelectorsFromClass(t *testing.T) {
	tests := []struct {
		name           string
		inputs         Inputs
		wantOperator   *metav1.LabelSelector
		wantMonitoring *metav1.LabelSelector
	}{
		{"defaults", minimalInputs(),
			&metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "cnpg-system"}}, nil},
		{"class selectors", fullInputs(),
			fullClass().Spec.Postgres.OperatorNamespaceSelector, fullClass().Spec.Monitoring.NamespaceSelector},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			policies := NetworkPolicies(tc.inputs)

			ingress := findPolicy(policies, NetpolIngressToApp)
			if ingress == nil {
				t.Fatalf("no %s policy", NetpolIngressToApp)
			}
			if got, want := ingress.Spec.Ingress[0].From[0].NamespaceSelector, &tc.inputs.Class.Spec.Ingress.ControllerNamespaceSelector; !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("%s from %+v, want the class's ingress controller selector %+v", ingress.Name, got, want)
			}
			if !equality.Semantic.DeepEqual(ingress.Spec.PodSelector.MatchLabels, appSelectorLabels(tc.inputs)) {
				t.Errorf("%s must select the app pods, selects %+v", ingress.Name, ingress.Spec.PodSelector)
			}

			operator := findPolicy(policies, NetpolOperatorToPostgres)
			if operator == nil {
				t.Fatalf("no %s policy", NetpolOperatorToPostgres)
			}
			if got := operator.Spec.Ingress[0].From[0].NamespaceSelector; !equality.Semantic.DeepEqual(got, tc.wantOperator) {
				t.Errorf("%s from %+v, want %+v", operator.Name, got, tc.wantOperator)
			}

			monitoring := findPolicy(policies, NetpolMonitoring)
			if tc.wantMonitoring == nil {
				if monitoring != nil {
					t.Errorf("want no %s policy without a class monitoring selector", NetpolMonitoring)
				}
				return
			}
			if monitoring == nil {
				t.Fatalf("no %s policy", NetpolMonitoring)
			}
			if got := monitoring.Spec.Ingress[0].From[0].NamespaceSelector; !equality.Semantic.DeepEqual(got, tc.wantMonitoring) {
				t.Errorf("%s from %+v, want %+v", monitoring.Name, got, tc.wantMonitoring)
			}
			var ports []int32
			for _, p := range monitoring.Spec.Ingress[0].Ports {
				ports = append(ports, p.Port.IntVal)
			}
			if want := []int32{AppMetricsPort, PostgresMetricsPort}; !slices.Equal(ports, want) {
				t.Errorf("%s ports = %v, want %v", monitoring.Name, ports, want)
			}
		})
	}
}

func TestPostgresCluster(t *testing.T) {
	tests := []struct {
		name             string
		inputs           Inputs
		wantInstances    int
		wantSize         string
		wantStorageClass string
		wantImage        string
		wantHibernation  string
	}{
		{"defaults", minimalInputs(), 3, "5Gi", "", "", "off"},
		{"full", fullInputs(), 5, "20Gi", "fast-ssd-eu", "ghcr.io/cloudnative-pg/postgresql:17.5-standard-bookworm", "off"},
		{"suspended", suspendedInputs(), 3, "5Gi", "", "", "on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := one[*cnpgv1.Cluster](t, mustBuild(t, tc.inputs), PostgresClusterName)
			for _, rule := range []string{"hostnossl all all 0.0.0.0/0 reject", "hostnossl all all ::/0 reject"} {
				if !slices.Contains(c.Spec.PostgresConfiguration.PgHBA, rule) {
					t.Errorf("pg_hba %v lacks %q", c.Spec.PostgresConfiguration.PgHBA, rule)
				}
			}
			// Only rejections of plain text: an accepting user rule would precede CloudNativePG's own.
			for _, rule := range c.Spec.PostgresConfiguration.PgHBA {
				fields := strings.Fields(rule)
				if len(fields) < 2 || fields[0] != "hostnossl" || fields[len(fields)-1] != "reject" {
					t.Errorf("unexpected pg_hba rule %q: only hostnossl ... reject rules are expected", rule)
				}
			}

			if len(c.Spec.Plugins) != 1 {
				t.Fatalf("want one plugin, got %+v", c.Spec.Plugins)
			}
			plugin := c.Spec.Plugins[0]
			if plugin.Name != "barman-cloud.cloudnative-pg.io" {
				t.Errorf("plugin = %q, want barman-cloud.cloudnative-pg.io", plugin.Name)
			}
			if plugin.IsWALArchiver == nil || !*plugin.IsWALArchiver {
				t.Errorf("plugin must be the WAL archiver")
			}
			if got := plugin.Parameters["barmanObjectName"]; got != ObjectStoreName {
				t.Errorf("barmanObjectName = %q, want %q", got, ObjectStoreName)
			}
			if c.Spec.Backup != nil {
				t.Errorf("in-tree barmanObjectStore backup must not be configured with the plugin: %+v", c.Spec.Backup)
			}

			if c.Spec.Bootstrap == nil || c.Spec.Bootstrap.InitDB == nil {
				t.Fatalf("no initdb bootstrap")
			}
			initdb := c.Spec.Bootstrap.InitDB
			if initdb.Database != "booking" || initdb.Owner != "booking" || initdb.Secret == nil || initdb.Secret.Name != "booking-database" {
				t.Errorf("initdb = database %q owner %q secret %+v, want booking/booking/booking-database",
					initdb.Database, initdb.Owner, initdb.Secret)
			}

			if c.Spec.Instances != tc.wantInstances {
				t.Errorf("instances = %d, want %d", c.Spec.Instances, tc.wantInstances)
			}
			if c.Spec.StorageConfiguration.Size != tc.wantSize {
				t.Errorf("storage size = %q, want %q", c.Spec.StorageConfiguration.Size, tc.wantSize)
			}
			var storageClass string
			if c.Spec.StorageConfiguration.StorageClass != nil {
				storageClass = *c.Spec.StorageConfiguration.StorageClass
			}
			if storageClass != tc.wantStorageClass {
				t.Errorf("storage class = %q, want %q", storageClass, tc.wantStorageClass)
			}
			if c.Spec.ImageName != tc.wantImage {
				t.Errorf("imageName = %q, want %q", c.Spec.ImageName, tc.wantImage)
			}
			if got := c.Annotations[HibernationAnnotation]; got != tc.wantHibernation {
				t.Errorf("%s = %q, want %q", HibernationAnnotation, got, tc.wantHibernation)
			}
			placement := tc.inputs.Class.Spec.Placement
			if !equality.Semantic.DeepEqual(c.Spec.Affinity.NodeSelector, placement.NodeSelector) ||
				!equality.Semantic.DeepEqual(c.Spec.Affinity.Tolerations, placement.Tolerations) {
				t.Errorf("affinity %+v does not carry the class placement %+v", c.Spec.Affinity, placement)
			}

			// The database secret initdb reads is built too.
			one[*corev1.Secret](t, mustBuild(t, tc.inputs), DatabaseSecretName)
		})
	}
}

func TestScheduledBackup(t *testing.T) {
	tests := []struct {
		name         string
		inputs       Inputs
		wantSchedule string
		wantSuspend  bool
	}{
		{"defaults", minimalInputs(), "0 0 2 * * *", false},
		{"full", fullInputs(), "0 30 3 * * 0", false},
		{"suspended", suspendedInputs(), "0 0 2 * * *", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := one[*cnpgv1.ScheduledBackup](t, mustBuild(t, tc.inputs), ScheduledBackupName)
			if b.Spec.Schedule != tc.wantSchedule {
				t.Errorf("schedule = %q, want %q", b.Spec.Schedule, tc.wantSchedule)
			}
			if b.Spec.Suspend == nil || *b.Spec.Suspend != tc.wantSuspend {
				t.Errorf("suspend = %v, want %v", b.Spec.Suspend, tc.wantSuspend)
			}
			if b.Spec.Cluster.Name != PostgresClusterName {
				t.Errorf("cluster = %q, want %q", b.Spec.Cluster.Name, PostgresClusterName)
			}
			if b.Spec.Method != cnpgv1.BackupMethodPlugin || b.Spec.PluginConfiguration == nil ||
				b.Spec.PluginConfiguration.Name != BarmanCloudPluginName {
				t.Errorf("backup must go through the %s plugin, got method %q %+v", BarmanCloudPluginName, b.Spec.Method, b.Spec.PluginConfiguration)
			}
		})
	}
}

func TestObjectStore(t *testing.T) {
	tests := []struct {
		name      string
		classPath string
		want      string
	}{
		{"no trailing slash", "s3://bucket/prefix", "s3://bucket/prefix/acme"},
		{"trailing slash", "s3://bucket/prefix/", "s3://bucket/prefix/acme"},
		{"bucket only", "s3://bucket", "s3://bucket/acme"},
		{"bucket with slash", "gs://bucket/", "gs://bucket/acme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInputs()
			in.Class.Spec.Backup.DestinationPath = tc.classPath
			store := one[*barmancloudv1.ObjectStore](t, mustBuild(t, in), ObjectStoreName)
			if got := store.Spec.Configuration.DestinationPath; got != tc.want {
				t.Errorf("destinationPath = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("retention and credentials", func(t *testing.T) {
		for _, c := range []struct {
			inputs        Inputs
			wantRetention string
			wantCA        bool
		}{{minimalInputs(), "30d", false}, {fullInputs(), "8w", true}} {
			store := ObjectStore(c.inputs)
			if store.Spec.RetentionPolicy != c.wantRetention {
				t.Errorf("retention = %q, want %q", store.Spec.RetentionPolicy, c.wantRetention)
			}
			creds := store.Spec.Configuration.AWS
			if creds == nil || creds.AccessKeyIDReference == nil || creds.SecretAccessKeyReference == nil ||
				creds.AccessKeyIDReference.Name != BackupCredentialsSecretName || creds.AccessKeyIDReference.Key != "ACCESS_KEY_ID" ||
				creds.SecretAccessKeyReference.Name != BackupCredentialsSecretName || creds.SecretAccessKeyReference.Key != "ACCESS_SECRET_KEY" {
				t.Errorf("S3 credentials must come from %s: %+v", BackupCredentialsSecretName, creds)
			}
			if got := store.Spec.Configuration.EndpointCA != nil; got != c.wantCA {
				t.Errorf("endpointCA set = %v, want %v", got, c.wantCA)
			}
			objects := mustBuild(t, c.inputs)
			if c.wantCA {
				ca := one[*corev1.Secret](t, objects, BackupEndpointCASecretName)
				if store.Spec.Configuration.EndpointCA.Name != ca.Name || len(ca.Data["ca.crt"]) == 0 {
					t.Errorf("endpointCA %+v must point at the copied CA secret with ca.crt", store.Spec.Configuration.EndpointCA)
				}
			} else {
				absent[*corev1.Secret](t, objects, BackupEndpointCASecretName)
			}
		}
	})
}

func TestCopiedSecretsAreCopies(t *testing.T) {
	in := fullInputs()
	creds := BackupCredentialsSecret(in)
	ca := BackupEndpointCASecret(in)
	smtp := SMTPCredentialsSecret(in)
	creds.Data["ACCESS_KEY_ID"][0] = 'X'
	ca.Data["ca.crt"][0] = 'X'
	smtp.Data["password"][0] = 'X'
	if string(in.BackupCredentials["ACCESS_KEY_ID"]) != "AKIAEXAMPLE" || in.BackupEndpointCA["ca.crt"][0] != '-' ||
		string(in.SMTPCredentials["password"]) != "smtp-p@ss word" {
		t.Errorf("copied secrets share their data with the inputs")
	}
}

func TestSMTPCredentialsSecret(t *testing.T) {
	in := fullInputs()
	s := one[*corev1.Secret](t, mustBuild(t, in), SMTPCredentialsSecretName)
	if want := []string{"password", "username"}; !slices.Equal(slices.Sorted(maps.Keys(s.Data)), want) {
		t.Errorf("copied keys %v, want only %v", slices.Sorted(maps.Keys(s.Data)), want)
	}
	if string(s.Data["username"]) != "bookings@acme.example" || string(s.Data["password"]) != "smtp-p@ss word" {
		t.Errorf("copied data %q", s.Data)
	}
	in.Class.Spec.SMTP = nil
	absent[*corev1.Secret](t, mustBuild(t, in), SMTPCredentialsSecretName)
	for _, e := range AppEnv(in) {
		if strings.HasPrefix(e.Name, "SLOTBOOK_SMTP_") {
			t.Errorf("class without smtp: %s set", e.Name)
		}
	}
}

func TestCertificate(t *testing.T) {
	tests := []struct {
		name      string
		issuerRef slotbookv1alpha1.IssuerReference
		wantKind  string
		wantGroup string
	}{
		{"kind and group default", slotbookv1alpha1.IssuerReference{Name: "letsencrypt"}, "ClusterIssuer", "cert-manager.io"},
		{"namespaced issuer", slotbookv1alpha1.IssuerReference{Name: "internal-ca", Kind: "Issuer"}, "Issuer", "cert-manager.io"},
		{"explicit cluster issuer and group", slotbookv1alpha1.IssuerReference{Name: "pca", Kind: "ClusterIssuer", Group: "awspca.cert-manager.io"}, "ClusterIssuer", "awspca.cert-manager.io"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInputs()
			in.Class.Spec.TLS.IssuerRef = tc.issuerRef
			cert := one[*cmv1.Certificate](t, mustBuild(t, in), CertificateName)
			if !slices.Equal(cert.Spec.DNSNames, []string{in.Tenant.Spec.Host}) {
				t.Errorf("dnsNames = %v, want [%s]", cert.Spec.DNSNames, in.Tenant.Spec.Host)
			}
			if cert.Spec.PrivateKey == nil || cert.Spec.PrivateKey.RotationPolicy != cmv1.RotationPolicyAlways {
				t.Errorf("private key rotation policy must be Always, got %+v", cert.Spec.PrivateKey)
			}
			ref := cert.Spec.IssuerRef
			if ref.Name != tc.issuerRef.Name || ref.Kind != tc.wantKind || ref.Group != tc.wantGroup {
				t.Errorf("issuerRef = %+v, want name %q kind %q group %q", ref, tc.issuerRef.Name, tc.wantKind, tc.wantGroup)
			}
			if cert.Spec.SecretName != TLSSecretName {
				t.Errorf("secretName = %q, want %q", cert.Spec.SecretName, TLSSecretName)
			}
			// The Ingress serves the certificate's secret for the same host.
			ing := one[*networkingv1.Ingress](t, mustBuild(t, in), AppName)
			if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != TLSSecretName ||
				!slices.Equal(ing.Spec.TLS[0].Hosts, cert.Spec.DNSNames) {
				t.Errorf("Ingress TLS %+v does not match the Certificate", ing.Spec.TLS)
			}
		})
	}
}

func TestAppReplicasAndPDB(t *testing.T) {
	tests := []struct {
		name         string
		replicas     int32
		suspend      bool
		wantReplicas int32
		wantPDB      bool
	}{
		{"default", 0, false, 2, true},
		{"one replica", 1, false, 1, false},
		{"two replicas", 2, false, 2, true},
		{"three replicas", 3, false, 3, true},
		{"suspended", 3, true, 0, false},
		{"suspended default", 0, true, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInputs()
			in.Tenant.Spec.App.Replicas = tc.replicas
			in.Tenant.Spec.Suspend = tc.suspend
			objects := mustBuild(t, in)
			d := one[*appsv1.Deployment](t, objects, AppName)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tc.wantReplicas {
				t.Errorf("replicas = %v, want %d", d.Spec.Replicas, tc.wantReplicas)
			}
			pdbs := all[*policyv1.PodDisruptionBudget](objects)
			if got := len(pdbs) == 1; got != tc.wantPDB || len(pdbs) > 1 {
				t.Fatalf("PDBs = %d, want PDB %v", len(pdbs), tc.wantPDB)
			}
			if tc.wantPDB {
				if !equality.Semantic.DeepEqual(pdbs[0].Spec.Selector, d.Spec.Selector) {
					t.Errorf("PDB selector %+v differs from the Deployment's %+v", pdbs[0].Spec.Selector, d.Spec.Selector)
				}
				if pdbs[0].Spec.MinAvailable == nil || pdbs[0].Spec.MinAvailable.IntValue() != 1 {
					t.Errorf("PDB minAvailable = %v, want 1", pdbs[0].Spec.MinAvailable)
				}
			}
			if AppPodDisruptionBudget(in) != nil && !tc.wantPDB {
				t.Errorf("AppPodDisruptionBudget must return nil")
			}
		})
	}
}

func TestAppDeploymentFromClassAndTenant(t *testing.T) {
	tests := []struct {
		name       string
		inputs     Inputs
		wantImage  string
		wantPolicy corev1.PullPolicy
	}{
		{"class image", minimalInputs(), "ghcr.io/slotbook/booking:1.0.0", corev1.PullIfNotPresent},
		{"tenant override", fullInputs(), "registry.example.com/slotbook/booking:2.0.0-rc.1", corev1.PullAlways},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := AppDeployment(tc.inputs)
			c := d.Spec.Template.Spec.Containers[0]
			if c.Image != tc.wantImage || c.ImagePullPolicy != tc.wantPolicy {
				t.Errorf("image %q (%s), want %q (%s)", c.Image, c.ImagePullPolicy, tc.wantImage, tc.wantPolicy)
			}
			if r := tc.inputs.Tenant.Spec.App.Resources; len(r.Requests)+len(r.Limits) > 0 && !equality.Semantic.DeepEqual(c.Resources, r) {
				t.Errorf("resources = %+v, want the tenant's %+v", c.Resources, r)
			}
			if len(c.Resources.Requests) == 0 || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("the app must request resources and limit memory (the quota needs them): %+v", c.Resources)
			}
			pod := d.Spec.Template.Spec
			placement := tc.inputs.Class.Spec.Placement
			if !equality.Semantic.DeepEqual(pod.NodeSelector, placement.NodeSelector) || !equality.Semantic.DeepEqual(pod.Tolerations, placement.Tolerations) {
				t.Errorf("pod placement %v %v, want the class's %v %v", pod.NodeSelector, pod.Tolerations, placement.NodeSelector, placement.Tolerations)
			}
			// The pods carry the tenant label but never the retained label: releasing must not roll them.
			if pod := AppDeployment(releasedInputs()).Spec.Template; pod.Labels[slotbookv1alpha1.RetainedLabel] != "" {
				t.Errorf("pod template must not be labelled %s", slotbookv1alpha1.RetainedLabel)
			}
			for k, v := range d.Spec.Selector.MatchLabels {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("pod template labels %v do not match the selector %v", d.Spec.Template.Labels, d.Spec.Selector.MatchLabels)
				}
			}
		})
	}
}

func TestResourceQuotaAndLimitRange(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		in := minimalInputs()
		quota := ResourceQuota(in)
		if !equality.Semantic.DeepEqual(quota.Spec.Hard, DefaultQuota()) {
			t.Errorf("quota = %v, want DefaultQuota", quota.Spec.Hard)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceServicesLoadBalancers, corev1.ResourceServicesNodePorts} {
			if q, ok := quota.Spec.Hard[r]; !ok || !q.IsZero() {
				t.Errorf("default quota must forbid %s", r)
			}
		}
		lr := LimitRange(in)
		if len(lr.Spec.Limits) != 1 || lr.Spec.Limits[0].Type != corev1.LimitTypeContainer {
			t.Fatalf("want one Container limit, got %+v", lr.Spec.Limits)
		}
		item := lr.Spec.Limits[0]
		if item.DefaultRequest.Cpu().IsZero() || item.DefaultRequest.Memory().IsZero() || item.Default.Memory().IsZero() {
			t.Errorf("default limits must give CPU and memory requests and a memory limit: %+v", item)
		}
		if item.DefaultRequest.Memory().Cmp(*item.Default.Memory()) > 0 {
			t.Errorf("default memory request %v exceeds the default limit %v", item.DefaultRequest.Memory(), item.Default.Memory())
		}
	})
	t.Run("class", func(t *testing.T) {
		in := fullInputs()
		quota := ResourceQuota(in)
		want := in.Class.Spec.Quota.DeepCopy()
		// The class sets no Service guards, so the built-in ones are kept.
		want[corev1.ResourceServicesLoadBalancers] = resource.MustParse("0")
		want[corev1.ResourceServicesNodePorts] = resource.MustParse("0")
		if !equality.Semantic.DeepEqual(quota.Spec.Hard, want) {
			t.Errorf("quota = %v, want the class's plus the Service guards %v", quota.Spec.Hard, want)
		}
		in.Class.Spec.Quota[corev1.ResourceServicesNodePorts] = resource.MustParse("2")
		if q := ResourceQuota(in).Spec.Hard[corev1.ResourceServicesNodePorts]; q.Value() != 2 {
			t.Errorf("a class that allows NodePorts is overridden: %v", q)
		}
		item := LimitRange(in).Spec.Limits[0]
		if !equality.Semantic.DeepEqual(item.DefaultRequest, in.Class.Spec.Limits.DefaultRequest) ||
			!equality.Semantic.DeepEqual(item.Default, in.Class.Spec.Limits.Default) {
			t.Errorf("limits = %+v, want the class's %+v", item, in.Class.Spec.Limits)
		}
	})
	t.Run("half-set class limits", func(t *testing.T) {
		in := fullInputs()
		in.Class.Spec.Limits.Default = nil
		item := LimitRange(in).Spec.Limits[0]
		if item.Default != nil || !equality.Semantic.DeepEqual(item.DefaultRequest, in.Class.Spec.Limits.DefaultRequest) {
			t.Errorf("only defaultRequest set: got %+v", item)
		}
	})
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(in *Inputs)
		wantErr string
	}{
		{"no tenant", func(in *Inputs) { in.Tenant = nil }, "no tenant"},
		{"no class", func(in *Inputs) { in.Class = nil }, "no tenant class"},
		{"no session key", func(in *Inputs) { in.SessionKey = "" }, "no session key"},
		{"no database password", func(in *Inputs) { in.DatabasePassword = "" }, "no database password"},
		{"no smtp credentials", func(in *Inputs) { in.Class.Spec.SMTP = smtpMinimalInputs().Class.Spec.SMTP }, "no SMTP credentials"},
		{"no smtp password", func(in *Inputs) {
			*in = smtpMinimalInputs()
			delete(in.SMTPCredentials, "password")
		}, "no SMTP credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := minimalInputs()
			tc.mutate(&in)
			objects, err := Build(in)
			if err == nil {
				t.Fatalf("Build succeeded with %d objects, want an error", len(objects))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to mention %q", err, tc.wantErr)
			}
			if objects != nil {
				t.Errorf("want no objects with an error, got %d", len(objects))
			}
		})
	}
	if _, err := Build(Inputs{}); err == nil {
		t.Errorf("Build of empty Inputs succeeded")
	}
}

// TestBuildDoesNotMutateInputs: the builders only read their inputs (the controller passes
// objects from its informer cache, which must never be modified).
func TestBuildDoesNotMutateInputs(t *testing.T) {
	for _, tc := range propertyCases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.inputs()
			tenant, class := in.Tenant.DeepCopy(), in.Class.DeepCopy()
			endpoints := slices.Clone(in.APIServerEndpoints)
			mustBuild(t, in)
			if !equality.Semantic.DeepEqual(in.Tenant, tenant) {
				t.Errorf("Build modified the Tenant")
			}
			if !equality.Semantic.DeepEqual(in.Class, class) {
				t.Errorf("Build modified the TenantClass")
			}
			if !slices.Equal(in.APIServerEndpoints, endpoints) {
				t.Errorf("Build reordered or modified the API server endpoints: %v, was %v", in.APIServerEndpoints, endpoints)
			}
		})
	}
}

// selectsPostgresPods: sel selects the pods of the tenant's database and of a restore test's
// cluster, and no other cluster's.
func selectsPostgresPods(t *testing.T, sel metav1.LabelSelector) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(&sel)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(cluster string) labels.Set { return labels.Set{cnpgClusterLabel: cluster} }
	return s.Matches(pod(PostgresClusterName)) && s.Matches(pod(RestoreTestClusterName)) && !s.Matches(pod("other")) && !s.Matches(labels.Set{})
}
