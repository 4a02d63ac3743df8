package bench

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// controllerName is the name the Tenant controller registers under (Named("tenant")); its
// controller-runtime metrics carry it as label controller (workqueue metrics: name).
const controllerName = "tenant"

// ctrlMetrics is a snapshot of the Tenant controller's controller-runtime metrics, read from
// sigs.k8s.io/controller-runtime/pkg/metrics.Registry (the manager runs in this process).
type ctrlMetrics struct {
	reconciles float64 // controller_runtime_reconcile_total, all results
	errors     float64 // controller_runtime_reconcile_errors_total
	depth      float64 // workqueue_depth, ready items of all priorities
	active     float64 // controller_runtime_active_workers
	duration   histogram
}

func gatherControllerMetrics() (ctrlMetrics, error) {
	var m ctrlMetrics
	families, err := metrics.Registry.Gather()
	if err != nil {
		return m, err
	}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "controller_runtime_reconcile_total":
				if label(s, "controller") == controllerName {
					m.reconciles += s.GetCounter().GetValue()
				}
			case "controller_runtime_reconcile_errors_total":
				if label(s, "controller") == controllerName {
					m.errors += s.GetCounter().GetValue()
				}
			case "workqueue_depth":
				if label(s, "name") == controllerName {
					m.depth += s.GetGauge().GetValue()
				}
			case "controller_runtime_active_workers":
				if label(s, "controller") == controllerName {
					m.active += s.GetGauge().GetValue()
				}
			case "controller_runtime_reconcile_time_seconds":
				if label(s, "controller") == controllerName {
					m.duration = histogramFrom(s.GetHistogram())
				}
			}
		}
	}
	return m, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// histogram is a Prometheus histogram as gathered: the classic buckets and, when the metric has
// them (controller-runtime's reconcile_time_seconds does, with a bucket factor of 1.1), the
// native buckets, which are much finer and so preferred for quantiles.
type histogram struct {
	count uint64
	sum   float64

	bounds     []float64 // classic upper bounds, ascending (+Inf last)
	cumulative []uint64  // classic cumulative counts

	native    bool
	schema    int32
	zeroCount uint64
	positive  map[int]uint64 // native bucket index → count
}

func histogramFrom(h *dto.Histogram) histogram {
	out := histogram{count: h.GetSampleCount(), sum: h.GetSampleSum()}
	for _, b := range h.GetBucket() {
		out.bounds = append(out.bounds, b.GetUpperBound())
		out.cumulative = append(out.cumulative, b.GetCumulativeCount())
	}
	if h.Schema != nil {
		out.native, out.schema, out.zeroCount = true, h.GetSchema(), h.GetZeroCount()
		out.positive = map[int]uint64{}
		idx, d := 0, 0
		var count int64
		for _, span := range h.GetPositiveSpan() {
			idx += int(span.GetOffset()) // the first offset is absolute, later ones are gaps
			for range span.GetLength() {
				count += h.GetPositiveDelta()[d]
				d++
				out.positive[idx] = uint64(count)
				idx++
			}
		}
	}
	return out
}

// minus returns the observations made between earlier and h.
func (h histogram) minus(earlier histogram) histogram {
	out := histogram{count: h.count - earlier.count, sum: h.sum - earlier.sum, bounds: h.bounds}
	for i, c := range h.cumulative {
		if i < len(earlier.cumulative) {
			c -= earlier.cumulative[i]
		}
		out.cumulative = append(out.cumulative, c)
	}
	// Native histograms may lower their resolution (schema) when they run out of buckets; then
	// the two snapshots cannot be subtracted bucket by bucket and the classic buckets are used.
	if h.native && (!earlier.native || earlier.schema == h.schema || earlier.count == 0) {
		out.native, out.schema = true, h.schema
		out.zeroCount = h.zeroCount - earlier.zeroCount
		out.positive = map[int]uint64{}
		for i, c := range h.positive {
			if earlier.schema == h.schema {
				c -= earlier.positive[i]
			}
			if c > 0 {
				out.positive[i] = c
			}
		}
	}
	return out
}

func (h histogram) mean() float64 {
	if h.count == 0 {
		return math.NaN()
	}
	return h.sum / float64(h.count)
}

// quantile estimates the q-quantile, interpolating linearly inside the bucket it falls in (like
// PromQL's histogram_quantile). With native buckets the error is at most 10%.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return math.NaN()
	}
	if h.native {
		total := h.zeroCount
		for _, c := range h.positive {
			total += c
		}
		if total == h.count {
			rank := q * float64(total)
			if rank <= float64(h.zeroCount) {
				return 0
			}
			idxs := make([]int, 0, len(h.positive))
			for i := range h.positive {
				idxs = append(idxs, i)
			}
			sort.Ints(idxs)
			cum := float64(h.zeroCount)
			for _, i := range idxs {
				c := float64(h.positive[i])
				if cum+c >= rank {
					lower, upper := nativeBound(h.schema, i-1), nativeBound(h.schema, i)
					return lower + (upper-lower)*(rank-cum)/c
				}
				cum += c
			}
			return nativeBound(h.schema, idxs[len(idxs)-1])
		}
	}
	rank := q * float64(h.count)
	prevBound, prevCum := 0.0, 0.0
	for i, bound := range h.bounds {
		cum := float64(h.cumulative[i])
		if cum >= rank {
			if math.IsInf(bound, 1) {
				return prevBound
			}
			if cum == prevCum {
				return bound
			}
			return prevBound + (bound-prevBound)*(rank-prevCum)/(cum-prevCum)
		}
		prevBound, prevCum = bound, cum
	}
	return prevBound // above the last bucket (client_golang omits the +Inf bucket)
}

// nativeBound is the upper bound of native bucket i: base^i with base = 2^(2^-schema).
func nativeBound(schema int32, i int) float64 {
	return math.Exp2(float64(i) * math.Exp2(-float64(schema)))
}

// requestCounter counts the HTTP requests a rest.Config's clients make, by verb and resource
// ("PATCH deployments", "POST events", "PATCH tenants/status", "GET secrets", "WATCH pods").
// It is installed with rest.Config.WrapTransport, so it sees every request of everything built
// from that config: the manager's client, API reader, informers and event recorder.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func newRequestCounter() *requestCounter { return &requestCounter{counts: map[string]int{}} }

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		key := classify(req)
		c.mu.Lock()
		c.counts[key]++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (c *requestCounter) snapshot() requestCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(requestCounts, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// requestCounts maps "VERB resource" to a number of requests.
type requestCounts map[string]int

func (r requestCounts) minus(earlier requestCounts) requestCounts {
	out := requestCounts{}
	for k, v := range r {
		if d := v - earlier[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// writes counts the requests that are not reads (GET, LIST, WATCH, discovery).
func (r requestCounts) writes() int {
	n := 0
	for k, v := range r {
		if isWrite(k) {
			n += v
		}
	}
	return n
}

// reads counts single-object GETs: with an informer cache these are the API reader's uncached reads.
func (r requestCounts) gets() int {
	n := 0
	for k, v := range r {
		if strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

func (r requestCounts) total() int {
	n := 0
	for _, v := range r {
		n += v
	}
	return n
}

func isWrite(key string) bool {
	verb, _, _ := strings.Cut(key, " ")
	switch verb {
	case "GET", "LIST", "WATCH", "DISCOVERY":
		return false
	}
	return true
}

// String lists the counts, most frequent first.
func (r requestCounts) String() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r[keys[i]] != r[keys[j]] {
			return r[keys[i]] > r[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, r[k])
	}
	return strings.TrimSpace(b.String())
}

// classify names a request "VERB resource[/subresource]", with GETs split into GET (one object),
// LIST and WATCH.
func classify(req *http.Request) string {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:] // api/v1/...
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:] // apis/group/version/...
	}
	if len(rest) == 0 {
		return "DISCOVERY " + req.URL.Path
	}
	var resource string
	var named bool
	if rest[0] == "namespaces" && len(rest) >= 3 {
		resource, named = rest[2], len(rest) >= 4
		if len(rest) >= 5 {
			resource += "/" + rest[4]
		}
	} else {
		resource, named = rest[0], len(rest) >= 2
		if len(rest) >= 3 {
			resource += "/" + rest[2]
		}
	}
	verb := req.Method
	if verb == http.MethodGet {
		switch {
		case req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1":
			verb = "WATCH"
		case !named:
			verb = "LIST"
		}
	}
	return verb + " " + resource
}
