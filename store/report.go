package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReportQuery asks for the rollups of a period and of the period it is
// compared with, counted per day.
type ReportQuery struct {
	// From and To bound the period: rollup minutes in [From, To).
	From, To time.Time
	// PreviousFrom and PreviousTo bound the period compared with; both zero
	// for none.
	PreviousFrom, PreviousTo time.Time
	// Location is where days are counted: its name must be an IANA time
	// zone Postgres knows too ("UTC", "America/Toronto"). Nil is UTC.
	Location *time.Location
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
	if !q.From.Before(q.To) {
		return nil, fmt.Errorf("store: read report rollups: empty period %s to %s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
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
	if r.Current, err = readPeriod(ctx, tx, q.From, q.To, tz, loc); err != nil {
		return nil, wrap(ctx, "store: read report rollups", err)
	}
	if !q.PreviousFrom.IsZero() || !q.PreviousTo.IsZero() {
		if r.Previous, err = readPeriod(ctx, tx, q.PreviousFrom, q.PreviousTo, tz, loc); err != nil {
			return nil, wrap(ctx, "store: read report rollups", err)
		}
	}
	rows, err := tx.Query(ctx, `
		SELECT provider, code, subcode, (array_agg(category ORDER BY first_seen))[1], min(first_seen) AS first
		FROM error_groups
		GROUP BY provider, code, subcode
		HAVING min(first_seen) >= $1 AND min(first_seen) < $2
		ORDER BY first, provider, code, subcode`, q.From, q.To)
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

// splitPeriod splits [from, to) into the whole UTC hours that no midnight
// of loc cuts, to read from the hourly rollups, and the rest, to read from
// the per-minute rollups: the edges of the period that are not whole hours,
// and the hours that a local midnight cuts (in zones whose offset is not
// whole hours). Counted per local day, both give exactly what the
// per-minute rollups alone would.
func splitPeriod(from, to time.Time, loc *time.Location) (hours, minutes []TimeRange) {
	add := func(list []TimeRange, lo, hi time.Time) []TimeRange {
		if !lo.Before(hi) {
			return list
		}
		if n := len(list); n > 0 && list[n-1].To.Equal(lo) {
			list[n-1].To = hi
			return list
		}
		return append(list, TimeRange{lo, hi})
	}
	for a := from; a.Before(to); {
		y, m, d := a.In(loc).Date()
		b := time.Date(y, m, d+1, 0, 0, 0, 0, loc) // the next local midnight
		if !b.After(a) {
			// time.Date may resolve a midnight that a daylight saving
			// change skips to an instant before a: take the day after.
			b = time.Date(y, m, d+2, 0, 0, 0, 0, loc)
		}
		b = b.UTC()
		if b.After(to) {
			b = to
		}
		ha, hb := a.Truncate(time.Hour), b.Truncate(time.Hour)
		if !ha.Equal(a) {
			ha = ha.Add(time.Hour)
		}
		if ha.Before(hb) {
			minutes = add(minutes, a, ha)
			hours = add(hours, ha, hb)
			minutes = add(minutes, hb, b)
		} else {
			minutes = add(minutes, a, b)
		}
		a = b
	}
	return hours, minutes
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

func readPeriod(ctx context.Context, tx pgx.Tx, from, to time.Time, tz string, loc *time.Location) (PeriodRollups, error) {
	var p PeriodRollups
	hours, minutes := splitPeriod(from, to, loc)
	hlo, hhi := bounds(hours)
	mlo, mhi := bounds(minutes)
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
