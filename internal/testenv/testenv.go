// Package testenv locates the CRDs an envtest API server needs for the operator: Slotbook's own
// and those shipped inside the CloudNativePG, Barman Cloud plugin and cert-manager Go modules, so
// they always match the typed APIs the operator is built with.
package testenv

import (
	"fmt"
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
