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
	if files, reason := monitoringCRDFiles(); reason != "" {
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

// monitoringCRDFiles finds the ServiceMonitor, PodMonitor and PrometheusRule CRDs in the
// prometheus-operator module of the version whose monitoring API our go.mod already requires.
// It returns a reason instead when they cannot be had (e.g. no module proxy and an empty cache).
func monitoringCRDFiles() ([]string, string) {
	const apis = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", apis).Output()
	if err != nil {
		return nil, fmt.Sprintf("go list -m %s: %v", apis, err)
	}
	version := strings.TrimSpace(string(out))
	module := "github.com/prometheus-operator/prometheus-operator@" + version
	// The module is not in our build graph, so ask for it outside the repository's go.mod rules
	// (-mod=readonly would refuse); it is only downloaded once into the module cache.
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	cmd.Dir = os.TempDir()
	out, err = cmd.Output()
	if err != nil {
		return nil, fmt.Sprintf("go mod download %s: %v", module, err)
	}
	var dir string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, `"Dir": "`); ok {
			dir = strings.TrimSuffix(strings.TrimSuffix(rest, ","), `"`)
		}
	}
	if dir == "" {
		return nil, "go mod download printed no Dir for " + module
	}
	var files []string
	for _, kind := range []string{"servicemonitors", "podmonitors", "prometheusrules"} {
		f := filepath.Join(dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml")
		if _, err := os.Stat(f); err != nil {
			return nil, err.Error()
		}
		files = append(files, f)
	}
	return files, ""
}

// isMonitoring reports whether an object is of a prometheus-operator kind.
func isMonitoring(apiVersion string) bool {
	return strings.HasPrefix(apiVersion, "monitoring.coreos.com/")
}
