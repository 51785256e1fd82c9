package web

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are keyshift's Prometheus series. Labels are bounded: routes are
// the mux patterns (not raw paths), codes come from the fixed error table.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	signins  *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, gate Gauges) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyshift_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_signin_attempts_total", Help: "Sign-in attempts by method and outcome.",
		}, []string{"method", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_errors_total", Help: "Error answers by error code.",
		}, []string{"code"}),
	}
	reg.MustRegister(m.requests, m.duration, m.signins, m.errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if gate != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "keyshift_password_hashes_running", Help: "Password hashes running now (bounded by the hashing limit).",
			}, func() float64 { return float64(gate.InUse()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "keyshift_password_hashes_waiting", Help: "Requests waiting for a password hashing slot.",
			}, func() float64 { return float64(gate.Waiting()) }),
		)
	}
	return m
}
