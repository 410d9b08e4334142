package alerting

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of `report alerts --watch`: its
// evaluations and what they found, and its posts to Alertmanager. The
// deploy/prometheus rules page when evaluations stop or fail. A nil
// *Metrics records nothing.
type Metrics struct {
	evaluations *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	duration    prometheus.Histogram
	firing      *prometheus.GaugeVec
	posts       *prometheus.CounterVec
	sent        prometheus.Counter
	lastAttempt atomic.Int64 // unix nanoseconds of the last evaluation's end
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_alert_evaluations_total",
			Help: "Evaluations of the alert rules, by outcome (ok, error).",
		}, []string{"outcome"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_alert_last_success_timestamp_seconds",
			Help: "When the last successful evaluation of the alert rules ended (Unix seconds).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "faultline_alert_evaluation_duration_seconds",
			Help:    "How long an evaluation of the alert rules took, stored.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "faultline_alerts_firing",
			Help: "Alerts firing at the last successful evaluation, by severity and whether they page (sent) or are suppressed.",
		}, []string{"severity", "state"}),
		posts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_alertmanager_posts_total",
			Help: "Posts of alerts to Alertmanager, by outcome (ok, error: after retries).",
		}, []string{"outcome"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_alertmanager_alerts_sent_total",
			Help: "Alerts posted to Alertmanager (one alert re-sent every minute while it fires counts every time).",
		}),
	}
	for _, o := range []string{"ok", "error"} {
		m.evaluations.WithLabelValues(o)
		m.posts.WithLabelValues(o)
	}
	reg.MustRegister(m.evaluations, m.lastSuccess, m.duration, m.firing, m.posts, m.sent)
	return m
}

// evaluated records an evaluation that ended at end.
func (m *Metrics) evaluated(res Result, err error, took time.Duration, end time.Time) {
	if m == nil {
		return
	}
	m.lastAttempt.Store(end.UnixNano())
	if err != nil {
		m.evaluations.WithLabelValues("error").Inc()
		return
	}
	m.evaluations.WithLabelValues("ok").Inc()
	m.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	m.duration.Observe(took.Seconds())
	m.firing.Reset()
	for _, sev := range []string{"critical", "warning", "info"} {
		for _, state := range []string{"sent", "suppressed"} {
			m.firing.WithLabelValues(sev, state)
		}
	}
	for i := range res.Alerts {
		a := &res.Alerts[i]
		if a.Firing() {
			state := "sent"
			if !a.Paging() {
				state = "suppressed"
			}
			m.firing.WithLabelValues(a.Severity, state).Inc()
		}
	}
}

func (m *Metrics) posted(ok bool, alerts int) {
	if m == nil {
		return
	}
	if !ok {
		m.posts.WithLabelValues("error").Inc()
		return
	}
	m.posts.WithLabelValues("ok").Inc()
	m.sent.Add(float64(alerts))
}

// Alive reports whether an evaluation, successful or not, ended within the
// last d before now: the loop is turning (a database that is away fails
// evaluations without stopping it). Before the first one it is alive.
func (m *Metrics) Alive(now time.Time, d time.Duration) bool {
	last := m.lastAttempt.Load()
	return last == 0 || now.Sub(time.Unix(0, last)) <= d
}

// Posts is the counter of posts to Alertmanager with outcome ok or error.
func (m *Metrics) Posts(outcome string) prometheus.Counter { return m.posts.WithLabelValues(outcome) }

// Evaluations is the counter of evaluations with outcome ok or error.
func (m *Metrics) Evaluations(outcome string) prometheus.Counter {
	return m.evaluations.WithLabelValues(outcome)
}
