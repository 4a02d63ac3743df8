package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/config"
	"github.com/slotbook/slotbook/app/internal/httpsec"
)

// requestIDHeader carries the request id: accepted from a trusted proxy, echoed in every response.
const requestIDHeader = "X-Request-Id"

// loginPath is the login form's POST target (served by the web package).
const loginPath = "/account/login"

// noStorePrefixes are answered "Cache-Control: no-store": the token pages (the staff calendar
// feeds too), the API and the authenticated areas (admin pages and the account pages: login, MFA
// enrolment, sessions).
var noStorePrefixes = append([]string{"/account", "/calendar/"}, httpsec.DefaultNoStorePrefixes...)

// rateRules are the per-client limits (IPv6 clients per /64). The first matching rule applies;
// health endpoints and web pages (GET) match none.
//   - login: POST /account/login (and its sub-steps such as an MFA code): bursts of 10, then one
//     every 6 s (10 per minute). Per-account backoff is the account service's job; this bounds
//     what one address can try across accounts.
//   - availability: GET /api/v1/availability, the most expensive read: 5/s, bursts of 20.
//   - calendar feeds: GET /calendar/{token}.ics (a token lookup and a query per request; calendar
//     apps poll every 15 minutes or so): 1/s, bursts of 10, so nobody can guess tokens at speed.
//   - then httpsec.DefaultRules: creating a booking (POST /api/v1/bookings and the web form
//     POST /book/...) 1/s with bursts of 5; changing a booking with its token 1/s, bursts of 5;
//     other API reads 10/s, bursts of 20.
func rateRules() []httpsec.Rule {
	return append([]httpsec.Rule{
		{Name: "login", Method: http.MethodPost, PathPrefix: loginPath, Rate: 1.0 / 6, Burst: 10},
		{Name: "availability", Method: http.MethodGet, PathPrefix: "/api/v1/availability", Rate: 5, Burst: 20},
		{Name: "calendar-feed", Method: http.MethodGet, PathPrefix: "/calendar/", Rate: 1, Burst: 10},
	}, httpsec.DefaultRules()...)
}

// securityChain wraps the app's handler (metrics.Instrument(mux)) in the HTTP security middleware,
// outermost first:
//
//	request id → client IP → security headers → HTTPS redirect → no-store → rate limits → app
//
// The request id is outermost so that every answer (redirects and 429s included) carries it, and
// every log line written with the request's context names it. The headers set here are defaults:
// a handler's own Content-Security-Policy (or any other of them) wins, except Referrer-Policy on
// token pages. The redirect is on only for an https:// SLOTBOOK_BASE_URL with trusted proxies: the
// app itself never terminates TLS, so without a trusted ingress telling it the scheme every request
// would look like plain HTTP and be redirected in a loop.
func securityChain(next http.Handler, cfg *config.Config, logger *slog.Logger) http.Handler {
	trusted := cfg.TrustedProxies
	h := httpsec.RateLimit(next, httpsec.Limits{
		Rules:          rateRules(),
		TrustedProxies: trusted,
		OnLimited: func(r *http.Request, rule string) {
			// No address and no path: both may be personal data or carry a manage token.
			logger.InfoContext(r.Context(), "rate limited", "rule", rule, "method", r.Method)
		},
	})
	h = httpsec.NoStorePaths(h, noStorePrefixes...)
	https := cfg.BaseURL != nil && strings.EqualFold(cfg.BaseURL.Scheme, "https")
	redirect := []httpsec.RedirectOption{httpsec.ForBaseURL(cfg.BaseURL)} // http:// base URL: off
	if https && trusted.Empty() {
		redirect = append(redirect, httpsec.RedirectDisabled(true))
		logger.Warn("HTTPS redirect and HSTS are off: " + config.EnvTrustedProxies + " is empty, so the app cannot " +
			"tell which requests reached the ingress over HTTPS; set it to the ingress controller's addresses")
	}
	h = httpsec.HTTPSRedirect(h, trusted, redirect...)
	h = httpsec.Headers(h, httpsec.Options{TrustedProxies: trusted})
	h = httpsec.ClientIPContext(h, trusted)
	return requestID(h, trusted)
}

// requestID gives every request an id: the one a trusted proxy sent in X-Request-Id when it is
// sane, a new random one otherwise (a client must not be able to choose the id that links log
// lines and audit entries). The id goes into the context (audit.WithRequestID, which audit entries
// and logs read) and back in the response's X-Request-Id.
func requestID(next http.Handler, trusted httpsec.TrustedProxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if httpsec.FromTrustedProxy(r, trusted) {
			if v := r.Header.Get(requestIDHeader); saneRequestID(v) {
				id = v
			}
		}
		if id == "" {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(audit.WithRequestID(r.Context(), id)))
	})
}

// saneRequestID accepts ids such as nginx's 32 hex digits, UUIDs and Traefik/Envoy ids: 1 to 128
// letters, digits and . _ : -
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID is 128 random bits in hex (the form nginx's $request_id has).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// requestIDLogs adds request_id to every record logged with a request's context
// (logger.InfoContext(r.Context(), ...)).
func requestIDLogs(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(requestIDHandler); ok {
		return l
	}
	return slog.New(requestIDHandler{l.Handler()})
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := audit.RequestIDFrom(ctx); id != "" {
		rec = rec.Clone()
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// serveLogger is logger with request ids (requestIDLogs), made the default too: the API logs
// through slog.Default().
func serveLogger(logger *slog.Logger) *slog.Logger {
	logger = requestIDLogs(logger)
	slog.SetDefault(logger)
	return logger
}
