package store_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/migrations"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

func TestMigrateOnEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	url := pgtest.New(t)
	st := open(t, url)

	err := st.CheckSchema(ctx)
	require.ErrorIs(t, err, store.ErrSchemaBehind)
	current, latest, err := st.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Zero(t, current)
	require.Positive(t, latest)
	containsAll(t, err2str(st.CheckSchema(ctx)), "version 0", fmt.Sprintf("needs %d", latest))

	applied, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, applied)
	require.Equal(t, latest, applied[len(applied)-1])
	require.NoError(t, st.CheckSchema(ctx))
	current, _, err = st.SchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, latest, current)

	again, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, again, "a second Migrate applies nothing")

	db := rawPool(t, url)
	for _, table := range []string{"events", "rollup_requests", "rollup_errors", "error_groups", "consumer_offsets", "dead_letters"} {
		var ok bool
		require.NoError(t, db.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok))
		require.True(t, ok, table)
	}
}

func err2str(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	url := pgtest.New(t)
	stores := []*store.Store{open(t, url), open(t, url)}
	applied := make([][]int64, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, st := range stores {
		wg.Go(func() { applied[i], errs[i] = st.Migrate(ctx) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	_, latest, err := stores[0].SchemaVersion(ctx)
	require.NoError(t, err)
	all := append(append([]int64{}, applied[0]...), applied[1]...)
	require.Contains(t, all, latest)
	files, err := fs.Glob(migrations.FS(), "*.sql")
	require.NoError(t, err)
	require.Len(t, all, len(files), "each migration applied exactly once: %v", applied)

	var rows, distinct int
	require.NoError(t, rawPool(t, url).QueryRow(ctx,
		"SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&rows, &distinct))
	require.Equal(t, len(files), rows)
	require.Equal(t, rows, distinct)
	for _, st := range stores {
		require.NoError(t, st.CheckSchema(ctx))
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	_, err = store.Open(testCtx(t), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", port))
	require.Error(t, err)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.True(t, strings.HasPrefix(err.Error(), "store: connect: postgres unavailable: "), "%v", err)
	require.Equal(t, 1, strings.Count(err.Error(), "store:"), "one prefix, not doubled: %v", err)

	_, err = store.Open(testCtx(t), "postgres://postgres@127.0.0.1:5432/test?sslmode=bogus")
	require.Error(t, err)
	require.NotErrorIs(t, err, store.ErrUnavailable, "a bad URL is not worth retrying")
}

func TestWriteBatch(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)

	evs := events(base, "finix", 0, 10)
	evs[3].Code, evs[3].Fingerprint = "TOO_MANY_REQUESTS", "finix/TOO_MANY_REQUESTS"
	evs[4].CorrelationID, evs[4].TraceID, evs[4].References = "", "", nil
	dead := []store.DeadLetter{
		{Reason: classify.ReasonNotJSON, Detail: "not json", Raw: "garbage", Topic: "integration-logs", Partition: 0, Offset: 10},
		{Reason: classify.ReasonNoTimestamp, Detail: "no ts", Raw: "{}", Topic: "integration-logs", Partition: 0, Offset: 11},
	}
	b := batchOf(src(0), store.NoOffset, 12, evs, dead...)
	require.NoError(t, st.WriteBatch(ctx, b))

	c := countAll(t, db)
	require.Equal(t, counts{Events: 10, DeadLetters: 2, Requests: 10, Errors: 10, ErrorCount: 10, Groups: 2, GroupCount: 10}, c)
	offs, err := st.Offsets(ctx, "faultline", "integration-logs")
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: 12}, offs)

	// The stored row is what was given; empty ids are NULL.
	var provider, category, code, body, corr string
	var status int16
	var refs []string
	require.NoError(t, db.QueryRow(ctx, `SELECT provider, category, code, status, body, correlation_id, refs
		FROM events WHERE src_offset = 0`).Scan(&provider, &category, &code, &status, &body, &corr, &refs))
	require.Equal(t, []any{"finix", "decline", "DECLINED", int16(402), evs[0].Body, "req_finix_0", []string{"AU0"}},
		[]any{provider, category, code, status, body, corr, refs})
	var nulls int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events
		WHERE src_offset = 4 AND correlation_id IS NULL AND trace_id IS NULL AND refs IS NULL`).Scan(&nulls))
	require.Equal(t, 1, nulls)

	// A second batch adds up.
	evs2 := events(base.Add(5*time.Second), "finix", 12, 5)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), 12, 17, evs2)))
	c = countAll(t, db)
	require.Equal(t, counts{Events: 15, DeadLetters: 2, Requests: 15, Errors: 15, ErrorCount: 15, Groups: 2, GroupCount: 15}, c)

	var count int64
	var first, last time.Time
	var sample string
	require.NoError(t, db.QueryRow(ctx, `SELECT count, first_seen, last_seen, sample_correlation_id FROM error_groups
		WHERE fingerprint = $1`, evs[0].Fingerprint).Scan(&count, &first, &last, &sample))
	require.EqualValues(t, 14, count)
	require.True(t, first.Equal(base), "first_seen %s", first)
	require.True(t, last.Equal(evs2[4].TS), "last_seen %s", last)
	require.Equal(t, "req_finix_16", sample, "the newer sample wins")

	var reqs, errs int64
	require.NoError(t, db.QueryRow(ctx, `SELECT requests, errors FROM rollup_requests
		WHERE minute = $1 AND provider = 'finix'`, base).Scan(&reqs, &errs))
	require.Equal(t, []int64{15, 15}, []int64{reqs, errs})

	// An older batch's sample does not replace a newer one, but counts add.
	old := events(base.Add(-time.Hour), "finix", 17, 1)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), 17, 18, old)))
	require.NoError(t, db.QueryRow(ctx, `SELECT count, first_seen, sample_correlation_id FROM error_groups
		WHERE fingerprint = $1`, evs[0].Fingerprint).Scan(&count, &first, &sample))
	require.EqualValues(t, 15, count)
	require.True(t, first.Equal(old[0].TS))
	require.Equal(t, "req_finix_16", sample)
}

// sampleEvent checks that the group of fingerprint points at its sample
// event by the events primary key, that this event exists, is of the group
// and happened at the group's last_seen, and that the group's sample
// correlation id is the event's. It returns the event's id and
// correlation id.
func sampleEvent(t *testing.T, db *pgxpool.Pool, fingerprint string) (int64, string) {
	t.Helper()
	ctx := testCtx(t)
	var id *int64
	var sampleTS *time.Time
	var last time.Time
	var groupCorr *string
	require.NoError(t, db.QueryRow(ctx, `SELECT sample_event_id, sample_ts, last_seen, sample_correlation_id
		FROM error_groups WHERE fingerprint = $1`, fingerprint).Scan(&id, &sampleTS, &last, &groupCorr))
	require.NotNil(t, id, "%s: no sample_event_id", fingerprint)
	require.NotNil(t, sampleTS, "%s: no sample_ts", fingerprint)
	require.True(t, sampleTS.Equal(last), "%s: sample_ts %s, last_seen %s", fingerprint, sampleTS, last)

	var fp string
	var ts time.Time
	var corr *string
	require.NoError(t, db.QueryRow(ctx, `SELECT fingerprint, ts, correlation_id FROM events WHERE id = $1 AND ts = $2`,
		*id, *sampleTS).Scan(&fp, &ts, &corr), "%s: sample event %d at %s", fingerprint, *id, sampleTS)
	require.Equal(t, fingerprint, fp)
	require.True(t, ts.Equal(last), "%s: sample event at %s, last_seen %s", fingerprint, ts, last)
	require.Equal(t, groupCorr, corr, "%s: the sample event is the one the group's sample describes", fingerprint)
	if corr == nil {
		return *id, ""
	}
	return *id, *corr
}

func TestWriteBatchSampleEvent(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)

	// Two groups, events out of order, timestamps finer than Postgres'
	// microseconds.
	t0 := base.Add(123456789 * time.Nanosecond)
	evs := events(t0, "finix", 0, 8)
	for _, i := range []int{1, 4, 6} {
		evs[i].Code, evs[i].Fingerprint = "TOO_MANY_REQUESTS", "finix/TOO_MANY_REQUESTS"
	}
	evs[2], evs[7] = evs[7], evs[2] // DECLINED's latest is evs[2], TOO_MANY_REQUESTS's evs[6]
	declined, tooMany := evs[0].Fingerprint, evs[1].Fingerprint
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 8, evs)))
	id1, corr := sampleEvent(t, db, declined)
	require.Equal(t, "req_finix_7", corr)
	idTooMany, corr := sampleEvent(t, db, tooMany)
	require.Equal(t, "req_finix_6", corr)

	// A newer event moves the sample; the other group keeps its own.
	newer := events(t0.Add(time.Minute), "finix", 8, 2)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), 8, 10, newer)))
	id2, corr := sampleEvent(t, db, declined)
	require.Equal(t, "req_finix_9", corr)
	require.NotEqual(t, id1, id2)
	id, corr := sampleEvent(t, db, tooMany)
	require.Equal(t, []any{idTooMany, "req_finix_6"}, []any{id, corr})

	// An older batch does not.
	older := events(t0.Add(-time.Hour), "finix", 10, 3)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), 10, 13, older)))
	id, corr = sampleEvent(t, db, declined)
	require.Equal(t, []any{id2, "req_finix_9"}, []any{id, corr})

	// A newer delta without a sample event, or with one of another group,
	// keeps the stored sample event.
	later := events(t0.Add(2*time.Minute), "finix", 13, 2)
	later[1].Code, later[1].Fingerprint = "TOO_MANY_REQUESTS", tooMany
	b := batchOf(src(0), 13, 15, later)
	require.Len(t, b.Groups, 2)
	b.Groups[0].SampleEvent, b.Groups[1].SampleEvent = -1, 0
	require.NoError(t, st.WriteBatch(ctx, b))
	var ids []int64
	require.NoError(t, db.QueryRow(ctx, `SELECT array_agg(sample_event_id ORDER BY fingerprint) FROM error_groups`).Scan(&ids))
	require.Equal(t, []int64{id2, idTooMany}, ids)

	// Events loaded without ids take theirs from the same sequence: every
	// id is distinct.
	require.NoError(t, st.InsertEventsOneByOne(ctx, events(t0, "finix", 15, 5)))
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), 15, 20, events(t0, "finix", 20, 5))))
	var n, distinct int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FROM events`).Scan(&n, &distinct))
	require.Equal(t, 25, n)
	require.Equal(t, n, distinct)
}

func TestWriteBatchMergesDuplicateRollupKeys(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	b := batchOf(src(0), store.NoOffset, 3, events(base, "cheers", 0, 3))
	// The same keys twice, in another order: stored once, summed.
	b.Requests = append(b.Requests, b.Requests...)
	b.Errors = append([]store.ErrorRollup{b.Errors[0]}, b.Errors...)
	g := b.Groups[0]
	g.Count, g.LastSeen, g.SampleCorrelationID = 1, base.Add(time.Hour), "latest"
	b.Groups = append(b.Groups, g)
	require.NoError(t, st.WriteBatch(ctx, b))
	c := countAll(t, db)
	require.Equal(t, counts{Events: 3, Requests: 6, Errors: 6, ErrorCount: 6, Groups: 1, GroupCount: 4}, c)
	var sample string
	require.NoError(t, db.QueryRow(ctx, "SELECT sample_correlation_id FROM error_groups").Scan(&sample))
	require.Equal(t, "latest", sample)
}

func TestReplayedBatchIsFenced(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)

	first := batchOf(src(0), store.NoOffset, 10, events(base, "finterra", 0, 10),
		store.DeadLetter{Reason: classify.ReasonNotJSON, Raw: "x", Topic: "integration-logs", Offset: 9})
	require.NoError(t, st.WriteBatch(ctx, first))
	second := batchOf(src(0), 10, 20, events(base.Add(time.Minute), "finterra", 10, 10))
	require.NoError(t, st.WriteBatch(ctx, second))
	before := countAll(t, db)

	for _, b := range []*store.Batch{first, second} {
		err := st.WriteBatch(ctx, b)
		require.ErrorIs(t, err, store.ErrFenced)
		require.NotErrorIs(t, err, store.ErrUnavailable)
		containsAll(t, err.Error(), "stored offset 20")
		require.Equal(t, 1, strings.Count(err.Error(), "store:"), "one prefix, not doubled: %v", err)
	}
	// A writer that resumed from an offset that moved on.
	err := st.WriteBatch(ctx, batchOf(src(0), 15, 25, events(base, "finterra", 15, 10)))
	require.ErrorIs(t, err, store.ErrFenced)
	containsAll(t, err.Error(), "stored offset 20", "expected 15")
	// Expecting an offset on a source that has none.
	err = st.WriteBatch(ctx, batchOf(src(9), 5, 6, events(base, "finterra", 5, 1)))
	require.ErrorIs(t, err, store.ErrFenced)
	containsAll(t, err.Error(), "stored offset none")

	require.Equal(t, before, countAll(t, db), "a fenced batch writes nothing")
	offs, err := st.Offsets(ctx, "faultline", "integration-logs")
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: 20}, offs)
}

func TestTwoWritersFromNoOffset(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	url := pgtest.New(t)
	st1 := open(t, url)
	_, err := st1.Migrate(ctx)
	require.NoError(t, err)
	st2 := open(t, url)
	db := rawPool(t, url)

	const rounds = 5
	for p := range int32(rounds) {
		// Two consumers that both believe they own partition p, both
		// starting from no stored offset.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []*store.Store{st1, st2} {
			b := batchOf(src(p), store.NoOffset, 100, events(base, "paylera", 0, 100))
			wg.Go(func() { errs[i] = st.WriteBatch(ctx, b) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, store.ErrFenced)
			}
		}
		require.Equal(t, 1, ok, "round %d: %v", p, errs)
	}
	require.Equal(t, int64(rounds*100), countAll(t, db).Events)

	// Later, a third from NoOffset is fenced too.
	err = st2.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 100, events(base, "paylera", 0, 100)))
	require.ErrorIs(t, err, store.ErrFenced)
}

func TestConcurrentWritersSumRollups(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	const writers, batches, perBatch = 8, 5, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range int32(writers) {
		wg.Go(func() {
			expected := store.NoOffset
			for i := range batches {
				// Every writer hits the same rollup keys and groups, over
				// three minutes and two providers.
				evs := make([]store.Event, perBatch)
				for j := range evs {
					provider := []string{"finix", "flexiti"}[j%2]
					evs[j] = event(base.Add(time.Duration(j%3)*time.Minute), provider, "DECLINED", i*perBatch+j)
				}
				next := int64((i + 1) * perBatch)
				if err := st.WriteBatch(ctx, batchOf(src(w), expected, next, evs)); err != nil {
					errs <- err
					return
				}
				expected = next
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	const total = writers * batches * perBatch
	require.Equal(t, counts{Events: total, Requests: total, Errors: total, ErrorCount: total, Groups: 2, GroupCount: total},
		countAll(t, db))
	var keys int
	require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM rollup_requests").Scan(&keys))
	require.Equal(t, 6, keys)
	offs, err := st.Offsets(ctx, "faultline", "integration-logs")
	require.NoError(t, err)
	require.Len(t, offs, writers)
	for p, o := range offs {
		require.EqualValues(t, batches*perBatch, o, "partition %d", p)
	}
}

func TestPartitionsAndRetention(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	require.Empty(t, partitions(t, db))

	// A batch across midnight creates both days.
	evs := events(base.Add(13*time.Hour+59*time.Minute+58*time.Second), "flexiti", 0, 4) // 23:59:58 .. 00:00:01
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 4, evs)))
	require.Equal(t, []string{"events_p20261102", "events_p20261103"}, partitions(t, db))
	var perDay []int
	rows, err := db.Query(ctx, "SELECT count(*) FROM events GROUP BY tableoid ORDER BY tableoid::regclass::text")
	require.NoError(t, err)
	for rows.Next() {
		var n int
		require.NoError(t, rows.Scan(&n))
		perDay = append(perDay, n)
	}
	require.Equal(t, []int{2, 2}, perDay)

	// Ahead of time, idempotently, from a second store too.
	st2 := open(t, db.Config().ConnString())
	require.NoError(t, st.EnsurePartitions(ctx, base.AddDate(0, 0, -10), base.AddDate(0, 0, 2)))
	require.NoError(t, st2.EnsurePartitions(ctx, base.AddDate(0, 0, -10), base.AddDate(0, 0, 2)))
	require.Len(t, partitions(t, db), 13)
	require.Error(t, st.EnsurePartitions(ctx, base, base.Add(-48*time.Hour)))

	// Old data: events 10 and 3 days ago, rollups and dead letters too.
	old := []store.Event{event(base.AddDate(0, 0, -10), "flexiti", "x", 4), event(base.AddDate(0, 0, -3), "flexiti", "x", 5)}
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), 4, 6, old)))
	_, err = db.Exec(ctx, "INSERT INTO dead_letters (received_at, reason) VALUES ($1, 'old'), ($2, 'recent')",
		base.AddDate(0, 0, -10), base.AddDate(0, 0, -1))
	require.NoError(t, err)

	// Keep 7 days of events and 5 of rollups, "now" being base.
	dropped, deleted, err := st.ApplyRetention(ctx, base, 7*24*time.Hour, 5*24*time.Hour)
	require.NoError(t, err)
	// The day of base-7d (2026-10-26) is not entirely older than the cutoff.
	require.Equal(t, []string{"events_p20261023", "events_p20261024", "events_p20261025"}, dropped)
	require.EqualValues(t, 5, deleted, "one request and one error rollup row of 10 days ago, per minute and per hour, and its group's hour")
	require.NotContains(t, partitions(t, db), "events_p20261023")
	require.Contains(t, partitions(t, db), "events_p20261026")
	var reasons []string
	rows, err = db.Query(ctx, "SELECT reason FROM dead_letters ORDER BY reason")
	require.NoError(t, err)
	for rows.Next() {
		var r string
		require.NoError(t, rows.Scan(&r))
		reasons = append(reasons, r)
	}
	require.Equal(t, []string{"recent"}, reasons)
	c := countAll(t, db)
	require.EqualValues(t, 5, c.Events, "the 10-day-old event went with its partition")
	require.EqualValues(t, 5, c.Requests)

	// Again: nothing more to do.
	dropped, deleted, err = st.ApplyRetention(ctx, base, 7*24*time.Hour, 5*24*time.Hour)
	require.NoError(t, err)
	require.Empty(t, dropped)
	require.Zero(t, deleted)

	// st2 believes events_p20261025 exists (it created it above) but st
	// dropped it: a late event for that day is still stored.
	late := []store.Event{event(time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC), "flexiti", "x", 6)}
	require.NoError(t, st2.WriteBatch(ctx, batchOf(src(0), 6, 7, late)))
	require.Contains(t, partitions(t, db), "events_p20261025")
	require.EqualValues(t, 6, countAll(t, db).Events)
}

func TestSanitisesText(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	e := event(base, "fin\x00terra", "bad\xffcode", 0)
	e.Message = "nul \x00 here and invalid \xc3\x28 utf-8"
	e.Body = "{\"a\":\"\x00\"}\xfe"
	e.CorrelationID = "req_\x00_1"
	e.References = []string{"ok", "\x00", "r\xff"}
	e.Fingerprint = "fp\x00"
	b := batchOf(src(0), store.NoOffset, 1, []store.Event{e},
		store.DeadLetter{Reason: classify.ReasonNULByte, Detail: "nul\x00", Raw: "{\"ts\":\x00}\xff", Topic: "t\x00"})
	require.NoError(t, st.WriteBatch(ctx, b))

	var provider, code, msg, body, corr string
	var refs []string
	require.NoError(t, db.QueryRow(ctx, "SELECT provider, code, message, body, correlation_id, refs FROM events").
		Scan(&provider, &code, &msg, &body, &corr, &refs))
	require.Equal(t, "finterra", provider)
	require.Equal(t, "bad\uFFFDcode", code)
	require.Equal(t, "nul  here and invalid \uFFFD( utf-8", msg)
	require.NotContains(t, body, "\x00")
	require.Equal(t, "req__1", corr)
	require.Equal(t, []string{"ok", "r\uFFFD"}, refs)
	var raw string
	require.NoError(t, db.QueryRow(ctx, "SELECT raw FROM dead_letters").Scan(&raw))
	require.NotContains(t, raw, "\x00")
	var groups int
	require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM error_groups WHERE fingerprint = 'fp'").Scan(&groups))
	require.Equal(t, 1, groups)
}

func TestRejectsMalformedBatches(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, _ := migrated(t)
	for name, b := range map[string]*store.Batch{
		"nil":              nil,
		"no group":         {Source: store.Source{Topic: "t"}, ExpectedOffset: store.NoOffset, NextOffset: 1},
		"negative next":    {Source: src(0), ExpectedOffset: store.NoOffset, NextOffset: -1},
		"next before":      {Source: src(0), ExpectedOffset: 10, NextOffset: 5},
		"bad expected":     {Source: src(0), ExpectedOffset: -2, NextOffset: 5},
		"NoOffset as next": {Source: src(0), ExpectedOffset: 4, NextOffset: store.NoOffset},
	} {
		err := st.WriteBatch(ctx, b)
		require.Error(t, err, name)
		require.False(t, errors.Is(err, store.ErrFenced) || errors.Is(err, store.ErrUnavailable), name)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, _ := migrated(t)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 5, events(base, "finix", 0, 3),
		store.DeadLetter{Reason: classify.ReasonNotJSON, Raw: "a"},
		store.DeadLetter{Reason: classify.ReasonNotJSON, Raw: "b"},
		store.DeadLetter{Reason: classify.ReasonBadTime, Raw: "c"})))
	b := batchOf(src(1), store.NoOffset, 7, events(base.Add(time.Hour), "cheers", 0, 2))
	b.Requests = append(b.Requests, store.RequestRollup{Minute: base, Provider: "cheers", Endpoint: "/ok", Requests: 40})
	require.NoError(t, st.WriteBatch(ctx, b))

	s, err := st.Status(ctx, base, base.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, s.Offsets, 2)
	require.Equal(t, src(0), s.Offsets[0].Source)
	require.EqualValues(t, 5, s.Offsets[0].NextOffset)
	require.EqualValues(t, 7, s.Offsets[1].NextOffset)
	require.WithinDuration(t, time.Now(), s.Offsets[1].UpdatedAt, time.Minute)
	require.EqualValues(t, 5, s.Events)
	require.EqualValues(t, 3, s.DeadLetters)
	require.Equal(t, map[classify.Reason]int64{classify.ReasonNotJSON: 2, classify.ReasonBadTime: 1}, s.DeadLettersByReason)
	offs, err := st.GroupOffsets(ctx, src(0).Group)
	require.NoError(t, err)
	require.Equal(t, map[string]map[int32]int64{src(0).Topic: {0: 5, 1: 7}}, offs)
	offs, err = st.GroupOffsets(ctx, "no such group")
	require.NoError(t, err)
	require.Empty(t, offs)
	// cheers' errors at base+1h are outside [base, base+1h).
	require.Equal(t, []store.ProviderTraffic{
		{Provider: "cheers", Requests: 40, Errors: 0},
		{Provider: "finix", Requests: 3, Errors: 3},
	}, s.Traffic)
}

func TestInsertEventsOneByOne(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	evs := events(base, "finix", 0, 20)
	evs[0].Message = "with \x00 NUL"
	require.NoError(t, st.InsertEventsOneByOne(ctx, evs))
	assert.EqualValues(t, 20, countAll(t, db).Events)
}

// TestWriteBatchAcrossRestart restarts a private Postgres in the middle of
// a run: writes fail with ErrUnavailable while it is down, and succeed once
// it is back.
func TestWriteBatchAcrossRestart(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	pg := pgtest.NewPrivate(t)
	url := pg.NewDatabase(t)
	st := open(t, url)
	_, err := st.Migrate(ctx)
	require.NoError(t, err)

	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 10, events(base, "finix", 0, 10))))

	pg.Stop(t)
	b := batchOf(src(0), 10, 20, events(base.Add(time.Minute), "finix", 10, 10))
	for range 2 {
		err = st.WriteBatch(ctx, b)
		require.ErrorIs(t, err, store.ErrUnavailable)
	}
	_, err = st.Offsets(ctx, "faultline", "integration-logs")
	require.ErrorIs(t, err, store.ErrUnavailable)

	pg.Start(t)
	require.NoError(t, st.WriteBatch(ctx, b), "the same batch, retried")
	offs, err := st.Offsets(ctx, "faultline", "integration-logs")
	require.NoError(t, err)
	require.Equal(t, map[int32]int64{0: 20}, offs)
	require.EqualValues(t, 20, countAll(t, rawPool(t, url)).Events)
}

// TestLookupsUseIndexes checks that an escalation's lookup by any id, and
// a group's events over a window, can be answered from an index on every
// partition (with a generic plan, as for a prepared statement).
func TestLookupsUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 50,
		events(base.Add(14*time.Hour-25*time.Second), "finix", 0, 50)))) // across midnight
	require.Len(t, partitions(t, db), 2)

	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	// Lookups by id go through event_ids (TestFindEventsUsesIndexes); a
	// group's events are read by fingerprint within a window.
	for name, q := range map[string]string{
		"fingerprint": "SELECT id FROM events WHERE fingerprint = $1 AND ts >= $2::timestamptz AND ts < $2::timestamptz + interval '2 days'",
	} {
		_, err := conn.Exec(ctx, "PREPARE q_"+name+" AS "+q)
		require.NoError(t, err)
		args := "('x')"
		if name == "fingerprint" {
			args = "('x', '2026-11-02T00:00:00Z')"
		}
		rows, err := conn.Query(ctx, "EXPLAIN EXECUTE q_"+name+args)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		text := fmt.Sprint(plan)
		require.NotContains(t, text, "Seq Scan", "%s: %s", name, text)
		require.Contains(t, text, "Index", "%s: %s", name, text)
	}

	// A group's sample event, by the events primary key: one index lookup
	// in the one partition of its ts.
	var id int64
	var ts time.Time
	require.NoError(t, conn.QueryRow(ctx, "SELECT sample_event_id, sample_ts FROM error_groups").Scan(&id, &ts))
	_, err = conn.Exec(ctx, "PREPARE q_sample AS SELECT fingerprint FROM events WHERE id = $1 AND ts = $2")
	require.NoError(t, err)
	rows, err := conn.Query(ctx, fmt.Sprintf("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q_sample(%d, '%s')",
		id, ts.Format(time.RFC3339Nano)))
	require.NoError(t, err)
	var plan []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan = append(plan, line)
	}
	require.NoError(t, rows.Err())
	text := strings.Join(plan, "\n")
	require.NotContains(t, text, "Seq Scan", text)
	require.Equal(t, 1, strings.Count(text, "Index Scan"), text)
	require.Contains(t, text, "Subplans Removed: 1", text)
	require.Contains(t, text, "rows=1 loops=1", text)
}

// TestConcurrentPartitionCreationLogsEachOnce: stores creating the same
// partitions at once (the upkeep and the writers at start) report each
// partition created once, by the one that created it.
func TestConcurrentPartitionCreationLogsEachOnce(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	_, db := migrated(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	const stores = 6
	var wg sync.WaitGroup
	for range stores {
		st, err := store.Open(ctx, db.Config().ConnString(), store.WithLogger(log))
		require.NoError(t, err)
		t.Cleanup(st.Close)
		wg.Go(func() { require.NoError(t, st.EnsurePartitions(ctx, base, base.AddDate(0, 0, 4))) })
	}
	wg.Wait()
	created := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry struct {
			Msg        string   `json:"msg"`
			Partitions []string `json:"partitions"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		if entry.Msg == "events partitions created" {
			for _, p := range entry.Partitions {
				created[p]++
			}
		}
	}
	require.Len(t, created, 5)
	for p, n := range created {
		require.Equal(t, 1, n, "%s reported created %d times", p, n)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
