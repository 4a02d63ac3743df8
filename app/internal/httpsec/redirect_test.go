package httpsec

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestHTTPSRedirectMatrix(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8")
	const ingress, stranger = "10.0.0.5:1234", "203.0.113.9:1234"
	const redirect = "https://booking.example.com/book/7?day=2030-05-06"
	type peerCase struct {
		name string
		peer string
		tls  bool
		xfp  string
	}
	tests := []struct {
		peerCase
		wantRedirect bool
	}{
		{peerCase{"trusted, https", ingress, false, "https"}, false},
		{peerCase{"trusted, http", ingress, false, "http"}, true},
		{peerCase{"trusted, no header, plain", ingress, false, ""}, true},
		{peerCase{"trusted, no header, TLS", ingress, true, ""}, false},
		{peerCase{"trusted, http over re-encrypted TLS", ingress, true, "http"}, true},
		{peerCase{"untrusted, https (spoofed)", stranger, false, "https"}, true},
		{peerCase{"untrusted, http, plain", stranger, false, "http"}, true},
		{peerCase{"untrusted, http (ignored) over TLS", stranger, true, "http"}, false},
		{peerCase{"untrusted, no header, plain", stranger, false, ""}, true},
		{peerCase{"untrusted, no header, TLS", stranger, true, ""}, false},
	}
	paths := []struct {
		target string
		exempt bool
	}{
		{"/book/7?day=2030-05-06", false},
		{"/healthz", true},
		{"/readyz", true},
		{"/healthz/", false},
		{"/healthzz", false},
	}
	for _, tt := range tests {
		for _, p := range paths {
			t.Run(tt.name+" "+p.target, func(t *testing.T) {
				r := request("GET", p.target, tt.peer, nil)
				r.Host = "booking.example.com"
				if tt.xfp != "" {
					r.Header.Set("X-Forwarded-Proto", tt.xfp)
				}
				if tt.tls {
					r.TLS = &tls.ConnectionState{}
				}
				rec := httptest.NewRecorder()
				HTTPSRedirect(http.HandlerFunc(okHandler), trusted).ServeHTTP(rec, r)
				if tt.wantRedirect && !p.exempt {
					if rec.Code != http.StatusPermanentRedirect {
						t.Fatalf("status %d, want 308", rec.Code)
					}
					want := "https://booking.example.com" + p.target
					if p.target == "/book/7?day=2030-05-06" {
						want = redirect
					}
					if got := rec.Header().Get("Location"); got != want {
						t.Errorf("Location %q, want %q", got, want)
					}
					return
				}
				if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
					t.Errorf("status %d body %q, want the handler's answer", rec.Code, rec.Body)
				}
			})
		}
	}
}

func TestHTTPSRedirectTarget(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		target   string
		host     string
		opts     []RedirectOption
		status   int
		location string
	}{
		{name: "port dropped", target: "/x", host: "booking.example.com:80", status: 308, location: "https://booking.example.com/x"},
		{name: "host lower-cased", target: "/x", host: "Booking.Example.COM", status: 308, location: "https://booking.example.com/x"},
		{name: "IPv6 literal", target: "/x", host: "[2001:db8::1]:8080", status: 308, location: "https://[2001:db8::1]/x"},
		{name: "IPv4 literal", target: "/x", host: "192.0.2.1:8080", status: 308, location: "https://192.0.2.1/x"},
		{name: "escaped path and query kept", target: "/manage/a%2Fb?q=a%20b&x=1", host: "h.example", status: 308, location: "https://h.example/manage/a%2Fb?q=a%20b&x=1"},
		{name: "empty query kept", target: "/x?", host: "h.example", status: 308, location: "https://h.example/x?"},
		{name: "double slash stays a path", target: "//evil.example/x", host: "h.example", status: 308, location: "https://h.example//evil.example/x"},
		{name: "HEAD redirected", method: "HEAD", target: "/x", host: "h.example", status: 308, location: "https://h.example/x"},
		{name: "bad Host rejected", target: "/x", host: "evil.example/x", status: 400},
		{name: "Host with space rejected", target: "/x", host: "a b", status: 400},
		{name: "empty Host rejected", target: "/x", host: "", status: 400},
		{name: "zone rejected", target: "/x", host: "[fe80::1%25eth0]", status: 400},
		{name: "canonical host pinned", target: "/x?y", host: "evil.example", opts: []RedirectOption{CanonicalHost("booking.example.com")}, status: 308, location: "https://booking.example.com/x?y"},
		{name: "canonical host even with a bad Host", target: "/x", host: "a b", opts: []RedirectOption{CanonicalHost("booking.example.com")}, status: 308, location: "https://booking.example.com/x"},
		{name: "https base URL pins the host", target: "/x", host: "evil.example", opts: []RedirectOption{ForBaseURL(mustURL("https://booking.example.com:8443"))}, status: 308, location: "https://booking.example.com:8443/x"},
		{name: "http base URL disables", target: "/x", host: "localhost:8080", opts: []RedirectOption{ForBaseURL(mustURL("http://localhost:8080"))}, status: 200},
		{name: "nil base URL changes nothing", target: "/x", host: "h.example", opts: []RedirectOption{ForBaseURL(nil)}, status: 308, location: "https://h.example/x"},
		{name: "disabled", target: "/x", host: "h.example", opts: []RedirectOption{RedirectDisabled(true)}, status: 200},
		{name: "not disabled", target: "/x", host: "h.example", opts: []RedirectOption{RedirectDisabled(false)}, status: 308, location: "https://h.example/x"},
		{name: "custom exempt path", target: "/livez", host: "h.example", opts: []RedirectOption{ExemptPaths("/livez")}, status: 200},
		{name: "custom exempt replaces defaults", target: "/healthz", host: "h.example", opts: []RedirectOption{ExemptPaths("/livez")}, status: 308, location: "https://h.example/healthz"},
		{name: "POST is refused, not redirected", method: "POST", target: "/book/7", host: "h.example", status: 400},
		{name: "POST to a health path passes", method: "POST", target: "/healthz", host: "h.example", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			r := request(method, tt.target, "203.0.113.9:1234", nil)
			r.Host = tt.host
			rec := httptest.NewRecorder()
			HTTPSRedirect(http.HandlerFunc(okHandler), TrustedProxies{}, tt.opts...).ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
		})
	}
}

func TestHTTPSRedirectRefusalBody(t *testing.T) {
	h := HTTPSRedirect(http.HandlerFunc(okHandler), TrustedProxies{})

	r := request("POST", "/api/v1/bookings", "203.0.113.9:1234", nil)
	r.Host = "h.example"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("API refusal Content-Type %q", ct)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("API refusal body %q: %v", rec.Body, err)
	}
	if body.Error.Code != "https_required" || !strings.Contains(body.Error.Message, "https://h.example/api/v1/bookings") {
		t.Errorf("API refusal body %+v", body)
	}

	r = request("POST", "/book/7", "203.0.113.9:1234", nil)
	r.Host = "h.example"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("page refusal Content-Type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "https://h.example/book/7") {
		t.Errorf("page refusal body %q", rec.Body)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
