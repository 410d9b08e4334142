package ingest

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ndjson"
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
	Lag          *prometheus.GaugeVec // by partition
	// Assigned is how many partitions this process consumes now: 0 while
	// it joins the group or when the group has more members than the
	// topic partitions.
	Assigned   prometheus.Gauge
	Retries    *prometheus.CounterVec // by dependency: postgres, kafka
	Fenced     prometheus.Counter
	Unwritable prometheus.Counter
	Errors     *prometheus.CounterVec // by provider and category
	Requests   *prometheus.CounterVec // by provider: the denominator of error rates
	// Shapes counts the usable records committed by the shape they arrived
	// in (classify.Shapes): which logging stacks feed faultline.
	Shapes *prometheus.CounterVec
	// InternalErrors counts records that made faultline fail (a panic while
	// decoding, classifying or redacting them: a bug). Each is a dead
	// letter with reason internal_error.
	InternalErrors prometheus.Counter

	providers map[string]bool
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer, providers []string) *Metrics {
	m := &Metrics{
		Consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_records_consumed_total", Help: "Kafka messages read, or lines of replayed files (an OpenTelemetry message may hold many log records: faultline_records_stored_total and faultline_dead_letters_total count those).",
		}),
		Stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_records_stored_total", Help: "Usable records (log records: an OpenTelemetry message may hold many) whose batch was committed to Postgres (successes are counted in rollups, errors stored as events).",
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
			Name: "faultline_partition_lag", Help: "Records between the partition's high watermark and the position of this consumer, for the partitions it consumes (from their first batch written after they were assigned).",
		}, []string{"partition"}),
		Assigned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_partitions_assigned", Help: "Partitions of the topic this consumer is assigned and consumes now.",
		}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_retries_total", Help: "Retries of a failed dependency call, by dependency.",
		}, []string{"dependency"}),
		Fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_fenced_batches_total", Help: "Batches refused because another consumer had moved the partition's stored offset.",
		}),
		Unwritable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_unwritable_batches_total", Help: "Batches that could be neither written nor dead-lettered: ingestion stopped (the process exits non-zero).",
		}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_provider_errors_total", Help: "Classified provider errors committed, by provider and category.",
		}, []string{"provider", "category"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_provider_requests_total", Help: "Provider calls (successes and errors) committed, by provider: the denominator of error rates.",
		}, []string{"provider"}),
		Shapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_records_by_shape_total", Help: "Usable records committed, by the shape they arrived in (contract, otlp_json, otlp_proto, ecs, container, logger, mapped).",
		}, []string{"shape"}),
		InternalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_internal_errors_total", Help: "Records that made faultline fail while decoding, classifying or redacting them (a bug); each becomes a dead letter with reason internal_error.",
		}),
		providers: map[string]bool{},
	}
	m.Requests.WithLabelValues(otherProvider)
	for _, p := range providers {
		m.providers[p] = true
		m.Requests.WithLabelValues(p)
	}
	for _, r := range DeadLetterReasons {
		m.DeadLetters.WithLabelValues(string(r))
	}
	for _, sh := range classify.Shapes {
		m.Shapes.WithLabelValues(string(sh))
	}
	for _, d := range []string{"postgres", "kafka"} {
		m.Retries.WithLabelValues(d)
	}
	if reg != nil {
		reg.MustRegister(m.Consumed, m.Stored, m.EventsStored, m.DeadLetters, m.BatchSize, m.BatchLatency,
			m.Lag, m.Assigned, m.Retries, m.Fenced, m.Unwritable, m.Errors, m.Requests, m.Shapes, m.InternalErrors)
	}
	return m
}

// DeadLetterReasons lists every reason a record becomes a dead letter for:
// the classifier's, the reader's and the pipeline's. Metrics pre-register
// them; README's table of dead letters lists them (a test checks it).
var DeadLetterReasons = append(append([]classify.Reason(nil), classify.Reasons...),
	ndjson.ReasonBareCR, ReasonTimeRange, ReasonStoreRejected)

// internalErrorReporter returns the Builder's InternalError hook: the
// record is logged by its coordinates, never its content, and counted.
func (m *Metrics) internalErrorReporter(log *slog.Logger) func(*classify.RecordError, string, int32, int64) {
	return func(err *classify.RecordError, topic string, partition int32, offset int64) {
		m.InternalErrors.Inc()
		log.Error("record made faultline fail; it is kept as a dead letter (internal_error)",
			"topic", topic, "partition", partition, "offset", offset, "panic", err.Detail, "stack", string(err.Stack))
	}
}

func (m *Metrics) batchWritten(b *store.Batch, took time.Duration) {
	n := 0
	for _, r := range b.Requests {
		n += int(r.Requests)
		m.Requests.WithLabelValues(m.provider(r.Provider)).Add(float64(r.Requests))
	}
	m.Stored.Add(float64(n))
	m.EventsStored.Add(float64(len(b.Events)))
	m.BatchSize.Observe(float64(n + len(b.DeadLetters)))
	m.BatchLatency.Observe(took.Seconds())
	for _, d := range b.DeadLetters {
		m.DeadLetters.WithLabelValues(string(d.Reason)).Inc()
	}
	for _, e := range b.Errors {
		m.Errors.WithLabelValues(m.provider(e.Provider), string(e.Category)).Add(float64(e.Count))
	}
	for _, sh := range b.Shapes {
		m.Shapes.WithLabelValues(string(sh.Shape)).Add(float64(sh.Records))
	}
}

// otherProvider is the provider label of calls to providers without a
// catalog, so that label values stay bounded.
const otherProvider = "other"

func (m *Metrics) provider(p string) string {
	if m.providers[p] {
		return p
	}
	return otherProvider
}

func (m *Metrics) setLag(partition int32, lag int64) {
	if lag >= 0 {
		m.Lag.WithLabelValues(strconv.Itoa(int(partition))).Set(float64(lag))
	}
}

// dropLag deletes the lag of a partition this process no longer consumes:
// its new owner reports it.
func (m *Metrics) dropLag(partition int32) {
	m.Lag.DeleteLabelValues(strconv.Itoa(int(partition)))
}
