package migrations_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/migrations"
	"github.com/faultline-dev/faultline/pgtest"
)

// TestEventIDsMigrationBackfills applies the migrations before event_ids,
// stores events with every kind of id, applies event_ids: each id of each
// event is there once, with the event's primary key; rolling back drops
// the table and leaves the events.
func TestEventIDsMigrationBackfills(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pgtest.New(t))
	require.NoError(t, err)
	defer db.Close()
	p, err := migrations.NewProvider(db)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 2)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE events_p20261102 PARTITION OF events
		FOR VALUES FROM ('2026-11-02 00:00:00+00') TO ('2026-11-03 00:00:00+00')`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO events (id, ts, provider, category, fingerprint, correlation_id, trace_id, refs) VALUES
		(1, '2026-11-02T10:00:00Z', 'finix', 'decline', 'f', 'logref-1', 'trace-1', '{AU1,TR1}'),
		(2, '2026-11-02T10:00:01Z', 'finix', 'decline', 'f', 'logref-2', NULL, NULL),
		(3, '2026-11-02T10:00:02Z', 'cheers', 'auth', 'g', NULL, 'trace-1', '{}'),
		(4, '2026-11-02T10:00:03Z', 'paylera', 'auth', 'h', 'same', 'same', NULL)`)
	require.NoError(t, err)

	_, err = p.UpTo(ctx, 4)
	require.NoError(t, err)
	rows, err := db.QueryContext(ctx, `SELECT k.id, k.event_id, k.kind, k.ts = e.ts
		FROM event_ids k JOIN events e ON e.id = k.event_id ORDER BY k.event_id, k.kind, k.id`)
	require.NoError(t, err)
	type row struct {
		id     string
		event  int64
		kind   int16
		sameTS bool
	}
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.id, &r.event, &r.kind, &r.sameTS))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []row{
		{"logref-1", 1, 1, true}, {"trace-1", 1, 2, true}, {"AU1", 1, 3, true}, {"TR1", 1, 3, true},
		{"logref-2", 2, 1, true},
		{"trace-1", 3, 2, true},
		{"same", 4, 1, true}, {"same", 4, 2, true},
	}, got)

	_, err = p.DownTo(ctx, 2)
	require.NoError(t, err)
	var tables, events int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'event_ids'`).Scan(&tables))
	require.Zero(t, tables)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&events))
	require.Equal(t, 4, events)
}

// TestHourlyRollupsMigrationBackfills applies the migrations before the
// hourly rollups, stores per-minute rollups, applies them in a session of
// another time zone: the hours are UTC hours and the counts add up.
func TestHourlyRollupsMigrationBackfills(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pgtest.New(t)+"&timezone=Asia/Kolkata")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	p, err := migrations.NewProvider(db)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 4)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO rollup_errors (minute, provider, category, code, subcode, count) VALUES
		('2026-11-02T10:00:00Z', 'finix', 'decline', 'DECLINED', 'CALL_ISSUER', 2),
		('2026-11-02T10:59:00Z', 'finix', 'decline', 'DECLINED', 'CALL_ISSUER', 3),
		('2026-11-02T11:00:00Z', 'finix', 'decline', 'DECLINED', 'CALL_ISSUER', 4)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO rollup_requests (minute, provider, endpoint, requests, errors) VALUES
		('2026-11-02T10:29:00Z', 'finix', '/transfers', 10, 2), ('2026-11-02T10:31:00Z', 'finix', '/transfers', 20, 3)`)
	require.NoError(t, err)

	_, err = p.UpTo(ctx, 5)
	require.NoError(t, err)
	rows, err := db.QueryContext(ctx, `SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24:MI'), count FROM rollup_errors_hourly ORDER BY hour`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var hour string
		var n int
		require.NoError(t, rows.Scan(&hour, &n))
		got = append(got, hour+"="+strconv.Itoa(n))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"10:00=5", "11:00=4"}, got)
	var hour string
	var requests, errs int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24:MI'), requests, errors FROM rollup_requests_hourly`).
		Scan(&hour, &requests, &errs))
	require.Equal(t, "10:00 30 5", fmt.Sprintf("%s %d %d", hour, requests, errs))
}

// TestGroupCountsMigration applies the migrations before 00013 in a session
// of another time zone, stores events, applies 00013: each group's events
// are counted per UTC hour, the search indexes exist on every partition
// (the tenant and service ones partial), and rolling back leaves the
// events as they were.
func TestGroupCountsMigration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pgtest.New(t)+"&timezone=Asia/Kolkata")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	p, err := migrations.NewProvider(db)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 12)
	require.NoError(t, err)
	for _, d := range []string{"20261102", "20261103"} {
		_, err = db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE events_p%s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')`,
			d, d, map[string]string{"20261102": "20261103", "20261103": "20261104"}[d]))
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO events (id, ts, provider, category, fingerprint, tenant) VALUES
		(1, '2026-11-02T10:00:00Z', 'finix', 'decline', 'f', 'acme'),
		(2, '2026-11-02T10:59:59Z', 'finix', 'decline', 'f', ''),
		(3, '2026-11-02T11:00:00Z', 'finix', 'decline', 'f', 'acme'),
		(4, '2026-11-03T00:30:00Z', 'cheers', 'auth', 'g', 'hooli')`)
	require.NoError(t, err)

	_, err = p.UpTo(ctx, 13)
	require.NoError(t, err)
	rows, err := db.QueryContext(ctx, `SELECT to_char(hour AT TIME ZONE 'UTC', 'DD HH24:MI'), fingerprint, count FROM rollup_groups_hourly ORDER BY hour, fingerprint`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var hour, fp string
		var n int
		require.NoError(t, rows.Scan(&hour, &fp, &n))
		got = append(got, fmt.Sprintf("%s %s=%d", hour, fp, n))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"02 10:00 f=2", "02 11:00 f=1", "03 00:00 g=1"}, got)
	var indexes int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'events_p%'
		AND (indexdef LIKE '%(tenant, ts, id) WHERE (tenant <> ''''::text)' OR indexdef LIKE '%(service, ts, id) WHERE (service <> ''''::text)'
			OR indexdef LIKE '%(provider, ts, id)')`).Scan(&indexes))
	require.Equal(t, 6, indexes, "three search indexes on each of the two partitions")

	_, err = p.DownTo(ctx, 12)
	require.NoError(t, err)
	var events int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&events))
	require.Equal(t, 4, events)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%(tenant, ts, id)%'`).Scan(&indexes))
	require.Zero(t, indexes)
}
