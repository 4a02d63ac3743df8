// Command images builds Slotbook's OCI images — the operator and the booking app — without a
// Docker daemon and without pulling a base image (make images; docs/development.md).
//
// Each image is assembled from scratch with go-containerregistry: a shared base layer (root and
// nonroot 65532 in /etc/passwd and /etc/group, the build machine's CA bundle, /tmp 1777, nonroot's
// home) and a layer with one static Go binary, a config that runs as 65532:65532, and OCI
// annotations. Every timestamp is the commit time (SOURCE_DATE_EPOCH), tar entries are sorted with
// fixed owners and modes, and binaries are built with -trimpath and an empty build id, so the same
// source (and CA bundle) gives the same digests.
//
// Usage:
//
//	go run ./hack/images [-out bin/images] [-registry REG/PREFIX] [-platforms linux/amd64,linux/arm64]
//	go run ./hack/images measure [-out bin/images]   # sizes and start times, for docs/benchmarks.md
//
// Without -registry (IMAGE_REGISTRY) the images are named ghcr.io/slotbook/{operator,app}:VERSION
// and only written to bin/images/{slotbook-operator,slotbook}.tar; with it they are named
// REG/PREFIX/{operator,app}:VERSION and also pushed there, with the default keychain
// (~/.docker/config.json, credential helpers).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	defaultPrefix = "ghcr.io/slotbook"
	defaultSource = "https://github.com/slotbook/slotbook"
	defaultCA     = "/etc/ssl/certs/ca-certificates.crt"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "measure" {
		if err := measureMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "images measure:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	out := fs.String("out", "bin/images", "directory for the image archives")
	registry := fs.String("registry", os.Getenv("IMAGE_REGISTRY"), "registry and prefix to name the images with and push them to, e.g. ghcr.io/slotbook (default: no push, names under "+defaultPrefix+")")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms of the multi-arch index")
	only := fs.String("only", "", "comma-separated image names to build (operator, app); default all")
	version := fs.String("version", "", "image tag and main.version (default: git describe --tags --always --dirty)")
	revision := fs.String("revision", "", "org.opencontainers.image.revision (default: git rev-parse HEAD)")
	created := fs.String("created", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time of every timestamp in the images (default: SOURCE_DATE_EPOCH, else the commit time)")
	source := fs.String("source", defaultSource, "org.opencontainers.image.source")
	licenses := fs.String("licenses", "", "org.opencontainers.image.licenses (SPDX); omitted when empty")
	caFile := fs.String("ca", defaultCA, "CA bundle copied into the images (Debian's ca-certificates)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()

	moduleDir, err := moduleRoot()
	if err != nil {
		return err
	}
	info, err := resolveInfo(moduleDir, *version, *revision, *created, *source, *licenses)
	if err != nil {
		return err
	}
	plats, err := parsePlatforms(*platforms)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(*caFile)
	if err != nil {
		return fmt.Errorf("CA bundle: %w (apt-get install ca-certificates)", err)
	}
	prefix := strings.TrimSuffix(*registry, "/")
	push := prefix != ""
	if !push {
		prefix = defaultPrefix
	}
	specs, err := selectImages(*only)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "slotbook-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	for _, spec := range specs {
		ref, err := name.NewTag(prefix + "/" + spec.Name + ":" + info.Version)
		if err != nil {
			return err
		}
		idx, err := buildIndex(spec, info, plats, ca, func(p v1.Platform) ([]byte, error) {
			bin := filepath.Join(work, spec.Binary+"-"+p.OS+"-"+p.Architecture)
			fmt.Fprintf(os.Stderr, "go build %s for %s\n", spec.Package, p.String())
			if err := goBuild(ctx, moduleDir, spec.Package, bin, p, info.Version, spec.BuildTags); err != nil {
				return nil, err
			}
			return os.ReadFile(bin)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", spec.Name, err)
		}
		archive := filepath.Join(*out, spec.Title+".tar")
		if err := writeArchive(archive, idx, ref, plats[0], info.Created); err != nil {
			return fmt.Errorf("%s: %w", spec.Name, err)
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%s@%s  %s\n", ref.Name(), d, archive)
		if push {
			if err := pushIndex(ctx, ref, idx); err != nil {
				return err
			}
			fmt.Printf("pushed %s@%s\n", ref.Name(), d)
		}
	}
	return nil
}

// pushIndex pushes the multi-arch index (and its images) to ref, with the credentials of the
// default keychain: ~/.docker/config.json (docker login, crane auth login) and credential helpers.
func pushIndex(ctx context.Context, ref name.Tag, idx v1.ImageIndex) error {
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", ref.Name(), err)
	}
	return nil
}

// buildIndex builds spec's image for every platform (binaryFor returns its binary) and the
// multi-arch index over them. The base layer is computed once and shared.
func buildIndex(spec imageSpec, info buildInfo, plats []v1.Platform, ca []byte, binaryFor func(v1.Platform) ([]byte, error)) (v1.ImageIndex, error) {
	base, err := layerFromFiles(baseFiles(ca), info.Created)
	if err != nil {
		return nil, err
	}
	var imgs []v1.Image
	for _, p := range plats {
		bin, err := binaryFor(p)
		if err != nil {
			return nil, err
		}
		img, err := assembleImage(spec, info, p, base, bin)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return assembleIndex(spec, info, imgs)
}

func selectImages(only string) ([]imageSpec, error) {
	if only == "" {
		return images, nil
	}
	var out []imageSpec
	for _, n := range strings.Split(only, ",") {
		found := false
		for _, s := range images {
			if s.Name == strings.TrimSpace(n) {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("-only: no image %q (operator, app)", n)
		}
	}
	return out, nil
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, f := range strings.Split(s, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if p.OS != "linux" || (p.Architecture != "amd64" && p.Architecture != "arm64") {
			return nil, fmt.Errorf("platform %s: only linux/amd64 and linux/arm64", f)
		}
		out = append(out, *p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no platform")
	}
	return out, nil
}

// resolveInfo fills what the flags left empty from git.
func resolveInfo(dir, version, revision, created, source, licenses string) (buildInfo, error) {
	var err error
	if version == "" {
		if version, err = git(dir, "describe", "--tags", "--always", "--dirty"); err != nil {
			version = "dev"
		}
	}
	if _, err := name.NewTag("example.invalid/x:" + version); err != nil {
		return buildInfo{}, fmt.Errorf("version %q is no valid image tag", version)
	}
	if revision == "" {
		if revision, err = git(dir, "rev-parse", "HEAD"); err != nil {
			revision = "unknown"
		}
	}
	if created == "" {
		if created, err = git(dir, "log", "-1", "--format=%ct"); err != nil {
			return buildInfo{}, fmt.Errorf("no -created, SOURCE_DATE_EPOCH or git commit time: %w", err)
		}
	}
	secs, err := strconv.ParseInt(created, 10, 64)
	if err != nil {
		return buildInfo{}, fmt.Errorf("created %q: not a Unix time", created)
	}
	return buildInfo{Version: version, Revision: revision, Source: source, Created: time.Unix(secs, 0).UTC(), Licenses: licenses}, nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run inside the slotbook module")
	}
	return filepath.Dir(gomod), nil
}
