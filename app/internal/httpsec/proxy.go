package httpsec

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies is the set of peers (the ingress controller) whose X-Forwarded-For and
// X-Forwarded-Proto headers are believed. The zero value trusts nothing: forwarding headers are
// then ignored and the TCP peer is the client.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies reads a comma-separated list of CIDRs and single IP addresses, e.g.
// "10.244.0.0/16, fd00:10:244::/56, 192.0.2.7". An empty (or all-blank) string trusts nothing.
// Blank entries (a trailing comma) are skipped. Rejected, with the entry named in the error:
// unparsable entries, CIDRs with host bits set (10.0.0.1/8: write 10.0.0.0/8), zones, IPv4-mapped
// IPv6 forms and /0 (trusting every address would let any client forge its address).
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var t TrustedProxies
	var errs []error
	for i, raw := range strings.Split(s, ",") {
		entry := strings.TrimSpace(raw)
		if entry == "" {
			continue
		}
		p, err := parseTrustedEntry(entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted proxies: entry %d %q: %w", i+1, entry, err))
			continue
		}
		t.prefixes = append(t.prefixes, p)
	}
	if len(errs) > 0 {
		return TrustedProxies{}, errors.Join(errs...)
	}
	return t, nil
}

// MustParseTrustedProxies is ParseTrustedProxies for constants in tests and examples.
func MustParseTrustedProxies(s string) TrustedProxies {
	t, err := ParseTrustedProxies(s)
	if err != nil {
		panic(err)
	}
	return t
}

func parseTrustedEntry(entry string) (netip.Prefix, error) {
	if strings.Contains(entry, "%") {
		return netip.Prefix{}, errors.New("zones (%...) are not allowed")
	}
	var p netip.Prefix
	if strings.Contains(entry, "/") {
		var err error
		p, err = netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, errors.New("not a CIDR (want e.g. 10.244.0.0/16 or fd00::/64)")
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("host bits are set (did you mean %s?)", p.Masked())
		}
	} else {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address or CIDR (want e.g. 10.0.0.7 or 10.244.0.0/16)")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, errors.New("IPv4-mapped IPv6 form: write the IPv4 address or CIDR")
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, errors.New("/0 would trust every address, so any client could forge X-Forwarded-For; list the ingress controller's network instead")
	}
	return p, nil
}

// Contains reports whether a is a trusted proxy (IPv4-mapped IPv6 addresses count as IPv4).
func (t TrustedProxies) Contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Empty reports whether nothing is trusted.
func (t TrustedProxies) Empty() bool { return len(t.prefixes) == 0 }

// String lists the trusted networks, comma-separated (the form ParseTrustedProxies reads).
func (t TrustedProxies) String() string {
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// peerAddr is the TCP peer of r (RemoteAddr), or the zero Addr when it cannot be parsed (e.g. a
// Unix socket).
func peerAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// fromTrustedProxy reports whether r's TCP peer is a trusted proxy.
func fromTrustedProxy(r *http.Request, trusted TrustedProxies) bool {
	return trusted.Contains(peerAddr(r))
}

// ClientIP is the address of the client that made r: the TCP peer, unless the peer is a trusted
// proxy, in which case it is the right-most X-Forwarded-For entry that is not itself a trusted
// proxy. Entries to the left of that one were written by the client (or proxies it chose) and are
// never believed, so prepending a fake address gains nothing. If every entry is trusted (a request
// from inside the trusted network) the left-most one is returned; an unparsable entry ends the
// walk (the last trusted hop is returned). The result is unmapped (IPv4 as IPv4) and has no zone;
// it is the zero Addr only when RemoteAddr itself cannot be parsed.
//
// The address is personal data (GDPR): use it for rate limiting and abuse handling, and do not log
// it without a purpose and retention period.
func ClientIP(r *http.Request, trusted TrustedProxies) netip.Addr {
	peer := peerAddr(r)
	if !trusted.Contains(peer) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			var entry string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				entry, v = v, ""
			}
			entry = strings.TrimSpace(entry)
			if entry != "" {
				a, ok := parseForwardedAddr(entry)
				if !ok {
					return client
				}
				client = a
				if !trusted.Contains(a) {
					return a
				}
			}
			if v == "" {
				break
			}
		}
	}
	return client
}

// parseForwardedAddr reads one X-Forwarded-For entry: an address, optionally with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some proxies write.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// IsHTTPS reports whether the client used HTTPS. When the peer is a trusted proxy and sent
// X-Forwarded-Proto, that decides (the proxy may re-encrypt a plain-HTTP request towards the app);
// otherwise the connection itself decides (r.TLS). Of several values (comma-separated or repeated
// headers) the right-most counts: it is the one the trusted peer itself wrote. X-Forwarded-Proto
// from an untrusted peer is ignored. The standard Forwarded header (RFC 7239) is not read.
func IsHTTPS(r *http.Request, trusted TrustedProxies) bool {
	if proto, ok := forwardedProto(r, trusted); ok {
		return strings.EqualFold(proto, "https")
	}
	return r.TLS != nil
}

// forwardedProto is the right-most X-Forwarded-Proto value, when the peer is trusted and sent one.
func forwardedProto(r *http.Request, trusted TrustedProxies) (string, bool) {
	values := r.Header.Values("X-Forwarded-Proto")
	if len(values) == 0 || !fromTrustedProxy(r, trusted) {
		return "", false
	}
	last := values[len(values)-1]
	if j := strings.LastIndexByte(last, ','); j >= 0 {
		last = last[j+1:]
	}
	return strings.TrimSpace(last), true
}
