// Package metrics holds the app's Prometheus metrics: request latency per route, and bookings
// created and lost to a conflict. They are served on their own port (SLOTBOOK_METRICS_ADDR), so
// the public ingress never exposes them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the app's metric set, registered on its own registry.
type Metrics struct {
	Registry          *prometheus.Registry
	requestDuration   *prometheus.HistogramVec
	bookingsCreated   prometheus.Counter
	bookingsConflicts prometheus.Counter
}

// New creates the metrics with Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slotbook_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status code.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		bookingsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slotbook_bookings_created_total",
			Help: "Bookings created.",
		}),
		bookingsConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "slotbook_bookings_conflicted_total",
			Help: "Booking attempts refused because the slot was taken meanwhile (HTTP 409).",
		}),
	}
	m.Registry.MustRegister(m.requestDuration, m.bookingsCreated, m.bookingsConflicts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// BookingCreated counts a created booking.
func (m *Metrics) BookingCreated() { m.bookingsCreated.Inc() }

// BookingConflicted counts a booking lost to a concurrent one.
func (m *Metrics) BookingConflicted() { m.bookingsConflicts.Inc() }

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Instrument measures every request handled by mux, labelled with the route pattern that matched
// (not the raw path, which would give every manage token its own series).
func (m *Metrics) Instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		_, pattern := mux.Handler(r)
		mux.ServeHTTP(rec, r)
		if pattern == "" {
			pattern = "unmatched"
		}
		m.requestDuration.WithLabelValues(pattern, r.Method, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
