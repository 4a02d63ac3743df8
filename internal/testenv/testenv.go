// Package testenv locates the CRDs an envtest API server needs for the operator: Slotbook's own
// and those shipped inside the CloudNativePG, Barman Cloud plugin and cert-manager Go modules, so
// they always match the typed APIs the operator is built with.
package testenv

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// thirdPartyCRDs maps each module to the folder of its CRD manifests.
var thirdPartyCRDs = map[string]string{
	"github.com/cloudnative-pg/cloudnative-pg":      "config/crd/bases",
	"github.com/cloudnative-pg/plugin-barman-cloud": "config/crd/bases",
	"github.com/cert-manager/cert-manager":          "deploy/crds",
}

// CRDDirectoryPaths returns the CRD folders for envtest.Environment.CRDDirectoryPaths, given the
// repository root (relative to the test's package folder, e.g. "..").
func CRDDirectoryPaths(repoRoot string) ([]string, error) {
	dirs := []string{filepath.Join(repoRoot, "config", "crd", "bases")}
	for module, sub := range thirdPartyCRDs {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
		if err != nil {
			return nil, fmt.Errorf("locating module %s (is it downloaded? run go mod download): %w", module, err)
		}
		dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), sub))
	}
	return dirs, nil
}

// MonitoringCRDFiles finds the ServiceMonitor, PodMonitor and PrometheusRule CRDs in the
// prometheus-operator module of the version whose monitoring API our go.mod requires. That
// module is not in our build graph, so it is downloaded into the module cache (once) outside the
// repository's go.mod rules. It returns a reason instead when they cannot be had (e.g. no module
// proxy and an empty cache), so callers can skip what needs them.
func MonitoringCRDFiles() ([]string, string) {
	const apis = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", apis).Output()
	if err != nil {
		return nil, fmt.Sprintf("go list -m %s: %v", apis, err)
	}
	version := strings.TrimSpace(string(out))
	module := "github.com/prometheus-operator/prometheus-operator@" + version
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	cmd.Dir = os.TempDir()
	out, err = cmd.Output()
	if err != nil {
		return nil, fmt.Sprintf("go mod download %s: %v", module, err)
	}
	var dl struct{ Dir string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		return nil, "go mod download printed no Dir for " + module
	}
	var files []string
	for _, kind := range []string{"servicemonitors", "podmonitors", "prometheusrules"} {
		f := filepath.Join(dl.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml")
		if _, err := os.Stat(f); err != nil {
			return nil, err.Error()
		}
		files = append(files, f)
	}
	return files, ""
}
