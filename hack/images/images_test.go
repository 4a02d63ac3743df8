package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var (
	testInfo = buildInfo{
		Version:  "v1.2.3-test",
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Source:   defaultSource,
		Created:  time.Unix(1767225600, 0).UTC(), // 2026-01-01T00:00:00Z
	}
	testCA    = []byte("-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n")
	bothPlats = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
)

func standIn(p v1.Platform) ([]byte, error) { return []byte("stand-in binary for " + p.String()), nil }

func mustDigest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// entry is what a layer's tar header says about one file.
type entry struct {
	Name     string
	Mode     int64
	UID, GID int
	Type     byte
}

func layerEntries(t *testing.T, r io.Reader) []entry {
	t.Helper()
	tr := tar.NewReader(r)
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(testInfo.Created) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, testInfo.Created)
		}
		out = append(out, entry{h.Name, h.Mode, h.Uid, h.Gid, h.Typeflag})
	}
}

func TestStandInImages(t *testing.T) {
	for _, spec := range images {
		t.Run(spec.Name, func(t *testing.T) {
			idx1, err := buildIndex(spec, testInfo, bothPlats, testCA, standIn)
			if err != nil {
				t.Fatal(err)
			}
			idx2, err := buildIndex(spec, testInfo, bothPlats, testCA, standIn)
			if err != nil {
				t.Fatal(err)
			}
			if d1, d2 := mustDigest(t, idx1), mustDigest(t, idx2); d1 != d2 {
				t.Fatalf("two builds from the same input: %s and %s", d1, d2)
			}
			// Every input matters.
			other := testInfo
			other.Created = other.Created.Add(time.Second)
			idx3, _ := buildIndex(spec, other, bothPlats, testCA, standIn)
			idx4, _ := buildIndex(spec, testInfo, bothPlats, append([]byte("x"), testCA...), standIn)
			for _, idx := range []v1.ImageIndex{idx3, idx4} {
				if mustDigest(t, idx) == mustDigest(t, idx1) {
					t.Error("a different timestamp or CA bundle gave the same digest")
				}
			}

			// The archive file itself is reproducible, byte for byte.
			dir := t.TempDir()
			ref := mustTag(t, "ghcr.io/slotbook/"+spec.Name+":"+testInfo.Version)
			a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
			if err := writeArchive(a, idx1, ref, bothPlats[0], testInfo.Created); err != nil {
				t.Fatal(err)
			}
			if err := writeArchive(b, idx2, ref, bothPlats[0], testInfo.Created); err != nil {
				t.Fatal(err)
			}
			if fileSHA(t, a) != fileSHA(t, b) {
				t.Fatal("two archives of the same index differ")
			}
			checkIndex(t, spec, idx1)
			checkArchive(t, a, ref, idx1)
		})
	}
}

// checkIndex checks the index, each image's manifest, config and layers.
func checkIndex(t *testing.T, spec imageSpec, idx v1.ImageIndex) {
	t.Helper()
	want := labels(spec, testInfo)
	for _, k := range []string{"source", "version", "revision", "created", "title"} {
		if want["org.opencontainers.image."+k] == "" {
			t.Errorf("label org.opencontainers.image.%s is empty", k)
		}
	}
	if got := want["org.opencontainers.image.created"]; got != "2026-01-01T00:00:00Z" {
		t.Errorf("created = %q", got)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || !reflect.DeepEqual(im.Annotations, want) {
		t.Errorf("index: media type %s, annotations %v", im.MediaType, im.Annotations)
	}
	if len(im.Manifests) != len(bothPlats) {
		t.Fatalf("index has %d manifests, want %d", len(im.Manifests), len(bothPlats))
	}
	for i, d := range im.Manifests {
		if d.Platform == nil || !d.Platform.Equals(bothPlats[i]) || d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %d: platform %v, media type %s", i, d.Platform, d.MediaType)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.MediaType != types.OCIConfigJSON || !reflect.DeepEqual(m.Annotations, want) {
			t.Errorf("manifest: config media type %s, annotations %v", m.Config.MediaType, m.Annotations)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		bin := "/usr/local/bin/" + spec.Binary
		c := cf.Config
		if c.User != "65532:65532" || !reflect.DeepEqual(c.Entrypoint, []string{bin}) ||
			!reflect.DeepEqual(c.Cmd, spec.Cmd) || !reflect.DeepEqual(c.Labels, want) || c.WorkingDir != "/" {
			t.Errorf("config: %+v", c)
		}
		if cf.OS != "linux" || cf.Architecture != bothPlats[i].Architecture || !cf.Created.Time.Equal(testInfo.Created) {
			t.Errorf("config: os %s arch %s created %v", cf.OS, cf.Architecture, cf.Created)
		}
		if len(cf.History) != 2 || !cf.History[1].Created.Time.Equal(testInfo.Created) {
			t.Errorf("history: %+v", cf.History)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 2 {
			t.Fatalf("%d layers, want 2 (base, binary)", len(layers))
		}
		for _, l := range layers {
			if mt, _ := l.MediaType(); mt != types.OCILayer {
				t.Errorf("layer media type %s", mt)
			}
		}
		// Exactly these files, owners and modes; no shell, nothing else.
		dir := func(n string) entry { return entry{n, 0o755, 0, 0, tar.TypeDir} }
		base := []entry{
			dir("etc/"),
			{"etc/group", 0o644, 0, 0, tar.TypeReg},
			{"etc/passwd", 0o644, 0, 0, tar.TypeReg},
			dir("etc/ssl/"), dir("etc/ssl/certs/"),
			{"etc/ssl/certs/ca-certificates.crt", 0o644, 0, 0, tar.TypeReg},
			dir("home/"),
			{"home/nonroot/", 0o700, 65532, 65532, tar.TypeDir},
			{"tmp/", 0o1777, 0, 0, tar.TypeDir},
			dir("usr/"), dir("usr/local/"), dir("usr/local/bin/"),
		}
		binLayer := []entry{
			dir("usr/"), dir("usr/local/"), dir("usr/local/bin/"),
			{"usr/local/bin/" + spec.Binary, 0o755, 0, 0, tar.TypeReg},
		}
		for li, want := range [][]entry{base, binLayer} {
			rc, err := layers[li].Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			got := layerEntries(t, rc)
			rc.Close()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("layer %d:\n got %v\nwant %v", li, got, want)
			}
		}
		// The flattened filesystem: passwd, group, CA bundle and binary with their content.
		files := map[string]string{}
		tr := tar.NewReader(mutate.Extract(img))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[h.Name] = string(b)
			}
		}
		if len(files) != 4 || files["etc/ssl/certs/ca-certificates.crt"] != string(testCA) ||
			!strings.Contains(files["etc/passwd"], "nonroot:x:65532:65532:") ||
			!strings.Contains(files["etc/group"], "nonroot:x:65532:") ||
			files[strings.TrimPrefix(bin, "/")] != "stand-in binary for "+bothPlats[i].String() {
			t.Errorf("files: %v", files)
		}
		for _, sh := range []string{"bin/sh", "bin/busybox", "usr/bin/env"} {
			if _, ok := files[sh]; ok {
				t.Errorf("image has %s", sh)
			}
		}
	}
}

// checkArchive reads the archive back both ways: as an OCI layout, and as a docker-save archive
// (manifest.json) with go-containerregistry's tarball package.
func checkArchive(t *testing.T, archive string, ref name.Tag, idx v1.ImageIndex) {
	t.Helper()
	back, err := readArchive(archive, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if mustDigest(t, back) != mustDigest(t, idx) {
		t.Error("OCI layout: index digest differs after reading back")
	}
	amd64, err := imageFor(idx, bothPlats[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(archive, &ref)
	if err != nil {
		t.Fatal(err)
	}
	// The docker-save view: same config and the same (compressed) layers; its manifest is Docker's.
	if want, got := mustConfigName(t, amd64), mustConfigName(t, img); want != got {
		t.Errorf("manifest.json: config %s, want %s", got, want)
	}
	wl, _ := amd64.Layers()
	gl, err := img.Layers()
	if err != nil || len(gl) != len(wl) {
		t.Fatalf("manifest.json: %d layers, %v", len(gl), err)
	}
	for i := range wl {
		if mustDigest(t, wl[i]) != mustDigest(t, gl[i]) {
			t.Errorf("manifest.json: layer %d differs", i)
		}
	}
	// index.json names the image as containerd, Docker and podman expect.
	f, _ := os.Open(archive)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatal("no index.json")
		}
		if h.Name == "index.json" {
			b, _ := io.ReadAll(tr)
			for _, s := range []string{`"io.containerd.image.name":"` + ref.Name() + `"`, `"org.opencontainers.image.ref.name":"` + ref.TagStr() + `"`} {
				if !bytes.Contains(b, []byte(s)) {
					t.Errorf("index.json lacks %s: %s", s, b)
				}
			}
			return
		}
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func mustConfigName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPush pushes an index to an in-memory registry and pulls it back.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	idx, err := buildIndex(images[1], testInfo, bothPlats, testCA, standIn)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/slotbook/app:" + testInfo.Version)
	if err != nil {
		t.Fatal(err)
	}
	if err := pushIndex(context.Background(), ref, idx); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if mustDigest(t, got) != mustDigest(t, idx) {
		t.Error("pulled index differs from the pushed one")
	}
}

// TestRealImages builds the real operator and app for this machine's platform twice, checks
// the binaries' build settings, the digests, the size floors, and runs each binary inside the
// image's filesystem (chrooted as 65532 when root).
func TestRealImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binaries")
	}
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	moduleDir, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	floors := map[string]int64{"operator": 80e6, "app": 40e6}
	work := t.TempDir()
	ctx := context.Background()
	for _, spec := range images {
		t.Run(spec.Name, func(t *testing.T) {
			var digests []v1.Hash
			var idx v1.ImageIndex
			for i := range 2 {
				bin := filepath.Join(work, fmt.Sprintf("%s-%d", spec.Binary, i))
				if err := goBuild(ctx, moduleDir, spec.Package, bin, host, testInfo.Version, spec.BuildTags); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					checkBuildInfo(t, bin, spec)
				}
				data, err := os.ReadFile(bin)
				if err != nil {
					t.Fatal(err)
				}
				idx, err = buildIndex(spec, testInfo, []v1.Platform{host}, testCA, func(v1.Platform) ([]byte, error) { return data, nil })
				if err != nil {
					t.Fatal(err)
				}
				digests = append(digests, mustDigest(t, idx))
			}
			if digests[0] != digests[1] {
				t.Fatalf("two builds of the same source: %s and %s (or someone edited the source between them: rerun)", digests[0], digests[1])
			}
			t.Logf("%s: %s", spec.Name, digests[0])

			ref := mustTag(t, "ghcr.io/slotbook/"+spec.Name+":"+testInfo.Version)
			archive := filepath.Join(work, spec.Title+".tar")
			if err := writeArchive(archive, idx, ref, host, testInfo.Created); err != nil {
				t.Fatal(err)
			}
			back, err := readArchive(archive, filepath.Join(work, spec.Name+"-layout"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := imageFor(back, host)
			if err != nil {
				t.Fatal(err)
			}
			compressed, uncompressed, err := imageSizes(img)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %.1f MB compressed, %.1f MB uncompressed", spec.Name, mb(compressed), mb(uncompressed))
			if compressed > floors[spec.Name] {
				t.Errorf("%s image is %d bytes compressed, over the floor of %d", spec.Name, compressed, floors[spec.Name])
			}
			rootfs := filepath.Join(work, spec.Name+"-rootfs")
			if err := extractRootfs(img, rootfs); err != nil {
				t.Fatal(err)
			}
			runInImage(t, spec, rootfs)
		})
	}
}

// checkBuildInfo: static, trimmed, time zone data for the app, and no build id. (With -trimpath
// the go command records no -ldflags; the version stamp is checked by running the binary.)
func checkBuildInfo(t *testing.T, bin string, spec imageSpec) {
	t.Helper()
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" ||
		settings["-tags"] != strings.Join(spec.BuildTags, ",") {
		t.Errorf("build settings: %v", settings)
	}
	out, err := exec.Command("go", "tool", "buildid", bin).Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("build id %q (%v), want none", out, err)
	}
}

func runInImage(t *testing.T, spec imageSpec, rootfs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bin := "/usr/local/bin/" + spec.Binary
	env := []string{"PATH=/usr/local/bin"}
	run := func(extraEnv []string, args ...string) (string, error) {
		cmd := inImage(ctx, rootfs, append(env, extraEnv...), append([]string{bin}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	switch spec.Name {
	case "app":
		out, err := run(nil, "version")
		if err != nil || strings.TrimSpace(out) != testInfo.Version {
			t.Errorf("slotbook version: %q, %v", out, err)
		}
		// The configuration loads inside the image (the default time zone Europe/Berlin comes
		// from the embedded tzdata); the run then fails only at the database, which is not there.
		out, err = run([]string{"SLOTBOOK_DATABASE_URL=postgresql://slotbook@127.0.0.1:1/slotbook?sslmode=verify-full&sslrootcert=/etc/ssl/certs/ca-certificates.crt"}, "migrate")
		if err == nil || strings.Contains(out, "SLOTBOOK_TIMEZONE") || strings.Contains(out, "zoneinfo") {
			t.Errorf("slotbook migrate without a database: %v\n%s", err, out)
		}
		if !strings.Contains(out, "127.0.0.1") && !strings.Contains(strings.ToLower(out), "connect") {
			t.Errorf("slotbook migrate did not get as far as the database:\n%s", out)
		}
	case "operator":
		out, err := run(nil, "--help")
		if err != nil || !strings.Contains(out, "-leader-elect") {
			t.Errorf("manager --help: %v\n%s", err, out)
		}
		// Without a cluster it logs its version, then stops at the missing kubeconfig.
		out, err = run(nil)
		if err == nil || !strings.Contains(out, testInfo.Version) {
			t.Errorf("manager without a cluster: %v\n%s", err, out)
		}
	}
	names := []string{}
	_ = filepath.Walk(rootfs, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(rootfs, p)
			names = append(names, rel)
		}
		return nil
	})
	sort.Strings(names)
	want := []string{"etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "usr/local/bin/" + spec.Binary}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("files in the image: %v, want %v", names, want)
	}
}
