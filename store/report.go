package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReportQuery asks for the rollups of a period and of the period it is
// compared with, counted per day, and for the codes first seen in the
// period. Package report decides which spans to read (and splits them).
type ReportQuery struct {
	// Current and Previous are the spans of the period and of the one it
	// is compared with; empty spans read nothing.
	Current, Previous Spans
	// NewFrom and NewTo bound the first sightings of NewCodes: [NewFrom,
	// NewTo).
	NewFrom, NewTo time.Time
	// Location is where days are counted: its name must be an IANA time
	// zone Postgres knows too ("UTC", "America/Toronto"). Nil is UTC.
	Location *time.Location
}

// Spans are the parts of a period read from each rollup: whole UTC hours
// from the hourly rollups, the rest from the per-minute ones.
type Spans struct {
	Hours, Minutes []TimeRange
}

// check refuses hour spans that are not whole UTC hours, and empty spans.
func (s Spans) check() error {
	for _, h := range s.Hours {
		if !h.From.Before(h.To) || !h.From.Equal(h.From.Truncate(time.Hour)) || !h.To.Equal(h.To.Truncate(time.Hour)) {
			return fmt.Errorf("hours %s to %s are not whole hours", h.From.UTC().Format(time.RFC3339), h.To.UTC().Format(time.RFC3339))
		}
	}
	for _, m := range s.Minutes {
		if !m.From.Before(m.To) {
			return fmt.Errorf("empty span %s to %s", m.From.UTC().Format(time.RFC3339), m.To.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// TrafficRow counts one provider endpoint's requests and errors of a day
// (a day and endpoint may come in several rows: add them up).
type TrafficRow struct {
	Day      time.Time // midnight in the query's Location
	Provider string
	Endpoint string
	Requests int64
	Errors   int64
}

// ErrorRow counts one provider's errors of a category, code and subcode
// in a day (a day and key may come in several rows: add them up).
type ErrorRow struct {
	Day      time.Time // midnight in the query's Location
	Provider string
	Category string
	Code     string
	Subcode  string
	Count    int64
}

// FirstSeenCode is a provider's code and subcode, first stored at
// FirstSeen (over every error group of it, however old).
type FirstSeenCode struct {
	Provider  string
	Code      string
	Subcode   string
	Category  string // of its first group
	FirstSeen time.Time
}

// PeriodRollups are the rollups of one period, per day.
type PeriodRollups struct {
	Traffic []TrafficRow
	Errors  []ErrorRow
}

// ReportRollups answers a ReportQuery, read in one snapshot.
type ReportRollups struct {
	Current, Previous PeriodRollups
	// NewCodes are the codes (with subcode) first seen in [From, To).
	NewCodes []FirstSeenCode
}

// ReadReportRollups reads what reports need from the rollups and error groups,
// never from events, in one read-only snapshot.
func (s *Store) ReadReportRollups(ctx context.Context, q ReportQuery) (*ReportRollups, error) {
	for _, sp := range []Spans{q.Current, q.Previous} {
		if err := sp.check(); err != nil {
			return nil, fmt.Errorf("store: read report rollups: %w", err)
		}
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	tz := loc.String()
	if tz == "Local" {
		return nil, fmt.Errorf("store: read report rollups: time zone %q has no name Postgres knows", tz)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: read report rollups", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The planner cannot tell how few rows a join on spans reads: it
	// overestimates, and compiling the plan (JIT) then costs more than the
	// query (120 ms against 5 measured on 90 days of rollups).
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, "store: read report rollups", err)
	}
	r := &ReportRollups{}
	if r.Current, err = readPeriod(ctx, tx, q.Current, tz, loc); err != nil {
		return nil, wrap(ctx, "store: read report rollups", err)
	}
	if len(q.Previous.Hours)+len(q.Previous.Minutes) > 0 {
		if r.Previous, err = readPeriod(ctx, tx, q.Previous, tz, loc); err != nil {
			return nil, wrap(ctx, "store: read report rollups", err)
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT provider, code, subcode, (array_agg(category ORDER BY first_seen))[1], min(first_seen) AS first
		FROM error_groups
		GROUP BY provider, code, subcode
		HAVING min(first_seen) >= $1 AND min(first_seen) < $2
		ORDER BY first, provider, code, subcode`, q.NewFrom, q.NewTo)
	if err != nil {
		return nil, wrap(ctx, "store: read report rollups: new codes", err)
	}
	var c FirstSeenCode
	if _, err := pgx.ForEachRow(rows, []any{&c.Provider, &c.Code, &c.Subcode, &c.Category, &c.FirstSeen}, func() error {
		r.NewCodes = append(r.NewCodes, c)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: read report rollups: new codes", err)
	}
	return r, nil
}

func bounds(spans []TimeRange) (lo, hi []time.Time) {
	for _, s := range spans {
		lo, hi = append(lo, s.From), append(hi, s.To)
	}
	return lo, hi
}

// The period's traffic and errors per local day ($3): the hourly rollups
// over the hour spans ($1, $2), the per-minute rollups over the minute
// spans ($4, $5). A day and key may come twice, once from each part.
const (
	readTrafficSQL = `
	SELECT date_trunc('day', h.hour, $3) AS day, h.provider, h.endpoint, sum(h.requests)::bigint, sum(h.errors)::bigint
	FROM unnest($1::timestamptz[], $2::timestamptz[]) AS s(lo, hi)
	JOIN rollup_requests_hourly h ON h.hour >= s.lo AND h.hour < s.hi
	GROUP BY 1, 2, 3
	UNION ALL
	SELECT date_trunc('day', m.minute, $3) AS day, m.provider, m.endpoint, sum(m.requests)::bigint, sum(m.errors)::bigint
	FROM unnest($4::timestamptz[], $5::timestamptz[]) AS s(lo, hi)
	JOIN rollup_requests m ON m.minute >= s.lo AND m.minute < s.hi
	GROUP BY 1, 2, 3`

	readErrorsSQL = `
	SELECT date_trunc('day', h.hour, $3) AS day, h.provider, h.category, h.code, h.subcode, sum(h.count)::bigint
	FROM unnest($1::timestamptz[], $2::timestamptz[]) AS s(lo, hi)
	JOIN rollup_errors_hourly h ON h.hour >= s.lo AND h.hour < s.hi
	GROUP BY 1, 2, 3, 4, 5
	UNION ALL
	SELECT date_trunc('day', m.minute, $3) AS day, m.provider, m.category, m.code, m.subcode, sum(m.count)::bigint
	FROM unnest($4::timestamptz[], $5::timestamptz[]) AS s(lo, hi)
	JOIN rollup_errors m ON m.minute >= s.lo AND m.minute < s.hi
	GROUP BY 1, 2, 3, 4, 5`
)

func readPeriod(ctx context.Context, tx pgx.Tx, spans Spans, tz string, loc *time.Location) (PeriodRollups, error) {
	var p PeriodRollups
	hlo, hhi := bounds(spans.Hours)
	mlo, mhi := bounds(spans.Minutes)
	rows, err := tx.Query(ctx, readTrafficSQL, hlo, hhi, tz, mlo, mhi)
	if err != nil {
		return p, fmt.Errorf("traffic: %w", err)
	}
	var t TrafficRow
	if _, err := pgx.ForEachRow(rows, []any{&t.Day, &t.Provider, &t.Endpoint, &t.Requests, &t.Errors}, func() error {
		t.Day = t.Day.In(loc)
		p.Traffic = append(p.Traffic, t)
		return nil
	}); err != nil {
		return p, fmt.Errorf("traffic: %w", err)
	}
	rows, err = tx.Query(ctx, readErrorsSQL, hlo, hhi, tz, mlo, mhi)
	if err != nil {
		return p, fmt.Errorf("errors: %w", err)
	}
	var e ErrorRow
	if _, err := pgx.ForEachRow(rows, []any{&e.Day, &e.Provider, &e.Category, &e.Code, &e.Subcode, &e.Count}, func() error {
		e.Day = e.Day.In(loc)
		p.Errors = append(p.Errors, e)
		return nil
	}); err != nil {
		return p, fmt.Errorf("errors: %w", err)
	}
	return p, nil
}

// The hourly rollups' upserts: as the per-minute ones, on hours.
const (
	upsertRequestsHourly = `
	INSERT INTO rollup_requests_hourly AS r (hour, provider, endpoint, requests, errors)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
	ON CONFLICT (hour, provider, endpoint) DO UPDATE
	SET requests = r.requests + excluded.requests, errors = r.errors + excluded.errors`

	upsertErrorsHourly = `
	INSERT INTO rollup_errors_hourly AS r (hour, provider, category, code, subcode, count)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
	ON CONFLICT (hour, provider, category, code, subcode) DO UPDATE
	SET count = r.count + excluded.count`
)

// deleteHourlyRollupsBefore deletes the hourly rollup rows of hours that
// end at or before cutoff (retention), and returns how many.
func (s *Store) deleteHourlyRollupsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	last := cutoff.UTC().Truncate(time.Hour)
	for _, table := range []string{"rollup_requests_hourly", "rollup_errors_hourly", "rollup_groups_hourly"} {
		tag, err := s.pool.Exec(ctx, "DELETE FROM "+table+" WHERE hour < $1", last)
		if err != nil {
			return n, fmt.Errorf("%s: %w", table, err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
