package httpsec

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// request builds a request from peer (RemoteAddr) with the given headers; a header value may be
// a []string for repeated header lines.
func request(method, target, peer string, headers map[string]any) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = peer
	for k, v := range headers {
		switch v := v.(type) {
		case string:
			r.Header.Set(k, v)
		case []string:
			for _, s := range v {
				r.Header.Add(k, s)
			}
		}
	}
	return r
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result
		wantErr []string
	}{
		{in: "", want: ""},
		{in: "  ", want: ""},
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "192.0.2.7", want: "192.0.2.7/32"},
		{in: "2001:db8::7", want: "2001:db8::7/128"},
		{in: " 10.244.0.0/16 , fd00:10:244::/56,192.0.2.7, ", want: "10.244.0.0/16,fd00:10:244::/56,192.0.2.7/32"},
		{in: "10.0.0.1/8", wantErr: []string{`entry 1 "10.0.0.1/8"`, "did you mean 10.0.0.0/8?"}},
		{in: "10.0.0.0/33", wantErr: []string{`entry 1 "10.0.0.0/33"`, "not a CIDR"}},
		{in: "ingress", wantErr: []string{`entry 1 "ingress"`, "not an IP address or CIDR"}},
		{in: "10.0.0.0/8,0.0.0.0/0", wantErr: []string{`entry 2 "0.0.0.0/0"`, "would trust every address"}},
		{in: "::/0", wantErr: []string{"would trust every address"}},
		{in: "fe80::1%eth0", wantErr: []string{"zones"}},
		{in: "::ffff:10.0.0.0/104", wantErr: []string{"IPv4-mapped"}},
		{in: "10.0.0.0/8 192.0.2.0/24", wantErr: []string{"not a CIDR"}}, // space instead of comma
		{in: "bad1,10.0.0.0/8,bad3", wantErr: []string{`entry 1 "bad1"`, `entry 3 "bad3"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTrustedProxies(tt.in)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, got %q", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if !got.Empty() {
					t.Errorf("on error the result must trust nothing, got %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got.Empty() != (tt.want == "") {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestTrustedProxiesContains(t *testing.T) {
	tp := MustParseTrustedProxies("10.0.0.0/8, fd00::/8")
	tests := []struct {
		addr string
		want bool
	}{
		{"10.1.2.3", true},
		{"::ffff:10.1.2.3", true}, // IPv4-mapped, as a dual-stack listener reports it
		{"11.0.0.1", false},
		{"fd12::1", true},
		{"fe80::1", false},
	}
	for _, tt := range tests {
		if got := tp.Contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if tp.Contains(netip.Addr{}) {
		t.Error("the zero Addr must not be trusted")
	}
	if (TrustedProxies{}).Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("the zero TrustedProxies must trust nothing")
	}
}

func TestClientIP(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8, fd00::/8")
	const ingress = "10.0.0.5:34567"
	tests := []struct {
		name string
		peer string
		xff  any // string or []string
		want string
	}{
		{"direct client", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"untrusted peer: X-Forwarded-For ignored", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"untrusted peer claiming a trusted address", "203.0.113.9:5000", "10.0.0.1", "203.0.113.9"},
		{"trusted peer without header", ingress, nil, "10.0.0.5"},
		{"trusted peer", ingress, "203.0.113.9", "203.0.113.9"},
		{"spoof: client prepends a fake address", ingress, "198.51.100.1, 203.0.113.9", "203.0.113.9"},
		{"spoof: client prepends a trusted address", ingress, "10.9.9.9, 203.0.113.9", "203.0.113.9"},
		{"spoof: client sends its own header line", ingress, []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", ingress, "198.51.100.1, 203.0.113.9, 10.1.1.1, 10.2.2.2", "203.0.113.9"},
		{"chain over several header lines", ingress, []string{"198.51.100.1, 203.0.113.9", "10.1.1.1"}, "203.0.113.9"},
		{"all entries trusted: left-most", ingress, "10.3.3.3, 10.1.1.1", "10.3.3.3"},
		{"garbage entry stops the walk", ingress, "unknown", "10.0.0.5"},
		{"garbage left of the client is never reached", ingress, "unknown, 203.0.113.9", "203.0.113.9"},
		{"garbage right of the client: last trusted hop", ingress, "203.0.113.9, garbage, 10.1.1.1", "10.1.1.1"},
		{"empty entries skipped", ingress, " , 203.0.113.9 ,,", "203.0.113.9"},
		{"entry with port", ingress, "203.0.113.9:4711", "203.0.113.9"},
		{"IPv6 entry with port", ingress, "[2001:db8::1]:4711", "2001:db8::1"},
		{"IPv6 entry in brackets", ingress, "[2001:db8::1]", "2001:db8::1"},
		{"IPv4-mapped entry", ingress, "::ffff:203.0.113.9", "203.0.113.9"},
		{"IPv6 trusted peer", "[fd00::5]:443", "2001:db8::7", "2001:db8::7"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.5]:443", "203.0.113.9", "203.0.113.9"},
		{"peer without port", "203.0.113.9", nil, "203.0.113.9"},
		{"unparsable peer", "@", "203.0.113.9", "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]any{}
			if tt.xff != nil {
				h["X-Forwarded-For"] = tt.xff
			}
			got := ClientIP(request("GET", "/", tt.peer, h), trusted)
			if got.String() != tt.want {
				t.Errorf("ClientIP = %s, want %s", got, tt.want)
			}
		})
	}
	// With nothing trusted (the default) no header is ever believed.
	r := request("GET", "/", ingress, map[string]any{"X-Forwarded-For": "203.0.113.9"})
	if got := ClientIP(r, TrustedProxies{}); got.String() != "10.0.0.5" {
		t.Errorf("nothing trusted: ClientIP = %s, want the peer", got)
	}
}

func TestIsHTTPS(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8")
	const ingress, stranger = "10.0.0.5:1234", "203.0.113.9:1234"
	tests := []struct {
		name string
		peer string
		tls  bool
		xfp  any
		want bool
	}{
		{"plain, no header", stranger, false, nil, false},
		{"direct TLS", stranger, true, nil, true},
		{"untrusted https header ignored", stranger, false, "https", false},
		{"untrusted http header ignored on TLS", stranger, true, "http", true},
		{"trusted https", ingress, false, "https", true},
		{"trusted HTTPS upper case", ingress, false, "HTTPS", true},
		{"trusted http", ingress, false, "http", false},
		{"trusted http wins over re-encrypted TLS", ingress, true, "http", false},
		{"trusted without header: the connection decides", ingress, false, nil, false},
		{"trusted without header on TLS", ingress, true, nil, true},
		{"right-most value counts", ingress, false, "http, https", true},
		{"right-most value counts (spoofed left)", ingress, false, "https, http", false},
		{"right-most header line counts", ingress, false, []string{"https", "http"}, false},
		{"unknown scheme", ingress, false, "wss", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]any{}
			if tt.xfp != nil {
				h["X-Forwarded-Proto"] = tt.xfp
			}
			r := request("GET", "/", tt.peer, h)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			} else {
				r.TLS = nil
			}
			if got := IsHTTPS(r, trusted); got != tt.want {
				t.Errorf("IsHTTPS = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClientIPContext(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8")
	var got netip.Addr
	var ok bool
	h := ClientIPContext(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, ok = ClientIPFrom(r.Context())
	}), trusted)
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.0.0.5:1234", "203.0.113.9", "203.0.113.9"},
		{"198.51.100.1:1234", "203.0.113.9", "198.51.100.1"},
	} {
		r := request("GET", "/", tc.peer, map[string]any{"X-Forwarded-For": tc.xff})
		h.ServeHTTP(httptest.NewRecorder(), r)
		if !ok || got.String() != tc.want {
			t.Errorf("peer %s XFF %s: ClientIPFrom = %v %v, want %s", tc.peer, tc.xff, got, ok, tc.want)
		}
		if FromTrustedProxy(r, trusted) != (tc.peer == "10.0.0.5:1234") {
			t.Errorf("FromTrustedProxy(%s) wrong", tc.peer)
		}
	}
	if _, ok := ClientIPFrom(context.Background()); ok {
		t.Error("ClientIPFrom on an empty context reported an address")
	}
}
