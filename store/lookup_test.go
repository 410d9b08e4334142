package store_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

// matchedIDs returns the event's matches as "kind:id".
func matchedIDs(f store.FoundEvent) []string {
	var out []string
	for _, m := range f.Matched {
		out = append(out, m.Kind.String()+":"+m.ID)
	}
	return out
}

func TestWriteBatchStoresEventIDs(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	evs := events(base, "finix", 0, 3)
	evs[1].CorrelationID, evs[1].TraceID, evs[1].References = "", "", nil
	// Two references that sanitise alike, and one empty: stored once.
	evs[2].References = []string{"AU2", "AU\x002", "", "TR2"}
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 3, evs)))

	rows, err := db.Query(ctx, `SELECT k.id, k.kind FROM event_ids k JOIN events e ON e.id = k.event_id AND e.ts = k.ts
		ORDER BY e.src_offset, k.kind, k.id`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var id string
		var kind int16
		require.NoError(t, rows.Scan(&id, &kind))
		got = append(got, store.IDKind(kind).String()+":"+id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"correlation_id:req_finix_0", "trace_id:trace-0", "reference:AU0",
		"correlation_id:req_finix_2", "trace_id:trace-2", "reference:AU2", "reference:TR2",
	}, got)

	// A fenced batch writes no ids either.
	err = st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 3, events(base, "finix", 10, 2)))
	require.ErrorIs(t, err, store.ErrFenced)
	var n int
	require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM event_ids").Scan(&n))
	require.Equal(t, 7, n)
}

func TestFindEvents(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, _ := migrated(t)

	// Three calls of one trace (a payment retried over two days), and
	// another provider's event.
	evs := []store.Event{
		event(base, "finix", "DECLINED", 1),
		event(base.Add(time.Hour), "finix", "DECLINED", 2),
		event(base.Add(26*time.Hour), "finix", "DECLINED", 3),
		event(base.Add(2*time.Hour), "paylera", "auth.expired_token", 4),
	}
	for i := range 3 {
		evs[i].TraceID = "trace-retried"
	}
	evs[3].TraceID = "req_finix_1" // an id that is another event's correlation id
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 4, evs)))

	t.Run("by correlation id", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"req_finix_2"}, time.Time{}, time.Time{}, 0)
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
		f := res.Events[0]
		require.True(t, f.TS.Equal(evs[1].TS))
		require.Equal(t, []string{"correlation_id:req_finix_2"}, matchedIDs(f))
		require.Equal(t, "finix", f.Provider)
		require.Equal(t, "DECLINED", f.Code)
		require.Equal(t, "insufficient_funds", f.Subcode)
		require.Equal(t, 402, f.Status)
		require.Equal(t, []string{"AU2"}, f.References)
		require.Equal(t, evs[1].Body, f.Body)
		require.EqualValues(t, 3, f.GroupCount, "the finix group has three events")
		require.True(t, f.GroupFirstSeen.Equal(base), "first seen %s", f.GroupFirstSeen)
	})
	t.Run("by reference", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"AU3"}, time.Time{}, time.Time{}, 0)
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
		require.Equal(t, []string{"reference:AU3"}, matchedIDs(res.Events[0]))
	})
	t.Run("several matches newest first", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"trace-retried"}, time.Time{}, time.Time{}, 0)
		require.NoError(t, err)
		require.Len(t, res.Events, 3)
		for i, want := range []time.Time{evs[2].TS, evs[1].TS, evs[0].TS} {
			require.True(t, res.Events[i].TS.Equal(want), "event %d at %s, want %s", i, res.Events[i].TS, want)
		}
		require.False(t, res.Truncated)
	})
	t.Run("one id of two kinds, two ids of one event", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"req_finix_1", "AU1"}, time.Time{}, time.Time{}, 0)
		require.NoError(t, err)
		require.Len(t, res.Events, 2)
		require.Equal(t, "paylera", res.Events[0].Provider, "newest first")
		require.Equal(t, []string{"trace_id:req_finix_1"}, matchedIDs(res.Events[0]))
		require.Equal(t, []string{"reference:AU1", "correlation_id:req_finix_1"}, matchedIDs(res.Events[1]))
	})
	t.Run("window narrows", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"trace-retried"}, base.Add(30*time.Minute), base.Add(25*time.Hour), 0)
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
		require.True(t, res.Events[0].TS.Equal(evs[1].TS))
		res, err = st.FindEvents(ctx, []string{"trace-retried"}, base.Add(time.Hour), time.Time{}, 0)
		require.NoError(t, err)
		require.Len(t, res.Events, 2, "from is inclusive")
	})
	t.Run("limit", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"trace-retried"}, time.Time{}, time.Time{}, 2)
		require.NoError(t, err)
		require.Len(t, res.Events, 2)
		require.True(t, res.Truncated)
		require.True(t, res.Events[0].TS.Equal(evs[2].TS), "the newest are kept")
		res, err = st.FindEvents(ctx, []string{"trace-retried", "AU1", "nope"}, time.Time{}, time.Time{}, 1)
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
		require.ElementsMatch(t, []string{"trace-retried", "AU1"}, res.Found, "AU1's event is older than the one listed")
	})
	t.Run("unknown id", func(t *testing.T) {
		res, err := st.FindEvents(ctx, []string{"nope", "req_finix_99"}, time.Time{}, time.Time{}, 0)
		require.NoError(t, err)
		require.Empty(t, res.Events)
		require.Empty(t, res.Found)
	})
	for name, ids := range map[string][]string{
		"no id":    nil,
		"empty id": {""},
		"NUL byte": {"req\x00"},
		"not UTF8": {"req\xff"},
		"too long": {strings.Repeat("x", 513)},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := st.FindEvents(ctx, ids, time.Time{}, time.Time{}, 0)
			require.ErrorIs(t, err, store.ErrBadID)
		})
	}
}

func TestRetentionDeletesEventIDs(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	old := event(base.AddDate(0, 0, -10), "flexiti", "x", 1)
	recent := event(base.AddDate(0, 0, -1), "flexiti", "x", 2)
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 2, []store.Event{old, recent})))

	dropped, _, err := st.ApplyRetention(ctx, base, 7*24*time.Hour, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"events_p20261023"}, dropped)
	var ids []string
	rows, err := db.Query(ctx, "SELECT id FROM event_ids ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"AU2", "req_flexiti_2", "trace-2"}, ids, "the dropped day's ids went with it")
	res, err := st.FindEvents(ctx, []string{"req_flexiti_1", "req_flexiti_2"}, time.Time{}, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
}

func TestReadOnlyStoreRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	url := pgtest.New(t)
	rw := open(t, url)
	_, err := rw.Migrate(ctx)
	require.NoError(t, err)
	require.NoError(t, rw.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 1, events(base, "finix", 0, 1))))

	ro, err := store.Open(ctx, url, store.ReadOnly())
	require.NoError(t, err)
	t.Cleanup(ro.Close)
	res, err := ro.FindEvents(ctx, []string{"req_finix_0"}, time.Time{}, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, res.Events, 1)

	err = ro.WriteBatch(ctx, batchOf(src(0), 1, 2, events(base.Add(time.Second), "finix", 1, 1)))
	require.ErrorContains(t, err, "read-only transaction")
}

// TestFindEventsUsesIndexes checks the plans of FindEvents' statements as
// prepared (generic plans): the ids from event_ids' primary key alone, each
// event from its one partition by the events primary key.
func TestFindEventsUsesIndexes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := migrated(t)
	evs := events(base.Add(14*time.Hour-25*time.Second), "finix", 0, 50) // across midnight
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 50, evs)))
	require.Len(t, partitions(t, db), 2)
	// VACUUM sets the visibility map, as autovacuum would, once no snapshot
	// older than the batch is open: a backend of another test may hold one
	// for a moment while it connects (before it has a database, its snapshot
	// counts for all of them), so vacuum until every page is all-visible.
	testwait.Until(t, 30*time.Second, "event_ids all-visible after VACUUM", func() bool {
		_, err := db.Exec(ctx, "VACUUM ANALYZE event_ids")
		require.NoError(t, err)
		var pages, visible int32
		require.NoError(t, db.QueryRow(ctx, "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'event_ids'").Scan(&pages, &visible))
		return pages > 0 && visible == pages
	})

	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	explain := func(stmt, name, args string) string {
		t.Helper()
		_, err := conn.Exec(ctx, "PREPARE "+name+" AS "+stmt)
		require.NoError(t, err)
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE "+name+args)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		return strings.Join(plan, "\n")
	}
	keys := explain(store.FindKeysSQL, "q_keys", "('{req_finix_3,trace-40}', '-infinity', 'infinity', 101)")
	require.NotContains(t, keys, "Seq Scan", keys)
	require.NotContains(t, keys, "events", keys)
	require.Contains(t, keys, "Index Only Scan using event_ids_pkey on event_ids", keys)
	require.Contains(t, keys, "Heap Fetches: 0", keys)
	require.Contains(t, keys, "rows=2 loops=1", keys)

	ev := evs[40]
	var id int64
	require.NoError(t, db.QueryRow(ctx, "SELECT id FROM events WHERE src_offset = 40").Scan(&id))
	one := explain(store.FindEventSQL, "q_event", "("+fmtInt(id)+", '"+ev.TS.Format(time.RFC3339Nano)+"')")
	require.NotContains(t, one, "Seq Scan", one)
	require.Contains(t, one, "Subplans Removed: 1", one)
	require.Equal(t, 1, strings.Count(one, "Index Scan using events_p"), one)
	require.Contains(t, one, "Index Scan using error_groups_pkey", one)
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// TestRolesOnReportTables: the writer stores ids and hourly rollups with
// its batches and deletes them with retention; the reader runs lookups and
// report reads and cannot write those tables.
func TestRolesOnReportTables(t *testing.T) {
	ctx := testCtx(t)
	dbURL := pgtest.New(t)
	owner := open(t, dbURL)
	_, err := owner.Migrate(ctx)
	require.NoError(t, err)

	w := open(t, loginAs(t, dbURL, dbURL, "faultline_writer"))
	now := time.Now().UTC().Truncate(time.Minute)
	old := now.AddDate(0, 0, -10)
	require.NoError(t, w.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 2, append(events(old, "finix", 0, 1), events(now, "finix", 1, 1)...))))
	dropped, deleted, err := w.ApplyRetention(ctx, now, 5*24*time.Hour, 5*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, dropped, 1)
	require.EqualValues(t, 5, deleted, "the old minute's and hour's rollup rows, and its group's hour")

	r := open(t, loginAs(t, dbURL, dbURL, "faultline_reader"))
	res, err := r.FindEvents(ctx, []string{"req_finix_1", "req_finix_0"}, time.Time{}, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, res.Events, 1, "the old event went with its partition")
	rollups, err := r.ReadReportRollups(ctx, store.ReportQuery{Current: store.Spans{Minutes: []store.TimeRange{{From: now.Add(-time.Hour), To: now.Add(time.Hour)}}}})
	require.NoError(t, err)
	require.Len(t, rollups.Current.Errors, 1)
	rdb := rawPool(t, loginAs(t, dbURL, dbURL, "faultline_reader"))
	for _, stmt := range []string{
		"INSERT INTO event_ids VALUES ('x', now(), 1, 1)",
		"DELETE FROM event_ids",
		"UPDATE rollup_errors_hourly SET count = 0",
		"DELETE FROM rollup_requests_hourly",
	} {
		_, err := rdb.Exec(ctx, stmt)
		require.Error(t, err, "the reader may not: %s", stmt)
		require.Contains(t, err.Error(), "42501", stmt)
	}
}
