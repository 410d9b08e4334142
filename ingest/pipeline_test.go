package ingest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func classifier(t testing.TB) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	return c
}

// database is a fresh, migrated database: a Store on it and a pool for the
// test's own queries.
func database(t testing.TB) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.New(t)
	st, err := store.Open(testCtx(t), url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(testCtx(t))
	require.NoError(t, err)
	db, err := pgxpool.New(testCtx(t), url)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return st, db
}

// records returns n synthetic records of the last hours; errorRate 1 makes
// every one an error event.
func records(n int, seed uint64, errorRate float64) [][]byte {
	g := synth.New(synth.Options{Seed: seed, Start: time.Now().Add(-3 * time.Hour).UTC().Truncate(time.Second), ErrorRate: errorRate})
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next(nil)
	}
	return out
}

// poison is an error record whose event Postgres refuses once the test
// adds the no_poison constraint.
func poison(i int) []byte {
	return fmt.Appendf(nil, `{"ts":"%s","provider":"finterra","status":400,"response_body":{"error":"POISON","message":"poisoned %d","request_id":"req_p%d"}}`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), i, i)
}

func refusePoisonEvents(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	_, err := db.Exec(testCtx(t), `ALTER TABLE events ADD CONSTRAINT no_poison CHECK (code <> 'POISON')`)
	require.NoError(t, err)
}

func refusePoisonDeadLetters(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	_, err := db.Exec(testCtx(t), `ALTER TABLE dead_letters ADD CONSTRAINT no_poison CHECK (raw NOT LIKE '%POISON%')`)
	require.NoError(t, err)
}

// counts is what a source stored.
type counts struct {
	Events, DistinctEventOffsets, DeadLetters, Requests int64
	Rejected                                            int64 // dead letters of reason store_rejected
}

func stored(t *testing.T, db *pgxpool.Pool) counts {
	t.Helper()
	ctx := testCtx(t)
	var c counts
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), count(DISTINCT (src_topic, src_partition, src_offset)) FROM events`).Scan(&c.Events, &c.DistinctEventOffsets))
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE reason = 'store_rejected') FROM dead_letters`).Scan(&c.DeadLetters, &c.Rejected))
	require.NoError(t, db.QueryRow(ctx, `SELECT coalesce(sum(requests), 0)::bigint FROM rollup_requests`).Scan(&c.Requests))
	return c
}

func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, content, 0o644))
	return path
}

func ndjsonOf(recs [][]byte) []byte {
	var b []byte
	for _, r := range recs {
		b = append(append(b, r...), '\n')
	}
	return b
}

func newReplay(t *testing.T, st ingest.ReplayStore, m *ingest.Metrics, batchSize int) *ingest.Replay {
	t.Helper()
	r, err := ingest.NewReplay(ingest.ReplayConfig{Store: st, Classifier: classifier(t), BatchSize: batchSize, Metrics: m})
	require.NoError(t, err)
	return r
}

// TestRefusedRecordsAreIsolatedAndDeadLettered: a batch Postgres refuses
// because of two of its records is split until they are alone; they become
// dead letters with the database's reason, everything else is stored, and
// the source moves on.
func TestRefusedRecordsAreIsolatedAndDeadLettered(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	refusePoisonEvents(t, db)
	recs := records(1000, 1, 0.3)
	recs[137], recs[862] = poison(1), poison(2)
	m := ingest.NewMetrics(nil, nil)
	stats, err := newReplay(t, st, m, 500).File(testCtx(t), writeFile(t, "poisoned.ndjson", ndjsonOf(recs)))
	require.NoError(t, err)

	got := stored(t, db)
	require.EqualValues(t, 2, got.Rejected)
	require.EqualValues(t, 2, got.DeadLetters)
	require.EqualValues(t, 998, got.Requests, "every other record is stored")
	require.Equal(t, got.Events, got.DistinctEventOffsets, "nothing stored twice")
	require.Equal(t, ingest.ReplayStats{Lines: 1000, Stored: 998, DeadLetters: 2}, stats)
	var detail string
	require.NoError(t, db.QueryRow(testCtx(t), `SELECT detail FROM dead_letters WHERE src_offset = 137`).Scan(&detail))
	require.Contains(t, detail, "no_poison", "the dead letter says what Postgres refused")
	require.EqualValues(t, 2, testutil.ToFloat64(m.DeadLetters.WithLabelValues(string(ingest.ReasonStoreRejected))))
	require.Zero(t, testutil.ToFloat64(m.Retries.WithLabelValues("postgres")), "a refusal is not retried as unavailability")

	// Replaying again changes nothing.
	stats, err = newReplay(t, st, m, 500).File(testCtx(t), writeFile(t, "poisoned.ndjson", ndjsonOf(recs)))
	require.NoError(t, err)
	require.EqualValues(t, 1000, stats.Skipped)
	require.Equal(t, got, stored(t, db))
}

// TestUnwritableBatchFailsLoudly: when not even the dead letter of a
// refused record can be written, the replay stops with ErrUnwritable,
// counted, and its batch is not stored in part.
func TestUnwritableBatchFailsLoudly(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	refusePoisonEvents(t, db)
	refusePoisonDeadLetters(t, db)
	recs := records(300, 2, 0.3)
	recs[250] = poison(1)
	m := ingest.NewMetrics(nil, nil)
	_, err := newReplay(t, st, m, 200).File(testCtx(t), writeFile(t, "poisoned.ndjson", ndjsonOf(recs)))
	require.ErrorIs(t, err, ingest.ErrUnwritable)
	require.Contains(t, err.Error(), "offset 250")
	require.EqualValues(t, 1, testutil.ToFloat64(m.Unwritable))
	var next int64
	require.NoError(t, db.QueryRow(testCtx(t), `SELECT next_offset FROM consumer_offsets WHERE group_id = 'replay'`).Scan(&next))
	require.EqualValues(t, 250, next, "the first batch and the records before the one at fault are stored, nothing after")
	require.EqualValues(t, 250, stored(t, db).Requests)
}

// TestManyRefusedRecordsMeanTheDatabaseIsAtFault: when more records of one
// batch are refused than records are likely to be bad, ingestion stops
// instead of dead-lettering the whole stream.
func TestManyRefusedRecordsMeanTheDatabaseIsAtFault(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	refusePoisonEvents(t, db)
	recs := records(100, 3, 0.3)
	for i := 10; i < 100; i += 5 {
		recs[i] = poison(i)
	}
	_, err := newReplay(t, st, nil, 100).File(testCtx(t), writeFile(t, "poisoned.ndjson", ndjsonOf(recs)))
	require.ErrorIs(t, err, ingest.ErrUnwritable)
	require.Contains(t, err.Error(), "more than 10 records of one batch refused")
}

// TestReplayResumesAGrownFile: a log replayed, then replayed again after
// it grew, stores its new lines only; a different file is stored whole.
func TestReplayResumesAGrownFile(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	recs := records(16000, 4, 0.07)
	path := writeFile(t, "app.log", ndjsonOf(recs[:8000]))
	r := newReplay(t, st, nil, 1000)
	stats, err := r.File(testCtx(t), path)
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 8000, Stored: 8000}, stats)

	require.NoError(t, os.WriteFile(path, ndjsonOf(recs), 0o644)) // the log grew
	stats, err = r.File(testCtx(t), path)
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 16000, Skipped: 8000, Stored: 8000}, stats)
	got := stored(t, db)
	require.EqualValues(t, 16000, got.Requests, "each record once")
	require.Equal(t, got.Events, got.DistinctEventOffsets)

	// Once more: nothing new.
	stats, err = r.File(testCtx(t), path)
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 16000, Skipped: 16000}, stats)

	// A file with the same first lines but another continuation is
	// different after them; one with other first lines is different.
	other := append(append([][]byte(nil), recs[:8000]...), records(100, 5, 0.07)...)
	stats, err = r.File(testCtx(t), writeFile(t, "fork.log", ndjsonOf(other)))
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 8100, Skipped: 8000, Stored: 100}, stats)
	stats, err = r.File(testCtx(t), writeFile(t, "other.log", ndjsonOf(records(500, 6, 0.07))))
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 500, Stored: 500}, stats)
	require.EqualValues(t, 16600, stored(t, db).Requests)
}

// TestReplayOfAGrowingLastLine: a log read while its last line was being
// written stores that line again once complete (its partial version was a
// dead letter); a last line that only gains its newline is not stored
// twice.
func TestReplayOfAGrowingLastLine(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	recs := records(3, 7, 0.07)
	r := newReplay(t, st, nil, 1000)
	path := writeFile(t, "app.log", append(ndjsonOf(recs[:1]), recs[1][:20]...))
	stats, err := r.File(testCtx(t), path)
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 2, Stored: 1, DeadLetters: 1}, stats)

	require.NoError(t, os.WriteFile(path, append(ndjsonOf(recs[:2]), recs[2]...), 0o644))
	stats, err = r.File(testCtx(t), path)
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 3, Skipped: 1, Stored: 2}, stats)

	require.NoError(t, os.WriteFile(path, ndjsonOf(recs), 0o644)) // only a final newline added
	stats, err = r.File(testCtx(t), path)
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 3, Skipped: 3}, stats)
	require.EqualValues(t, 3, stored(t, db).Requests)
}

// TestReplayLineEndings: a file with a BOM and CRLF endings is read as
// what it is; one with bare CR endings gives one dead letter per line.
func TestReplayLineEndings(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	recs := records(50, 8, 0.07)
	r := newReplay(t, st, nil, 1000)
	windows := "\xef\xbb\xbf" + strings.ReplaceAll(string(ndjsonOf(recs)), "\n", "\r\n")
	stats, err := r.File(testCtx(t), writeFile(t, "windows.log", []byte(windows)))
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 50, Stored: 50}, stats)

	mac := strings.ReplaceAll(string(ndjsonOf(records(40, 9, 0.07))), "\n", "\r")
	stats, err = r.File(testCtx(t), writeFile(t, "mac.log", []byte(mac)))
	require.NoError(t, err)
	require.Equal(t, ingest.ReplayStats{Lines: 40, DeadLetters: 40}, stats)
	var n int64
	require.NoError(t, db.QueryRow(testCtx(t), `SELECT count(*) FROM dead_letters WHERE reason = 'bare_cr' AND raw LIKE '{"ts":%'`).Scan(&n))
	require.EqualValues(t, 40, n, "each line its own dead letter, with its content")
}

func TestNewReplayAndConsumerRefuseBadConfig(t *testing.T) {
	st, _ := database(t)
	cls := classifier(t)
	for name, cfg := range map[string]ingest.ReplayConfig{
		"no store":              {Classifier: cls},
		"negative batch size":   {Store: st, Classifier: cls, BatchSize: -1},
		"negative record bound": {Store: st, Classifier: cls, MaxRecordBytes: -1},
		"negative retention":    {Store: st, Classifier: cls, Builder: ingest.BuilderOptions{Keep: -time.Hour}},
	} {
		_, err := ingest.NewReplay(cfg)
		require.Error(t, err, name)
	}
	kafka := func() ingestKafka { return ingestKafka{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g"} }
	for name, cfg := range map[string]ingest.ConsumerConfig{
		"no classifier":         {Store: st, Kafka: kafka()},
		"negative batch wait":   {Store: st, Classifier: cls, Kafka: kafka(), BatchWait: -time.Second},
		"negative drain":        {Store: st, Classifier: cls, Kafka: kafka(), DrainTimeout: -time.Second},
		"negative keep":         {Store: st, Classifier: cls, Kafka: kafka(), Builder: ingest.BuilderOptions{Keep: -time.Hour}},
		"kafka config":          {Store: st, Classifier: cls},
		"negative kafka timing": {Store: st, Classifier: cls, Kafka: ingestKafka{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g", SessionTimeout: -1}},
	} {
		_, err := ingest.NewConsumer(cfg)
		require.Error(t, err, name)
	}
	cfg := ingest.ConsumerConfig{Store: st, Classifier: cls, Kafka: kafka()}
	_, err := ingest.NewConsumer(cfg)
	require.NoError(t, err)
	require.Zero(t, cfg.BatchSize, "NewConsumer does not modify its argument")
	require.Nil(t, cfg.Kafka.OnRetry)
}

func TestConfigWithDefaultsReturnsANewValue(t *testing.T) {
	cfg := ingest.ConsumerConfig{BatchWait: time.Second}
	got := cfg.WithDefaults()
	require.Equal(t, ingest.ConsumerConfig{BatchWait: time.Second}, cfg, "the caller's value is not modified")
	require.Equal(t, ingest.DefaultBatchSize, got.BatchSize)
	require.Equal(t, time.Second, got.BatchWait, "a value given is kept")
	require.Equal(t, ingest.DefaultDrainTimeout, got.DrainTimeout)
	require.NotNil(t, got.Logger)
	require.Same(t, got.Logger, got.Kafka.Logger, "Kafka logs where the consumer does")
	require.NotNil(t, got.Metrics)

	r := ingest.ReplayConfig{BatchSize: 7}.WithDefaults()
	require.Equal(t, 7, r.BatchSize)
	require.Equal(t, classify.DefaultMaxRecordBytes, r.MaxRecordBytes)
	require.NotNil(t, r.Logger)
	require.NotNil(t, r.Metrics)

	u := ingest.UpkeepConfig{}.WithDefaults()
	require.Equal(t, ingest.DefaultUpkeepEvery, u.Every)
	require.NotNil(t, u.Now)
	tc := ingest.TemplatesConfig{}.WithDefaults()
	require.Equal(t, ingest.DefaultTemplatesEvery, tc.Every)
	require.Equal(t, endpoints.DefaultThreshold, tc.Threshold)
}
