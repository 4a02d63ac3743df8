// Command kustomize renders a kustomization directory to stdout with
// sigs.k8s.io/kustomize/api (krusty), the library behind `kustomize build`,
// at the version the repository's module graph already uses. hack/demo uses it
// to render third-party install manifests (CloudNativePG's config/ with our
// image names) without a kustomize binary.
//
// Usage (from hack/demo/kustomize): go run . DIR > manifest.yaml
//
// It is a module of its own so that the repository's go.mod stays untouched.
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kustomize DIR")
		os.Exit(2)
	}
	opts := krusty.MakeDefaultOptions()
	// Same as `kustomize build --load-restrictor LoadRestrictionsNone` is not
	// needed: the inputs are a self-contained copy.
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kustomize:", err)
		os.Exit(1)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kustomize:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
