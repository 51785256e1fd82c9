package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the telemetry's Prometheus series: each node counts what it
// recorded itself, so a sum over nodes is the whole. They are counted as
// the event is written, inside its transaction: an attempt whose
// transaction then fails is counted here and not in the figures, which
// read only what committed. Sign-in attempts themselves stay
// keyshift_signin_attempts_total (package web/metrics).
type Metrics struct {
	signups    *prometheus.CounterVec
	added      *prometheus.CounterVec
	removed    prometheus.Counter
	nudges     *prometheus.CounterVec
	autofill   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	recoveries *prometheus.CounterVec
	durations  *prometheus.HistogramVec
}

// NewMetrics registers the series in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_signups_total", Help: "Accounts made, by how they were made (password, email_link, email_code).",
		}, []string{"method"}),
		added: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_passkeys_added_total", Help: "Passkeys added, by provider and whether synced.",
		}, []string{"provider", "synced"}),
		removed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyshift_passkeys_removed_total", Help: "Passkeys removed by their members.",
		}),
		nudges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_nudges_total", Help: "Enrollment nudges shown and their answers (shown, accepted, later, never).",
		}, []string{"event"}),
		autofill: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_conditional_ui_total", Help: "Passkey autofill offered by the sign-in page, and sign-ins by it (offered, used).",
		}, []string{"event"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_duplicate_passkeys_total", Help: "Attempts to register a passkey the member has already, by who refused (browser, server).",
		}, []string{"by"}),
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_recoveries_total", Help: "Sign-ins by a recovery channel (email for a passkey account, recovery_code).",
		}, []string{"channel"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyshift_signin_duration_seconds", Help: "Time to sign in of successful sign-ins, by method and clock (client: page load to success; server: the request).",
			Buckets: []float64{.1, .25, .5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300, 600},
		}, []string{"method", "clock"}),
	}
	reg.MustRegister(m.signups, m.added, m.removed, m.nudges, m.autofill, m.duplicates, m.recoveries, m.durations)
	return m
}

// observe counts e; a nil m counts nothing.
func (m *Metrics) observe(e *Event) {
	if m == nil {
		return
	}
	switch e.Kind {
	case KindSignup:
		m.signups.WithLabelValues(e.Method).Inc()
	case KindPasskeyAdded:
		synced := "false"
		if e.Synced {
			synced = "true"
		}
		m.added.WithLabelValues(e.Provider, synced).Inc()
	case KindPasskeyRemoved:
		m.removed.Inc()
	case KindNudge:
		m.nudges.WithLabelValues(e.Method).Inc()
	case KindConditional:
		m.autofill.WithLabelValues(e.Method).Inc()
	case KindDuplicate:
		m.duplicates.WithLabelValues(e.Method).Inc()
	case KindRecovery:
		m.recoveries.WithLabelValues(e.Method).Inc()
	case KindSignin:
		if e.ClientMs > 0 {
			m.durations.WithLabelValues(e.Method, ClockClient).Observe(float64(e.ClientMs) / 1000)
		}
		if e.ServerMs > 0 {
			m.durations.WithLabelValues(e.Method, ClockServer).Observe(float64(e.ServerMs) / 1000)
		}
	}
}
