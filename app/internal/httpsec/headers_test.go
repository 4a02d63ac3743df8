package httpsec

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

var securityHeaders = []string{
	"Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options",
	"Referrer-Policy", "Permissions-Policy", "Cross-Origin-Opener-Policy", "X-Frame-Options",
}

func okHandler(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

func TestHeaders(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8")
	const ingress, stranger = "10.0.0.5:1234", "203.0.113.9:1234"
	defaults := map[string]string{
		"Content-Security-Policy":    DefaultCSP,
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "strict-origin-when-cross-origin",
		"Permissions-Policy":         DefaultPermissionsPolicy,
		"Cross-Origin-Opener-Policy": "same-origin",
		"X-Frame-Options":            "DENY",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range defaults {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	hsts := map[string]string{"Strict-Transport-Security": "max-age=31536000; includeSubDomains"}

	tests := []struct {
		name    string
		opts    Options
		path    string
		peer    string
		tls     bool
		xfp     string
		handler http.HandlerFunc
		want    map[string]string // the security headers expected; absent ones must be missing
	}{
		{name: "plain HTTP: no HSTS", path: "/", peer: stranger, handler: okHandler, want: defaults},
		{name: "direct TLS: HSTS", path: "/", peer: stranger, tls: true, handler: okHandler, want: with(hsts)},
		{name: "trusted proxy says https: HSTS", opts: Options{TrustedProxies: trusted}, path: "/", peer: ingress, xfp: "https", handler: okHandler, want: with(hsts)},
		{name: "trusted proxy says http: no HSTS", opts: Options{TrustedProxies: trusted}, path: "/", peer: ingress, xfp: "http", handler: okHandler, want: defaults},
		{name: "untrusted peer says https: no HSTS", opts: Options{TrustedProxies: trusted}, path: "/", peer: stranger, xfp: "https", handler: okHandler, want: defaults},
		{name: "nothing trusted, header says https: no HSTS", path: "/", peer: ingress, xfp: "https", handler: okHandler, want: defaults},
		{
			name: "handler's CSP is not overridden", path: "/", peer: stranger,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Security-Policy", "default-src 'none'")
				okHandler(w, r)
			},
			want: with(map[string]string{"Content-Security-Policy": "default-src 'none'"}),
		},
		{
			name: "handler's other headers win too", path: "/", peer: stranger,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Frame-Options", "SAMEORIGIN")
				w.Header().Set("Referrer-Policy", "same-origin")
				okHandler(w, r)
			},
			want: with(map[string]string{"X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "same-origin"}),
		},
		{
			name: "token page: Referrer-Policy forced", path: "/manage/secret-token", peer: stranger,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Referrer-Policy", "unsafe-url")
				okHandler(w, r)
			},
			want: with(map[string]string{"Referrer-Policy": "same-origin"}),
		},
		{name: "booked page is a token page", path: "/booked/tok", peer: stranger, handler: okHandler, want: with(map[string]string{"Referrer-Policy": "same-origin"})},
		{name: "API manage is a token path", path: "/api/v1/manage/tok", peer: stranger, handler: okHandler, want: with(map[string]string{"Referrer-Policy": "same-origin"})},
		{name: "token path after dot segments", path: "/static/../manage/tok", peer: stranger, handler: okHandler, want: with(map[string]string{"Referrer-Policy": "same-origin"})},
		{name: "no token prefixes configured", opts: Options{TokenPathPrefixes: []string{}}, path: "/manage/tok", peer: stranger, handler: okHandler, want: defaults},
		{
			name: "no-referrer configured for token pages", opts: Options{TokenReferrerPolicy: "no-referrer"},
			path: "/manage/tok", peer: stranger, handler: okHandler, want: with(map[string]string{"Referrer-Policy": "no-referrer"}),
		},
		{
			name: "custom values", path: "/", peer: stranger, tls: true, handler: okHandler,
			opts: Options{CSP: "default-src 'none'", HSTS: "max-age=60", ReferrerPolicy: "no-referrer", PermissionsPolicy: "camera=()"},
			want: with(map[string]string{
				"Content-Security-Policy": "default-src 'none'", "Strict-Transport-Security": "max-age=60",
				"Referrer-Policy": "no-referrer", "Permissions-Policy": "camera=()",
			}),
		},
		{name: "handler writes nothing", path: "/", peer: stranger, handler: func(http.ResponseWriter, *http.Request) {}, want: defaults},
		{name: "WriteHeader only", path: "/", peer: stranger, handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, want: defaults},
		{name: "http.Error", path: "/", peer: stranger, handler: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, want: defaults},
		{name: "http.NotFound", path: "/nope", peer: stranger, handler: http.NotFound, want: defaults},
		{
			name: "streaming with Flush", path: "/", peer: stranger,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				if err := http.NewResponseController(w).Flush(); err != nil {
					panic(err)
				}
				w.Header().Set("Content-Security-Policy", "too late")
			},
			want: defaults,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("GET", tt.path, tt.peer, nil)
			r.URL.Path = tt.path // keep dot segments
			if tt.xfp != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfp)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			Headers(tt.handler, tt.opts).ServeHTTP(rec, r)
			for _, k := range securityHeaders {
				got, want := rec.Result().Header.Values(k), tt.want[k]
				switch {
				case want == "" && len(got) > 0:
					t.Errorf("%s = %q, want none", k, got)
				case want != "" && (len(got) != 1 || got[0] != want):
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestHeadersOverTheWire checks a real server: informational responses (103) are not the final
// header, so a CSP the handler sets after sending one still wins; and a hijacking handler works.
func TestHeadersOverTheWire(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</static/style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		// Like web.server: a policy of its own unless one is set already.
		if w.Header().Get("Content-Security-Policy") == "" {
			w.Header().Set("Content-Security-Policy", "default-src 'none'")
		}
		okHandler(w, r)
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		buf.Flush()
	})
	srv := httptest.NewServer(Headers(mux, Options{}))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/early")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Content-Security-Policy"); got != "default-src 'none'" {
		t.Errorf("CSP after 103 = %q, want the handler's", got)
	}
	if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q", got)
	}

	res, err = http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hi" {
		t.Errorf("hijacked body = %q", body)
	}
}

func TestNoStore(t *testing.T) {
	publicCache := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		okHandler(w, r)
	}
	tests := []struct {
		name string
		h    http.Handler
		path string
		want string
	}{
		{"NoStore replaces the handler's caching", NoStore(http.HandlerFunc(publicCache)), "/static/x.css", "no-store"},
		{"NoStore when the handler sets nothing", NoStore(http.HandlerFunc(okHandler)), "/", "no-store"},
		{"NoStore on an error", NoStore(http.NotFoundHandler()), "/", "no-store"},
		{"NoStorePaths: admin", NoStorePaths(http.HandlerFunc(publicCache), DefaultNoStorePrefixes...), "/admin/calendar", "no-store"},
		{"NoStorePaths: admin root", NoStorePaths(http.HandlerFunc(publicCache), DefaultNoStorePrefixes...), "/admin", "no-store"},
		{"NoStorePaths: manage", NoStorePaths(http.HandlerFunc(publicCache), DefaultNoStorePrefixes...), "/manage/tok", "no-store"},
		{"NoStorePaths: booked", NoStorePaths(http.HandlerFunc(publicCache), DefaultNoStorePrefixes...), "/booked/tok", "no-store"},
		{"NoStorePaths: API", NoStorePaths(http.HandlerFunc(publicCache), DefaultNoStorePrefixes...), "/api/v1/services", "no-store"},
		{"NoStorePaths: static untouched", NoStorePaths(http.HandlerFunc(publicCache), DefaultNoStorePrefixes...), "/static/style.css", "public, max-age=3600"},
		{"NoStorePaths: home untouched", NoStorePaths(http.HandlerFunc(okHandler), DefaultNoStorePrefixes...), "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if got := rec.Result().Header.Get("Cache-Control"); got != tt.want {
				t.Errorf("Cache-Control = %q, want %q", got, tt.want)
			}
		})
	}
}
