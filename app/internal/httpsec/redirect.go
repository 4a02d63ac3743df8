package httpsec

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// DefaultExemptPaths are answered over plain HTTP without a redirect: kubelet probes call them on
// the pod's address, without TLS and without a proxy.
var DefaultExemptPaths = []string{"/healthz", "/readyz"}

// RedirectOption configures HTTPSRedirect.
type RedirectOption func(*redirectConfig)

type redirectConfig struct {
	disabled bool
	host     string
	exempt   map[string]bool
}

// RedirectDisabled turns the redirect off when disabled is true (local development over
// http://localhost); the handler then passes every request through.
func RedirectDisabled(disabled bool) RedirectOption {
	return func(c *redirectConfig) { c.disabled = disabled }
}

// CanonicalHost redirects to host (e.g. "booking.example.com", with a port if not 443) instead of
// the request's Host header, so a forged Host cannot turn the (cacheable) 308 into a redirect to
// another site.
func CanonicalHost(host string) RedirectOption {
	return func(c *redirectConfig) { c.host = host }
}

// ForBaseURL configures the redirect from the public base URL (SLOTBOOK_BASE_URL): an http://
// base URL disables it (local development); an https:// one makes its host the CanonicalHost.
func ForBaseURL(base *url.URL) RedirectOption {
	return func(c *redirectConfig) {
		if base == nil {
			return
		}
		switch strings.ToLower(base.Scheme) {
		case "http":
			c.disabled = true
		case "https":
			c.host = base.Host
		}
	}
}

// ExemptPaths replaces DefaultExemptPaths: exact paths served over plain HTTP.
func ExemptPaths(paths ...string) RedirectOption {
	return func(c *redirectConfig) {
		c.exempt = make(map[string]bool, len(paths))
		for _, p := range paths {
			c.exempt[p] = true
		}
	}
}

// HTTPSRedirect sends clients that used plain HTTP to HTTPS. Whether a request is HTTPS is decided
// by IsHTTPS: X-Forwarded-Proto from a trusted proxy, otherwise whether the connection itself is
// TLS; X-Forwarded-* from other peers is ignored. GET and HEAD are answered 308 Permanent Redirect
// to https://host/path?query. Other methods get 400 and are not redirected: their body has already
// crossed the network in clear, and a silent redirect would hide the misconfigured client (the
// browser pages never post over HTTP: their GETs are redirected first). Exempt paths
// (DefaultExemptPaths) pass through.
//
// Behind a TLS-terminating ingress the ingress MUST be in trusted: otherwise every request looks
// like plain HTTP and is redirected forever.
func HTTPSRedirect(next http.Handler, trusted TrustedProxies, opts ...RedirectOption) http.Handler {
	c := redirectConfig{}
	ExemptPaths(DefaultExemptPaths...)(&c)
	for _, o := range opts {
		o(&c)
	}
	if c.disabled {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsHTTPS(r, trusted) || c.exempt[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		host := c.host
		if host == "" {
			var ok bool
			if host, ok = redirectHost(r.Host); !ok {
				writeError(w, r, DefaultJSONPrefix, http.StatusBadRequest, "bad_host", "The Host header is not valid.")
				return
			}
		}
		target := "https://" + host + requestPath(r)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeError(w, r, DefaultJSONPrefix, http.StatusBadRequest, "https_required",
				fmt.Sprintf("This site is served over HTTPS only: send the request to %s", target))
			return
		}
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// requestPath is r's escaped path and query ("/" for "*" and other non-path targets).
func requestPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		p = "/"
	}
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		p += "?" + r.URL.RawQuery
	}
	return p
}

// redirectHost is the Host header without its port (the HTTPS port is the default one),
// lower-cased, if it is a plausible DNS name or IP literal.
func redirectHost(h string) (string, bool) {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if h == "" {
		return "", false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		if a.Is6() {
			return "[" + a.String() + "]", true
		}
		return a.String(), true
	}
	if len(h) > 253 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return "", false
		}
	}
	return strings.ToLower(h), true
}
