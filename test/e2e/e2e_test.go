//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	neturl "net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// The suite's tenants: A with the class defaults and one instance (Retain), B with two instances
// and stricter security settings (Delete), C made while the operator is being killed.
const (
	tenantA = "e2e-a"
	tenantB = "e2e-b"
	tenantC = "e2e-c"
	// R is restored from A's backups (case 5).
	tenantR = "e2e-r"
)

func host(name string) string { return name + ".e2e.slotbook.test" }

func tenantManifest(name string, instances int, extra string) string {
	return fmt.Sprintf(`apiVersion: slotbook.io/v1alpha1
kind: Tenant
metadata:
  name: %s
spec:
  displayName: E2E %s
  host: %s
  environment: staging
  app:
    replicas: 1
    resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}
  postgres:
    instances: %d
    storage: {size: 1Gi}
    backup: {schedule: "0 0 3 * * *", retention: 7d}
    # Small: four databases (A, B with two, C) and a restored one share 2 cores.
    resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {memory: 1Gi}}
%s`, name, name, host(name), instances, extra)
}

// Case 1: two Tenants with different settings reach Ready; time to Ready is recorded.
func Test01Provisioning(t *testing.T) {
	applyYAML(t, tenantManifest(tenantA, 1, `  security: {mfa: Optional}
  deletionPolicy: Retain
`))
	applyYAML(t, tenantManifest(tenantB, 2, `  className: demo
  security: {mfa: Required, sessionIdleTimeout: 5m, passwordMinLength: 14}
  deletionPolicy: Delete
`))
	start := time.Now()
	var wg sync.WaitGroup
	took := map[string]time.Duration{}
	var mu sync.Mutex
	for _, name := range []string{tenantA, tenantB} {
		wg.Go(func() {
			d := waitReadyNoFatal(name, 10*time.Minute)
			mu.Lock()
			took[name] = d
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, name := range []string{tenantA, tenantB} {
		if took[name] < 0 {
			tn := tenant(t, name)
			t.Fatalf("tenant %s not Ready after 10m: %+v", name, tn.Status.Conditions)
		}
		t.Logf("time to Ready: tenant %s %s", name, took[name].Round(time.Second))
	}
	t.Logf("both Ready %s after apply", time.Since(start).Round(time.Second))
	// The settings arrived where they matter.
	b := tenant(t, tenantB)
	if b.Status.Security == nil || b.Status.Security.MFA != "Required" || b.Status.Security.PasswordMinLength != 14 {
		t.Errorf("tenant B's effective security = %+v", b.Status.Security)
	}
	seed(t, tenantA)
	seed(t, tenantB)
}

// Case 2: through the ingress with TLS verified against the cluster CA (TLS >= 1.2; a TLS 1.1
// client is refused): availability and a booking; it is in A's database, not in B's.
func Test02FrontDoor(t *testing.T) {
	c := httpClient(t, tls.VersionTLS12, 0)
	resp, err := c.Get("https://" + host(tenantA) + "/api/v1/services")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/services: %d", resp.StatusCode)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if !slices.Contains(leaf.DNSNames, host(tenantA)) || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("served certificate names %v, TLS version %x", leaf.DNSNames, resp.TLS.Version)
	}
	t.Logf("certificate for %v issued by %q, TLS version %x", leaf.DNSNames, leaf.Issuer.CommonName, resp.TLS.Version)

	slots := freeSlots(t, c, host(tenantA), 14)
	id := bookOne(t, c, host(tenantA), &slots, "front-door@e2e.test")
	if got := psql(t, namespaceOf(tenantA), fmt.Sprintf(
		"select count(*) from bookings where id = %d and customer_email = 'front-door@e2e.test'", id)); got != "1" {
		t.Errorf("booking %d in A's database: count %s, want 1", id, got)
	}
	if got := psql(t, namespaceOf(tenantB), "select count(*) from bookings where customer_email = 'front-door@e2e.test'"); got != "0" {
		t.Errorf("A's booking found in B's database: count %s", got)
	}

	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		old := httpClient(t, v, v)
		resp, err := old.Get("https://" + host(tenantA) + "/")
		if err == nil {
			resp.Body.Close()
			t.Errorf("a TLS %x client was served (status %d)", v, resp.StatusCode)
		} else if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("TLS %x client: %v, want a protocol version alert", v, err)
		}
	}
}

// Case 3: network isolation, enforced by kube-router.
func Test03NetworkIsolation(t *testing.T) {
	nsA, nsB := namespaceOf(tenantA), namespaceOf(tenantB)
	// A pod with the labels of A's owner-setup Job: the policies let it reach A's database.
	asAppA := map[string]string{"app.kubernetes.io/name": "booking-create-owner", "app.kubernetes.io/instance": tenantA}
	podIP := func(ns, selector string) string {
		out := mustKubectl(t, "-n", ns, "get", "pods", "-l", selector, "-o", "jsonpath={.items[0].status.podIP}")
		if out == "" {
			t.Fatalf("no pod %s in %s", selector, ns)
		}
		return out
	}
	bPostgres := podIP(nsB, "cnpg.io/cluster=postgres,cnpg.io/instanceRole=primary")
	bApp := podIP(nsB, "app.kubernetes.io/name=booking")

	// Something outside every tenant that anybody may reach unless a policy forbids it.
	applyYAML(t, `apiVersion: v1
kind: Namespace
metadata:
  name: e2e-outside
  labels: {pod-security.kubernetes.io/enforce: restricted}
`)
	startPod(t, "e2e-outside", "server", map[string]string{"app": "server"}, e.probeImage, "serve", ":8080")
	outside := podIP("e2e-outside", "app=server") + ":8080"
	t.Cleanup(func() { _, _ = kubectl("delete", "namespace", "e2e-outside", "--wait=false") })

	// Long-running client pods; the checks run in them with kubectl exec. A's client carries the
	// labels of A's owner-setup Job, so A's policies let it reach A's database and nothing else.
	var cl cnpgv1.Cluster
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "postgres"}, &cl); err != nil {
		t.Fatal(err)
	}
	pgImage := cl.Spec.ImageName
	clientA := startPod(t, nsA, "e2e-client", asAppA, e.probeImage, "sleep")
	psqlA := startPod(t, nsA, "e2e-psql", asAppA, pgImage, "sleep", "infinity")
	clientOut := startPod(t, "e2e-outside", "e2e-client", map[string]string{"app": "client"}, e.probeImage, "sleep")
	tcp := func(ns, pod, target string) (bool, string) {
		out, err := kubectl("-n", ns, "exec", pod, "--", "/probe", "tcp", target)
		return err == nil, strings.TrimSpace(out)
	}

	// kube-router puts a new pod into its firewall only after it has seen it: until then the
	// pod's packets to a policy-protected pod are rejected, and its own egress is not yet
	// restricted. Wait for both to settle and report how long that took.
	startSync := time.Now()
	eventually(t, 2*time.Minute, "kube-router has A's client in its firewall", func() (bool, string) {
		toPG, msg1 := tcp(nsA, clientA, "postgres-rw."+nsA+".svc:5432")
		toOutside, msg2 := tcp(nsA, clientA, outside)
		return toPG && !toOutside, msg1 + " / " + msg2
	})
	t.Logf("kube-router enforced A's policies on a new pod after %s", time.Since(startSync).Round(time.Second))

	tests := []struct {
		name      string
		ns, pod   string
		target    string
		reachable bool
	}{
		{"control: an outside pod reaches the outside server", "e2e-outside", clientOut, outside, true},
		{"A's app reaches A's Postgres", nsA, clientA, "postgres-rw." + nsA + ".svc:5432", true},
		{"A's app cannot reach B's Postgres", nsA, clientA, bPostgres + ":5432", false},
		{"A's app cannot reach B's app", nsA, clientA, bApp + ":8080", false},
		{"A's app cannot reach an arbitrary address", nsA, clientA, outside, false},
		{"an outside pod cannot reach B's Postgres", "e2e-outside", clientOut, bPostgres + ":5432", false},
		{"an outside pod cannot reach B's app directly", "e2e-outside", clientOut, bApp + ":8080", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, msg := tcp(tc.ns, tc.pod, tc.target)
			if ok != tc.reachable {
				t.Errorf("tcp %s from %s: %s, want reachable=%v", tc.target, tc.ns, msg, tc.reachable)
			}
		})
	}

	// pg_hba: only TLS (hostssl); a plain connection is refused before authentication.
	psqlFrom := func(sslmode string) (bool, string) {
		out, err := kubectl("-n", nsA, "exec", psqlA, "--", "psql", "-X", "-w",
			"host=postgres-rw."+nsA+".svc port=5432 dbname=booking user=booking connect_timeout=10 sslmode="+sslmode, "-c", "select 1")
		return err == nil, out
	}
	eventually(t, 2*time.Minute, "kube-router has the psql client in its firewall", func() (bool, string) {
		_, out := psqlFrom("disable")
		return !strings.Contains(out, "Connection refused"), out
	})
	t.Run("a non-TLS connection to A's Postgres is refused by pg_hba", func(t *testing.T) {
		ok, out := psqlFrom("disable")
		if ok || !strings.Contains(out, "pg_hba.conf") || !strings.Contains(out, "no encryption") {
			t.Errorf("plain connection: %s", out)
		}
	})
	t.Run("a TLS connection gets to password authentication", func(t *testing.T) {
		ok, out := psqlFrom("require")
		if ok || !strings.Contains(out, "password") || strings.Contains(out, "pg_hba.conf") {
			t.Errorf("TLS connection without password: %s", out)
		}
	})
}

// startPod starts a long-running pod (restricted security context), waits until it runs and
// deletes it when the test ends.
func startPod(t *testing.T, ns, name string, labels map[string]string, image string, args ...string) string {
	t.Helper()
	applyYAML(t, podManifest(ns, name, labels, image, "Always", args))
	t.Cleanup(func() { _, _ = kubectl("-n", ns, "delete", "pod", name, "--wait=false") })
	mustKubectl(t, "-n", ns, "wait", "pod/"+name, "--for=condition=Ready", "--timeout=120s")
	return name
}

// s3 lists the keys under prefix in the backup bucket (S3 ListObjectsV2, path style, SigV4).
func s3Keys(t *testing.T, prefix string) []string {
	t.Helper()
	var sec corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "slotbook-system", Name: "backup-credentials"}, &sec); err != nil {
		t.Fatal(err)
	}
	var svc corev1.Service
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "versitygw", Name: "versitygw"}, &svc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	token := ""
	for {
		// Query values percent-encoded as SigV4's canonical request has them (a raw "/" in the
		// prefix makes the signatures differ: 403).
		url := fmt.Sprintf("http://%s:7070/slotbook-backups?list-type=2&prefix=%s", svc.Spec.ClusterIP, neturl.QueryEscape(prefix))
		if token != "" {
			url = fmt.Sprintf("http://%s:7070/slotbook-backups?continuation-token=%s&list-type=2&prefix=%s",
				svc.Spec.ClusterIP, neturl.QueryEscape(token), neturl.QueryEscape(prefix))
		}
		out, err := exec.Command("curl", "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3",
			"--user", string(sec.Data["ACCESS_KEY_ID"])+":"+string(sec.Data["ACCESS_SECRET_KEY"]),
			"-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", url).CombinedOutput()
		if err != nil {
			t.Fatalf("S3 list %s: %v: %s", prefix, err, out)
		}
		body := string(out)
		for _, part := range strings.Split(body, "<Key>")[1:] {
			keys = append(keys, part[:strings.Index(part, "</Key>")])
		}
		i := strings.Index(body, "<NextContinuationToken>")
		if i < 0 {
			return keys
		}
		token = body[i+len("<NextContinuationToken>"):]
		token = token[:strings.Index(token, "<")]
	}
}

func countWith(keys []string, part string) int {
	n := 0
	for _, k := range keys {
		if strings.Contains(k, part) {
			n++
		}
	}
	return n
}

// Case 4: the first backup completes into the object store, WAL archiving is healthy, and the
// Tenant's BackupsHealthy condition and last backup time say so.
func Test04Backups(t *testing.T) {
	ns := namespaceOf(tenantA)
	var completed *cnpgv1.Backup
	eventually(t, 5*time.Minute, "a completed Backup in "+ns, func() (bool, string) {
		var list cnpgv1.BackupList
		if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		phases := []string{}
		for i, b := range list.Items {
			phases = append(phases, b.Name+"="+string(b.Status.Phase))
			if b.Status.Phase == cnpgv1.BackupPhaseCompleted {
				completed = &list.Items[i]
				return true, ""
			}
		}
		return false, strings.Join(phases, ", ")
	})
	t.Logf("backup %s completed (method %s, started %v, stopped %v)", completed.Name, completed.Spec.Method,
		completed.Status.StartedAt, completed.Status.StoppedAt)

	var cl cnpgv1.Cluster
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "postgres"}, &cl); err != nil {
		t.Fatal(err)
	}
	arch := metaCondition(cl.Status.Conditions, "ContinuousArchiving")
	if arch == nil || arch.Status != metav1.ConditionTrue {
		t.Errorf("ContinuousArchiving = %+v", arch)
	}

	keys := s3Keys(t, "tenants/"+tenantA+"/")
	if countWith(keys, "/base/") == 0 || countWith(keys, "/wals/") == 0 {
		t.Fatalf("bucket under tenants/%s/: %d base objects, %d WAL objects, want both > 0 (%v)", tenantA,
			countWith(keys, "/base/"), countWith(keys, "/wals/"), keys)
	}
	t.Logf("bucket: %d objects under tenants/%s/ (%d base, %d WAL)", len(keys), tenantA, countWith(keys, "/base/"), countWith(keys, "/wals/"))

	eventually(t, 2*time.Minute, "tenant A's BackupsHealthy and last backup time", func() (bool, string) {
		tn := tenant(t, tenantA)
		ok, msg := conditionTrue(tn, "BackupsHealthy")
		if !ok {
			return false, msg
		}
		if tn.Status.LastSuccessfulBackup == nil || completed.Status.StoppedAt == nil ||
			tn.Status.LastSuccessfulBackup.Time.Before(completed.Status.StoppedAt.Add(-time.Second)) {
			return false, fmt.Sprintf("lastSuccessfulBackup %v, backup stopped %v", tn.Status.LastSuccessfulBackup, completed.Status.StoppedAt)
		}
		return true, ""
	})

	// An automatic restore test, its schedule made to fire within the minute: a throw-away
	// cluster recovers the latest backup, the test succeeds, and the cluster goes.
	mustKubectl(t, "patch", "tenant", tenantA, "--type", "merge", "-p",
		`{"spec":{"postgres":{"backup":{"restoreTest":{"schedule":"0 * * * * *"}}}}}`)
	var rt *slotbookv1alpha1.RestoreTestStatus
	eventually(t, 6*time.Minute, "a successful restore test of tenant A", func() (bool, string) {
		rt = tenant(t, tenantA).Status.RestoreTest
		if rt == nil {
			return false, "no status.restoreTest yet"
		}
		if rt.Phase == slotbookv1alpha1.RestoreTestFailed {
			t.Fatalf("restore test failed: %s", rt.Message)
		}
		// lastSucceededAt, not the phase: the next test may already have started.
		return rt.LastSucceededAt != nil, rt.Phase + ": " + rt.Message
	})
	t.Logf("restore test succeeded at %s (now %s: %s)", rt.LastSucceededAt.UTC().Format(time.RFC3339), rt.Phase, rt.Message)
	mustKubectl(t, "patch", "tenant", tenantA, "--type", "merge", "-p",
		`{"spec":{"postgres":{"backup":{"restoreTest":{"suspend":true}}}}}`)
	eventually(t, 5*time.Minute, "no restore test running and its cluster gone", func() (bool, string) {
		rt := tenant(t, tenantA).Status.RestoreTest
		_, err := kubectl("-n", ns, "get", "cluster", "restore-test")
		return rt.Phase != slotbookv1alpha1.RestoreTestRunning && err != nil, rt.Phase
	})
}

func metaCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// onDemandBackup takes a backup of the tenant's cluster through the plugin and waits for it.
func onDemandBackup(t *testing.T, ns, name string) *cnpgv1.Backup {
	t.Helper()
	b := &cnpgv1.Backup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cnpgv1.BackupSpec{
			Cluster:             cnpgv1.LocalObjectReference{Name: "postgres"},
			Method:              cnpgv1.BackupMethodPlugin,
			PluginConfiguration: &cnpgv1.BackupPluginConfiguration{Name: "barman-cloud.cloudnative-pg.io"},
		},
	}
	if err := k8s.Create(ctx, b); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	eventually(t, 5*time.Minute, "backup "+name+" completed", func() (bool, string) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return false, err.Error()
		}
		if b.Status.Phase == cnpgv1.BackupPhaseFailed {
			t.Fatalf("backup %s failed: %s", name, b.Status.Error)
		}
		return b.Status.Phase == cnpgv1.BackupPhaseCompleted, string(b.Status.Phase)
	})
	return b
}

// Case 5: point-in-time recovery into a new tenant (spec.restore): a booking made before the
// backup and one made after it (up to the target time) are there; one made after the target
// time is not. The restored tenant becomes Ready with its own host, its app serves the restored
// data, its audit chain verifies, and it has the source's session key.
func Test05Restore(t *testing.T) {
	ns := namespaceOf(tenantA)
	c := httpClient(t, tls.VersionTLS12, 0)
	slots := freeSlots(t, c, host(tenantA), 21)
	before := bookOne(t, c, host(tenantA), &slots, "restore-before@e2e.test")
	base := onDemandBackup(t, ns, fmt.Sprintf("e2e-restore-%d", time.Now().Unix()))
	after := bookOne(t, c, host(tenantA), &slots, "restore-after@e2e.test")
	target := psql(t, ns, "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
	time.Sleep(2 * time.Second)
	tooLate := bookOne(t, c, host(tenantA), &slots, "restore-too-late@e2e.test")
	// Close the WAL segment holding the last booking and wait until it is archived.
	wal := psql(t, ns, "select pg_walfile_name(pg_switch_wal())")
	eventually(t, 3*time.Minute, "WAL "+wal+" archived", func() (bool, string) {
		got, err := psqlIn(ns, primaryPod(t, ns), "select coalesce(last_archived_wal, '') from pg_stat_archiver")
		return err == nil && got >= wal, got
	})
	t.Logf("bookings %d (before backup %s), %d (after; target %s), %d (after the target)", before, base.Name, after, target, tooLate)

	// The restored tenant: tenant A's backups to the target time, under its own name and host.
	applyYAML(t, tenantManifest(tenantR, 1, fmt.Sprintf(`  deletionPolicy: Delete
  restore:
    fromTenant: %s
    targetTime: "%s"
`, tenantA, target)))
	nsR := namespaceOf(tenantR)
	t.Cleanup(func() {
		// Free its share of the 2 cores before the failover case needs room for a new pod.
		_, _ = kubectl("delete", "tenant", tenantR, "--wait=false")
		eventually(t, 4*time.Minute, "restored tenant's namespace gone", func() (bool, string) {
			_, err := kubectl("get", "namespace", nsR)
			return err != nil, "still there"
		})
	})
	took := waitReady(t, tenantR, 10*time.Minute)
	t.Logf("restored tenant %s Ready %s after it was created", tenantR, took.Round(time.Second))

	got := psql(t, nsR, "select string_agg(customer_email, ',' order by id) from bookings where customer_email like 'restore-%@e2e.test'")
	if got != "restore-before@e2e.test,restore-after@e2e.test" {
		t.Errorf("restored bookings: %q, want the one before the backup and the one before the target time only", got)
	}
	// Its app runs on the restored database, through its own host and certificate.
	var services struct {
		Services []map[string]any `json:"services"`
	}
	getJSON(t, c, "https://"+host(tenantR)+"/api/v1/services", &services)
	if len(services.Services) == 0 {
		t.Errorf("the restored tenant's app lists no services")
	}
	// The audit chain came through intact, and the session key is the source's.
	if out, err := kubectl("-n", nsR, "exec", "deploy/booking", "-c", "booking", "--",
		"/usr/local/bin/slotbook", "audit", "verify"); err != nil {
		t.Errorf("audit verify in the restored tenant: %v\n%s", err, out)
	} else {
		t.Logf("restored audit chain: %s", strings.TrimSpace(out))
	}
	keyOf := func(ns string) string {
		return mustKubectl(t, "-n", ns, "get", "secret", "booking-session", "-o", "jsonpath={.data.key}")
	}
	if key := keyOf(nsR); key == "" || key != keyOf(ns) {
		t.Errorf("the restored tenant's session key is not the source's")
	}
}

// Case 6: failover with 2 instances: delete the primary pod while booking through the front
// door; service comes back within a bound and every 201 is in the database afterwards.
func Test06Failover(t *testing.T) {
	ns := namespaceOf(tenantB)
	eventually(t, 5*time.Minute, "B's 2 instances ready", func() (bool, string) {
		var cl cnpgv1.Cluster
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "postgres"}, &cl); err != nil {
			return false, err.Error()
		}
		return cl.Status.ReadyInstances == 2, fmt.Sprintf("%d ready", cl.Status.ReadyInstances)
	})
	oldPrimary := primaryPod(t, ns)
	c := httpClient(t, tls.VersionTLS12, 0)
	slots := freeSlots(t, c, host(tenantB), 28)

	type result struct {
		at   time.Time
		code int
		id   int64
		err  error
	}
	var results []result
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // about one booking a second: the app's rate limit per client address
		defer close(done)
		for i := 0; i < len(slots); i++ {
			select {
			case <-stop:
				return
			case <-time.After(1100 * time.Millisecond):
			}
			code, id, err := book(c, host(tenantB), slots[i], fmt.Sprintf("failover-%d@e2e.test", i))
			results = append(results, result{time.Now(), code, id, err})
		}
	}()
	time.Sleep(8 * time.Second)
	killed := time.Now()
	mustKubectl(t, "-n", ns, "delete", "pod", oldPrimary, "--wait=false")
	t.Logf("deleted primary %s", oldPrimary)

	// Wait for a new primary, then for bookings to succeed again for a while.
	eventually(t, 3*time.Minute, "a new primary", func() (bool, string) {
		var cl cnpgv1.Cluster
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "postgres"}, &cl); err != nil {
			return false, err.Error()
		}
		return cl.Status.CurrentPrimary != "" && cl.Status.CurrentPrimary != oldPrimary, cl.Status.CurrentPrimary
	})
	time.Sleep(20 * time.Second)
	close(stop)
	<-done

	var ids []string
	var lastOK time.Time
	longestGap := time.Duration(0)
	codes := map[string]int{}
	for _, r := range results {
		key := strconv.Itoa(r.code)
		if r.err != nil {
			key = "error"
		}
		codes[key]++
		if r.code != http.StatusCreated {
			continue
		}
		ids = append(ids, strconv.FormatInt(r.id, 10))
		if !lastOK.IsZero() && r.at.Sub(lastOK) > longestGap {
			longestGap = r.at.Sub(lastOK)
		}
		lastOK = r.at
	}
	t.Logf("bookings during failover: %v; longest gap between successes (the outage) %s",
		codes, longestGap.Round(time.Second))
	if lastOK.Before(killed) {
		t.Fatalf("no booking succeeded after the primary was deleted: %v", codes)
	}
	if codes["500"] > 0 { // an unreachable database is 503 + Retry-After, not a server bug
		t.Errorf("%d answers were 500 during the failover, want 503", codes["500"])
	}
	// The outage is the longest time without a successful booking (the kill itself returns at
	// once, the primary stops a moment later).
	if bound := 90 * time.Second; longestGap > bound {
		t.Errorf("no booking succeeded for %s during the failover, bound %s", longestGap, bound)
	}
	got := psql(t, ns, "select count(*) from bookings where id in ("+strings.Join(ids, ",")+")")
	if got != strconv.Itoa(len(ids)) {
		t.Errorf("%s of %d acknowledged bookings in the database after failover: lost %d", got, len(ids), len(ids)-atoi(got))
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// Case 7: drift is undone; killing the operator repeatedly while a third tenant is created still
// converges, without duplicate objects.
func Test07DriftAndChaos(t *testing.T) {
	ns := namespaceOf(tenantA)
	drift := []struct {
		kind string
		obj  client.Object
	}{
		{"NetworkPolicy", &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"}}},
		{"Deployment", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "booking"}}},
		{"Certificate", &cmv1.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "booking-tls"}}},
	}
	for _, d := range drift {
		t.Run("deleted "+d.kind+" comes back", func(t *testing.T) {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(d.obj), d.obj); err != nil {
				t.Fatal(err)
			}
			oldUID := d.obj.GetUID()
			if err := k8s.Delete(ctx, d.obj); err != nil {
				t.Fatal(err)
			}
			eventually(t, 2*time.Minute, d.kind+" recreated", func() (bool, string) {
				err := k8s.Get(ctx, client.ObjectKeyFromObject(d.obj), d.obj)
				if err != nil {
					return false, err.Error()
				}
				return d.obj.GetUID() != oldUID && d.obj.GetDeletionTimestamp() == nil, "same object"
			})
		})
	}
	waitReady(t, tenantA, 5*time.Minute)

	t.Run("operator killed while a tenant is created", func(t *testing.T) {
		applyYAML(t, tenantManifest(tenantC, 1, "  deletionPolicy: Delete\n"))
		t.Cleanup(func() { _, _ = kubectl("delete", "tenant", tenantC, "--wait=false") })
		for i := 0; i < 4; i++ {
			time.Sleep(6 * time.Second)
			mustKubectl(t, "-n", "slotbook-system", "delete", "pod", "-l", "app.kubernetes.io/name=slotbook", "--wait=false")
		}
		took := waitReady(t, tenantC, 10*time.Minute)
		t.Logf("tenant %s Ready %s after the last kill", tenantC, took.Round(time.Second))
		nsC := namespaceOf(tenantC)
		for _, l := range []struct {
			kind string
			list client.ObjectList
			want int
		}{
			{"Cluster", &cnpgv1.ClusterList{}, 1},
			{"ScheduledBackup", &cnpgv1.ScheduledBackupList{}, 1},
			{"ObjectStore", &barmancloudv1.ObjectStoreList{}, 1},
			{"Certificate", &cmv1.CertificateList{}, 1},
			{"Deployment", &appsv1.DeploymentList{}, 1},
			{"Ingress", &networkingv1.IngressList{}, 1},
		} {
			if err := k8s.List(ctx, l.list, client.InNamespace(nsC)); err != nil {
				t.Fatal(err)
			}
			if n := apimeta.LenList(l.list); n != l.want {
				t.Errorf("%d %ss in %s, want %d", n, l.kind, nsC, l.want)
			}
		}
		var polA, polC networkingv1.NetworkPolicyList
		if err := k8s.List(ctx, &polA, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := k8s.List(ctx, &polC, client.InNamespace(nsC)); err != nil {
			t.Fatal(err)
		}
		if len(polC.Items) != len(polA.Items) {
			t.Errorf("%d NetworkPolicies in %s, %d in %s", len(polC.Items), nsC, len(polA.Items), ns)
		}
	})
}

// Case 8: suspend scales the app to 0 and hibernates Postgres; resuming brings the same data.
func Test08SuspendResume(t *testing.T) {
	ns := namespaceOf(tenantA)
	before := psql(t, ns, "select count(*) || ':' || coalesce(max(id), 0) from bookings")
	mustKubectl(t, "patch", "tenant", tenantA, "--type=merge", "-p", `{"spec":{"suspend":true}}`)
	eventually(t, 5*time.Minute, "app scaled to 0 and Postgres hibernated", func() (bool, string) {
		var d appsv1.Deployment
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "booking"}, &d); err != nil {
			return false, err.Error()
		}
		var pods corev1.PodList
		if err := k8s.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var cl cnpgv1.Cluster
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "postgres"}, &cl); err != nil {
			return false, err.Error()
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending {
				running++
			}
		}
		hibernated := cl.Annotations["cnpg.io/hibernation"] == "on"
		return d.Spec.Replicas != nil && *d.Spec.Replicas == 0 && hibernated && running == 0,
			fmt.Sprintf("replicas %v, hibernation %q, %d pods running", d.Spec.Replicas, cl.Annotations["cnpg.io/hibernation"], running)
	})
	mustKubectl(t, "patch", "tenant", tenantA, "--type=merge", "-p", `{"spec":{"suspend":false}}`)
	took := waitReady(t, tenantA, 8*time.Minute)
	t.Logf("resumed: Ready %s after suspend was lifted", took.Round(time.Second))
	eventually(t, 2*time.Minute, "same data after resume", func() (bool, string) {
		got, err := psqlIn(ns, primaryPod(t, ns), "select count(*) || ':' || coalesce(max(id), 0) from bookings")
		return err == nil && got == before, fmt.Sprintf("%q (err %v), want %q", got, err, before)
	})
	c := httpClient(t, tls.VersionTLS12, 0)
	eventually(t, 2*time.Minute, "booking site answers after resume", func() (bool, string) {
		resp, err := c.Get("https://" + host(tenantA) + "/api/v1/services")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

// Case 9: Retain leaves namespace, database and backups; Delete removes the namespace; backups
// stay in the object store.
func Test09Deletion(t *testing.T) {
	keysA := len(s3Keys(t, "tenants/"+tenantA+"/"))
	keysB := len(s3Keys(t, "tenants/"+tenantB+"/"))
	for _, name := range []string{tenantA, tenantB} {
		mustKubectl(t, "delete", "tenant", name, "--wait=true", "--timeout=5m")
	}
	nsA, nsB := namespaceOf(tenantA), namespaceOf(tenantB)
	t.Cleanup(func() { _, _ = kubectl("delete", "namespace", nsA, "--wait=false") })

	var nsObj corev1.Namespace
	if err := k8s.Get(ctx, client.ObjectKey{Name: nsA}, &nsObj); err != nil || nsObj.DeletionTimestamp != nil {
		t.Errorf("Retain: namespace %s: %v (deleting: %v)", nsA, err, nsObj.DeletionTimestamp)
	}
	var cl cnpgv1.Cluster
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "postgres"}, &cl); err != nil || cl.DeletionTimestamp != nil {
		t.Errorf("Retain: database cluster: %v", err)
	} else if got := psql(t, nsA, "select count(*) > 0 from bookings"); got != "t" {
		t.Errorf("Retain: bookings gone from the retained database (%s)", got)
	}
	eventually(t, 5*time.Minute, "Delete: namespace "+nsB+" removed", func() (bool, string) {
		err := k8s.Get(ctx, client.ObjectKey{Name: nsB}, &corev1.Namespace{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if got := len(s3Keys(t, "tenants/"+tenantA+"/")); got < keysA || got == 0 {
		t.Errorf("Retain: %d objects in the bucket for %s, had %d", got, tenantA, keysA)
	}
	if got := len(s3Keys(t, "tenants/"+tenantB+"/")); got < keysB || got == 0 {
		t.Errorf("Delete: %d objects in the bucket for %s, had %d: backups must outlive the namespace", got, tenantB, keysB)
	}
}
