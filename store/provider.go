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
	// TopN bounds TopCodes (default 10).
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

// The provider's traffic per minute or hour and its errors per category
// and code: the hourly rollups over the hour spans ($2, $3), the
// per-minute rollups over the minute spans ($4, $5). A key may come from
// both parts: add them up.
const (
	providerTrafficSQL = `
	SELECT h.hour, sum(h.requests)::bigint, sum(h.errors)::bigint
	FROM unnest($2::timestamptz[], $3::timestamptz[]) AS s(lo, hi)
	JOIN rollup_requests_hourly h ON h.hour >= s.lo AND h.hour < s.hi AND h.provider = $1
	GROUP BY 1
	UNION ALL
	SELECT date_trunc('hour', m.minute, 'UTC'), sum(m.requests)::bigint, sum(m.errors)::bigint
	FROM unnest($4::timestamptz[], $5::timestamptz[]) AS s(lo, hi)
	JOIN rollup_requests m ON m.minute >= s.lo AND m.minute < s.hi AND m.provider = $1
	GROUP BY 1`

	// providerMinutesSQL is the provider's traffic per minute of [$2, $3).
	providerMinutesSQL = `
	SELECT minute, sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests
	WHERE minute >= $2 AND minute < $3 AND provider = $1
	GROUP BY 1`

	providerErrorsSQL = `
	SELECT h.category, h.code, h.subcode, sum(h.count)::bigint
	FROM unnest($2::timestamptz[], $3::timestamptz[]) AS s(lo, hi)
	JOIN rollup_errors_hourly h ON h.hour >= s.lo AND h.hour < s.hi AND h.provider = $1
	GROUP BY 1, 2, 3
	UNION ALL
	SELECT m.category, m.code, m.subcode, sum(m.count)::bigint
	FROM unnest($4::timestamptz[], $5::timestamptz[]) AS s(lo, hi)
	JOIN rollup_errors m ON m.minute >= s.lo AND m.minute < s.hi AND m.provider = $1
	GROUP BY 1, 2, 3`
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
	topN := cmp.Or(q.TopN, 10)
	out := &ProviderWindow{Provider: q.Provider, From: from, To: to, ByCategory: map[string]int64{},
		TopCodes: []CategoryCodeCount{}, Minutely: to.Sub(from) <= MinuteWindowLimit}
	var hours, minutes []TimeRange
	if out.Minutely {
		minutes = []TimeRange{{from, to}}
	} else {
		hours, minutes = splitPeriod(from, to, time.UTC)
	}
	hlo, hhi := bounds(hours)
	mlo, mhi := bounds(minutes)

	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: provider window", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// As for reports: the planner overestimates joins on spans, and JIT
	// compilation would cost more than the query.
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, "store: provider window", err)
	}
	var rows pgx.Rows
	if out.Minutely {
		rows, err = tx.Query(ctx, providerMinutesSQL, q.Provider, from, to)
	} else {
		rows, err = tx.Query(ctx, providerTrafficSQL, q.Provider, hlo, hhi, mlo, mhi)
	}
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

	rows, err = tx.Query(ctx, providerErrorsSQL, q.Provider, hlo, hhi, mlo, mhi)
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
	if len(out.TopCodes) > topN {
		out.TopCodes = out.TopCodes[:topN]
	}
	return out, nil
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
