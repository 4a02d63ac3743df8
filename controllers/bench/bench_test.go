package bench

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/controllers"
	"github.com/slotbook/slotbook/internal/apply"
	"github.com/slotbook/slotbook/internal/resources"
)

var (
	flagTenants = flag.Int("tenants", 200, "tenants provisioned in each phase (raw ceiling and operator)")
	flagWorkers = flag.Int("workers", 4,
		"reconcile concurrency of the controller (NewTenantReconciler), and apply workers of the raw phase")
	flagCreators = flag.Int("creators", 8, "goroutines creating the Tenants of the operator phase")
	flagQPS      = flag.Float64("qps", -1,
		"client-side rate limit (requests/s) of every client, the manager's and the benchmark's; "+
			"-1 disables client-side rate limiting, as cmd/manager gets it from ctrl.GetConfig")
	flagBurst   = flag.Int("burst", 0, "client-side burst, with -qps > 0")
	flagTimeout = flag.Duration("wait", 30*time.Minute, "how long to wait for the operator to converge")
	// Experiment, not what cmd/manager does: cache objects without their managedFields.
	flagStripManagedFields = flag.Bool("strip-managed-fields", false,
		"experiment: give the manager's cache DefaultTransform: cache.TransformStripManagedFields()")
)

const (
	className      = "bench"
	credsNamespace = "slotbook-system"
	credsName      = "bench-backup-creds"
	warmPrefix     = "warm-" // tenants of the untimed warm-up
	rawPrefix      = "raw-"  // tenants of the raw phase before the operator's: namespaces tenant-raw-NNNN
	raw2Prefix     = "raw2-" // tenants of the raw phase after the operator's: namespaces tenant-raw2-NNNN
	opPrefix       = "op-"   // tenants of the operator phase: namespaces tenant-op-NNNN

	// quietFor is how long the controller must be idle (empty queue, no reconcile running, no
	// reconcile finished and no API request made by the manager) to count as settled.
	quietFor = 3 * time.Second
)

// BenchmarkReconcileTenants provisions N tenants against one fresh envtest API server:
//
//  1. Raw ceiling: the exact objects the operator writes for a tenant (resources.Build with
//     synthetic inputs), server-side applied by a plain uncached client, tenant after tenant from
//     the same number of workers as the controller has, with nothing else: no Tenant object, no
//     reads, no status, no events. This is what the API server can absorb with that concurrency.
//     It runs before and after the operator phase, and the two are averaged.
//  2. Operator: a manager running the real TenantReconciler; N Tenants are created and the clock
//     stops when every one is fully reconciled (see fullyReconciled).
//
// After convergence it reads the process's heap, then resyncs every tenant once (annotating their
// TenantClass) and counts the API writes the manager makes.
func BenchmarkReconcileTenants(b *testing.B) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		b.Fatal("KUBEBUILDER_ASSETS is not set: run `make bench-operator`, which builds kube-apiserver and etcd (hack/envtest-binaries.sh)")
	}
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	n, workers := *flagTenants, *flagWorkers
	ctx := context.Background()

	env, baseCfg, err := startEnvtest()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	// Every client of both phases gets the same client-side rate limit.
	cfg := rest.CopyConfig(baseCfg)
	cfg.QPS, cfg.Burst = float32(*flagQPS), *flagBurst
	k8s, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}

	class, creds := createClass(ctx, b, k8s)
	endpoints, err := apiServerEndpoints(ctx, k8s)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("N=%d tenants, %d workers, client QPS/Burst %s, GOMAXPROCS %d, %d kube-apiserver endpoints; code %s; load average %s",
		n, workers, qpsString(), runtime.GOMAXPROCS(0), len(endpoints), codeVersion(), loadAverage())
	defer func() { b.Logf("load average at the end: %s", loadAverage()) }()
	cp, err := findControlPlane()
	if err != nil {
		b.Fatal(err)
	}

	// Untimed warm-up, so that the raw phase does not pay for a cold API server: a few tenants'
	// objects are applied and deleted, then the API server must be idle.
	warm := rawPhase(ctx, b, cp, k8s, class, creds, endpoints, warmPrefix, min(n, 20), workers)
	if err := deleteTenantObjects(ctx, cfg, k8s, warmPrefix, warm.n, warm.kinds, 2*workers); err != nil {
		b.Fatal(err)
	}
	idle, ok := cp.waitIdle(ctx, time.Minute)
	b.Logf("warm-up: %d tenants in %s; API server idle after %s more (idle: %v)", warm.n, warm.elapsed.Round(time.Millisecond), idle.Round(time.Second), ok)

	// The raw ceiling is measured before and after the operator phase, and the two are averaged:
	// the neighbours' load on a shared machine drifts, and etcd holds fewer objects before the
	// operator phase than during it and more after.
	rawBefore := rawPhase(ctx, b, cp, k8s, class, creds, endpoints, rawPrefix, n, workers)
	rawBefore.log(b, "raw (before)")

	// The raw objects go before the manager starts: its informers would otherwise cache them too,
	// and its memory and list times would be those of 2N tenants.
	start := time.Now()
	if err := deleteTenantObjects(ctx, cfg, k8s, rawPrefix, n, rawBefore.kinds, 2*workers); err != nil {
		b.Fatal(err)
	}
	idle, ok = cp.waitIdle(ctx, time.Minute)
	b.Logf("raw objects deleted in %s; API server idle after %s more (idle: %v)", time.Since(start).Round(time.Millisecond), idle.Round(time.Second), ok)

	op := operatorPhase(ctx, b, cp, cfg, k8s, rawBefore.kinds, n, workers) // stops the manager when done
	b.Logf("operator: %s; other processes kept %.1f cores busy", op.cpu.perTenant(n), op.cpu.neighbours(op.elapsed))

	idle, ok = cp.waitIdle(ctx, time.Minute)
	b.Logf("manager stopped; API server idle after %s (idle: %v)", idle.Round(time.Second), ok)
	rawAfter := rawPhase(ctx, b, cp, k8s, class, creds, endpoints, raw2Prefix, n, workers)
	rawAfter.log(b, "raw (after)")
	raw := rawBefore.averagedWith(rawAfter)
	b.Logf("raw ceiling (average): %.0f objects/s, %.1f tenants/s; %s", raw.objectsPerSec(), raw.tenantsPerSec(), raw.cpu.perTenant(n))

	ratio := op.tenantsPerSec() / raw.tenantsPerSec()
	cpuRatio := float64(raw.cpu.total()) / float64(op.cpu.total())
	p50, p99 := op.provision.quantile(0.5)*1000, op.provision.quantile(0.99)*1000
	steadyWrites := op.steadyRequests.writes()
	heapMB := float64(op.mem.HeapInuse) / (1 << 20)

	b.ReportMetric(op.tenantsPerSec(), "op-tenants/s")
	b.ReportMetric(raw.tenantsPerSec(), "raw-tenants/s")
	b.ReportMetric(raw.objectsPerSec(), "raw-objects/s")
	b.ReportMetric(ratio, "op/raw")
	b.ReportMetric(p50, "reconcile-p50-ms")
	b.ReportMetric(p99, "reconcile-p99-ms")
	b.ReportMetric(float64(steadyWrites), "steady-writes")
	b.ReportMetric(heapMB, "heap-MB")
	b.ReportMetric(cpuMSPerTenant(op.cpu, n), "op-cpu-ms/tenant")
	b.ReportMetric(cpuMSPerTenant(raw.cpu, n), "raw-cpu-ms/tenant")
	b.ReportMetric(cpuRatio, "raw/op-cpu")

	b.Logf("markdown row:\n| N | workers | QPS/Burst | raw objects/s | raw tenants/s | operator tenants/s | operator/raw | reconcile p50 / p99 | steady-state writes | heap in use |\n"+
		"|---|---|---|---|---|---|---|---|---|---|\n"+
		"| %d | %d | %s | %.0f | %.1f | %.1f | %.2f | %.0f / %.0f ms | %d | %.0f MiB |",
		n, workers, qpsString(), raw.objectsPerSec(), raw.tenantsPerSec(), op.tenantsPerSec(), ratio, p50, p99, steadyWrites, heapMB)

	if ratio < 0.5 {
		b.Errorf("operator/raw = %.2f, below the floor of 0.5 (CPU per tenant raw/operator: %.2f; if that is well above 0.5, look at the neighbours' load)",
			ratio, cpuRatio)
	}
	if steadyWrites != 0 {
		b.Errorf("a steady-state resync made %d API writes, want 0: %s", steadyWrites, op.steadyRequests)
	}
}

func cpuMSPerTenant(c cpuUsage, n int) float64 {
	return float64(c.total()) / float64(time.Millisecond) / float64(n)
}

// codeVersion names the commit benchmarked (dirty: with uncommitted changes).
func codeVersion() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// loadAverage is the machine's 1, 5 and 15 minute load average: the benchmark shares its cores.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func qpsString() string {
	if *flagQPS < 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/%d", *flagQPS, *flagBurst)
}

// createClass creates the TenantClass both phases use and its credentials Secret, and returns
// the class as stored (with the API server's defaults) and the Secret's data.
func createClass(ctx context.Context, b *testing.B, k8s client.Client) (*slotbookv1alpha1.TenantClass, map[string][]byte) {
	b.Helper()
	creds := map[string][]byte{"ACCESS_KEY_ID": []byte("AKIABENCH"), "ACCESS_SECRET_KEY": []byte("secret-bench")}
	class := &slotbookv1alpha1.TenantClass{
		ObjectMeta: metav1.ObjectMeta{Name: className},
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
				CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: credsNamespace, Name: credsName},
				EgressCIDRs:          []string{"10.0.0.10/32"},
			},
			App: slotbookv1alpha1.ClassAppSpec{Image: "slotbook/app:v1"},
		},
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: credsNamespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: credsNamespace, Name: credsName}, Data: creds},
		class,
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			b.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	return class, creds
}

func newTenant(name string) *slotbookv1alpha1.Tenant {
	return &slotbookv1alpha1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       slotbookv1alpha1.TenantSpec{ClassName: className, Host: name + ".booking.example"},
	}
}

func tenantName(prefix string, i int) string { return fmt.Sprintf("%s%04d", prefix, i) }

// apiServerEndpoints reads the kube-apiserver's addresses the way the controller does.
func apiServerEndpoints(ctx context.Context, k8s client.Client) ([]resources.Endpoint, error) {
	var slices discoveryv1.EndpointSliceList
	if err := k8s.List(ctx, &slices, client.InNamespace(metav1.NamespaceDefault),
		client.MatchingLabels{discoveryv1.LabelServiceName: "kubernetes"}); err != nil {
		return nil, err
	}
	return resources.EndpointsFromSlices(slices.Items), nil
}

// kind is one kind of object a tenant gets, and how many of it.
type kind struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	perTenant  int
}

type rawResult struct {
	elapsed time.Duration
	objects int
	n       int
	kinds   []kind
	cpu     cpuUsage // during the timed part
}

func (r rawResult) tenantsPerSec() float64 { return float64(r.n) / r.elapsed.Seconds() }

// averagedWith is the mean of two raw runs of the same size: mean time, mean CPU.
func (r rawResult) averagedWith(other rawResult) rawResult {
	sum := r.cpu.plus(other.cpu)
	return rawResult{
		elapsed: (r.elapsed + other.elapsed) / 2, objects: (r.objects + other.objects) / 2, n: r.n, kinds: r.kinds,
		cpu: cpuUsage{apiserver: sum.apiserver / 2, etcd: sum.etcd / 2, self: sum.self / 2, machine: sum.machine / 2},
	}
}

func (r rawResult) log(b *testing.B, phase string) {
	b.Helper()
	b.Logf("%s: %d objects (%d per tenant) in %s: %.0f objects/s, %.1f tenants/s; %s; other processes kept %.1f cores busy",
		phase, r.objects, r.objects/r.n, r.elapsed.Round(time.Millisecond), r.objectsPerSec(), r.tenantsPerSec(),
		r.cpu.perTenant(r.n), r.cpu.neighbours(r.elapsed))
}
func (r rawResult) objectsPerSec() float64 { return float64(r.objects) / r.elapsed.Seconds() }

// rawPhase measures the ceiling: the operator's objects for n tenants, server-side applied
// (exactly as internal/apply sends them) by a plain client, one tenant after another from the
// given number of workers.
func rawPhase(ctx context.Context, b *testing.B, cp controlPlane, k8s client.Client, class *slotbookv1alpha1.TenantClass,
	creds map[string][]byte, endpoints []resources.Endpoint, prefix string, n, workers int) rawResult {
	b.Helper()
	// Untimed: the Tenants as the API server would store them (a dry-run create applies the CRD's
	// defaults, which decide e.g. whether there is a PodDisruptionBudget). They are not stored.
	tenants := make([]*slotbookv1alpha1.Tenant, n)
	if err := parallel(ctx, n, 2*workers, func(ctx context.Context, i int) error {
		t := newTenant(tenantName(prefix, i))
		if err := k8s.Create(ctx, t, client.DryRunAll); err != nil {
			return fmt.Errorf("dry-run creating tenant %s: %w", t.Name, err)
		}
		if t.UID == "" {
			t.UID = uuid.NewUUID()
		}
		tenants[i] = t
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	inputs := func(t *slotbookv1alpha1.Tenant) resources.Inputs {
		return resources.Inputs{
			Tenant: t, Class: class,
			SessionKey: rand.Text() + rand.Text(), DatabasePassword: rand.Text() + rand.Text(),
			BackupCredentials: creds, APIServerEndpoints: endpoints,
		}
	}
	kinds, err := tenantKinds(k8s, inputs(tenants[0]))
	if err != nil {
		b.Fatal(err)
	}

	var objects atomic.Int64
	cpuBefore := cp.usage()
	start := time.Now()
	if err := parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		desired, err := resources.Build(inputs(tenants[i]))
		if err != nil {
			return err
		}
		for _, obj := range desired {
			if err := serverSideApply(ctx, k8s, obj); err != nil {
				return err
			}
			objects.Add(1)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	return rawResult{elapsed: elapsed, objects: int(objects.Load()), n: n, kinds: kinds, cpu: cp.usage().minus(cpuBefore)}
}

// serverSideApply sends obj the way internal/apply's Applier does when the object differs.
func serverSideApply(ctx context.Context, c client.Client, obj client.Object) error {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	want, err := apply.ToApplyMap(obj)
	if err != nil {
		return err
	}
	want["apiVersion"], want["kind"] = gvk.GroupVersion().String(), gvk.Kind
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(&unstructured.Unstructured{Object: want}),
		client.FieldOwner(resources.FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying %s %s: %w", gvk.Kind, client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// tenantKinds lists the kinds of object Build makes for a tenant, with their numbers.
func tenantKinds(c client.Client, in resources.Inputs) ([]kind, error) {
	desired, err := resources.Build(in)
	if err != nil {
		return nil, err
	}
	var kinds []kind
	index := map[schema.GroupVersionKind]int{}
	for _, obj := range desired {
		gvk, err := apiutil.GVKForObject(obj, c.Scheme())
		if err != nil {
			return nil, err
		}
		if i, ok := index[gvk]; ok {
			kinds[i].perTenant++
			continue
		}
		index[gvk] = len(kinds)
		kinds = append(kinds, kind{gvk: gvk, namespaced: obj.GetNamespace() != "", perTenant: 1})
	}
	return kinds, nil
}

// countTenantObjects counts, per kind, the objects in (or, for namespaces, named) tenant-<prefix>*.
func countTenantObjects(ctx context.Context, c client.Client, prefix string, kinds []kind) (map[string]int, error) {
	counts := map[string]int{}
	for _, k := range kinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
		if err := c.List(ctx, list); err != nil {
			return nil, err
		}
		for _, item := range list.Items {
			where := item.Namespace
			if !k.namespaced {
				where = item.Name
			}
			if strings.HasPrefix(where, "tenant-"+prefix) {
				counts[k.gvk.Kind]++
			}
		}
	}
	return counts, nil
}

// deleteTenantObjects deletes everything of the tenants tenant-<prefix>NNNN, namespaces included.
// envtest runs no namespace controller, so each namespace is emptied kind by kind and then
// finalized by hand.
func deleteTenantObjects(ctx context.Context, cfg *rest.Config, c client.Client, prefix string, n int, kinds []kind, workers int) error {
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	return parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		ns := "tenant-" + tenantName(prefix, i)
		for _, k := range kinds {
			if !k.namespaced {
				continue
			}
			obj := &metav1.PartialObjectMetadata{}
			obj.SetGroupVersionKind(k.gvk)
			if err := c.DeleteAllOf(ctx, obj, client.InNamespace(ns)); err != nil {
				return fmt.Errorf("deleting %s in %s: %w", k.gvk.Kind, ns, err)
			}
		}
		if err := clientset.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			return client.IgnoreNotFound(err)
		}
		live, err := clientset.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return client.IgnoreNotFound(err)
		}
		live.Spec.Finalizers = nil
		_, err = clientset.CoreV1().Namespaces().Finalize(ctx, live, metav1.UpdateOptions{})
		return client.IgnoreNotFound(err)
	})
}

// fullyReconciled is the benchmark's definition of a provisioned tenant, read from its status
// alone: the controller has seen its current generation (status.observedGeneration ==
// metadata.generation), set status.namespace, observed its Namespace as active
// (NamespaceReady=True) and observed its PostgreSQL Cluster, Certificate and Deployment (their
// conditions are no longer NotCreated), and the summary is Reconciling=True with reason
// Provisioning — not ApplyFailed or Stalled. The controller patches the status only after
// applying every desired object and pruning without error, so such a status also means all
// children were written; the benchmark checks that afterwards by counting them. Nothing in
// envtest runs CloudNativePG, cert-manager or the Deployment controller, so Provisioning
// (not Ready) is as far as a tenant can get there.
func fullyReconciled(t *slotbookv1alpha1.Tenant) bool {
	if t.Generation == 0 || t.Status.ObservedGeneration != t.Generation || t.Status.Namespace == "" {
		return false
	}
	conds := t.Status.Conditions
	if !meta.IsStatusConditionTrue(conds, slotbookv1alpha1.ConditionNamespaceReady) {
		return false
	}
	for _, typ := range []string{
		slotbookv1alpha1.ConditionDatabaseReady, slotbookv1alpha1.ConditionCertificateReady, slotbookv1alpha1.ConditionAppReady,
	} {
		if c := meta.FindStatusCondition(conds, typ); c == nil || c.Reason == controllers.ReasonNotCreated {
			return false
		}
	}
	c := meta.FindStatusCondition(conds, slotbookv1alpha1.ConditionReconciling)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == controllers.ReasonProvisioning &&
		meta.FindStatusCondition(conds, slotbookv1alpha1.ConditionStalled) == nil
}

// doneTracker records when each tenant of the operator phase is first seen fully reconciled,
// from a watch on Tenants (cheaper for the API server than listing all Tenants every 200ms).
type doneTracker struct {
	mu      sync.Mutex
	n       int
	created map[string]time.Time
	done    map[string]time.Time
	last    time.Time
	all     chan struct{}
}

func newDoneTracker(n int) *doneTracker {
	return &doneTracker{n: n, created: map[string]time.Time{}, done: map[string]time.Time{}, all: make(chan struct{})}
}

func (d *doneTracker) observe(obj any) {
	t, ok := obj.(*slotbookv1alpha1.Tenant)
	if !ok || !strings.HasPrefix(t.Name, opPrefix) || !fullyReconciled(t) {
		return
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, seen := d.done[t.Name]; seen {
		return
	}
	d.done[t.Name], d.last = now, now
	if len(d.done) == d.n {
		close(d.all)
	}
}

func (d *doneTracker) createdAt(name string, at time.Time) {
	d.mu.Lock()
	d.created[name] = at
	d.mu.Unlock()
}

func (d *doneTracker) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.done)
}

// latencies are the times from each Tenant's creation to its being fully reconciled.
func (d *doneTracker) latencies() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []time.Duration
	for name, done := range d.done {
		if created, ok := d.created[name]; ok {
			out = append(out, done.Sub(created))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type opResult struct {
	n       int
	elapsed time.Duration
	// provision are the durations of the reconciles from the first Tenant's creation until the
	// controller settled; steady those of the resync.
	provision, steady histogram
	// provisionRequests and steadyRequests are the manager's API requests in those spans.
	provisionRequests, steadyRequests requestCounts
	provisionReconciles               float64
	steadyReconciles                  float64
	steadyElapsed                     time.Duration
	mem, memBefore                    runtime.MemStats
	cpu                               cpuUsage // from the first Tenant's creation to the last one's being fully reconciled
}

func (o opResult) tenantsPerSec() float64 { return float64(o.n) / o.elapsed.Seconds() }

// operatorPhase runs the manager with the real TenantReconciler and provisions n Tenants.
func operatorPhase(ctx context.Context, b *testing.B, cp controlPlane, cfg *rest.Config, k8s client.Client, kinds []kind, n, workers int) opResult {
	b.Helper()
	res := opResult{n: n}
	runtime.GC()
	runtime.ReadMemStats(&res.memBefore)

	// The manager's config counts its requests; the benchmark's own client does not use it.
	counter := newRequestCounter()
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.Wrap(counter.wrap)
	cacheOpts := controllers.CacheOptions()
	if *flagStripManagedFields {
		cacheOpts.DefaultTransform = cache.TransformStripManagedFields()
		b.Logf("experiment: the manager's cache strips managedFields")
	}
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:  controllers.NewScheme(),
		Cache:   cacheOpts,
		Metrics: metricsserver.Options{BindAddress: "0"},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := controllers.NewTenantReconciler(mgr, workers).SetupWithManager(mgr); err != nil {
		b.Fatal(err)
	}
	mgrCtx, stopManager := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	defer func() {
		stopManager()
		if err := <-mgrDone; err != nil {
			b.Errorf("manager: %v", err)
		}
	}()
	// Untimed: wait until the informers the controller watches have synced, so that the clock
	// measures provisioning, not the manager's start-up.
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		b.Fatal("manager cache did not sync")
	}
	watched := []client.Object{&slotbookv1alpha1.Tenant{}, &slotbookv1alpha1.TenantClass{}, &discoveryv1.EndpointSlice{}}
	for _, k := range kinds {
		obj, err := mgr.GetScheme().New(k.gvk)
		if err != nil {
			b.Fatal(err)
		}
		watched = append(watched, obj.(client.Object))
	}
	for _, obj := range watched {
		if _, err := mgr.GetCache().GetInformer(ctx, obj); err != nil {
			b.Fatalf("informer for %T: %v", obj, err)
		}
	}
	time.Sleep(time.Second) // let the controller's Start (waiting on the same informers) finish

	// The benchmark's watch on Tenants, to see when each is fully reconciled.
	tracker := newDoneTracker(n)
	trackCtx, stopTracking := context.WithCancel(ctx)
	defer stopTracking()
	tenantCache, err := cache.New(cfg, cache.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		b.Fatal(err)
	}
	informer, err := tenantCache.GetInformer(trackCtx, &slotbookv1alpha1.Tenant{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    tracker.observe,
		UpdateFunc: func(_, obj any) { tracker.observe(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = tenantCache.Start(trackCtx) }()
	if !tenantCache.WaitForCacheSync(ctx) {
		b.Fatal("tenant watch did not sync")
	}

	before, err := gatherControllerMetrics()
	if err != nil {
		b.Fatal(err)
	}
	requestsBefore := counter.snapshot()
	cpuBefore := cp.usage()
	start := time.Now()
	if err := parallel(ctx, n, *flagCreators, func(ctx context.Context, i int) error {
		t := newTenant(tenantName(opPrefix, i))
		if err := k8s.Create(ctx, t); err != nil {
			return fmt.Errorf("creating tenant %s: %w", t.Name, err)
		}
		tracker.createdAt(t.Name, time.Now())
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("operator: %d Tenants created in %s", n, time.Since(start).Round(time.Millisecond))

	deadline := time.After(*flagTimeout)
	progress := time.NewTicker(10 * time.Second)
wait:
	for {
		select {
		case <-tracker.all:
			res.cpu = cp.usage().minus(cpuBefore)
			break wait
		case <-progress.C:
			m, _ := gatherControllerMetrics()
			b.Logf("operator: %d/%d fully reconciled after %s (%.0f reconciles, %.0f errors, queue %.0f)",
				tracker.count(), n, time.Since(start).Round(time.Second), m.reconciles-before.reconciles, m.errors-before.errors, m.depth)
		case <-deadline:
			b.Fatalf("operator: only %d/%d tenants fully reconciled after %s", tracker.count(), n, *flagTimeout)
		}
	}
	progress.Stop()
	tracker.mu.Lock()
	res.elapsed = tracker.last.Sub(start)
	tracker.mu.Unlock()
	lat := tracker.latencies()
	b.Logf("operator: %d tenants fully reconciled in %s: %.1f tenants/s; per tenant from creation p50 %s, p99 %s, max %s",
		n, res.elapsed.Round(time.Millisecond), res.tenantsPerSec(),
		percentile(lat, 0.5).Round(time.Millisecond), percentile(lat, 0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))

	settled, err := waitQuiet(ctx, counter, 10*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	res.provision = settled.duration.minus(before.duration)
	res.provisionReconciles = settled.reconciles - before.reconciles
	res.provisionRequests = counter.snapshot().minus(requestsBefore)
	b.Logf("operator: quiet for %s at %s after the last tenant; %.0f reconciles (%.1f per tenant), %.0f errors; reconcile p50 %.1f ms, p99 %.1f ms, mean %.1f ms",
		quietFor, time.Since(start.Add(res.elapsed)).Round(time.Millisecond), res.provisionReconciles, res.provisionReconciles/float64(n),
		settled.errors-before.errors, res.provision.quantile(0.5)*1000, res.provision.quantile(0.99)*1000, res.provision.mean()*1000)
	b.Logf("operator: provisioning API requests: %d writes (%.1f per tenant), %d uncached GETs (%.1f per reconcile); %s",
		res.provisionRequests.writes(), float64(res.provisionRequests.writes())/float64(n),
		res.provisionRequests.gets(), float64(res.provisionRequests.gets())/res.provisionReconciles, res.provisionRequests)

	// Every child is there.
	counts, err := countTenantObjects(ctx, k8s, opPrefix, kinds)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range kinds {
		if want := k.perTenant * n; counts[k.gvk.Kind] != want {
			b.Errorf("operator: %d %s objects in tenant-%s* namespaces, want %d", counts[k.gvk.Kind], k.gvk.Kind, opPrefix, want)
		}
	}

	// Memory after convergence, without the benchmark's own Tenant watch.
	stopTracking()
	time.Sleep(500 * time.Millisecond) // the watch stops asynchronously
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&res.mem)
	b.Logf("memory after convergence: heap in use %.1f MiB (%.1f MiB before the manager started), heap alloc %.1f MiB, sys %.1f MiB",
		mib(res.mem.HeapInuse), mib(res.memBefore.HeapInuse), mib(res.mem.HeapAlloc), mib(res.mem.Sys))

	// Steady state: touch the class, which enqueues all its tenants, and count what the manager writes.
	before = settled
	requestsBefore = counter.snapshot()
	start = time.Now()
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"bench.slotbook.io/resync":%q}}}`, start.Format(time.RFC3339Nano)))
	if err := k8s.Patch(ctx, &slotbookv1alpha1.TenantClass{ObjectMeta: metav1.ObjectMeta{Name: className}},
		client.RawPatch(types.MergePatchType, patch)); err != nil {
		b.Fatal(err)
	}
	for {
		m, err := gatherControllerMetrics()
		if err != nil {
			b.Fatal(err)
		}
		if m.reconciles-before.reconciles >= float64(n) {
			res.steadyElapsed = time.Since(start)
			break
		}
		if time.Since(start) > *flagTimeout {
			b.Fatalf("steady state: only %.0f/%d tenants reconciled after %s", m.reconciles-before.reconciles, n, *flagTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after, err := waitQuiet(ctx, counter, 10*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	res.steady = after.duration.minus(before.duration)
	res.steadyReconciles = after.reconciles - before.reconciles
	res.steadyRequests = counter.snapshot().minus(requestsBefore)
	b.Logf("steady state: %.0f reconciles in %s (%.0f/s), %.0f errors; reconcile p50 %.1f ms, p99 %.1f ms; %d writes; %d uncached GETs (%.1f per reconcile); %s",
		res.steadyReconciles, res.steadyElapsed.Round(time.Millisecond), res.steadyReconciles/res.steadyElapsed.Seconds(),
		after.errors-before.errors, res.steady.quantile(0.5)*1000, res.steady.quantile(0.99)*1000,
		res.steadyRequests.writes(), res.steadyRequests.gets(), float64(res.steadyRequests.gets())/res.steadyReconciles, res.steadyRequests)
	return res
}

// waitQuiet waits until the controller has settled: for quietFor its queue held nothing ready, no
// reconcile ran or finished and the manager made no API request (events are sent asynchronously).
func waitQuiet(ctx context.Context, counter *requestCounter, timeout time.Duration) (ctrlMetrics, error) {
	deadline := time.Now().Add(timeout)
	var last string
	since := time.Now()
	for {
		m, err := gatherControllerMetrics()
		if err != nil {
			return m, err
		}
		state := fmt.Sprintf("%v/%d", m.reconciles, counter.snapshot().total())
		switch {
		case m.depth > 0 || m.active > 0 || state != last:
			last, since = state, time.Now()
		case time.Since(since) >= quietFor:
			return m, nil
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("controller still busy after %s (queue %.0f, active %.0f)", timeout, m.depth, m.active)
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func mib(v uint64) float64 { return float64(v) / (1 << 20) }
