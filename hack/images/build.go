package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user every image runs as: "nonroot" of distroless-style images, the uid/gid the operator's
// manifests and the app's pod security context (internal/resources) expect.
const (
	nonrootID = 65532
	binDir    = "usr/local/bin"
	caPath    = "etc/ssl/certs/ca-certificates.crt"
)

// imageSpec describes one of the images make images builds.
type imageSpec struct {
	Name        string   // short name: the repository's last path element ("operator", "app")
	Title       string   // org.opencontainers.image.title
	Description string   // org.opencontainers.image.description
	Package     string   // the Go package of the binary, relative to the module root
	Binary      string   // file name under /usr/local/bin
	BuildTags   []string // go build -tags
	Cmd         []string // default arguments after the entrypoint
}

// images are the two images of the project. The app embeds Go's time zone database
// (-tags timetzdata): the image has no /usr/share/zoneinfo, and the app loads IANA zones
// (SLOTBOOK_TIMEZONE, business settings).
var images = []imageSpec{
	{
		Name:        "operator",
		Title:       "slotbook-operator",
		Description: "Slotbook Kubernetes operator: one isolated booking instance per Tenant",
		Package:     "./cmd/manager",
		Binary:      "manager",
	},
	{
		Name:        "app",
		Title:       "slotbook",
		Description: "Slotbook booking app (serve, migrate, seed-demo, admin, version)",
		Package:     "./app",
		Binary:      "slotbook",
		BuildTags:   []string{"timetzdata"},
		Cmd:         []string{"serve"},
	},
}

// buildInfo is what every image is stamped with.
type buildInfo struct {
	Version  string    // image tag and main.version
	Revision string    // git commit
	Source   string    // repository URL
	Created  time.Time // SOURCE_DATE_EPOCH: the commit time; every timestamp in the image
	Licenses string    // SPDX expression, empty when the repository has no LICENSE
}

// goBuild builds a static binary of pkg for platform into out: no cgo, no paths of this machine
// (-trimpath), no build id, symbols and DWARF stripped, main.version stamped.
func goBuild(ctx context.Context, moduleDir, pkg, out string, p v1.Platform, version string, tags []string) error {
	ldflags := "-s -w -buildid= -X main.version=" + version
	args := []string{"build", "-trimpath", "-ldflags=" + ldflags}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOAMD64=v1", "GOARM64=v8.0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w", pkg, p.String(), err)
	}
	return nil
}

// file is one entry of a layer.
type file struct {
	Name     string // without leading slash; directories end in "/"
	Mode     int64
	UID, GID int
	Data     []byte
}

// layerFromFiles writes files, sorted by name, as a tar with fixed owners and timestamps and
// returns it as a gzip-compressed OCI layer. Same files → same bytes → same digest.
func layerFromFiles(files []file, mtime time.Time) (v1.Layer, error) {
	sorted := append([]file(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, f := range sorted {
		if i > 0 && sorted[i-1].Name == f.Name {
			return nil, fmt.Errorf("layer: %s twice", f.Name)
		}
		h := &tar.Header{
			Name:    f.Name,
			Mode:    f.Mode,
			Uid:     f.UID,
			Gid:     f.GID,
			ModTime: mtime.UTC().Truncate(time.Second),
			Format:  tar.FormatUSTAR,
		}
		if strings.HasSuffix(f.Name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.BestCompression),
		tarball.WithCompressedCaching,
	)
}

// dirs returns directory entries (root-owned, 0755) for every parent of the given paths.
func dirs(paths ...string) []file {
	seen := map[string]bool{}
	var out []file
	for _, p := range paths {
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if !seen[d] {
				seen[d] = true
				out = append(out, file{Name: d + "/", Mode: 0o755})
			}
		}
	}
	return out
}

// baseFiles is the shared bottom layer of both images, what a distroless static base would
// give: root and nonroot (65532) users, the CA bundle, /tmp (1777) and nonroot's home. No shell,
// no package manager, nothing else.
func baseFiles(caBundle []byte) []file {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:65532:\n"
	files := []file{
		{Name: "etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		{Name: "etc/group", Mode: 0o644, Data: []byte(group)},
		{Name: caPath, Mode: 0o644, Data: caBundle},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "home/nonroot/", Mode: 0o700, UID: nonrootID, GID: nonrootID},
		{Name: binDir + "/", Mode: 0o755},
	}
	return append(files, dirs("etc/passwd", caPath, "home/nonroot", binDir)...)
}

// binaryFiles is the top layer: the binary (0755, root-owned) and its parent directories.
func binaryFiles(name string, binary []byte) []file {
	p := binDir + "/" + name
	return append(dirs(p), file{Name: p, Mode: 0o755, Data: binary})
}

// labels are the OCI annotations of spec's image, used both as config labels and as manifest
// and index annotations.
func labels(spec imageSpec, info buildInfo) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       spec.Title,
		"org.opencontainers.image.description": spec.Description,
		"org.opencontainers.image.source":      info.Source,
		"org.opencontainers.image.url":         info.Source,
		"org.opencontainers.image.version":     info.Version,
		"org.opencontainers.image.revision":    info.Revision,
		"org.opencontainers.image.created":     info.Created.UTC().Format(time.RFC3339),
	}
	if info.Licenses != "" {
		l["org.opencontainers.image.licenses"] = info.Licenses
	}
	return l
}

// assembleImage builds one platform's image from scratch: base layer, binary layer, config.
func assembleImage(spec imageSpec, info buildInfo, p v1.Platform, base v1.Layer, binary []byte) (v1.Image, error) {
	bin, err := layerFromFiles(binaryFiles(spec.Binary, binary), info.Created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: info.Created.UTC()}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		Config: v1.Config{
			User:       fmt.Sprintf("%d:%d", nonrootID, nonrootID),
			Entrypoint: []string{"/" + binDir + "/" + spec.Binary},
			Cmd:        spec.Cmd,
			Env: []string{
				"PATH=/" + binDir,
				"SSL_CERT_FILE=/" + caPath,
			},
			WorkingDir: "/",
			Labels:     labels(spec, info),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "hack/images: base (passwd, group, CA certificates, /tmp)",
		}},
		mutate.Addendum{Layer: bin, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: fmt.Sprintf("hack/images: go build %s (%s)", spec.Package, p.String()),
		}},
	)
	if err != nil {
		return nil, err
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Annotations(img, labels(spec, info)).(v1.Image), nil
}

// assembleIndex puts one image per platform into a multi-arch OCI index.
func assembleIndex(spec imageSpec, info buildInfo, imgs []v1.Image) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		p := cf.Platform()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return mutate.Annotations(idx, labels(spec, info)).(v1.ImageIndex), nil
}
