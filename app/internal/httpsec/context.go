package httpsec

import (
	"context"
	"net/http"
	"net/netip"
)

type ctxKey int

const clientIPKey ctxKey = iota

// WithClientIP returns ctx carrying the client's address (as ClientIP found it), so that handlers
// further in (per-IP login backoff, abuse handling) use the same address as the rate limits.
func WithClientIP(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey, a)
}

// ClientIPFrom is the address of WithClientIP, and whether there was one.
func ClientIPFrom(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(clientIPKey).(netip.Addr)
	return a, ok && a.IsValid()
}

// ClientIPContext puts ClientIP(r, trusted) into every request's context (see ClientIPFrom).
func ClientIPContext(next http.Handler, trusted TrustedProxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithClientIP(r.Context(), ClientIP(r, trusted))))
	})
}

// FromTrustedProxy reports whether r's TCP peer is one of trusted (e.g. to believe other headers
// only the ingress controller sets, such as X-Request-Id).
func FromTrustedProxy(r *http.Request, trusted TrustedProxies) bool {
	return fromTrustedProxy(r, trusted)
}
