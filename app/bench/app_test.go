package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slotbook/slotbook/app/internal/api"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/metrics"
	"github.com/slotbook/slotbook/app/internal/store"
)

// buildApp builds the app binary as `make build` does (trimmed paths, stripped) into dir.
func buildApp(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "slotbook")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=bench",
		"-o", bin, "github.com/slotbook/slotbook/app")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./app: %w\n%s", err, out)
	}
	return bin, nil
}

// appProcess is a running `slotbook serve`.
type appProcess struct {
	cmd        *exec.Cmd
	baseURL    string
	metricsURL string
	exited     chan struct{}
	log        *tailBuffer
	shutdown   func() // in-process only
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startApp runs bin serve with the configuration the operator would give it, and waits until
// /readyz answers 200.
func startApp(ctx context.Context, bin, databaseURL string) (*appProcess, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	a := &appProcess{
		baseURL:    "http://" + listen,
		metricsURL: "http://" + metricsAddr + "/metrics",
		exited:     make(chan struct{}),
		log:        &tailBuffer{},
	}
	a.cmd = exec.Command(bin, "serve")
	a.cmd.Env = append(os.Environ(),
		"SLOTBOOK_DATABASE_URL="+databaseURL,
		"SLOTBOOK_BASE_URL="+a.baseURL,
		"SLOTBOOK_SESSION_KEY="+rand.Text()+rand.Text()[:14], // 40 characters
		"SLOTBOOK_LISTEN_ADDR="+listen,
		"SLOTBOOK_METRICS_ADDR="+metricsAddr,
		"SLOTBOOK_TRUSTED_PROXIES=127.0.0.1/32", // see forwardedFor
	)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	// If the benchmark dies, the app goes too.
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { a.cmd.Wait(); close(a.exited) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(a.baseURL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a, nil
			}
		}
		select {
		case <-a.exited:
			return nil, fmt.Errorf("slotbook serve exited during startup:\n%s", a.log.String())
		case <-ctx.Done():
			a.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("slotbook serve not ready within 30 s:\n%s", a.log.String())
		}
	}
}

// startInProcess serves the app's API in this process, wired as `slotbook serve` wires it (the
// HTML pages left out), for profiling with go test -cpuprofile: -in-process.
func startInProcess(ctx context.Context, databaseURL string) (*appProcess, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	a := &appProcess{baseURL: "http://" + listen, exited: make(chan struct{}), log: &tailBuffer{}}
	slog.SetDefault(slog.New(slog.NewJSONHandler(a.log, nil)))
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	svc := booking.NewService(st, booking.WithBaseURL(a.baseURL), booking.WithMetrics(m))
	mux := http.NewServeMux()
	api.Register(mux, svc, st)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "in-process: no pages") })
	mux.Handle("GET /metrics", m.Handler())
	a.metricsURL = a.baseURL + "/metrics"
	srv := &http.Server{Addr: listen, Handler: m.Instrument(mux), ReadHeaderTimeout: 10 * time.Second}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		st.Close()
		return nil, err
	}
	go func() { srv.Serve(l); st.Close(); close(a.exited) }()
	a.shutdown = func() { srv.Shutdown(context.Background()) }
	return a, nil
}

// pid of the app process; 0 when it runs in this process.
func (a *appProcess) pid() int {
	if a.cmd == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

// stop sends SIGTERM and waits for a graceful shutdown (killing it after 25 s).
func (a *appProcess) stop() {
	if a.cmd == nil {
		a.shutdown()
		<-a.exited
		return
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(25 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
}

// metric reads the value of an unlabelled metric from the app's /metrics.
func (a *appProcess) metric(name string) (float64, error) {
	resp, err := http.Get(a.metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// errorLines returns up to n lines of the app's log at level ERROR.
func (a *appProcess) errorLines(n int) []string {
	var out []string
	for _, line := range strings.Split(a.log.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && len(out) < n {
			out = append(out, line)
		}
	}
	return out
}

// rssSampler records the peak VmRSS of a process, sampled every 20 ms while running.
type rssSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak int64
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _, err := memStatus(pid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, rss)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// tailBuffer keeps the last 64 KiB written to it (the app's log).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 64<<10; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
