// Package chart tests the two ways to install the operator: the Helm chart in
// charts/slotbook-operator (rendered with the helm CLI that hack/helm.sh builds from the Go module
// proxy) and the kustomize tree config/default (rendered with the kustomize Go API). Both renders
// are applied with server-side apply to a real kube-apiserver (envtest) with the chart's CRDs
// installed for real, so schema errors are caught the way a cluster would catch them.
package chart

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/slotbook/slotbook/internal/testenv"
)

const (
	repoRoot  = "../.."
	chartDir  = repoRoot + "/charts/slotbook-operator"
	chartName = "slotbook-operator"
)

var (
	restConfig *rest.Config
	k8s        client.Client
	// helmBin is the helm CLI from hack/helm.sh.
	helmBin string
	// monitoringCRDs is true when the prometheus-operator CRDs (ServiceMonitor, PodMonitor,
	// PrometheusRule) could be installed from the Go module cache.
	monitoringCRDs bool
	// monitoringSkipReason says why they could not.
	monitoringSkipReason string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds kube-apiserver and etcd (hack/envtest-binaries.sh) and helm (hack/helm.sh)")
		return 1
	}
	out, err := exec.Command(filepath.Join(repoRoot, "hack", "helm.sh")).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hack/helm.sh:", err)
		return 1
	}
	helmBin = strings.TrimSpace(string(out))

	// The chart's own crds/ folder, exactly what `helm install` installs.
	crdPaths := []string{filepath.Join(chartDir, "crds")}
	if files, reason := testenv.MonitoringCRDFiles(); reason != "" {
		monitoringSkipReason = reason
		fmt.Fprintln(os.Stderr, "test/chart: prometheus-operator CRDs not available, ServiceMonitor/PodMonitor/PrometheusRule objects will be skipped:", reason)
	} else {
		crdPaths = append(crdPaths, files...)
		monitoringCRDs = true
	}
	env := &envtest.Environment{
		CRDInstallOptions:     envtest.CRDInstallOptions{Paths: crdPaths, ErrorIfPathMissing: true},
		ErrorIfCRDPathMissing: true,
	}
	restConfig, err = env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		_ = env.Stop()
		return 1
	}
	defer func() { _ = env.Stop() }()
	k8s, err = client.New(restConfig, client.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// isMonitoring reports whether an object is of a prometheus-operator kind.
func isMonitoring(apiVersion string) bool {
	return strings.HasPrefix(apiVersion, "monitoring.coreos.com/")
}
