package resources

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// update rewrites the golden files from the current builders: `make golden`, then review the diff.
var update = flag.Bool("update", false, "rewrite golden files")

// testTenantUID is the fixed UID of every test tenant, so owner references are deterministic.
const testTenantUID = types.UID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")

// minimalTenant is a Tenant with only its name and host set. Nothing is defaulted, as if the API
// server's defaulting had not run: the builders must fill in the defaults themselves.
func minimalTenant() *slotbookv1alpha1.Tenant {
	return &slotbookv1alpha1.Tenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: slotbookv1alpha1.GroupVersion.String(), Kind: "Tenant"},
		ObjectMeta: metav1.ObjectMeta{Name: "acme", UID: testTenantUID},
		Spec:       slotbookv1alpha1.TenantSpec{Host: "booking.acme.example"},
	}
}

// minimalClass is a TenantClass with only its required fields set.
func minimalClass() *slotbookv1alpha1.TenantClass {
	return &slotbookv1alpha1.TenantClass{
		TypeMeta:   metav1.TypeMeta{APIVersion: slotbookv1alpha1.GroupVersion.String(), Kind: "TenantClass"},
		ObjectMeta: metav1.ObjectMeta{Name: "standard"},
		Spec: slotbookv1alpha1.TenantClassSpec{
			Ingress: slotbookv1alpha1.IngressSpec{
				ClassName: "nginx",
				ControllerNamespaceSelector: metav1.LabelSelector{
					MatchLabels: map[string]string{corev1.LabelMetadataName: "ingress-nginx"},
				},
			},
			TLS: slotbookv1alpha1.TLSSpec{IssuerRef: slotbookv1alpha1.IssuerReference{Name: "letsencrypt"}},
			Backup: slotbookv1alpha1.BackupSpec{
				DestinationPath:      "s3://slotbook-backups/tenants",
				CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "slotbook-system", Name: "backup-credentials"},
				EgressCIDRs:          []string{"198.51.100.0/24"},
			},
			App: slotbookv1alpha1.ClassAppSpec{Image: "ghcr.io/slotbook/booking:1.0.0"},
		},
	}
}

// fullTenant sets every Tenant field to a non-default value.
func fullTenant() *slotbookv1alpha1.Tenant {
	t := minimalTenant()
	t.Annotations = map[string]string{slotbookv1alpha1.DeletionProtectionAnnotation: "true"}
	t.Spec = slotbookv1alpha1.TenantSpec{
		ClassName:   "premium",
		DisplayName: "ACME Hair & Beauty",
		Host:        "booking.acme.example",
		TimeZone:    "America/New_York",
		Environment: slotbookv1alpha1.EnvironmentStaging,
		App: slotbookv1alpha1.TenantAppSpec{
			Replicas: 3,
			Image:    "registry.example.com/slotbook/booking:2.0.0-rc.1",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("250m"),
					corev1.ResourceMemory: resource.MustParse("256Mi"),
				},
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("1"),
					corev1.ResourceMemory: resource.MustParse("512Mi"),
				},
			},
		},
		Postgres: slotbookv1alpha1.TenantPostgresSpec{
			Instances: 5,
			Storage:   slotbookv1alpha1.StorageSpec{Size: "20Gi"},
			Backup: slotbookv1alpha1.TenantBackupSpec{
				Schedule:  "0 30 3 * * 0",
				Retention: "8w",
			},
			Resources: &corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("1"),
					corev1.ResourceMemory: resource.MustParse("2Gi"),
				},
				Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
			},
		},
		Security: slotbookv1alpha1.SecuritySpec{
			MFA:                slotbookv1alpha1.MFARequired,
			SessionIdleTimeout: "30m",
			PasswordMinLength:  16,
		},
		Owner:          &slotbookv1alpha1.OwnerSpec{Email: "owner@acme.example"},
		DeletionPolicy: slotbookv1alpha1.DeletionPolicyDelete,
	}
	return t
}

// fullClass sets every TenantClass field to a non-default value.
func fullClass() *slotbookv1alpha1.TenantClass {
	c := minimalClass()
	c.Name = "premium"
	c.Annotations = map[string]string{slotbookv1alpha1.DefaultClassAnnotation: "true"}
	c.Spec = slotbookv1alpha1.TenantClassSpec{
		Ingress: slotbookv1alpha1.IngressSpec{
			ClassName: "traefik",
			ControllerNamespaceSelector: metav1.LabelSelector{
				MatchLabels: map[string]string{"slotbook.io/ingress": "true"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: []string{"traefik"},
				}},
			},
			ProxyCIDRs: []string{"10.42.0.0/16", "fd00:10:42::/56"},
		},
		TLS: slotbookv1alpha1.TLSSpec{IssuerRef: slotbookv1alpha1.IssuerReference{
			Name: "internal-ca", Kind: "Issuer", Group: "cert-manager.io",
		}},
		Backup: slotbookv1alpha1.BackupSpec{
			// A trailing slash: the tenant name must still be appended with exactly one '/'.
			DestinationPath:      "s3://eu-backups/slotbook/",
			EndpointURL:          "https://minio.storage.svc:9000",
			EndpointCASecretRef:  &slotbookv1alpha1.SecretReference{Namespace: "storage", Name: "minio-ca"},
			CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "storage", Name: "minio-credentials"},
			EgressCIDRs:          []string{"10.96.12.0/24", "fd00:10:96::/64"},
			EgressPorts:          []int32{9000, 9443},
		},
		App: slotbookv1alpha1.ClassAppSpec{
			Image:           "ghcr.io/slotbook/booking:1.4.2",
			ImagePullPolicy: corev1.PullAlways,
		},
		Postgres: slotbookv1alpha1.ClassPostgresSpec{
			StorageClassName: "fast-ssd-eu",
			ImageName:        "ghcr.io/cloudnative-pg/postgresql:17.5-standard-bookworm",
			OperatorNamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: "postgres-operator"},
			},
		},
		Placement: slotbookv1alpha1.PlacementSpec{
			NodeSelector: map[string]string{corev1.LabelTopologyRegion: "eu-central-1"},
			Tolerations: []corev1.Toleration{{
				Key: "slotbook.io/dedicated", Operator: corev1.TolerationOpEqual, Value: "tenants", Effect: corev1.TaintEffectNoSchedule,
			}},
		},
		Quota: corev1.ResourceList{
			corev1.ResourceRequestsCPU:            resource.MustParse("8"),
			corev1.ResourceRequestsMemory:         resource.MustParse("16Gi"),
			corev1.ResourceLimitsMemory:           resource.MustParse("32Gi"),
			corev1.ResourceRequestsStorage:        resource.MustParse("500Gi"),
			corev1.ResourcePersistentVolumeClaims: resource.MustParse("30"),
			corev1.ResourcePods:                   resource.MustParse("60"),
		},
		Limits: slotbookv1alpha1.LimitsSpec{
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
			Default: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("500m"),
				corev1.ResourceMemory: resource.MustParse("1Gi"),
			},
		},
		Monitoring: slotbookv1alpha1.MonitoringSpec{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{corev1.LabelMetadataName: "monitoring"},
		}},
		SMTP: &slotbookv1alpha1.SMTPSpec{
			Host:                 "smtp.mail.example",
			Port:                 465,
			From:                 "ACME Bookings <noreply@acme.example>",
			TLS:                  slotbookv1alpha1.SMTPImplicitTLS,
			CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "mail", Name: "smtp-login"},
			EgressCIDRs:          []string{"192.0.2.25/32", "2001:db8:25::/64"},
		},
	}
	return c
}

// smtpCredentials is the data of a class's SMTP credentials Secret, with a key the app does not
// need (which must not be copied).
func smtpCredentials() map[string][]byte {
	return map[string][]byte{
		"username": []byte("bookings@acme.example"),
		"password": []byte("smtp-p@ss word"),
		"note":     []byte("rotated by the mail team"),
	}
}

// minimalInputs are the Inputs of minimalTenant in minimalClass, with one IPv4 API server endpoint.
func minimalInputs() Inputs {
	return Inputs{
		Tenant:           minimalTenant(),
		Class:            minimalClass(),
		SessionKey:       "c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXM=",
		DatabasePassword: "p@ss/word:with?special#chars",
		BackupCredentials: map[string][]byte{
			"ACCESS_KEY_ID":     []byte("AKIAEXAMPLE"),
			"ACCESS_SECRET_KEY": []byte("secret-access-key"),
		},
		APIServerEndpoints: []Endpoint{{Addr: netip.MustParseAddr("172.18.0.2"), Port: 6443}},
	}
}

// fullInputs are the Inputs of fullTenant in fullClass, with an IPv4 and an IPv6 API server
// endpoint (given IPv6 first: the builder sorts them).
func fullInputs() Inputs {
	in := minimalInputs()
	in.Tenant = fullTenant()
	in.Class = fullClass()
	in.BackupEndpointCA = map[string][]byte{"ca.crt": []byte("-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n")}
	in.SMTPCredentials = smtpCredentials()
	in.PodMonitorAvailable = true
	in.APIServerEndpoints = []Endpoint{
		{Addr: netip.MustParseAddr("2001:db8::10"), Port: 6443},
		{Addr: netip.MustParseAddr("192.0.2.10"), Port: 6443},
	}
	return in
}

func suspendedInputs() Inputs {
	in := minimalInputs()
	in.Tenant.Spec.Suspend = true
	return in
}

func singleReplicaInputs() Inputs {
	in := minimalInputs()
	in.Tenant.Spec.App.Replicas = 1
	return in
}

// restoredInputs: a tenant started from another tenant's backups, to a point in time.
func restoredInputs() Inputs {
	in := minimalInputs()
	at := metav1.NewTime(time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC))
	in.Tenant.Spec.Restore = &slotbookv1alpha1.RestoreSpec{FromTenant: "old-salon", TargetTime: &at}
	return in
}

// restoreTestInputs: a restore test is running (its throw-away cluster is desired).
func restoreTestInputs() Inputs {
	in := minimalInputs()
	in.Tenant.Status.RestoreTest = &slotbookv1alpha1.RestoreTestStatus{
		Phase: slotbookv1alpha1.RestoreTestRunning, StartedAt: metav1.NewTime(time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)),
	}
	return in
}

func releasedInputs() Inputs {
	in := minimalInputs()
	in.Released = true
	return in
}

// goldenCases are the cases pinned by testdata/<name>.golden.yaml.
var goldenCases = []struct {
	name   string
	inputs func() Inputs
}{
	{"defaults", minimalInputs},
	{"full", fullInputs},
	{"suspended", suspendedInputs},
	{"single-replica", singleReplicaInputs},
	{"released", releasedInputs},
	{"restored", restoredInputs},
	{"restore-test", restoreTestInputs},
}

// renderYAML renders objects as one multi-document YAML stream, in the given order.
func renderYAML(objects []client.Object) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objects {
		if i > 0 {
			b.WriteString("---\n")
		}
		out, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("object %d (%T %s): %w", i, o, o.GetName(), err)
		}
		b.Write(out)
	}
	return b.Bytes(), nil
}

// diffHint describes the first line where got and want differ, with a little context.
func diffHint(want, got []byte) string {
	wantLines := strings.Split(string(want), "\n")
	gotLines := strings.Split(string(got), "\n")
	n := min(len(wantLines), len(gotLines))
	i := 0
	for i < n && wantLines[i] == gotLines[i] {
		i++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "first difference at line %d%s (golden has %d lines, output has %d):\n",
		i+1, documentAt(wantLines, i), len(wantLines), len(gotLines))
	for j := max(0, i-3); j < i; j++ {
		fmt.Fprintf(&b, "    %4d   %s\n", j+1, wantLines[j])
	}
	if i < len(wantLines) {
		fmt.Fprintf(&b, "  - %4d   %s\n", i+1, wantLines[i])
	} else {
		fmt.Fprintf(&b, "  - %4d   <end of golden file>\n", i+1)
	}
	if i < len(gotLines) {
		fmt.Fprintf(&b, "  + %4d   %s\n", i+1, gotLines[i])
	} else {
		fmt.Fprintf(&b, "  + %4d   <end of output>\n", i+1)
	}
	return b.String()
}

// documentAt names the YAML document that line i belongs to, e.g. " in Secret booking-session".
func documentAt(lines []string, i int) string {
	if i >= len(lines) {
		return ""
	}
	start := i
	for start > 0 && lines[start-1] != "---" {
		start--
	}
	var kind, name string
	inMetadata := false
	for _, l := range lines[start:] {
		if l == "---" {
			break
		}
		switch {
		case strings.HasPrefix(l, "kind: "):
			kind = strings.TrimPrefix(l, "kind: ")
		case l == "metadata:":
			inMetadata = true
		case inMetadata && strings.HasPrefix(l, "  name: "):
			name = strings.TrimPrefix(l, "  name: ")
		case !strings.HasPrefix(l, " "):
			inMetadata = false
		}
	}
	if kind == "" {
		return ""
	}
	return fmt.Sprintf(" in %s %s", kind, name)
}

func TestBuildGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			objects, err := Build(tc.inputs())
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got, err := renderYAML(objects)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			golden := filepath.Join("testdata", tc.name+".golden.yaml")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run `go test ./internal/resources/ -run TestBuildGolden -update` to create it): %v", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("Build output differs from %s; if the change is intended, rerun with -update (make golden) and review the diff.\n%s",
					golden, diffHint(want, got))
			}
		})
	}
}

// TestBuildDeterministic guards the golden files' premise: the same inputs render the same bytes.
func TestBuildDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var first []byte
			for i := range 5 {
				objects, err := Build(tc.inputs())
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				out, err := renderYAML(objects)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				if i == 0 {
					first = out
				} else if !bytes.Equal(first, out) {
					t.Fatalf("render %d differs from the first:\n%s", i, diffHint(first, out))
				}
			}
		})
	}
}

func TestDiffHint(t *testing.T) {
	hint := diffHint([]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n---\nkind: Service\nmetadata:\n  labels:\n    name: x\n  name: svc\nspec:\n  name: y\n"),
		[]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s1\n---\nkind: Service\nmetadata:\n  labels:\n    name: x\n  name: svc\nspec:\n  name: z\n"))
	if !strings.Contains(hint, "line 12 in Service svc") {
		t.Errorf("hint does not name the document:\n%s", hint)
	}
	hint = diffHint([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"))
	if !strings.Contains(hint, "line 2") || !strings.Contains(hint, "-    2   b") || !strings.Contains(hint, "+    2   B") {
		t.Errorf("unexpected hint:\n%s", hint)
	}
	hint = diffHint([]byte("a\n"), []byte("a\nb\n"))
	if !strings.Contains(hint, "+    2   b") {
		t.Errorf("unexpected hint for appended line:\n%s", hint)
	}
}
