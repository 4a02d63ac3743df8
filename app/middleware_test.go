package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/config"
	"github.com/slotbook/slotbook/app/internal/httpsec"
)

const (
	ingressPeer   = "10.244.1.7:41000" // in the trusted proxies below
	untrustedPeer = "203.0.113.50:41000"
)

// chainUnderTest is securityChain around a stand-in for the app's mux, as serve wires it for
// https://booking.example.com behind an ingress in 10.244.0.0/16. The handler echoes the request
// id and client IP it finds in the context.
func chainUnderTest(t *testing.T, base, trusted string, logs io.Writer) http.Handler {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{BaseURL: u, TrustedProxies: httpsec.MustParseTrustedProxies(trusted)}
	logger := requestIDLogs(slog.New(slog.NewJSONHandler(logs, nil)))
	mux := http.NewServeMux()
	echo := func(w http.ResponseWriter, r *http.Request) {
		ip, _ := httpsec.ClientIPFrom(r.Context())
		logger.InfoContext(r.Context(), "handled")
		fmt.Fprintf(w, "id=%s ip=%s", audit.RequestIDFrom(r.Context()), ip)
	}
	mux.HandleFunc("GET /healthz", echo)
	mux.HandleFunc("GET /readyz", echo)
	mux.HandleFunc("GET /{$}", echo)
	mux.HandleFunc("GET /api/v1/availability", echo)
	mux.HandleFunc("GET /calendar/{file}", echo)
	mux.HandleFunc("POST /api/v1/bookings", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("POST "+loginPath, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusSeeOther) })
	return securityChain(mux, cfg, logger)
}

type req struct {
	method, target, peer string
	headers              map[string]string
}

func do(h http.Handler, q req) *httptest.ResponseRecorder {
	r := httptest.NewRequest(q.method, q.target, nil)
	r.Host = "booking.example.com"
	r.RemoteAddr = q.peer
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// viaIngress is a request the trusted ingress forwards for client over HTTPS.
func viaIngress(method, target, client string) req {
	return req{method, target, ingressPeer, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": client}}
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	var logs bytes.Buffer
	h := chainUnderTest(t, "https://booking.example.com", "10.244.0.0/16", &logs)

	rec := do(h, viaIngress("GET", "/", "198.51.100.7"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for k, v := range map[string]string{
		"Content-Security-Policy":   httpsec.DefaultCSP,
		"Strict-Transport-Security": httpsec.DefaultHSTS,
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Referrer-Policy":           httpsec.DefaultReferrerPolicy,
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		strings.Contains(rec.Header().Get("Content-Security-Policy"), "unsafe-inline") {
		t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
	}
	id := rec.Header().Get(requestIDHeader)
	if len(id) != 32 || !saneRequestID(id) {
		t.Errorf("generated request id %q, want 32 hex digits", id)
	}
	if want := "id=" + id + " ip=198.51.100.7"; rec.Body.String() != want {
		t.Errorf("context: %q, want %q", rec.Body.String(), want)
	}
	if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Errorf("log lines without the request id: %s", logs.String())
	}

	t.Run("no-store on the API and account pages", func(t *testing.T) {
		if got := do(h, viaIngress("GET", "/api/v1/availability", "198.51.100.7")).Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("API Cache-Control %q", got)
		}
	})
	t.Run("a trusted proxy's request id is kept", func(t *testing.T) {
		q := viaIngress("GET", "/", "198.51.100.7")
		q.headers[requestIDHeader] = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
		rec := do(h, q)
		if got := rec.Header().Get(requestIDHeader); got != q.headers[requestIDHeader] {
			t.Errorf("X-Request-Id %q, want the ingress's", got)
		}
	})
	t.Run("an insane request id from the proxy is replaced", func(t *testing.T) {
		q := viaIngress("GET", "/", "198.51.100.7")
		q.headers[requestIDHeader] = "x\" injected=1"
		if got := do(h, q).Header().Get(requestIDHeader); got == q.headers[requestIDHeader] || len(got) != 32 {
			t.Errorf("X-Request-Id %q", got)
		}
	})
	t.Run("a client's request id is not believed", func(t *testing.T) {
		rec := do(h, req{"GET", "/", untrustedPeer, map[string]string{
			requestIDHeader: "chosen-by-client", "X-Forwarded-For": "192.0.2.1", "X-Forwarded-Proto": "https"}})
		if got := rec.Header().Get(requestIDHeader); got == "chosen-by-client" || got == "" {
			t.Errorf("X-Request-Id %q", got)
		}
	})
	t.Run("the app's own headers win", func(t *testing.T) {
		own := securityChain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
			w.Header().Set("Referrer-Policy", "same-origin")
		}), &config.Config{BaseURL: mustParseURL(t, "http://localhost:8080")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		rec := do(own, req{"GET", "/", "127.0.0.1:5000", nil})
		if rec.Header().Get("Content-Security-Policy") != "default-src 'none'" || rec.Header().Get("Referrer-Policy") != "same-origin" {
			t.Errorf("headers %v", rec.Header())
		}
		if rec.Header().Get("Strict-Transport-Security") != "" {
			t.Error("HSTS over plain HTTP")
		}
	})
}

func TestHTTPSRedirectBehindTrustedProxy(t *testing.T) {
	h := chainUnderTest(t, "https://booking.example.com", "10.244.0.0/16", io.Discard)

	rec := do(h, req{"GET", "/?lang=en", ingressPeer, map[string]string{"X-Forwarded-Proto": "http"}})
	if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://booking.example.com/?lang=en" {
		t.Errorf("trusted proxy, X-Forwarded-Proto http: %d Location %q, want 308 to https", rec.Code, rec.Header().Get("Location"))
	}
	if rec.Header().Get(requestIDHeader) == "" || rec.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("redirect without request id or CSP: %v", rec.Header())
	}
	if rec.Header().Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain-HTTP answer")
	}

	// From an untrusted peer X-Forwarded-Proto is ignored: the connection (plain HTTP) decides.
	rec = do(h, req{"GET", "/", untrustedPeer, map[string]string{"X-Forwarded-Proto": "https"}})
	if rec.Code != http.StatusPermanentRedirect {
		t.Errorf("untrusted peer claiming https: %d, want 308 (header ignored)", rec.Code)
	}
	rec = do(h, req{"GET", "/", untrustedPeer, map[string]string{"X-Forwarded-Proto": "http"}})
	if rec.Code != http.StatusPermanentRedirect {
		t.Errorf("untrusted peer: %d, want 308", rec.Code)
	}
	if rec := do(h, viaIngress("GET", "/", "198.51.100.7")); rec.Code != http.StatusOK {
		t.Errorf("trusted proxy over https: %d", rec.Code)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		rec := do(h, req{"GET", path, "10.1.2.3:5555", nil}) // the kubelet, plain HTTP, no proxy
		if rec.Code != http.StatusOK {
			t.Errorf("kubelet probe %s: %d, want 200 (never redirected)", path, rec.Code)
		}
	}

	t.Run("off without trusted proxies", func(t *testing.T) {
		var logs bytes.Buffer
		h := chainUnderTest(t, "https://booking.example.com", "", &logs)
		if rec := do(h, req{"GET", "/", "10.244.1.7:4100", nil}); rec.Code != http.StatusOK {
			t.Errorf("status %d: a redirect here would loop behind a TLS-terminating ingress", rec.Code)
		}
		if !strings.Contains(logs.String(), config.EnvTrustedProxies) {
			t.Errorf("no warning naming %s: %s", config.EnvTrustedProxies, logs.String())
		}
	})
	t.Run("off for an http:// base URL", func(t *testing.T) {
		h := chainUnderTest(t, "http://localhost:8080", "10.244.0.0/16", io.Discard)
		if rec := do(h, req{"GET", "/", "127.0.0.1:4100", nil}); rec.Code != http.StatusOK {
			t.Errorf("status %d", rec.Code)
		}
	})
}

func TestRateLimits(t *testing.T) {
	h := chainUnderTest(t, "https://booking.example.com", "10.244.0.0/16", io.Discard)

	exhaust := func(t *testing.T, method, path string, burst, okStatus int) {
		t.Helper()
		client := "198.51.100." + strconv.Itoa(burst) // one client per rule
		for i := range burst {
			if rec := do(h, viaIngress(method, path, client)); rec.Code != okStatus {
				t.Fatalf("%s %s request %d: %d, want %d", method, path, i+1, rec.Code, okStatus)
			}
		}
		rec := do(h, viaIngress(method, path, client))
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("%s %s after %d requests: %d, want 429", method, path, burst, rec.Code)
		}
		if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
		}
		if rec.Header().Get(requestIDHeader) == "" || rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("429 without request id or CSP: %v", rec.Header())
		}
		// Another client behind the same ingress has its own bucket.
		if rec := do(h, viaIngress(method, path, "192.0.2.200")); rec.Code != okStatus {
			t.Errorf("another client: %d", rec.Code)
		}
	}
	t.Run("booking", func(t *testing.T) { exhaust(t, "POST", "/api/v1/bookings", 5, http.StatusCreated) })
	t.Run("availability", func(t *testing.T) { exhaust(t, "GET", "/api/v1/availability?service=1", 20, http.StatusOK) })
	t.Run("login", func(t *testing.T) { exhaust(t, "POST", loginPath, 10, http.StatusSeeOther) })
	t.Run("calendar feed", func(t *testing.T) { exhaust(t, "GET", "/calendar/some-token.ics", 10, http.StatusOK) })
	t.Run("calendar feed not cached", func(t *testing.T) {
		if got := do(h, viaIngress("GET", "/calendar/other.ics", "198.51.100.77")).Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q", got)
		}
	})
	t.Run("429 in the API's JSON shape", func(t *testing.T) {
		var rec *httptest.ResponseRecorder
		for range 6 {
			rec = do(h, viaIngress("POST", "/api/v1/bookings", "198.51.100.99"))
		}
		if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"rate_limited"`) {
			t.Errorf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("health endpoints are never limited", func(t *testing.T) {
		for i := range 200 {
			for _, path := range []string{"/healthz", "/readyz"} {
				if rec := do(h, req{"GET", path, "10.1.2.3:5555", nil}); rec.Code != http.StatusOK {
					t.Fatalf("%s request %d: %d", path, i+1, rec.Code)
				}
			}
		}
	})
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
