package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServe starts the real serve command on a fresh database: it migrates, answers health,
// readiness, the booking page, the API and metrics, and shuts down gracefully on cancel.
func TestServe(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	t.Setenv("SLOTBOOK_DATABASE_URL", pgtest.NewEmptyDatabase(t))
	t.Setenv("SLOTBOOK_BASE_URL", "http://"+addr)
	t.Setenv("SLOTBOOK_SESSION_KEY", strings.Repeat("s", 40))
	t.Setenv("SLOTBOOK_LISTEN_ADDR", addr)
	t.Setenv("SLOTBOOK_METRICS_ADDR", metricsAddr)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("http://" + addr + "/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, tc := range []struct {
		url      string
		contains string
	}{
		{"http://" + addr + "/healthz", "ok"},
		{"http://" + addr + "/api/v1/services", `"services"`},
		{"http://" + addr + "/?lang=en", "<html lang=\"en\""},
		{"http://" + metricsAddr + "/metrics", "slotbook_http_request_duration_seconds"},
	} {
		if code, body := get(tc.url); code != http.StatusOK || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s = %d, want 200 containing %q; body: %.200s", tc.url, code, tc.contains, body)
		}
	}
	// The security chain is wired: every answer has a request id and the security headers.
	if resp, err := http.Get("http://" + addr + "/?lang=en"); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.Header.Get("X-Request-Id") == "" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("page headers %v: want X-Request-Id and the security headers", resp.Header)
		}
	}
	// The admin requires a login: without a session it leads to the login page.
	if code, body := get("http://" + addr + "/admin/"); code != http.StatusOK || !strings.Contains(body, `action="/account/login"`) {
		t.Errorf("admin without login answered %d, want the login page; body: %.200s", code, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// TestDatabaseTLSIsRequired: every subcommand refuses a database URL without verify-full, and a
// server certificate from another CA fails with a message that says so.
func TestDatabaseTLSIsRequired(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	good := pgtest.NewDatabase(t)

	t.Run("plain text is refused before connecting", func(t *testing.T) {
		t.Setenv("SLOTBOOK_DATABASE_URL", strings.Replace(good, "sslmode=verify-full", "sslmode=disable", 1))
		err := migrate(ctx, logger)
		if err == nil || !strings.Contains(err.Error(), "TLS to the database is required") {
			t.Fatalf("migrate = %v", err)
		}
	})
	t.Run("a certificate from another CA is refused", func(t *testing.T) {
		wrongCA := t.TempDir() + "/other-ca.crt"
		if err := pgtest.WriteUnrelatedCA(wrongCA); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(good)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("sslrootcert", wrongCA)
		u.RawQuery = q.Encode()
		t.Setenv("SLOTBOOK_DATABASE_URL", u.String())
		err = migrate(ctx, logger)
		if err == nil || !strings.Contains(err.Error(), "TLS certificate could not be verified") {
			t.Fatalf("migrate = %v", err)
		}
		t.Logf("message: %v", err)
	})
}
