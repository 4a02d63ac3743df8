package httpsec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// stack wires the middleware the way the package documentation recommends for app/serve.go.
func stack(mux http.Handler, trusted TrustedProxies, base string, clock *fakeClock) http.Handler {
	h := RateLimit(mux, Limits{TrustedProxies: trusted, Now: clock.Now})
	h = NoStorePaths(h, DefaultNoStorePrefixes...)
	h = HTTPSRedirect(h, trusted, ForBaseURL(mustURL(base)))
	return Headers(h, Options{TrustedProxies: trusted})
}

func TestWiring(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /api/v1/bookings", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("GET /manage/{token}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60") // a mistake NoStorePaths corrects
		io.WriteString(w, "<p>your booking</p>")
	})
	h := stack(mux, trusted, "https://booking.example.com", newClock())

	const ingress = "10.0.0.5:1234"
	viaIngress := func(method, target, client string) *httptest.ResponseRecorder {
		r := request(method, target, ingress, map[string]any{"X-Forwarded-For": client, "X-Forwarded-Proto": "https"})
		r.Host = "booking.example.com"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	t.Run("HTTPS page through the ingress", func(t *testing.T) {
		rec := viaIngress("GET", "/manage/tok", "203.0.113.9")
		want := map[string]string{
			"Strict-Transport-Security": DefaultHSTS,
			"Content-Security-Policy":   DefaultCSP,
			"Referrer-Policy":           "same-origin",
			"Cache-Control":             "no-store",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("429 carries the security headers", func(t *testing.T) {
		var rec *httptest.ResponseRecorder
		for range 6 {
			rec = viaIngress("POST", "/api/v1/bookings", "203.0.113.10")
		}
		if rec.Code != http.StatusTooManyRequests {
			t.Fatalf("status %d", rec.Code)
		}
		for _, k := range []string{"Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options", "Retry-After"} {
			if rec.Header().Get(k) == "" {
				t.Errorf("429 without %s", k)
			}
		}
		if rec := viaIngress("POST", "/api/v1/bookings", "203.0.113.11"); rec.Code != http.StatusCreated {
			t.Errorf("another client behind the ingress: %d", rec.Code)
		}
	})
	t.Run("plain HTTP through the ingress is redirected to the canonical host", func(t *testing.T) {
		r := request("GET", "/manage/tok", ingress, map[string]any{"X-Forwarded-Proto": "http"})
		r.Host = "evil.example"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://booking.example.com/manage/tok" {
			t.Errorf("status %d Location %q", rec.Code, rec.Header().Get("Location"))
		}
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("Strict-Transport-Security") != "" {
			t.Errorf("redirect headers %v: want CSP and no HSTS over HTTP", rec.Header())
		}
	})
	t.Run("kubelet probe over plain HTTP", func(t *testing.T) {
		r := request("GET", "/healthz", "192.168.1.20:51000", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
			t.Errorf("status %d body %q", rec.Code, rec.Body)
		}
	})
	t.Run("local development over http://", func(t *testing.T) {
		dev := stack(mux, TrustedProxies{}, "http://localhost:8080", newClock())
		r := request("GET", "/manage/tok", "127.0.0.1:5555", nil)
		r.Host = "localhost:8080"
		rec := httptest.NewRecorder()
		dev.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || rec.Header().Get("Strict-Transport-Security") != "" {
			t.Errorf("status %d HSTS %q: want the page without HSTS", rec.Code, rec.Header().Get("Strict-Transport-Security"))
		}
	})
}
