package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the web console reads besides lookups and reports: one provider's
// traffic over a window, and one stored alert.

// MinuteWindowLimit is the longest window ProviderWindow reads from the
// per-minute rollups alone; longer windows read whole hours from the
// hourly rollups and only their cut edges from the per-minute ones.
const MinuteWindowLimit = 6 * time.Hour

// ProviderWindowQuery asks for one provider's traffic over [From, To).
type ProviderWindowQuery struct {
	Provider string
	From, To time.Time
	// TopN bounds TopCodes; zero or negative reads every code. (How many
	// a report lists is the report's to say: report.DefaultTopCodes.)
	TopN int
}

// ProviderWindow is a provider's requests and errors over a window.
type ProviderWindow struct {
	Provider string
	From, To time.Time
	Requests int64
	Errors   int64
	// Series has the requests and errors of every minute (windows up to
	// MinuteWindowLimit) or hour (longer windows; the hours a window's
	// edges cut hold only the window's minutes) that had traffic, in
	// time order.
	Series []TrafficPoint
	// ByCategory counts the window's errors per category.
	ByCategory map[string]int64
	// TopCodes are the most frequent codes and subcodes, with their
	// category, most frequent first.
	TopCodes []CategoryCodeCount
	// Minutely is set when Series is per minute, else it is per hour.
	Minutely bool
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

	// providerMinutesSQL is the provider's traffic per minute of [$2, $3).
	providerMinutesSQL = `
	SELECT minute, sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests
	WHERE provider = $1 AND minute >= $2 AND minute < $3
	GROUP BY 1`
)

// ReadProviderWindow reads q.Provider's requests, errors, errors per
// category and top codes over [q.From, q.To) from the rollups, never from
// events, in one read-only snapshot: windows up to MinuteWindowLimit from
// the per-minute rollups, longer ones from the hourly rollups but for the
// minutes of the hours their edges cut.
func (s *Store) ReadProviderWindow(ctx context.Context, q ProviderWindowQuery) (*ProviderWindow, error) {
	from, to := q.From.UTC().Truncate(time.Minute), q.To.UTC().Truncate(time.Minute)
	if !from.Before(to) {
		return nil, fmt.Errorf("store: provider window: empty window %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	topN := q.TopN
	out := &ProviderWindow{Provider: q.Provider, From: from, To: to, ByCategory: map[string]int64{},
		TopCodes: []CategoryCodeCount{}, Minutely: to.Sub(from) <= MinuteWindowLimit}
	// The window's whole UTC hours, and the cut hours at its edges (at
	// most two spans); a short window is all minutes.
	hours := TimeRange{from, from}
	edges := [2]TimeRange{{from, from}, {from, from}}
	if out.Minutely {
		edges[0] = TimeRange{from, to}
	} else {
		hs, ms := splitPeriod(from, to, time.UTC)
		if len(hs) > 1 || len(ms) > 2 {
			return nil, fmt.Errorf("store: provider window: %d hour spans and %d minute spans", len(hs), len(ms))
		}
		if len(hs) == 1 {
			hours = hs[0]
		}
		copy(edges[:], ms)
	}

	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: provider window", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The ranges decide the plan (an hour's rows or 90 days'): plan them
	// for their values every time, never with a generic plan of a prepared
	// statement. JIT compilation would cost more than the query.
	// One round trip: the settings and both reads.
	var b pgx.Batch
	b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	b.Queue("SET LOCAL jit = off")
	if out.Minutely {
		b.Queue(providerMinutesSQL, q.Provider, from, to)
	} else {
		b.Queue(providerTrafficSQL, q.Provider, hours.From, hours.To, edges[0].From, edges[0].To, edges[1].From, edges[1].To)
	}
	b.Queue(providerErrorsSQL, q.Provider, hours.From, hours.To, edges[0].From, edges[0].To, edges[1].From, edges[1].To)
	br := tx.SendBatch(ctx, &b)
	defer func() { _ = br.Close() }()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, wrap(ctx, "store: provider window", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, wrap(ctx, "store: provider window: traffic", err)
	}
	points := map[time.Time]*TrafficPoint{}
	var p TrafficPoint
	if _, err := pgx.ForEachRow(rows, []any{&p.Start, &p.Requests, &p.Errors}, func() error {
		t := p.Start.UTC()
		if have := points[t]; have != nil {
			have.Requests += p.Requests
			have.Errors += p.Errors
		} else {
			points[t] = &TrafficPoint{Start: t, Requests: p.Requests, Errors: p.Errors}
		}
		out.Requests += p.Requests
		out.Errors += p.Errors
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: provider window: traffic", err)
	}
	for _, p := range points {
		out.Series = append(out.Series, *p)
	}
	slices.SortFunc(out.Series, func(a, b TrafficPoint) int { return a.Start.Compare(b.Start) })

	rows, err = br.Query()
	if err != nil {
		return nil, wrap(ctx, "store: provider window: errors", err)
	}
	codes := map[CategoryCodeCount]int64{}
	var c CategoryCodeCount
	if _, err := pgx.ForEachRow(rows, []any{&c.Category, &c.Code, &c.Subcode, &c.Count}, func() error {
		n := c.Count
		c.Count = 0
		codes[c] += n
		out.ByCategory[c.Category] += n
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: provider window: errors", err)
	}
	for k, n := range codes {
		k.Count = n
		out.TopCodes = append(out.TopCodes, k)
	}
	slices.SortFunc(out.TopCodes, func(a, b CategoryCodeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Subcode, b.Subcode), cmp.Compare(a.Category, b.Category))
	})
	if topN > 0 && len(out.TopCodes) > topN {
		out.TopCodes = out.TopCodes[:topN]
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
