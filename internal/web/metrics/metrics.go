// Package metrics is keyshift's Prometheus series: requests by route,
// their latency, sign-in attempts by method and outcome, error answers by
// code, the password-hashing gate's occupancy and the running build.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/keyshift/keyshift/internal/account"
)

// Metrics are keyshift's Prometheus series. Labels are bounded: routes are
// the mux patterns (not raw paths), codes come from the fixed error table.
type Metrics struct {
	Requests *prometheus.CounterVec   // by route, method, status
	Duration *prometheus.HistogramVec // by route
	Signins  *prometheus.CounterVec   // by method, outcome
	Errors   *prometheus.CounterVec   // by code
}

// Gauges reports the password-hashing gate's occupancy.
type Gauges interface {
	InUse() int
	Waiting() int
}

// Build labels keyshift_build_info: the running build (buildinfo.Info).
type Build struct{ Version, Commit, GoVersion string }

// New registers the series in reg, with keyshift_build_info for b; gate may
// be nil.
func New(reg *prometheus.Registry, gate Gauges, b Build) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyshift_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		Signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_signin_attempts_total", Help: "Sign-in attempts by method and outcome.",
		}, []string{"method", "outcome"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_errors_total", Help: "Error answers by error code.",
		}, []string{"code"}),
	}
	// Always 1: the labels are the information, so that a dashboard can
	// join them to any series (`* on(instance) group_left(version)`) and
	// see which nodes of a rolling upgrade run which build.
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "keyshift_build_info", Help: "The running keyshift build: version, commit and Go version as labels; always 1.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	})
	info.Set(1)
	reg.MustRegister(m.Requests, m.Duration, m.Signins, m.Errors, info,
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

// CountSignin counts an attempt that got as far as checking a credential;
// malformed requests are not sign-in attempts. Every way of signing in
// counts here: password, passkey, email link or code, recovery code.
func (mt *Metrics) CountSignin(m account.AuthMethod, err error) {
	switch {
	case err == nil:
		mt.Signins.WithLabelValues(string(m), account.OutcomeSuccess).Inc()
	case account.IsCode(err, account.EInvalidCredentials), account.IsCode(err, account.EPasskeyRejected),
		account.IsCode(err, account.EInvalidCode):
		mt.Signins.WithLabelValues(string(m), account.OutcomeFailure).Inc()
	case account.IsCode(err, account.EThrottled), account.IsCode(err, account.EBusy):
		mt.Signins.WithLabelValues(string(m), "refused").Inc()
	}
}
