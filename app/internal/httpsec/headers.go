package httpsec

import (
	"net/http"
	"path"
	"strings"
)

// Defaults of Options (and the values the headers get when an Options field is empty).
const (
	// DefaultCSP allows only the site's own scripts, styles and images (plus data: images): no
	// inline script or style, no plugins, no framing, no <base> rewriting, forms post only here.
	DefaultCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	// DefaultHSTS is one year including subdomains (no preload: that is a deployment decision
	// that cannot be undone quickly).
	DefaultHSTS = "max-age=31536000; includeSubDomains"
	// DefaultReferrerPolicy sends only the origin to other sites, and nothing on a downgrade.
	DefaultReferrerPolicy = "strict-origin-when-cross-origin"
	// DefaultTokenReferrerPolicy is used on pages with a secret in the URL: the URL goes to the
	// site itself only, nothing at all (not even the origin) leaves for other sites. It is not
	// "no-referrer" on purpose: with no-referrer a browser sends "Origin: null" on the page's own
	// form posts, and browsers without Sec-Fetch-Site (Safari before 16.4) then fail the
	// cross-origin check (net/http.CrossOriginProtection) on e.g. "cancel booking".
	DefaultTokenReferrerPolicy = "same-origin"
	// DefaultPermissionsPolicy switches off powerful features the booking site never uses.
	DefaultPermissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), " +
		"magnetometer=(), microphone=(), payment=(), usb=(), browsing-topics=()"
)

// DefaultTokenPathPrefixes are the paths whose URL carries a manage token (the Referrer-Policy
// there is Options.TokenReferrerPolicy).
var DefaultTokenPathPrefixes = []string{"/manage/", "/booked/", "/api/v1/manage/"}

// DefaultNoStorePrefixes are the paths answered with personal data or a token: admin pages, the
// token pages and the API.
var DefaultNoStorePrefixes = []string{"/admin", "/manage/", "/booked/", "/api/"}

// Options configures Headers. The zero value gives the defaults above and trusts no proxy (so HSTS
// is sent only on direct TLS connections).
type Options struct {
	// CSP is the Content-Security-Policy sent when the handler set none (default DefaultCSP).
	CSP string
	// TrustedProxies decides whether an X-Forwarded-Proto: https is believed (for HSTS).
	TrustedProxies TrustedProxies
	// HSTS is the Strict-Transport-Security value, sent on HTTPS responses only (default DefaultHSTS).
	HSTS string
	// ReferrerPolicy is the default Referrer-Policy (default DefaultReferrerPolicy).
	ReferrerPolicy string
	// TokenPathPrefixes are paths with a secret in the URL (nil: DefaultTokenPathPrefixes; an
	// empty non-nil slice: none).
	TokenPathPrefixes []string
	// TokenReferrerPolicy is forced on TokenPathPrefixes, replacing a handler's own value (default
	// DefaultTokenReferrerPolicy; "no-referrer" is stricter but see DefaultTokenReferrerPolicy).
	TokenReferrerPolicy string
	// PermissionsPolicy is the Permissions-Policy value (default DefaultPermissionsPolicy).
	PermissionsPolicy string
}

func (o Options) withDefaults() Options {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.CSP, DefaultCSP)
	def(&o.HSTS, DefaultHSTS)
	def(&o.ReferrerPolicy, DefaultReferrerPolicy)
	def(&o.TokenReferrerPolicy, DefaultTokenReferrerPolicy)
	def(&o.PermissionsPolicy, DefaultPermissionsPolicy)
	if o.TokenPathPrefixes == nil {
		o.TokenPathPrefixes = DefaultTokenPathPrefixes
	}
	o.TokenPathPrefixes = append([]string(nil), o.TokenPathPrefixes...)
	return o
}

// Headers adds security headers to every response of next. They are filled in when the response
// header is written, and only where the handler set none, so a handler's own
// Content-Security-Policy (or any other of these headers) wins; the exception is Referrer-Policy on
// token paths, which is always TokenReferrerPolicy. Strict-Transport-Security is sent only when the
// request came over HTTPS (directly or as told by a trusted proxy): browsers ignore it over HTTP.
//
// Sent: Content-Security-Policy, Strict-Transport-Security (HTTPS only), X-Content-Type-Options:
// nosniff, Referrer-Policy, Permissions-Policy, Cross-Origin-Opener-Policy: same-origin and
// X-Frame-Options: DENY (for browsers without CSP frame-ancestors).
func Headers(next http.Handler, opts Options) http.Handler {
	o := opts.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		https := IsHTTPS(r, o.TrustedProxies)
		token := hasPathPrefix(r, o.TokenPathPrefixes)
		onHeader(w, r, next, func(h http.Header) {
			setDefault(h, "Content-Security-Policy", o.CSP)
			if https {
				setDefault(h, "Strict-Transport-Security", o.HSTS)
			}
			setDefault(h, "X-Content-Type-Options", "nosniff")
			if token {
				h.Set("Referrer-Policy", o.TokenReferrerPolicy)
			} else {
				setDefault(h, "Referrer-Policy", o.ReferrerPolicy)
			}
			setDefault(h, "Permissions-Policy", o.PermissionsPolicy)
			setDefault(h, "Cross-Origin-Opener-Policy", "same-origin")
			setDefault(h, "X-Frame-Options", "DENY")
		})
	})
}

// NoStore makes every response of next "Cache-Control: no-store", replacing whatever the handler
// set: use it for authenticated pages and pages with a token in the URL, so that neither the
// browser nor a shared cache keeps personal data.
func NoStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		onHeader(w, r, next, setNoStore)
	})
}

// NoStorePaths is NoStore for requests whose (cleaned) path starts with one of prefixes (e.g.
// DefaultNoStorePrefixes); other requests pass through untouched. A prefix without a trailing
// slash also matches longer names ("/admin" matches "/admin/x" and "/administrator"), which only
// errs on the side of not caching.
func NoStorePaths(next http.Handler, prefixes ...string) http.Handler {
	prefixes = append([]string(nil), prefixes...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasPathPrefix(r, prefixes) {
			onHeader(w, r, next, setNoStore)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func setNoStore(h http.Header) { h.Set("Cache-Control", "no-store") }

// setDefault sets key to value unless the handler set it (even to an empty value).
func setDefault(h http.Header, key, value string) {
	if _, ok := h[key]; !ok {
		h.Set(key, value)
	}
}

// cleanPath is r's path as ServeMux would route it (dot segments resolved), keeping a trailing
// slash.
func cleanPath(r *http.Request) string {
	p := r.URL.Path
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

func hasPathPrefix(r *http.Request, prefixes []string) bool {
	if len(prefixes) == 0 {
		return false
	}
	p := cleanPath(r)
	for _, prefix := range prefixes {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// onHeader runs next with a ResponseWriter that calls fix on the header just before it is sent
// (first WriteHeader with a final status, Write or Flush), or after next returns when it wrote
// nothing (net/http then sends the header).
func onHeader(w http.ResponseWriter, r *http.Request, next http.Handler, fix func(http.Header)) {
	hw := &hookWriter{ResponseWriter: w, fix: fix}
	next.ServeHTTP(hw, r)
	hw.apply()
}

type hookWriter struct {
	http.ResponseWriter
	fix  func(http.Header)
	done bool
}

func (w *hookWriter) apply() {
	if !w.done {
		w.done = true
		w.fix(w.ResponseWriter.Header())
	}
}

func (w *hookWriter) WriteHeader(code int) {
	// 1xx informational responses (103 Early Hints) are not the final header; 101 is.
	if code >= 200 || code < 100 || code == http.StatusSwitchingProtocols {
		w.apply()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *hookWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.ResponseWriter.Write(b)
}

// Flush and FlushError send the header too, so streaming handlers get it.
func (w *hookWriter) Flush() { _ = w.FlushError() }

func (w *hookWriter) FlushError() error {
	w.apply()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer (Hijack, deadlines).
func (w *hookWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
