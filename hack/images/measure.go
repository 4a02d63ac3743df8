package main

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// readArchive opens an archive written by writeArchive as an OCI layout (unpacked into dir) and
// returns the multi-arch index it names.
func readArchive(archive, dir string) (v1.ImageIndex, error) {
	if err := untar(archive, dir); err != nil {
		return nil, err
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("%s: index.json has %d entries, want 1", archive, len(im.Manifests))
	}
	return top.ImageIndex(im.Manifests[0].Digest)
}

// imageFor returns idx's image for platform p.
func imageFor(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Equals(p) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no image for %s", p.String())
}

// untar unpacks a plain tar file (no links expected) into dir.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	return untarReader(f, dir)
}

// untarReader unpacks regular files and directories with their modes (and owners, as root).
func untarReader(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("tar entry %q leaves the directory", h.Name)
		}
		mode := os.FileMode(h.Mode).Perm()
		if h.Mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			w, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, tr); err != nil {
				w.Close()
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("tar entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, h.Uid, h.Gid); err != nil {
				return err
			}
		}
	}
}

// extractRootfs writes img's flattened filesystem into dir.
func extractRootfs(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	return untarReader(rc, dir)
}

// inImage returns a command that runs argv inside rootfs: chrooted as 65532:65532 when this
// process is root (as the image runs), else the binary from rootfs directly.
func inImage(ctx context.Context, rootfs string, env []string, argv ...string) *exec.Cmd {
	if os.Geteuid() != 0 {
		cmd := exec.CommandContext(ctx, filepath.Join(rootfs, argv[0]), argv[1:]...)
		cmd.Env = env
		return cmd
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     rootfs,
		Credential: &syscall.Credential{Uid: nonrootID, Gid: nonrootID},
	}
	return cmd
}

// imageSizes: compressed (what a registry stores and a node pulls: manifest, config, gzipped
// layers) and uncompressed (the layer tars) size of one platform's image.
func imageSizes(img v1.Image) (compressed, uncompressed int64, err error) {
	m, err := img.RawManifest()
	if err != nil {
		return 0, 0, err
	}
	c, err := img.RawConfigFile()
	if err != nil {
		return 0, 0, err
	}
	compressed = int64(len(m) + len(c))
	layers, err := img.Layers()
	if err != nil {
		return 0, 0, err
	}
	for _, l := range layers {
		s, err := l.Size()
		if err != nil {
			return 0, 0, err
		}
		compressed += s
		rc, err := l.Uncompressed()
		if err != nil {
			return 0, 0, err
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, 0, err
		}
		uncompressed += n
	}
	return compressed, uncompressed, nil
}

// measureMain prints the Images section's figures for docs/benchmarks.md: sizes of the images
// in bin/images and the start time of their binaries, run inside the image's filesystem, as a
// ratio to a hello-world static Go binary in the same base, measured in the same run.
func measureMain(args []string) error {
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	out := fs.String("out", "bin/images", "directory with the archives make images wrote")
	runs := fs.Int("runs", 200, "runs of each command (interleaved)")
	database := fs.String("database", "", "PostgreSQL URL (plain TCP, e.g. postgresql://slotbook@127.0.0.1:55432/booking?sslmode=disable): also measure the app's serve to /readyz")
	readyRuns := fs.Int("ready-runs", 20, "runs of each server start with -database (interleaved)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	work, err := os.MkdirTemp("", "slotbook-measure-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctx := context.Background()

	type subject struct {
		label  string
		rootfs string
		argv   []string
	}
	var subjects []subject
	fmt.Printf("| image | platform | compressed | uncompressed | archive (all platforms) |\n| --- | --- | ---: | ---: | ---: |\n")
	for _, spec := range images {
		archive := filepath.Join(*out, spec.Title+".tar")
		st, err := os.Stat(archive)
		if err != nil {
			return fmt.Errorf("%w (run make images first)", err)
		}
		idx, err := readArchive(archive, filepath.Join(work, spec.Name+"-layout"))
		if err != nil {
			return err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			c, u, err := imageSizes(img)
			if err != nil {
				return err
			}
			fmt.Printf("| %s | %s | %.1f MB | %.1f MB | %.1f MB |\n", spec.Title, d.Platform.String(), mb(c), mb(u), mb(st.Size()))
		}
		img, err := imageFor(idx, host)
		if err != nil {
			return err
		}
		rootfs := filepath.Join(work, spec.Name+"-rootfs")
		if err := extractRootfs(img, rootfs); err != nil {
			return err
		}
		argv := []string{"/" + binDir + "/" + spec.Binary, "version"}
		if spec.Name == "operator" {
			argv = []string{"/" + binDir + "/" + spec.Binary, "--help"}
		}
		subjects = append(subjects, subject{spec.Title + " `" + strings.Join(argv[1:], " ") + "`", rootfs, argv})
	}

	// Baseline: a hello-world Go binary, built like ours, in the same base layer.
	hello := filepath.Join(work, "hello")
	if err := os.MkdirAll(hello, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hello, "go.mod"), []byte("module hello\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(hello, "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"), 0o644); err != nil {
		return err
	}
	baseRoot := filepath.Join(work, "hello-rootfs")
	ca, err := os.ReadFile(defaultCA)
	if err != nil {
		return err
	}
	if err := writeFiles(baseRoot, baseFiles(ca)); err != nil {
		return err
	}
	if err := goBuild(ctx, hello, ".", filepath.Join(baseRoot, binDir, "hello"), host, "x", nil); err != nil {
		return err
	}
	subjects = append([]subject{{"hello-world Go binary (baseline)", baseRoot, []string{"/" + binDir + "/hello"}}}, subjects...)

	times := make([][]time.Duration, len(subjects))
	for i := 0; i < *runs; i++ {
		for j, s := range subjects {
			cmd := inImage(ctx, s.rootfs, []string{"PATH=/" + binDir}, s.argv...)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v: %s", s.label, err, out)
			}
			times[j] = append(times[j], time.Since(start))
		}
	}
	how := "chroot into the image's filesystem as 65532:65532"
	if os.Geteuid() != 0 {
		how = "the image's binary run directly (not root: no chroot)"
	}
	fmt.Printf("\nStart to exit, %d interleaved runs each, %s, %s:\n\n", *runs, how, host.String())
	fmt.Printf("| command | median | p90 | median / baseline |\n| --- | ---: | ---: | ---: |\n")
	base := median(times[0])
	for j, s := range subjects {
		fmt.Printf("| %s | %.2f ms | %.2f ms | %.1f× |\n", s.label, ms(median(times[j])), ms(pct(times[j], 0.9)), float64(median(times[j]))/float64(base))
	}
	if *database == "" {
		return nil
	}

	// Exec to ready: the app's serve (migrations checked, database pool, listening) until /readyz
	// answers 200, against a hello-world Go HTTP server until /healthz answers 200.
	if err := os.WriteFile(filepath.Join(hello, "main.go"), []byte(helloHTTP), 0o644); err != nil {
		return err
	}
	if err := goBuild(ctx, hello, ".", filepath.Join(baseRoot, binDir, "hellohttp"), host, "x", nil); err != nil {
		return err
	}
	appRoot := subjects[len(subjects)-1].rootfs
	servers := []struct {
		label, rootfs, url string
		env, argv          []string
	}{
		{"hello-world Go HTTP server to /healthz (baseline)", baseRoot, "http://127.0.0.1:18081/healthz",
			[]string{"LISTEN=127.0.0.1:18081"}, []string{"/" + binDir + "/hellohttp"}},
		{"slotbook `serve` to /readyz (migrations current)", appRoot, "http://127.0.0.1:18080/readyz", []string{
			"SLOTBOOK_DATABASE_URL=" + *database, "SLOTBOOK_DEV_INSECURE_DATABASE=true",
			"SLOTBOOK_BASE_URL=http://localhost:18080", "SLOTBOOK_SESSION_KEY=" + strings.Repeat("k", 32),
			"SLOTBOOK_LISTEN_ADDR=127.0.0.1:18080", "SLOTBOOK_METRICS_ADDR=127.0.0.1:18090",
		}, []string{"/" + binDir + "/slotbook", "serve"}},
	}
	ready := make([][]time.Duration, len(servers))
	for i := 0; i < *readyRuns; i++ {
		for j, s := range servers {
			d, err := timeToReady(ctx, inImage(ctx, s.rootfs, append([]string{"PATH=/" + binDir}, s.env...), s.argv...), s.url)
			if err != nil {
				return fmt.Errorf("%s: %w", s.label, err)
			}
			ready[j] = append(ready[j], d)
		}
	}
	fmt.Printf("\nExec to ready, %d interleaved starts each, %s:\n\n", *readyRuns, how)
	fmt.Printf("| server | median | p90 | median / baseline |\n| --- | ---: | ---: | ---: |\n")
	base = median(ready[0])
	for j, s := range servers {
		fmt.Printf("| %s | %.2f ms | %.2f ms | %.1f× |\n", s.label, ms(median(ready[j])), ms(pct(ready[j], 0.9)), float64(median(ready[j]))/float64(base))
	}
	return nil
}

const helloHTTP = `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	panic(http.ListenAndServe(os.Getenv("LISTEN"), nil))
}
`

// timeToReady starts cmd and polls url every 0.5 ms until it answers 200, then stops cmd.
func timeToReady(ctx context.Context, cmd *exec.Cmd, url string) (time.Duration, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	for time.Since(start) < 20*time.Second {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	return 0, fmt.Errorf("not ready after 20 s: %s", out.String())
}

// writeFiles materialises layer files in dir (for the baseline's rootfs).
func writeFiles(dir string, files []file) error {
	l, err := layerFromFiles(files, time.Unix(0, 0))
	if err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	return untarReader(rc, dir)
}

func mb(n int64) float64                     { return float64(n) / 1e6 }
func ms(d time.Duration) float64             { return float64(d) / float64(time.Millisecond) }
func median(d []time.Duration) time.Duration { return pct(d, 0.5) }

func pct(d []time.Duration, q float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}
