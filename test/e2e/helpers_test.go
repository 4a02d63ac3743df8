//go:build e2e

// Package e2e is the end-to-end suite on the local cluster (make test-e2e, hack/e2e/run.sh):
// real Kubernetes, CloudNativePG, the Barman Cloud plugin, versitygw, cert-manager, Traefik,
// kube-router and the Slotbook operator, as make demo installs them. The cases run in file
// order and share tenants (e2e-a, e2e-b); each case is one top-level test.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/controllers"
)

// env is what hack/e2e/run.sh (or a developer) passes: the cluster and how to reach its ingress.
type env struct {
	kubeconfig string // admin kubeconfig of the local cluster
	kubectl    string // kubectl binary
	connect    string // IP:PORT where the tenants' hosts' port 443 is reached (Traefik's NodePort)
	caCert     string // CA of the tenants' certificates
	probeImage string // hack/cluster's probe image (dns/tcp/serve)
}

var (
	e   env
	k8s client.Client
	ctx = context.Background()
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run()) // listing the cases (hack/e2e/run.sh) needs no cluster
	}
	root, _ := filepath.Abs("../..")
	e = env{
		kubeconfig: getenv("E2E_KUBECONFIG", filepath.Join(root, "bin/cluster/kubeconfig")),
		kubectl:    getenv("E2E_KUBECTL", "kubectl"),
		connect:    getenv("E2E_CONNECT", "10.250.0.1:30443"),
		caCert:     getenv("E2E_CACERT", filepath.Join(root, "bin/demo/ca.crt")),
		probeImage: getenv("E2E_PROBE_IMAGE", "slotbook.local/probe:1"),
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.kubeconfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: no cluster (run make test-e2e):", err)
		os.Exit(1)
	}
	// The operator's scheme: every kind the suite reads is one the operator manages.
	if k8s, err = client.New(cfg, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// kubectl runs kubectl against the cluster and returns its combined output.
func kubectl(args ...string) (string, error) {
	cmd := exec.Command(e.kubectl, append([]string{"--kubeconfig", e.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// applyYAML server-side applies a manifest as the suite's field manager.
func applyYAML(t *testing.T, manifest string) {
	t.Helper()
	cmd := exec.Command(e.kubectl, "--kubeconfig", e.kubeconfig, "apply", "--server-side", "--force-conflicts",
		"--field-manager=slotbook-e2e", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apply: %v: %s\n%s", err, out, manifest)
	}
}

// eventually polls cond every 2 s until it returns true, failing the test after timeout with
// the last message cond gave.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s: %s", what, timeout, last)
		}
		time.Sleep(2 * time.Second)
	}
}

// tenant fetches a Tenant.
func tenant(t *testing.T, name string) *slotbookv1alpha1.Tenant {
	t.Helper()
	var tn slotbookv1alpha1.Tenant
	if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &tn); err != nil {
		t.Fatal(err)
	}
	return &tn
}

// conditionTrue reports whether the Tenant's condition is True for its current generation.
func conditionTrue(tn *slotbookv1alpha1.Tenant, typ string) (bool, string) {
	c := apimeta.FindStatusCondition(tn.Status.Conditions, typ)
	if c == nil {
		return false, typ + " not set"
	}
	return c.Status == "True" && tn.Status.ObservedGeneration == tn.Generation, fmt.Sprintf("%s=%s (%s): %s", typ, c.Status, c.Reason, c.Message)
}

// waitReady waits until the Tenant is Ready and returns how long that took.
func waitReady(t *testing.T, name string, timeout time.Duration) time.Duration {
	t.Helper()
	took := waitReadyNoFatal(name, timeout)
	if took < 0 {
		t.Fatalf("tenant %s not Ready after %s: %+v", name, timeout, tenant(t, name).Status.Conditions)
	}
	return took
}

// waitReadyNoFatal is waitReady for goroutines (which must not call t.Fatal): -1 when the
// timeout passed.
func waitReadyNoFatal(name string, timeout time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < timeout {
		var tn slotbookv1alpha1.Tenant
		if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &tn); err == nil {
			if ok, _ := conditionTrue(&tn, "Ready"); ok {
				return time.Since(start)
			}
		}
		time.Sleep(2 * time.Second)
	}
	return -1
}

func namespaceOf(name string) string { return "tenant-" + name }

// seed runs slotbook seed-demo in the tenant's app pod (idempotent).
func seed(t *testing.T, name string) {
	t.Helper()
	var err error
	for i := 0; i < 5; i++ { // the Deployment may be rolling
		if _, err = kubectl("-n", namespaceOf(name), "exec", "deploy/booking", "-c", "booking", "--",
			"/usr/local/bin/slotbook", "seed-demo"); err == nil {
			return
		}
		time.Sleep(3 * time.Second)
	}
	t.Fatal(err)
}

// primaryPod is the tenant's current PostgreSQL primary.
func primaryPod(t *testing.T, ns string) string {
	t.Helper()
	var c cnpgv1.Cluster
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "postgres"}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Status.CurrentPrimary == "" {
		t.Fatalf("cluster %s/postgres has no primary", ns)
	}
	return c.Status.CurrentPrimary
}

// psqlIn runs SQL as the postgres superuser over the pod's local socket (peer auth) in its
// booking database and returns the unaligned output.
func psqlIn(ns, pod, sql string) (string, error) {
	out, err := kubectl("-n", ns, "exec", pod, "-c", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
		"-d", "booking", "-tAc", sql)
	return strings.TrimSpace(out), err
}

// psql is psqlIn on the tenant namespace's current primary.
func psql(t *testing.T, ns, sql string) string {
	t.Helper()
	out, err := psqlIn(ns, primaryPod(t, ns), sql)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// httpClient reaches every tenant host through the ingress (CONNECT), verifying TLS against the
// cluster CA, with the given TLS version range.
func httpClient(t *testing.T, minVersion, maxVersion uint16) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(e.caCert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", e.caCert)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, e.connect)
			},
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: minVersion, MaxVersion: maxVersion},
			DisableKeepAlives: true, // every request sees the routing of that moment (failover)
		},
	}
}

// haircut is the demo business's first service (seed-demo), the one every case books.
const haircut = 1

// slot is one bookable start with a staff member free then.
type slot struct {
	Start   string
	StaffID int64
}

// freeSlots lists bookable (start, staff) pairs of the haircut on the hour, at most one per
// staff member and hour so that they do not overlap each other.
func freeSlots(t *testing.T, c *http.Client, host string, days int) []slot {
	t.Helper()
	from := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	to := time.Now().AddDate(0, 0, days).Format(time.DateOnly)
	var body struct {
		Slots []struct {
			Start    string  `json:"start"`
			StaffIDs []int64 `json:"staffIds"`
		} `json:"slots"`
	}
	getJSON(t, c, fmt.Sprintf("https://%s/api/v1/availability?service=%d&from=%s&to=%s", host, haircut, from, to), &body)
	var out []slot
	for _, s := range body.Slots {
		st, err := time.Parse(time.RFC3339, s.Start)
		if err != nil {
			t.Fatal(err)
		}
		if st.Minute() != 0 {
			continue
		}
		for _, id := range s.StaffIDs {
			out = append(out, slot{Start: s.Start, StaffID: id})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no free slots at %s", host)
	}
	return out
}

func getJSON(t *testing.T, c *http.Client, url string, into any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// book posts a haircut booking; it returns the HTTP status and, on 201, the booking's id.
func book(c *http.Client, host string, s slot, email string) (int, int64, error) {
	req, _ := json.Marshal(map[string]any{
		"serviceId": haircut, "staffId": s.StaffID, "start": s.Start,
		"customer": map[string]string{"name": "E2E Test", "email": email},
	})
	resp, err := c.Post("https://"+host+"/api/v1/bookings", "application/json", bytes.NewReader(req))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct {
		ID int64 `json:"id"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusCreated {
		if err := json.Unmarshal(b, &out); err != nil {
			return resp.StatusCode, 0, err
		}
	}
	return resp.StatusCode, out.ID, nil
}

// bookOne books the first slot that is still free (a 429 from the rate limit waits a second).
func bookOne(t *testing.T, c *http.Client, host string, slots *[]slot, email string) int64 {
	t.Helper()
	for len(*slots) > 0 {
		s := (*slots)[0]
		code, id, err := book(c, host, s, email)
		switch {
		case err != nil:
			t.Fatal(err)
		case code == http.StatusCreated:
			*slots = (*slots)[1:]
			return id
		case code == http.StatusTooManyRequests:
			time.Sleep(time.Second)
		default: // 409: taken meanwhile
			*slots = (*slots)[1:]
		}
	}
	t.Fatal("no slot left to book")
	return 0
}

// podManifest is a pod with the restricted security context every tenant namespace enforces.
func podManifest(ns, name string, labels map[string]string, image, restartPolicy string, args []string) string {
	var lbl []string
	for k, v := range labels {
		lbl = append(lbl, fmt.Sprintf("%q: %q", k, v))
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {%s}
spec:
  restartPolicy: %s
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: %s
    imagePullPolicy: IfNotPresent
    args: [%s]
    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 128Mi}}
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`, name, ns, strings.Join(lbl, ", "), restartPolicy, image, strings.Join(quoted, ", "))
}
