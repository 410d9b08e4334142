package ingest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/store"
)

// partitions lists the events partitions.
func partitions(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(testCtx(t), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY 1`)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestUpkeepCreatesPartitionsAheadAndAppliesRetention(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := database(t)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	old := now.AddDate(0, 0, -100)
	require.NoError(t, st.EnsurePartitions(ctx, old, old))
	require.NoError(t, st.WriteBatch(ctx, &store.Batch{
		Source: store.Source{Group: "g", Topic: "t"}, ExpectedOffset: store.NoOffset, NextOffset: 2,
		Requests: []store.RequestRollup{
			{Minute: now.AddDate(0, 0, -500), Provider: "finix", Endpoint: "/", Requests: 1},
			{Minute: now.Add(-time.Hour), Provider: "finix", Endpoint: "/", Requests: 1},
		},
	}))

	u, err := ingest.NewUpkeep(ingest.UpkeepConfig{Store: st, Keep: 90 * 24 * time.Hour, RollupKeep: 400 * 24 * time.Hour,
		Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, u.Once(ctx))
	require.Equal(t, []string{"events_p20261119", "events_p20261120", "events_p20261121", "events_p20261122", "events_p20261123"},
		partitions(t, db), "a day behind to three ahead; the 100-day-old partition dropped")
	var rollups int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM rollup_requests`).Scan(&rollups))
	require.Equal(t, 1, rollups, "the 500-day-old rollup row deleted")
	require.NoError(t, u.Once(ctx), "idempotent")
}

// TestUpkeepRunsEveryInterval: each round creates the partitions of its
// own now.
func TestUpkeepRunsEveryInterval(t *testing.T) {
	t.Parallel()
	st, db := database(t)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var rounds atomic.Int64
	u, err := ingest.NewUpkeep(ingest.UpkeepConfig{Store: st, Every: 10 * time.Millisecond,
		Now: func() time.Time { return day.AddDate(0, 0, int(rounds.Add(1))) }})
	require.NoError(t, err)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() { u.Run(ctx); close(done) }()
	testwait.Until(t, 30*time.Second, "a third round", func() bool {
		ps := partitions(t, db)
		return len(ps) > 0 && ps[len(ps)-1] >= "events_p20261126"
	})
	cancel()
	<-done
}

// TestUpkeepCountsFailuresByTask makes retention fail for real (its
// Postgres function gone): the failure is counted under its task, the
// partitions are still created ahead, and each task's last success is
// timed.
func TestUpkeepCountsFailuresByTask(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	st, db := database(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewUpkeepMetrics(reg)
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	u, err := ingest.NewUpkeep(ingest.UpkeepConfig{Store: st, Keep: 90 * 24 * time.Hour, RollupKeep: 400 * 24 * time.Hour,
		Metrics: m, Now: func() time.Time { return now }})
	require.NoError(t, err)
	failures := func(task string) float64 { return testutil.ToFloat64(m.Failures.WithLabelValues(task)) }
	require.Zero(t, failures("partitions"), "both tasks' series exist before a failure")
	require.Zero(t, failures("retention"))

	_, err = db.Exec(ctx, `ALTER FUNCTION faultline_drop_event_partitions_before(timestamptz) RENAME TO gone`)
	require.NoError(t, err)
	err = u.Once(ctx)
	require.ErrorContains(t, err, "apply retention")
	require.Equal(t, 1.0, failures("retention"))
	require.Zero(t, failures("partitions"))
	require.Contains(t, partitions(t, db), "events_p20261123", "partitions are created ahead whatever retention does")
	require.Equal(t, float64(now.Unix()), testutil.ToFloat64(m.LastSuccess.WithLabelValues("partitions")))
	require.Equal(t, 1, testutil.CollectAndCount(m.LastSuccess), "retention has not succeeded yet")

	_, err = db.Exec(ctx, `ALTER FUNCTION gone(timestamptz) RENAME TO faultline_drop_event_partitions_before`)
	require.NoError(t, err)
	now = now.Add(time.Hour)
	require.NoError(t, u.Once(ctx))
	require.Equal(t, 1.0, failures("retention"), "a failure stays counted")
	require.Equal(t, float64(now.Unix()), testutil.ToFloat64(m.LastSuccess.WithLabelValues("retention")))

	// A round cut short by shutdown is not a failure.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, u.Once(cancelled))
	require.Equal(t, 1.0, failures("retention"))
	require.Zero(t, failures("partitions"))
	n, err := testutil.GatherAndCount(reg, "faultline_upkeep_failures_total", "faultline_upkeep_last_success_timestamp_seconds")
	require.NoError(t, err)
	require.Equal(t, 4, n, "registered with the registry given")
}

func TestNewUpkeepRefusesBadConfig(t *testing.T) {
	st, _ := database(t)
	for name, cfg := range map[string]ingest.UpkeepConfig{
		"no store":             {},
		"negative keep":        {Store: st, Keep: -time.Hour},
		"negative rollup keep": {Store: st, RollupKeep: -time.Hour},
		"negative interval":    {Store: st, Every: -time.Second},
	} {
		_, err := ingest.NewUpkeep(cfg)
		require.Error(t, err, name)
	}
}
