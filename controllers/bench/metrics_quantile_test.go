package bench

import (
	"math"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// newReconcileHistogram has the options of controller-runtime's reconcile_time_seconds.
func newReconcileHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "test_seconds",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
			1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60},
		NativeHistogramBucketFactor:     1.1,
		NativeHistogramMaxBucketNumber:  100,
		NativeHistogramMinResetDuration: time.Hour,
	})
}

func snapshot(t *testing.T, h prometheus.Histogram) histogram {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return histogramFrom(m.GetHistogram())
}

func TestHistogramQuantiles(t *testing.T) {
	h := newReconcileHistogram()
	empty := snapshot(t, h)
	// 1000 values spread evenly over 10 ms … 1 s: the q-quantile is about 10ms + q × 990ms.
	for i := range 1000 {
		h.Observe(0.010 + 0.990*float64(i)/999)
	}
	got := snapshot(t, h)
	if !got.native {
		t.Fatal("no native buckets gathered")
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := 0.010 + 0.990*q
		if v := got.quantile(q); math.Abs(v-want)/want > 0.1 {
			t.Errorf("quantile(%v) = %.4f, want %.4f ± 10%%", q, v, want)
		}
		if v := got.minus(empty).quantile(q); math.Abs(v-want)/want > 0.1 {
			t.Errorf("delta quantile(%v) = %.4f, want %.4f ± 10%%", q, v, want)
		}
	}

	// Only what came after a snapshot counts: 100 slow values on top of the 1000.
	for range 100 {
		h.Observe(5)
	}
	delta := snapshot(t, h).minus(got)
	if delta.count != 100 {
		t.Fatalf("delta count = %d, want 100", delta.count)
	}
	if v := delta.quantile(0.5); math.Abs(v-5)/5 > 0.1 {
		t.Errorf("delta median = %.3f, want 5 ± 10%%", v)
	}
	// The classic buckets alone give a coarser but sane answer.
	delta.native = false
	if v := delta.quantile(0.5); v < 4.5 || v > 5 {
		t.Errorf("classic delta median = %.3f, want in (4.5, 5]", v)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct{ method, path, query, want string }{
		{"PATCH", "/apis/apps/v1/namespaces/tenant-a/deployments/booking", "", "PATCH deployments"},
		{"PATCH", "/apis/slotbook.io/v1alpha1/tenants/a/status", "", "PATCH tenants/status"},
		{"PATCH", "/api/v1/namespaces/tenant-a", "", "PATCH namespaces"},
		{"GET", "/api/v1/namespaces/slotbook-system/secrets/creds", "", "GET secrets"},
		{"GET", "/api/v1/secrets", "labelSelector=x", "LIST secrets"},
		{"GET", "/api/v1/secrets", "watch=true", "WATCH secrets"},
		{"GET", "/api/v1/namespaces", "", "LIST namespaces"},
		{"POST", "/apis/events.k8s.io/v1/namespaces/default/events", "", "POST events"},
		{"GET", "/apis", "", "DISCOVERY /apis"},
	} {
		req := &http.Request{Method: c.method, URL: &url.URL{Path: c.path, RawQuery: c.query}}
		if got := classify(req); got != c.want {
			t.Errorf("%s %s?%s = %q, want %q", c.method, c.path, c.query, got, c.want)
		}
	}
	counts := requestCounts{"PATCH deployments": 2, "GET secrets": 3, "WATCH pods": 1, "LIST pods": 1, "POST events": 1}
	if counts.writes() != 3 || counts.gets() != 3 {
		t.Errorf("writes, gets = %d, %d, want 3, 3", counts.writes(), counts.gets())
	}
}
