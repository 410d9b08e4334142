package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkasource"
	"github.com/faultline-dev/faultline/kafkatest"
	"github.com/faultline-dev/faultline/store"
)

type ingestKafka = kafkasource.Config

// kafkaConfig is a consumer group configuration with short sessions.
func kafkaConfig(b *kafkatest.Broker, topic, group string) kafkasource.Config {
	return kafkasource.Config{
		Brokers: b.Addrs(), Topic: topic, Group: group,
		SessionTimeout: time.Second, HeartbeatInterval: 200 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
	}
}

// logBuffer collects a consumer's log, shown when the test fails.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	buf := new(logBuffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// running is a Consumer.Run in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg ingest.ConsumerConfig) *running {
	t.Helper()
	c, err := ingest.NewConsumer(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of cancellation")
		return nil
	}
}

func storedOffset(t *testing.T, st *store.Store, group, topic string, partition int32) int64 {
	t.Helper()
	offs, err := st.Offsets(testCtx(t), group, topic)
	require.NoError(t, err)
	if o, ok := offs[partition]; ok {
		return o
	}
	return store.NoOffset
}

// lateWriter is the real store, except that right after the consumer reads
// the stored offsets for the first time, a former owner of the partition
// commits a late batch: the stored offset moves between the read and the
// consumer's first write.
type lateWriter struct {
	*store.Store
	once sync.Once
	late func()
}

func (s *lateWriter) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	offs, err := s.Store.Offsets(ctx, group, topic)
	s.once.Do(s.late)
	return offs, err
}

// TestLateWriteOfAFormerOwnerIsFenced: the consumer fences its first batch
// on the offset its reader was positioned at, so a batch a former owner
// committed after that offset was read is not stored twice.
func TestLateWriteOfAFormerOwnerIsFenced(t *testing.T) {
	t.Parallel()
	const topic, group = "logs", "g-late"
	st, db := database(t)
	b := kafkatest.Start(t, kafkatest.Topic(topic, 1))
	recs := records(20, 11, 1) // every record an event: each shows in events
	b.Produce(t, topic, recs)
	cls := classifier(t)
	src := store.Source{Group: group, Topic: topic, Partition: 0}
	batch := func(from, to int, expected int64) *store.Batch {
		bb := ingest.NewBuilder(cls, src, expected, ingest.BuilderOptions{})
		for i := from; i < to; i++ {
			bb.Add(recs[i], topic, 0, int64(i))
		}
		return bb.Take(int64(to))
	}
	require.NoError(t, st.WriteBatch(testCtx(t), batch(0, 5, store.NoOffset)))

	ls := &lateWriter{Store: st, late: func() {
		// The former owner's late batch: records 5..9, from 5 to 10.
		require.NoError(t, st.WriteBatch(testCtx(t), batch(5, 10, 5)))
	}}
	m := ingest.NewMetrics(nil, nil)
	log, _ := testLogger(t)
	kcfg := kafkaConfig(b, topic, group)
	r := start(t, ingest.ConsumerConfig{Store: ls, Classifier: cls, Kafka: kcfg, Metrics: m, Logger: log, BatchWait: 20 * time.Millisecond})
	testwait.Until(t, 30*time.Second, "every record stored", func() bool { return storedOffset(t, st, group, topic, 0) == 20 })
	require.NoError(t, r.stop(t))

	got := stored(t, db)
	require.EqualValues(t, 20, got.Events)
	require.Equal(t, got.Events, got.DistinctEventOffsets, "records 5..9 stored twice")
	require.GreaterOrEqual(t, testutil.ToFloat64(m.Fenced), 1.0, "the consumer's first batch was refused")
}

// TestUnwritableBatchStopsTheConsumer: a batch that can be neither written
// nor dead-lettered ends Run with ErrUnwritable (the process exits
// non-zero), logged and counted; nothing after it is stored.
func TestUnwritableBatchStopsTheConsumer(t *testing.T) {
	t.Parallel()
	const topic, group = "logs", "g-unwritable"
	st, db := database(t)
	refusePoisonEvents(t, db)
	refusePoisonDeadLetters(t, db)
	b := kafkatest.Start(t, kafkatest.Topic(topic, 1))
	recs := records(40, 12, 0.3)
	recs[30] = poison(1)
	b.Produce(t, topic, recs)
	m := ingest.NewMetrics(nil, nil)
	log, buf := testLogger(t)
	c, err := ingest.NewConsumer(ingest.ConsumerConfig{Store: st, Classifier: classifier(t), Kafka: kafkaConfig(b, topic, group),
		Metrics: m, Logger: log, BatchSize: 10})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ingest.ErrUnwritable)
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not stop on an unwritable batch")
	}
	require.EqualValues(t, 1, testutil.ToFloat64(m.Unwritable))
	require.Contains(t, buf.String(), "can be neither written nor dead-lettered")
	require.EqualValues(t, 30, storedOffset(t, st, group, topic, 0))
}

// lagPartitions returns the partitions whose lag m reports.
func lagPartitions(t *testing.T, m *ingest.Metrics) []string {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	go func() { m.Lag.Collect(ch); close(ch) }()
	var out []string
	for metric := range ch {
		var pb dto.Metric
		require.NoError(t, metric.Write(&pb))
		for _, l := range pb.GetLabel() {
			if l.GetName() == "partition" {
				out = append(out, l.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestLagOfReleasedPartitionsIsDeleted: a partition handed to another
// member no longer reports its lag here.
func TestLagOfReleasedPartitionsIsDeleted(t *testing.T) {
	t.Parallel()
	const topic, group = "logs", "g-lag"
	st, _ := database(t)
	b := kafkatest.Start(t, kafkatest.Topic(topic, 2))
	b.Produce(t, topic, records(200, 13, 0.07))
	ma, mb := ingest.NewMetrics(nil, nil), ingest.NewMetrics(nil, nil)
	loga, _ := testLogger(t)
	cfg := ingest.ConsumerConfig{Store: st, Classifier: classifier(t), Kafka: kafkaConfig(b, topic, group), BatchWait: 20 * time.Millisecond}
	cfg.Metrics, cfg.Logger = ma, loga
	a := start(t, cfg)
	testwait.Until(t, 30*time.Second, "a's lag of both partitions", func() bool { return len(lagPartitions(t, ma)) == 2 })

	require.Equal(t, 2.0, testutil.ToFloat64(ma.Assigned))
	logb, _ := testLogger(t)
	cfg.Metrics, cfg.Logger = mb, logb
	start(t, cfg)
	// Once b owns a partition, records written to both make each member
	// report the lag of its own.
	testwait.Until(t, 30*time.Second, "b to own a partition", func() bool { return testutil.ToFloat64(mb.Assigned) == 1 })
	b.Produce(t, topic, records(200, 14, 0.07))
	testwait.Until(t, 30*time.Second, "each member to report one partition", func() bool {
		pa, pb := lagPartitions(t, ma), lagPartitions(t, mb)
		return len(pa) == 1 && len(pb) == 1
	})
	require.NotEqual(t, lagPartitions(t, ma), lagPartitions(t, mb), "a released partition's lag is not reported by its former owner")
	require.Equal(t, 1.0, testutil.ToFloat64(ma.Assigned))
	require.NoError(t, a.stop(t))
	require.Empty(t, lagPartitions(t, ma), "a stopped: no lag reported")
	require.Zero(t, testutil.ToFloat64(ma.Assigned), "a stopped: no partition assigned")
}

// TestKafkaRetriesAreCounted: retries of the group while no broker answers
// show in faultline_retries_total{dependency="kafka"}.
func TestKafkaRetriesAreCounted(t *testing.T) {
	t.Parallel()
	st, _ := database(t)
	m := ingest.NewMetrics(nil, nil)
	var own atomic.Int32
	kcfg := ingestKafka{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))}, Topic: "logs", Group: "g-retries",
		SessionTimeout: time.Second, HeartbeatInterval: 200 * time.Millisecond, RebalanceTimeout: 2 * time.Second,
		OnRetry: func() { own.Add(1) }}
	start(t, ingest.ConsumerConfig{Store: st, Classifier: classifier(t), Kafka: kcfg, Metrics: m})
	testwait.Until(t, 10*time.Second, "two kafka retries", func() bool { return testutil.ToFloat64(m.Retries.WithLabelValues("kafka")) >= 2 })
	require.Positive(t, own.Load(), "the caller's own hook still runs")
	require.Zero(t, testutil.ToFloat64(m.Retries.WithLabelValues("postgres")))
}
