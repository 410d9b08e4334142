package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the provider page reads (one provider's rollups over spans and
// days) and one stored alert.

// ProviderRollupQuery names the rollups of one provider to read: the
// hourly ones of Hours (whole UTC hours; empty for none) and the
// per-minute ones of Minutes (at most two spans). Traffic comes per hour,
// or per minute when PerMinute (Hours must then be empty). Package report
// decides what to read (ReadProviderWindow there).
type ProviderRollupQuery struct {
	Provider  string
	Hours     TimeRange
	Minutes   []TimeRange
	PerMinute bool
}

// ProviderRollups are the rows a ProviderRollupQuery read, as they come:
// an hour (or a code) read from both rollups comes twice.
type ProviderRollups struct {
	// Traffic is the requests and errors of each hour (or minute) that
	// had traffic.
	Traffic []TrafficPoint
	// Errors count the errors of each category, code and subcode.
	Errors []CategoryCodeCount
}

// TrafficPoint is a minute's or an hour's requests and errors.
type TrafficPoint struct {
	Start    time.Time
	Requests int64
	Errors   int64
}

// CategoryCodeCount counts a code and subcode of a category.
type CategoryCodeCount struct {
	Category string
	Code     string
	Subcode  string
	Count    int64
}

// The provider's ($1) traffic per hour and its errors per category and
// code: the hourly rollups of the whole hours [$2, $3), the per-minute
// rollups of the cut hours at the window's edges [$4, $5) and [$6, $7)
// (empty ranges when none). Plain ranges rather than arrays of spans: the
// planner then sees how many rows each part reads.
const (
	providerTrafficSQL = `
	SELECT hour, sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests_hourly
	WHERE provider = $1 AND hour >= $2 AND hour < $3
	GROUP BY 1
	UNION ALL
	SELECT date_trunc('hour', minute, 'UTC'), sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests
	WHERE provider = $1 AND (minute >= $4 AND minute < $5 OR minute >= $6 AND minute < $7)
	GROUP BY 1`

	providerErrorsSQL = `
	SELECT category, code, subcode, sum(n)::bigint FROM (
		SELECT category, code, subcode, count AS n FROM rollup_errors_hourly
		WHERE provider = $1 AND hour >= $2 AND hour < $3
		UNION ALL
		SELECT category, code, subcode, count FROM rollup_errors
		WHERE provider = $1 AND (minute >= $4 AND minute < $5 OR minute >= $6 AND minute < $7)
	) AS e
	GROUP BY 1, 2, 3`

	// providerMinutesSQL is the provider's traffic per minute of [$2, $3)
	// or [$4, $5).
	providerMinutesSQL = `
	SELECT minute, sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests
	WHERE provider = $1 AND (minute >= $2 AND minute < $3 OR minute >= $4 AND minute < $5)
	GROUP BY 1`
)

// ReadProviderRollups reads the rollups q names, in one read-only snapshot
// and one round trip.
func (s *Store) ReadProviderRollups(ctx context.Context, q ProviderRollupQuery) (*ProviderRollups, error) {
	var spans Spans
	if q.Hours.From.Before(q.Hours.To) {
		spans.Hours = []TimeRange{q.Hours}
	}
	spans.Minutes = q.Minutes
	switch err := spans.check(); {
	case err != nil:
		return nil, fmt.Errorf("store: provider rollups: %w", err)
	case len(q.Minutes) > 2:
		return nil, fmt.Errorf("store: provider rollups: %d minute spans, at most 2", len(q.Minutes))
	case q.PerMinute && len(spans.Hours) > 0:
		return nil, errors.New("store: provider rollups: hours read per minute")
	}
	// Empty ranges for the parts not read.
	none := TimeRange{time.Unix(0, 0), time.Unix(0, 0)}
	hours, edges := none, [2]TimeRange{none, none}
	if len(spans.Hours) > 0 {
		hours = q.Hours
	}
	copy(edges[:], q.Minutes)

	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: provider rollups", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The ranges decide the plan (an hour's rows or 90 days'): plan them
	// for their values every time, never with a generic plan of a prepared
	// statement. JIT compilation would cost more than the query.
	// One round trip: the settings and both reads.
	var b pgx.Batch
	b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	b.Queue("SET LOCAL jit = off")
	if q.PerMinute {
		b.Queue(providerMinutesSQL, q.Provider, edges[0].From, edges[0].To, edges[1].From, edges[1].To)
	} else {
		b.Queue(providerTrafficSQL, q.Provider, hours.From, hours.To, edges[0].From, edges[0].To, edges[1].From, edges[1].To)
	}
	b.Queue(providerErrorsSQL, q.Provider, hours.From, hours.To, edges[0].From, edges[0].To, edges[1].From, edges[1].To)
	br := tx.SendBatch(ctx, &b)
	defer func() { _ = br.Close() }()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, wrap(ctx, "store: provider rollups", err)
		}
	}
	out := &ProviderRollups{Traffic: []TrafficPoint{}, Errors: []CategoryCodeCount{}}
	rows, err := br.Query()
	if err != nil {
		return nil, wrap(ctx, "store: provider rollups: traffic", err)
	}
	var p TrafficPoint
	if _, err := pgx.ForEachRow(rows, []any{&p.Start, &p.Requests, &p.Errors}, func() error {
		p.Start = p.Start.UTC()
		out.Traffic = append(out.Traffic, p)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: provider rollups: traffic", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, wrap(ctx, "store: provider rollups: errors", err)
	}
	var c CategoryCodeCount
	if _, err := pgx.ForEachRow(rows, []any{&c.Category, &c.Code, &c.Subcode, &c.Count}, func() error {
		out.Errors = append(out.Errors, c)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: provider rollups: errors", err)
	}
	return out, nil
}

// ProviderDay is a provider's traffic of one UTC day, from the hourly
// rollups.
type ProviderDay struct {
	Day time.Time
	// Hours are the hours that had traffic, in time order.
	Hours []TrafficPoint
	// Codes count every code and subcode of the day's errors.
	Codes []CategoryCodeCount
}

// ReadProviderDays reads provider's traffic of each UTC day of [from, to)
// (whole days) from the hourly rollups, in one read-only snapshot: one
// ProviderDay per day, traffic or not.
func (s *Store) ReadProviderDays(ctx context.Context, provider string, from, to time.Time) ([]ProviderDay, error) {
	from, to = from.UTC(), to.UTC()
	if !from.Before(to) || !from.Equal(from.Truncate(24*time.Hour)) || !to.Equal(to.Truncate(24*time.Hour)) {
		return nil, fmt.Errorf("store: provider days: %s to %s are not whole UTC days", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var days []ProviderDay
	index := map[time.Time]int{}
	for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
		index[d] = len(days)
		days = append(days, ProviderDay{Day: d, Hours: []TrafficPoint{}, Codes: []CategoryCodeCount{}})
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: provider days", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, "store: provider days", err)
	}
	rows, err := tx.Query(ctx, `
		SELECT hour, sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests_hourly
		WHERE provider = $1 AND hour >= $2 AND hour < $3
		GROUP BY 1 ORDER BY 1`, provider, from, to)
	if err != nil {
		return nil, wrap(ctx, "store: provider days: traffic", err)
	}
	var p TrafficPoint
	if _, err := pgx.ForEachRow(rows, []any{&p.Start, &p.Requests, &p.Errors}, func() error {
		p.Start = p.Start.UTC()
		d := &days[index[p.Start.Truncate(24*time.Hour)]]
		d.Hours = append(d.Hours, p)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: provider days: traffic", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT date_trunc('day', hour, 'UTC'), category, code, subcode, sum(count)::bigint FROM rollup_errors_hourly
		WHERE provider = $1 AND hour >= $2 AND hour < $3
		GROUP BY 1, 2, 3, 4`, provider, from, to)
	if err != nil {
		return nil, wrap(ctx, "store: provider days: errors", err)
	}
	var (
		day time.Time
		c   CategoryCodeCount
	)
	if _, err := pgx.ForEachRow(rows, []any{&day, &c.Category, &c.Code, &c.Subcode, &c.Count}, func() error {
		d := &days[index[day.UTC()]]
		d.Codes = append(d.Codes, c)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: provider days: errors", err)
	}
	return days, nil
}

// GetAlert returns the stored alert of id, or an error wrapping ErrNoAlert.
func (s *Store) GetAlert(ctx context.Context, id int64) (Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id)
	if err != nil {
		return Alert{}, wrap(ctx, "store: get alert", err)
	}
	a, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	if errors.Is(err, pgx.ErrNoRows) {
		return Alert{}, fmt.Errorf("store: get alert %d: %w", id, ErrNoAlert)
	}
	if err != nil {
		return Alert{}, wrap(ctx, "store: get alert", err)
	}
	return a, nil
}
