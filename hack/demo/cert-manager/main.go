// Command cert-manager-controller is Slotbook's small main for cert-manager's
// controllers, for `make demo` (docs/development.md, "make demo: third-party
// parts"). Upstream's controller binary (cmd/controller) is a module of its own
// that the Go module proxy does not serve; the controllers themselves live in
// the main module github.com/cert-manager/cert-manager (pkg/controller/...) and
// register themselves in controller.Known() when imported. This main imports
// the ones a CA or self-signed (Cluster)Issuer and Certificates need, builds
// the controller context the way upstream does (controller.NewContextFactory),
// starts the shared informers and runs the controllers, optionally behind a
// Lease leader election. No ACME, Vault, Venafi, ingress/gateway shims, webhook
// or cainjector.
//
// It is a module of its own (hack/demo/cert-manager/go.mod), not part of the
// repository's module.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"

	// Certificates: trigger -> key manager -> request manager -> issuing,
	// readiness, revision manager, metrics.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	// CertificateRequests: approval and the CA / self-signed signers.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	// Issuer and ClusterIssuer status (Ready) with the issuer types they support.
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

var version = "dev"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: in-cluster config)")
	clusterResourceNamespace := fs.String("cluster-resource-namespace", envOr("POD_NAMESPACE", "cert-manager"), "namespace of the Secrets that ClusterIssuers refer to")
	namespace := fs.String("namespace", "", "watch only this namespace (default: all; ClusterIssuers need all)")
	leaderElect := fs.Bool("leader-elect", true, "run only while holding the Lease cert-manager-controller")
	leaderElectionNamespace := fs.String("leader-election-namespace", envOr("POD_NAMESPACE", "kube-system"), "namespace of the leader election Lease")
	metricsAddr := fs.String("metrics-listen-address", ":9402", "Prometheus metrics address (empty: off)")
	healthAddr := fs.String("health-listen-address", ":9403", "/livez and /readyz address (empty: off)")
	enableOwnerRef := fs.Bool("enable-certificate-owner-ref", false, "make each Certificate the owner of its Secret")
	workers := fs.Int("workers", 5, "workers per controller")
	showVersion := fs.Bool("version", false, "print the version and exit")
	klog.InitFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *showVersion {
		fmt.Println("cert-manager-controller", version, "(slotbook main, controllers of github.com/cert-manager/cert-manager)")
		return nil
	}
	logf.InitLogs()
	defer logf.FlushLogs()

	rootCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rootCtx = logf.NewContext(rootCtx, klog.Background(), "controller")
	log := logf.FromContext(rootCtx)

	names := make([]string, 0, len(controller.Known()))
	for n := range controller.Known() {
		if *namespace != "" && n == clusterissuers.ControllerName {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	log.Info("starting", "version", version, "controllers", strings.Join(names, ","))

	// Upstream's defaults (cmd/controller/app/options) for what these controllers read.
	factory, err := controller.NewContextFactory(rootCtx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		Namespace:          *namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: *clusterResourceNamespace,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           *enableOwnerRef,
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	})
	if err != nil {
		return fmt.Errorf("controller context: %w", err)
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}

	var ready sync.Once
	readyCh := make(chan struct{})
	serve(rootCtx, *metricsAddr, func(ln net.Listener) *http.Server { return base.Metrics.NewServer(ln) })
	serve(rootCtx, *healthAddr, func(ln net.Listener) *http.Server {
		mux := http.NewServeMux()
		mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			select {
			case <-readyCh:
				fmt.Fprintln(w, "ok")
			default:
				// A standby replica is ready too: it serves nothing.
				if *leaderElect {
					fmt.Fprintln(w, "standby")
					return
				}
				http.Error(w, "starting", http.StatusServiceUnavailable)
			}
		})
		return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	})

	runControllers := func(ctx context.Context) error {
		var wg sync.WaitGroup
		errs := make(chan error, len(names))
		for _, n := range names {
			iface, err := controller.Known()[n](factory)
			if err != nil {
				return fmt.Errorf("controller %s: %w", n, err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := iface.Run(*workers, ctx); err != nil {
					errs <- fmt.Errorf("controller %s: %w", n, err)
				}
			}()
		}
		base.KubeSharedInformerFactory.Start(ctx.Done())
		base.SharedInformerFactory.Start(ctx.Done())
		base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
		if base.GatewaySolverEnabled {
			base.GWShared.Start(ctx.Done())
		}
		ready.Do(func() { close(readyCh) })
		log.Info("controllers started")
		wg.Wait()
		close(errs)
		return errors.Join(collect(errs)...)
	}

	if !*leaderElect {
		return runControllers(rootCtx)
	}
	id, err := os.Hostname()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(base.RESTConfig)
	if err != nil {
		return err
	}
	var runErr error
	leaderelection.RunOrDie(rootCtx, leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metaName(*leaderElectionNamespace, "cert-manager-controller"),
			Client:     client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: id + "-external-cert-manager-controller"},
		},
		LeaseDuration:   60 * time.Second,
		RenewDeadline:   40 * time.Second,
		RetryPeriod:     15 * time.Second,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) { runErr = runControllers(ctx); stop() },
			OnStoppedLeading: func() { log.Info("leader election lost or released") },
		},
	})
	return runErr
}

func serve(ctx context.Context, addr string, mk func(net.Listener) *http.Server) {
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller: listen", addr+":", err)
		os.Exit(1)
	}
	srv := mk(ln)
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

func metaName(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
