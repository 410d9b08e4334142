package ingest

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// Metrics are the pipeline's Prometheus metrics. Label values are bounded:
// providers are the catalog's (others count as "other"), categories the
// taxonomy's, reasons classify's, partitions the topic's.
type Metrics struct {
	Consumed     prometheus.Counter
	Stored       prometheus.Counter // usable records whose batch was written
	EventsStored prometheus.Counter
	DeadLetters  *prometheus.CounterVec // by reason
	BatchSize    prometheus.Histogram
	BatchLatency prometheus.Histogram
	Lag          *prometheus.GaugeVec   // by partition
	Retries      *prometheus.CounterVec // by dependency: postgres, kafka
	Fenced       prometheus.Counter
	Errors       *prometheus.CounterVec // by provider and category

	providers map[string]bool
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer, providers []string) *Metrics {
	m := &Metrics{
		Consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_records_consumed_total", Help: "Integration log records read from Kafka or replayed files.",
		}),
		Stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_records_stored_total", Help: "Usable records whose batch was committed to Postgres (successes are counted in rollups, errors stored as events).",
		}),
		EventsStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_events_stored_total", Help: "Error events committed to Postgres.",
		}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_dead_letters_total", Help: "Unusable records committed to the dead-letter table, by reason.",
		}, []string{"reason"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "faultline_batch_records", Help: "Records per committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		BatchLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "faultline_batch_write_seconds", Help: "Time to write one batch to Postgres (one transaction).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "faultline_partition_lag", Help: "Records between the partition's high watermark and the position of this consumer.",
		}, []string{"partition"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_retries_total", Help: "Retries of a failed dependency call, by dependency.",
		}, []string{"dependency"}),
		Fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_fenced_batches_total", Help: "Batches refused because another consumer had moved the partition's stored offset.",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_provider_errors_total", Help: "Classified provider errors committed, by provider and category.",
		}, []string{"provider", "category"}),
		providers: map[string]bool{},
	}
	for _, p := range providers {
		m.providers[p] = true
	}
	for _, r := range append(append([]classify.Reason(nil), classify.Reasons...), ReasonTimeRange) {
		m.DeadLetters.WithLabelValues(string(r))
	}
	for _, d := range []string{"postgres", "kafka"} {
		m.Retries.WithLabelValues(d)
	}
	if reg != nil {
		reg.MustRegister(m.Consumed, m.Stored, m.EventsStored, m.DeadLetters, m.BatchSize, m.BatchLatency,
			m.Lag, m.Retries, m.Fenced, m.Errors)
	}
	return m
}

func (m *Metrics) batchWritten(b *store.Batch, took time.Duration) {
	n := 0
	for _, r := range b.Requests {
		n += int(r.Requests)
	}
	m.Stored.Add(float64(n))
	m.EventsStored.Add(float64(len(b.Events)))
	m.BatchSize.Observe(float64(n + len(b.DeadLetters)))
	m.BatchLatency.Observe(took.Seconds())
	for _, d := range b.DeadLetters {
		m.DeadLetters.WithLabelValues(string(d.Reason)).Inc()
	}
	for _, e := range b.Errors {
		p := e.Provider
		if !m.providers[p] {
			p = "other"
		}
		m.Errors.WithLabelValues(p, string(e.Category)).Add(float64(e.Count))
	}
}

func (m *Metrics) setLag(partition int32, lag int64) {
	if lag >= 0 {
		m.Lag.WithLabelValues(strconv.Itoa(int(partition))).Set(float64(lag))
	}
}
