package httpsec

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2030, 5, 6, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// limited wraps a 204 handler in the limiter built from l (with clock), failing the test on an
// invalid configuration.
func limited(t *testing.T, l Limits, clock *fakeClock) (http.Handler, *RateLimiter) {
	t.Helper()
	l.Now = clock.Now
	rl, err := NewRateLimiter(l)
	if err != nil {
		t.Fatal(err)
	}
	return rl.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})), rl
}

func send(h http.Handler, method, target, peer string, headers map[string]any) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request(method, target, peer, headers))
	return rec
}

// codes sends n requests and returns their status codes, e.g. "204 204 429".
func codes(h http.Handler, n int, method, target, peer string, headers map[string]any) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(send(h, method, target, peer, headers).Code)
	}
	return strings.Join(s, " ")
}

func repeat(code string, n int) string {
	return strings.TrimSpace(strings.Repeat(code+" ", n))
}

func TestRateLimitBurstThen429ThenRefill(t *testing.T) {
	clock := newClock()
	h, _ := limited(t, Limits{}, clock) // DefaultRules: POST /api/v1/bookings 1/s burst 5
	const client = "203.0.113.9:1234"
	post := func() *httptest.ResponseRecorder { return send(h, "POST", "/api/v1/bookings", client, nil) }

	for i := 1; i <= 5; i++ {
		if rec := post(); rec.Code != http.StatusNoContent {
			t.Fatalf("burst request %d: status %d", i, rec.Code)
		}
	}
	rec := post()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("request 6: status %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "rate_limited" || body.Error.Message == "" {
		t.Errorf("body %q (%v), want the API error shape with code rate_limited", rec.Body, err)
	}

	clock.Advance(500 * time.Millisecond)
	if rec := post(); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("after 0.5 s: status %d Retry-After %q, want 429 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock.Advance(500 * time.Millisecond)
	if got := codes(h, 2, "POST", "/api/v1/bookings", client, nil); got != "204 429" {
		t.Errorf("after 1 s: %s, want one token back", got)
	}
	clock.Advance(time.Hour)
	if got, want := codes(h, 6, "POST", "/api/v1/bookings", client, nil), repeat("204", 5)+" 429"; got != want {
		t.Errorf("after an hour: %s, want %s (the bucket holds at most the burst)", got, want)
	}
}

func TestRateLimitRetryAfterRoundsUp(t *testing.T) {
	clock := newClock()
	h, _ := limited(t, Limits{Rules: []Rule{{Method: "POST", PathPrefix: "/", Rate: 0.1, Burst: 1}}}, clock)
	send(h, "POST", "/x", "192.0.2.1:1", nil)
	clock.Advance(2500 * time.Millisecond)
	rec := send(h, "POST", "/x", "192.0.2.1:1", nil)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "8" {
		t.Errorf("status %d Retry-After %q, want 429 and 8 (7.5 s rounded up)", rec.Code, rec.Header().Get("Retry-After"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("outside /api/ the 429 is plain text, got %q", ct)
	}
}

func TestRateLimitRules(t *testing.T) {
	const a, b = "203.0.113.1:1", "203.0.113.2:1"
	type step struct {
		method, target, peer string
		n                    int
		want                 string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"API reads: burst 20", []step{{"GET", "/api/v1/services", a, 21, repeat("204", 20) + " 429"}}},
		{"HEAD counts as GET", []step{{"GET", "/api/v1/staff", a, 19, repeat("204", 19)}, {"HEAD", "/api/v1/staff", a, 2, "204 429"}}},
		{"reads and bookings are separate buckets", []step{
			{"GET", "/api/v1/services", a, 21, repeat("204", 20) + " 429"},
			{"POST", "/api/v1/bookings", a, 1, "204"},
		}},
		{"web form and API share the booking bucket", []step{
			{"POST", "/api/v1/bookings", a, 3, "204 204 204"},
			{"POST", "/book/7", a, 3, "204 204 429"},
		}},
		{"manage changes share a bucket", []step{
			{"POST", "/api/v1/manage/tok/cancel", a, 3, "204 204 204"},
			{"POST", "/manage/tok/reschedule", a, 3, "204 204 429"},
		}},
		{"clients are separate", []step{
			{"POST", "/api/v1/bookings", a, 6, repeat("204", 5) + " 429"},
			{"POST", "/api/v1/bookings", b, 1, "204"},
		}},
		{"web pages are not limited", []step{{"GET", "/book/7/times", a, 100, repeat("204", 100)}}},
		{"dot segments do not dodge a rule", []step{
			{"POST", "/api/v1/bookings", a, 5, repeat("204", 5)},
			{"POST", "/static/../api/v1/bookings", a, 1, "429"},
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := limited(t, Limits{}, newClock())
			for i, s := range tt.steps {
				r := func() string {
					out := make([]string, s.n)
					for j := range out {
						req := request(s.method, "/", s.peer, nil)
						req.URL.Path = s.target
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						out[j] = fmt.Sprint(rec.Code)
					}
					return strings.Join(out, " ")
				}()
				if r != s.want {
					t.Errorf("step %d (%s %s): %s, want %s", i+1, s.method, s.target, r, s.want)
				}
			}
		})
	}
}

func TestRateLimitClientIdentity(t *testing.T) {
	trusted := MustParseTrustedProxies("10.0.0.0/8")
	const ingress, stranger = "10.0.0.5:1234", "203.0.113.9:1234"
	xff := func(v string) map[string]any { return map[string]any{"X-Forwarded-For": v} }
	rules := []Rule{{Method: "POST", PathPrefix: "/", Rate: 1, Burst: 1}}

	t.Run("untrusted peer cannot rotate X-Forwarded-For", func(t *testing.T) {
		h, _ := limited(t, Limits{Rules: rules, TrustedProxies: trusted}, newClock())
		got := []int{
			send(h, "POST", "/x", stranger, xff("198.51.100.1")).Code,
			send(h, "POST", "/x", stranger, xff("198.51.100.2")).Code,
		}
		if got[1] != http.StatusTooManyRequests {
			t.Errorf("codes %v: a new X-Forwarded-For from an untrusted peer gave a new bucket", got)
		}
	})
	t.Run("behind the trusted ingress each client has its bucket", func(t *testing.T) {
		h, _ := limited(t, Limits{Rules: rules, TrustedProxies: trusted}, newClock())
		if c := send(h, "POST", "/x", ingress, xff("198.51.100.1")).Code; c != 204 {
			t.Errorf("client 1: %d", c)
		}
		if c := send(h, "POST", "/x", ingress, xff("198.51.100.2")).Code; c != 204 {
			t.Errorf("client 2: %d (clients behind the ingress must not share its bucket)", c)
		}
	})
	t.Run("prepending a fake address does not give a new bucket", func(t *testing.T) {
		h, _ := limited(t, Limits{Rules: rules, TrustedProxies: trusted}, newClock())
		send(h, "POST", "/x", ingress, xff("198.51.100.1"))
		if c := send(h, "POST", "/x", ingress, xff("192.0.2.77, 198.51.100.1")).Code; c != 429 {
			t.Errorf("status %d, want 429", c)
		}
	})
	t.Run("IPv6 clients are grouped by /64", func(t *testing.T) {
		h, _ := limited(t, Limits{Rules: rules}, newClock())
		if got := []int{
			send(h, "POST", "/x", "[2001:db8::1]:1", nil).Code,
			send(h, "POST", "/x", "[2001:db8::2]:1", nil).Code,
			send(h, "POST", "/x", "[2001:db8:0:1::1]:1", nil).Code,
		}; fmt.Sprint(got) != "[204 429 204]" {
			t.Errorf("codes %v, want [204 429 204]", got)
		}
	})
	t.Run("IPv6PrefixBits 128 limits each address", func(t *testing.T) {
		h, _ := limited(t, Limits{Rules: rules, IPv6PrefixBits: 128}, newClock())
		if got := []int{
			send(h, "POST", "/x", "[2001:db8::1]:1", nil).Code,
			send(h, "POST", "/x", "[2001:db8::2]:1", nil).Code,
		}; fmt.Sprint(got) != "[204 204]" {
			t.Errorf("codes %v, want [204 204]", got)
		}
	})
}

func TestRateLimitMemoryBound(t *testing.T) {
	clock := newClock()
	rules := []Rule{{Method: "POST", PathPrefix: "/", Rate: 1, Burst: 1}}
	h, rl := limited(t, Limits{Rules: rules, MaxClients: 3}, clock)
	peer := func(i int) string { return fmt.Sprintf("198.51.100.%d:1", i) }

	for i := 1; i <= 100; i++ {
		if c := send(h, "POST", "/x", peer(i), nil).Code; c != 204 {
			t.Fatalf("client %d: %d", i, c)
		}
		if n := rl.Len(); n > 3 {
			t.Fatalf("after client %d: %d buckets, want at most 3", i, n)
		}
	}
	// The most recent clients are still limited; the oldest was forgotten (a fresh burst: the
	// price of the bound).
	if c := send(h, "POST", "/x", peer(100), nil).Code; c != 429 {
		t.Errorf("recent client: %d, want 429", c)
	}
	if c := send(h, "POST", "/x", peer(1), nil).Code; c != 204 {
		t.Errorf("evicted client: %d, want 204", c)
	}
}

func TestRateLimitIdleEviction(t *testing.T) {
	clock := newClock()
	rules := []Rule{
		{Name: "slow", Method: "POST", PathPrefix: "/slow", Rate: 0.01, Burst: 2},
		{Name: "fast", Method: "POST", PathPrefix: "/fast", Rate: 1, Burst: 5},
	}
	h, rl := limited(t, Limits{Rules: rules}, clock)

	// One client empties a slow bucket; five others take one token each from fast ones.
	if got := codes(h, 3, "POST", "/slow", "192.0.2.1:1", nil); got != "204 204 429" {
		t.Fatalf("heavy client: %s", got)
	}
	for i := 1; i <= 5; i++ {
		send(h, "POST", "/fast", fmt.Sprintf("198.51.100.%d:1", i), nil)
	}
	if n := rl.Len(); n != 6 {
		t.Fatalf("%d buckets, want 6", n)
	}

	// Before the sweep interval nothing is dropped.
	clock.Advance(5 * time.Second)
	send(h, "GET", "/not-limited", "192.0.2.99:1", nil) // no rule: touches nothing
	send(h, "POST", "/fast", "192.0.2.2:1", nil)
	if n := rl.Len(); n != 7 {
		t.Errorf("%d buckets before the sweep interval, want 7", n)
	}

	// After it the light clients' buckets are full again and dropped; the heavy client's is not
	// (0.1 of 2 tokens) and must be kept, or the client would get a fresh burst.
	clock.Advance(6 * time.Second)
	send(h, "POST", "/fast", "192.0.2.3:1", nil)
	if n := rl.Len(); n != 2 {
		t.Errorf("%d buckets, want 2 (the heavy client's and the newest)", n)
	}
	if c := send(h, "POST", "/slow", "192.0.2.1:1", nil).Code; c != 429 {
		t.Errorf("heavy client after the sweep: %d, want still 429", c)
	}

	// Once everyone is quiet long enough, a single request clears the table down to its own bucket.
	clock.Advance(time.Hour)
	send(h, "POST", "/fast", "192.0.2.4:1", nil)
	if n := rl.Len(); n != 1 {
		t.Errorf("%d buckets after a quiet hour, want 1", n)
	}
}

func TestRateLimitConcurrent(t *testing.T) {
	clock := newClock() // frozen: no refill
	rules := []Rule{{Method: "POST", PathPrefix: "/", Rate: 1, Burst: 100}}
	h, _ := limited(t, Limits{Rules: rules}, clock)
	var ok, limitedN atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				switch send(h, "POST", "/x", "192.0.2.1:1", nil).Code {
				case 204:
					ok.Add(1)
				case 429:
					limitedN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 100 || limitedN.Load() != 300 {
		t.Errorf("%d allowed, %d limited; want 100 and 300", ok.Load(), limitedN.Load())
	}
}

func TestRateLimitOnLimited(t *testing.T) {
	var names []string
	h, _ := limited(t, Limits{OnLimited: func(r *http.Request, rule string) { names = append(names, rule) }}, newClock())
	codes(h, 7, "POST", "/book/7", "192.0.2.1:1", nil)
	if fmt.Sprint(names) != "[create-booking create-booking]" {
		t.Errorf("OnLimited got %v", names)
	}
}

func TestRateLimitConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		l    Limits
		want []string
	}{
		{"no slash", Limits{Rules: []Rule{{PathPrefix: "api", Rate: 1, Burst: 1}}}, []string{"rule 1", `PathPrefix "api"`}},
		{"zero rate", Limits{Rules: []Rule{{PathPrefix: "/", Burst: 1}}}, []string{"Rate 0"}},
		{"negative rate", Limits{Rules: []Rule{{PathPrefix: "/", Rate: -1, Burst: 1}}}, []string{"Rate -1"}},
		{"zero burst", Limits{Rules: []Rule{{Name: "x", PathPrefix: "/", Rate: 1}}}, []string{"rule 1 (x)", "Burst 0"}},
		{"shared name, other limits", Limits{Rules: []Rule{
			{Name: "x", PathPrefix: "/a", Rate: 1, Burst: 1},
			{Name: "x", PathPrefix: "/b", Rate: 2, Burst: 1},
		}}, []string{"rule 2 (x)", "shares its name"}},
		{"negative MaxClients", Limits{MaxClients: -1}, []string{"MaxClients -1"}},
		{"IPv6 bits", Limits{IPv6PrefixBits: 129}, []string{"IPv6PrefixBits 129"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRateLimiter(tt.l)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("RateLimit with invalid Limits must panic")
		}
	}()
	RateLimit(http.NotFoundHandler(), Limits{MaxClients: -1})
}

func TestRateLimitNoRules(t *testing.T) {
	h, rl := limited(t, Limits{Rules: []Rule{}}, newClock())
	if got := codes(h, 50, "POST", "/api/v1/bookings", "192.0.2.1:1", nil); got != repeat("204", 50) {
		t.Errorf("an empty rule list must limit nothing: %s", got)
	}
	if rl.Len() != 0 {
		t.Errorf("%d buckets", rl.Len())
	}
}
