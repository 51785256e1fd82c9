package outbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts deliveries. A nil *Metrics counts nothing.
type Metrics struct {
	sentTotal    *prometheus.CounterVec
	retriesTotal prometheus.Counter
	failedTotal  prometheus.Counter
}

// NewMetrics registers the mail series on reg: sends by provider, failed
// attempts that will be retried, mails given up, and gauges of the mail
// stuck (failed permanently) and queued in the outbox, read from s.
func NewMetrics(reg prometheus.Registerer, s Store) *Metrics {
	m := &Metrics{
		sentTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyshift_mail_sent_total", Help: "Mails accepted, by provider (\"dev\" for the dev mailer).",
		}, []string{"provider"}),
		retriesTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyshift_mail_retries_total", Help: "Delivery attempts that failed and will be retried.",
		}),
		failedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "keyshift_mail_failed_total", Help: "Mails given up (permanent refusal or out of attempts).",
		}),
	}
	count := func(st Status) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := s.CountOutbox(ctx, st)
			if err != nil {
				return -1
			}
			return float64(n)
		}
	}
	reg.MustRegister(m.sentTotal, m.retriesTotal, m.failedTotal,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyshift_mail_stuck", Help: "Mails in the outbox that failed permanently (keyshift admin mail lists them).",
		}, count(StatusFailed)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keyshift_mail_queued", Help: "Mails in the outbox waiting to be sent.",
		}, count(StatusQueued)))
	return m
}

func (m *Metrics) sent(provider string) {
	if m != nil {
		m.sentTotal.WithLabelValues(provider).Inc()
	}
}

func (m *Metrics) retried() {
	if m != nil {
		m.retriesTotal.Inc()
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.failedTotal.Inc()
	}
}
