package httpsec

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule limits the requests that match Method and PathPrefix to Rate per second per client, with
// bursts of up to Burst (a token bucket).
type Rule struct {
	// Name names the bucket. Rules with the same Name share one bucket per client (and must have
	// the same Rate and Burst), e.g. booking through the API and through the web form. Default:
	// Method + " " + PathPrefix.
	Name string
	// Method is the request method; "" matches every method, "GET" also matches HEAD.
	Method string
	// PathPrefix is matched against the cleaned request path; it must start with "/".
	PathPrefix string
	// Rate is the sustained rate in requests per second (> 0).
	Rate float64
	// Burst is how many requests a client may make at once (>= 1).
	Burst int
}

// DefaultRules limits the public booking API, and the web forms that do the same, per client IP:
//   - creating a booking (POST /api/v1/bookings, POST /book/...): 1/s, burst 5, one shared bucket;
//   - changing a booking with its token (other API POSTs, POST /manage/...): 1/s, burst 5, shared;
//   - reading the API (GET and HEAD /api/...): 10/s, burst 20.
//
// Web pages (GET) and static files are not limited.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "create-booking", Method: http.MethodPost, PathPrefix: "/api/v1/bookings", Rate: 1, Burst: 5},
		{Name: "create-booking", Method: http.MethodPost, PathPrefix: "/book/", Rate: 1, Burst: 5},
		{Name: "change-booking", Method: http.MethodPost, PathPrefix: "/api/", Rate: 1, Burst: 5},
		{Name: "change-booking", Method: http.MethodPost, PathPrefix: "/manage/", Rate: 1, Burst: 5},
		{Name: "api-read", Method: http.MethodGet, PathPrefix: "/api/", Rate: 10, Burst: 20},
	}
}

// Defaults of Limits.
const (
	DefaultMaxClients     = 10000
	DefaultIPv6PrefixBits = 64
)

// Limits configures RateLimit.
type Limits struct {
	// Rules are tried in order; the first that matches a request applies; requests no rule matches
	// are not limited. nil: DefaultRules().
	Rules []Rule
	// TrustedProxies decides which X-Forwarded-For is believed (see ClientIP).
	TrustedProxies TrustedProxies
	// MaxClients bounds the number of buckets kept (default DefaultMaxClients, ~200 bytes each).
	// At the bound the least recently used bucket is dropped, which gives that client a fresh
	// burst: memory stays bounded at the price of leniency under a very wide attack.
	MaxClients int
	// IPv6PrefixBits groups IPv6 clients by network (default 64: one end site usually has a /64
	// and can pick any address in it). 128 limits each address separately.
	IPv6PrefixBits int
	// JSONPrefix is where the 429 is answered in JSON (default DefaultJSONPrefix); plain text
	// elsewhere.
	JSONPrefix string
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
	// OnLimited, if set, is called for every rejected request with the rule's Name (e.g. to count
	// it in metrics). The client address is not passed on purpose: it is personal data.
	OnLimited func(r *http.Request, rule string)
}

// RateLimiter is a per-client token-bucket limiter. Buckets live only in memory and are dropped
// once they are full again (the client has been quiet long enough that a fresh bucket would behave
// the same; checked at most every 10 s), so client addresses are held for seconds, not stored.
type RateLimiter struct {
	rules      []matchRule
	specs      []bucketSpec
	trusted    TrustedProxies
	maxClients int
	v6Bits     int
	jsonPrefix string
	now        func() time.Time
	onLimited  func(*http.Request, string)

	mu        sync.Mutex
	lru       *list.List // of *bucket, most recently used in front
	buckets   map[bucketKey]*list.Element
	lastSweep time.Time
}

// sweepInterval is how often (at most) the buckets are scanned for ones that are full again.
const sweepInterval = 10 * time.Second

type matchRule struct {
	method, prefix string
	spec           int
}

type bucketSpec struct {
	name  string
	rate  float64
	burst float64
}

type bucketKey struct {
	spec   int
	client netip.Addr
}

type bucket struct {
	key    bucketKey
	tokens float64
	last   time.Time
}

// NewRateLimiter checks l and returns its limiter.
func NewRateLimiter(l Limits) (*RateLimiter, error) {
	rl := &RateLimiter{
		trusted:    l.TrustedProxies,
		maxClients: l.MaxClients,
		v6Bits:     l.IPv6PrefixBits,
		jsonPrefix: l.JSONPrefix,
		now:        l.Now,
		onLimited:  l.OnLimited,
		lru:        list.New(),
		buckets:    make(map[bucketKey]*list.Element),
	}
	if rl.maxClients == 0 {
		rl.maxClients = DefaultMaxClients
	}
	if rl.v6Bits == 0 {
		rl.v6Bits = DefaultIPv6PrefixBits
	}
	if rl.jsonPrefix == "" {
		rl.jsonPrefix = DefaultJSONPrefix
	}
	if rl.now == nil {
		rl.now = time.Now
	}
	var errs []error
	if rl.maxClients < 0 {
		errs = append(errs, fmt.Errorf("rate limit: MaxClients %d is negative", l.MaxClients))
	}
	if rl.v6Bits < 1 || rl.v6Bits > 128 {
		errs = append(errs, fmt.Errorf("rate limit: IPv6PrefixBits %d is not in 1..128", l.IPv6PrefixBits))
	}
	rules := l.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	byName := map[string]int{}
	for i, r := range rules {
		name := r.Name
		if name == "" {
			name = strings.TrimSpace(r.Method + " " + r.PathPrefix)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("rate limit: rule %d (%s): "+format, append([]any{i + 1, name}, args...)...))
		}
		if !strings.HasPrefix(r.PathPrefix, "/") {
			bad("PathPrefix %q must start with /", r.PathPrefix)
		}
		if !(r.Rate > 0) || math.IsInf(r.Rate, 0) {
			bad("Rate %v must be a positive number of requests per second", r.Rate)
		}
		if r.Burst < 1 {
			bad("Burst %d must be at least 1", r.Burst)
		}
		spec := bucketSpec{name: name, rate: r.Rate, burst: float64(r.Burst)}
		idx, ok := byName[name]
		if !ok {
			idx = len(rl.specs)
			byName[name] = idx
			rl.specs = append(rl.specs, spec)
		} else if rl.specs[idx] != spec {
			bad("shares its name with an earlier rule but not its Rate and Burst")
		}
		rl.rules = append(rl.rules, matchRule{method: strings.ToUpper(r.Method), prefix: r.PathPrefix, spec: idx})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rl, nil
}

// RateLimit limits next with the rules in l; it panics if l is invalid (see NewRateLimiter).
// Rejected requests get 429 Too Many Requests with Retry-After (whole seconds) and, under
// l.JSONPrefix, the API's JSON error body with code "rate_limited".
func RateLimit(next http.Handler, l Limits) http.Handler {
	rl, err := NewRateLimiter(l)
	if err != nil {
		panic(err)
	}
	return rl.Handler(next)
}

// Handler limits next.
func (rl *RateLimiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		spec, ok := rl.match(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		allowed, wait := rl.take(spec, rl.clientKey(r))
		if allowed {
			next.ServeHTTP(w, r)
			return
		}
		if rl.onLimited != nil {
			rl.onLimited(r, rl.specs[spec].name)
		}
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, r, rl.jsonPrefix, http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("Too many requests: please try again in %d seconds.", secs))
	})
}

func (rl *RateLimiter) match(r *http.Request) (int, bool) {
	p := cleanPath(r)
	for _, m := range rl.rules {
		if m.method != "" && m.method != r.Method && !(m.method == http.MethodGet && r.Method == http.MethodHead) {
			continue
		}
		if strings.HasPrefix(p, m.prefix) {
			return m.spec, true
		}
	}
	return 0, false
}

// clientKey is the client's address, IPv6 reduced to its network.
func (rl *RateLimiter) clientKey(r *http.Request) netip.Addr {
	a := ClientIP(r, rl.trusted)
	if a.Is6() && rl.v6Bits < 128 {
		if p, err := a.Prefix(rl.v6Bits); err == nil {
			return p.Addr()
		}
	}
	return a
}

// take takes a token from the client's bucket for spec; when there is none it says how long until
// there is.
func (rl *RateLimiter) take(spec int, client netip.Addr) (bool, time.Duration) {
	now := rl.now()
	s := rl.specs[spec]
	key := bucketKey{spec: spec, client: client}

	rl.mu.Lock()
	defer rl.mu.Unlock()
	if d := now.Sub(rl.lastSweep); d >= sweepInterval || d < 0 {
		rl.sweep(now)
	}
	var b *bucket
	if e, ok := rl.buckets[key]; ok {
		b = e.Value.(*bucket)
		rl.lru.MoveToFront(e)
		if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
			b.tokens = math.Min(s.burst, b.tokens+elapsed*s.rate)
		}
		b.last = now
	} else {
		for rl.lru.Len() >= rl.maxClients && rl.lru.Len() > 0 {
			rl.remove(rl.lru.Back())
		}
		b = &bucket{key: key, tokens: s.burst, last: now}
		rl.buckets[key] = rl.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / s.rate * float64(time.Second))
}

// sweep drops the buckets that have refilled completely: forgetting them changes nothing, as a new
// bucket starts full. It runs on a request at most every sweepInterval, so a client's address is
// held for at most the time its bucket needs to refill plus sweepInterval.
func (rl *RateLimiter) sweep(now time.Time) {
	rl.lastSweep = now
	for e := rl.lru.Back(); e != nil; {
		prev := e.Prev()
		b := e.Value.(*bucket)
		s := rl.specs[b.key.spec]
		if b.tokens+now.Sub(b.last).Seconds()*s.rate >= s.burst {
			rl.remove(e)
		}
		e = prev
	}
}

func (rl *RateLimiter) remove(e *list.Element) {
	delete(rl.buckets, e.Value.(*bucket).key)
	rl.lru.Remove(e)
}

// Len is the number of client buckets held.
func (rl *RateLimiter) Len() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.lru.Len()
}
