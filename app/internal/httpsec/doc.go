// Package httpsec is Slotbook's HTTP security middleware (OWASP ASVS 5.0 level 2; GDPR TOM §4
// transport encryption, §10 availability): security headers, no-store caching for personal data,
// the redirect to HTTPS, client addresses behind a trusted proxy, and per-client rate limits.
//
// Wiring, outermost first (metrics.Instrument takes the mux itself, so it stays innermost):
//
//	trusted, err := httpsec.ParseTrustedProxies(os.Getenv("SLOTBOOK_TRUSTED_PROXIES"))
//	// err: a configuration error naming the bad entry
//	var h http.Handler = m.Instrument(mux)
//	h = httpsec.RateLimit(h, httpsec.Limits{TrustedProxies: trusted})
//	h = httpsec.NoStorePaths(h, httpsec.DefaultNoStorePrefixes...)
//	h = httpsec.HTTPSRedirect(h, trusted, httpsec.ForBaseURL(cfg.BaseURL))
//	h = httpsec.Headers(h, httpsec.Options{TrustedProxies: trusted})
//
// Headers is outermost so that redirects, 429s and every error carry the headers too; the redirect
// comes before the rate limit so plain-HTTP requests cost no tokens. SLOTBOOK_TRUSTED_PROXIES is
// a comma-separated list of CIDRs/IPs of the ingress controller (unset: trust nothing). Behind a
// TLS-terminating ingress it must be set, or HTTPSRedirect sees every request as plain HTTP and
// redirects in a loop.
package httpsec
