package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/faultline-dev/faultline/classify"
)

// What alert evaluations read: the rollups of a window, per minute and per
// hour, and the context of an alert.

// RollupQuery names the rollups an evaluation reads: every minute of
// Minutes from the per-minute rollups, the errors of Categories and of
// Codes (whatever their category); and every hour of Hours from the
// hourly ones, the errors of Categories with codes and subcodes for the
// Detailed ones only ("" for the others). Hours are whole UTC hours: an
// hour that a window cuts (the one under way, one a backtest ends in)
// belongs in Minutes, since its hourly row counts minutes beyond the cut.
type RollupQuery struct {
	Minutes              TimeRange
	Hours                []TimeRange
	Categories, Detailed []string
	Codes                []ProviderCode
}

// ProviderCode is a provider's code.
type ProviderCode struct{ Provider, Code string }

// RollupSink receives what ReadRollups reads, from one goroutine.
type RollupSink interface {
	AddRequests(minute time.Time, provider string, n int64)
	AddErrors(minute time.Time, provider string, category classify.Category, code, subcode string, n int64)
	AddHourlyRequests(hour time.Time, provider string, n int64)
	AddHourlyErrors(hour time.Time, provider string, category classify.Category, code, subcode string, n int64)
}

// querier is a transaction or a pooled connection.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// ReadRollups reads the rollups q names into sink: the requests of each
// provider and the error rollup rows (of q's categories and codes) per
// minute over q.Minutes, from the per-minute rollups; per hour over
// q.Hours, from the hourly rollups that
// ingestion writes with them (a week of baselines is 168 rows of a key
// instead of 10,080). The four reads run at once, as many as the pool
// has connections (the run's own and others: they are counts, and need
// no snapshot shared with the alerts), the longest first; sink is called
// from one goroutine at a time.
func (r *AlertRun) ReadRollups(ctx context.Context, q RollupQuery, sink RollupSink) error {
	for _, h := range q.Hours {
		if !h.From.Before(h.To) || !h.From.Equal(h.From.Truncate(time.Hour)) || !h.To.Equal(h.To.Truncate(time.Hour)) {
			return fmt.Errorf("store: read rollups: hours %s to %s are not whole hours",
				h.From.UTC().Format(time.RFC3339), h.To.UTC().Format(time.RFC3339))
		}
	}
	var mu sync.Mutex
	addErrors := func(e *ErrorRollup) {
		mu.Lock()
		sink.AddErrors(e.Minute, e.Provider, e.Category, e.Code, e.Subcode, e.Count)
		mu.Unlock()
	}
	addRequests := func(t time.Time, provider string, n int64) {
		mu.Lock()
		sink.AddRequests(t, provider, n)
		mu.Unlock()
	}
	addHourlyErrors := func(e *ErrorRollup) {
		mu.Lock()
		sink.AddHourlyErrors(e.Minute, e.Provider, e.Category, e.Code, e.Subcode, e.Count)
		mu.Unlock()
	}
	addHourlyRequests := func(t time.Time, provider string, n int64) {
		mu.Lock()
		sink.AddHourlyRequests(t, provider, n)
		mu.Unlock()
	}
	type task func(querier, interner) error
	tasks := []task{
		func(c querier, in interner) error {
			return readErrors(ctx, c, in, q.Minutes, q.Categories, q.Codes, addErrors)
		},
		func(c querier, in interner) error { return readRequests(ctx, c, in, q.Minutes, addRequests) },
		func(c querier, in interner) error {
			return readHourlyErrors(ctx, c, in, q.Hours, q.Categories, q.Detailed, addHourlyErrors)
		},
		func(c querier, in interner) error { return readHourlyRequests(ctx, c, in, q.Hours, addHourlyRequests) },
	}
	workers := 1
	if r.pool != nil {
		workers = min(len(tasks), int(r.pool.Config().MaxConns))
	}
	next := make(chan task, len(tasks))
	for _, t := range tasks {
		next <- t
	}
	close(next)
	errs := make([]error, workers)
	work := func(i int, c querier, in interner) {
		for t := range next {
			if errs[i] == nil {
				errs[i] = t(c, in)
			}
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < workers; i++ {
		wg.Go(func() {
			conn, err := r.pool.Acquire(ctx)
			if err != nil {
				errs[i] = wrap(ctx, "store: read rollups", err)
				return
			}
			defer conn.Release()
			work(i, conn, interner{})
		})
	}
	work(0, r.tx, r.names)
	wg.Wait()
	return errors.Join(errs...)
}

// readRequests reads the requests of each provider in each minute.
func readRequests(ctx context.Context, c querier, in interner, tr TimeRange, fn func(time.Time, string, int64)) error {
	rows, err := c.Query(ctx, `
		SELECT minute, provider, sum(requests)::bigint FROM rollup_requests
		WHERE minute >= $1 AND minute < $2 GROUP BY minute, provider`, tr.From, tr.To)
	if err != nil {
		return wrap(ctx, "store: request counts", err)
	}
	return scanRequests(ctx, rows, in, fn, "store: request counts")
}

// readErrors reads the error rollup rows of each minute of the categories
// and of the codes.
func readErrors(ctx context.Context, c querier, in interner, tr TimeRange, categories []string, codes []ProviderCode, fn func(*ErrorRollup)) error {
	providers, names := make([]string, len(codes)), make([]string, len(codes))
	for i, pc := range codes {
		providers[i], names[i] = pc.Provider, pc.Code
	}
	rows, err := c.Query(ctx, `
		SELECT minute, provider, category, code, subcode, count FROM rollup_errors
		WHERE minute >= $1 AND minute < $2
			AND (category = ANY($3) OR (provider, code) IN (SELECT * FROM unnest($4::text[], $5::text[])))`,
		tr.From, tr.To, categories, providers, names)
	if err != nil {
		return wrap(ctx, "store: error counts", err)
	}
	return scanErrors(ctx, rows, in, fn, "store: error counts")
}

// readHourlyRequests reads the requests of each provider in each hour of
// the ranges, from the hourly rollups.
func readHourlyRequests(ctx context.Context, c querier, in interner, ranges []TimeRange, fn func(time.Time, string, int64)) error {
	return perRange(ctx, c, ranges, `
		SELECT hour, provider, sum(requests)::bigint FROM rollup_requests_hourly
		WHERE hour >= $1 AND hour < $2 GROUP BY hour, provider`,
		nil, func(rows pgx.Rows) error {
			return scanRequests(ctx, rows, in, fn, "store: hourly request counts")
		})
}

// readHourlyErrors reads the errors of the categories in each hour of the
// ranges, from the hourly rollups, with codes and subcodes for the
// detailed categories only.
func readHourlyErrors(ctx context.Context, c querier, in interner, ranges []TimeRange, categories, detailed []string, fn func(*ErrorRollup)) error {
	if len(categories) == 0 {
		return nil
	}
	return perRange(ctx, c, ranges, `
		SELECT hour, provider, category,
			CASE WHEN category = ANY($4) THEN code ELSE '' END,
			CASE WHEN category = ANY($4) THEN subcode ELSE '' END,
			sum(count)::bigint
		FROM rollup_errors_hourly
		WHERE hour >= $1 AND hour < $2 AND category = ANY($3)
		GROUP BY 1, 2, 3, 4, 5`,
		[]any{categories, detailed}, func(rows pgx.Rows) error {
			return scanErrors(ctx, rows, in, fn, "store: hourly error counts")
		})
}

// perRange runs query once per range (its $1 and $2, then args) in one
// round trip, and scan on each result. One statement per range, rather
// than one joining the ranges, lets the planner see each range's width and
// read it through the index.
func perRange(ctx context.Context, c querier, ranges []TimeRange, query string, args []any, scan func(pgx.Rows) error) error {
	if len(ranges) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, tr := range ranges {
		b.Queue(query, append([]any{tr.From, tr.To}, args...)...)
	}
	res := c.SendBatch(ctx, &b)
	for range ranges {
		rows, err := res.Query()
		if err != nil {
			_ = res.Close()
			return wrap(ctx, "store: hourly counts", err)
		}
		if err := scan(rows); err != nil {
			_ = res.Close()
			return err
		}
	}
	if err := res.Close(); err != nil {
		return wrap(ctx, "store: hourly counts", err)
	}
	return nil
}

func scanRequests(ctx context.Context, rows pgx.Rows, in interner, fn func(time.Time, string, int64), op string) error {
	defer rows.Close()
	var (
		t        time.Time
		provider pgtype.DriverBytes
		n        int64
	)
	for rows.Next() {
		if err := rows.Scan(&t, &provider, &n); err != nil {
			return wrap(ctx, op, err)
		}
		fn(t, in.get(provider), n)
	}
	if err := rows.Err(); err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}

func scanErrors(ctx context.Context, rows pgx.Rows, in interner, fn func(*ErrorRollup), op string) error {
	defer rows.Close()
	var (
		e                                 ErrorRollup
		provider, category, code, subcode pgtype.DriverBytes
	)
	for rows.Next() {
		if err := rows.Scan(&e.Minute, &provider, &category, &code, &subcode, &e.Count); err != nil {
			return wrap(ctx, op, err)
		}
		e.Provider = in.get(provider)
		e.Category = classify.Category(in.get(category))
		e.Code = in.get(code)
		e.Subcode = in.get(subcode)
		fn(&e)
	}
	if err := rows.Err(); err != nil {
		return wrap(ctx, op, err)
	}
	return nil
}

// ContextQuery names the errors an alert is about, for AlertContext.
type ContextQuery struct {
	Provider   string
	Categories []string
	Code       string // "" for every code of the categories
	Subcode    string // "" for every subcode of the code
	From, To   time.Time
	// MaxEvents bounds the events read for endpoints and tenants
	// (default 5,000); TopN bounds the lists (default 5).
	MaxEvents int
	TopN      int
}

// contextEventsQuery reads the latest events of some error groups in a
// window: through the events (fingerprint, ts) index, in the window's
// partitions only, at most $4 of them.
const contextEventsQuery = `
	SELECT method, endpoint, tenant, coalesce(correlation_id, '') FROM events
	WHERE fingerprint = ANY($1) AND ts >= $2 AND ts < $3
	ORDER BY ts DESC LIMIT $4`

// AlertContext describes the errors q names over [q.From, q.To): top codes
// from the error rollup; top endpoints, tenants affected and a sample
// correlation id from at most q.MaxEvents of the latest events, found
// through the error groups' fingerprints and the events (fingerprint, ts)
// index within the window, never by scanning events.
func (r *AlertRun) AlertContext(ctx context.Context, q ContextQuery) (AlertContext, error) {
	if q.MaxEvents <= 0 {
		q.MaxEvents = 5000
	}
	if q.TopN <= 0 {
		q.TopN = 5
	}
	out := AlertContext{From: q.From, To: q.To, TopCodes: []CodeCount{}, TopEndpoints: []EndpointCount{}}
	rows, err := r.tx.Query(ctx, `
		SELECT code, subcode, sum(count)::bigint FROM rollup_errors
		WHERE minute >= $1 AND minute < $2 AND provider = $3 AND category = ANY($4)
			AND ($5 = '' OR code = $5) AND ($6 = '' OR subcode = $6)
		GROUP BY code, subcode ORDER BY 3 DESC, 1, 2 LIMIT $7`,
		q.From, q.To, q.Provider, q.Categories, q.Code, q.Subcode, q.TopN)
	if err != nil {
		return out, wrap(ctx, "store: alert context: codes", err)
	}
	out.TopCodes, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (CodeCount, error) {
		var c CodeCount
		err := row.Scan(&c.Code, &c.Subcode, &c.Count)
		return c, err
	})
	if err != nil {
		return out, wrap(ctx, "store: alert context: codes", err)
	}

	rows, err = r.tx.Query(ctx, `
		SELECT fingerprint FROM error_groups
		WHERE provider = $1 AND category = ANY($2) AND ($3 = '' OR code = $3) AND ($4 = '' OR subcode = $4)
			AND last_seen >= $5 AND first_seen < $6`,
		q.Provider, q.Categories, q.Code, q.Subcode, q.From, q.To)
	if err != nil {
		return out, wrap(ctx, "store: alert context: groups", err)
	}
	fingerprints, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return out, wrap(ctx, "store: alert context: groups", err)
	}
	if len(fingerprints) == 0 {
		return out, nil
	}
	rows, err = r.tx.Query(ctx, contextEventsQuery, fingerprints, q.From, q.To, q.MaxEvents)
	if err != nil {
		return out, wrap(ctx, "store: alert context: events", err)
	}
	type endpointKey struct{ method, endpoint string }
	endpoints := map[endpointKey]int64{}
	tenants := map[string]bool{}
	var method, endpoint, tenant, corr string
	_, err = pgx.ForEachRow(rows, []any{&method, &endpoint, &tenant, &corr}, func() error {
		out.SampledEvents++
		endpoints[endpointKey{method, endpoint}]++
		if tenant != "" {
			tenants[tenant] = true
		}
		if out.SampleCorrelationID == "" && corr != "" {
			out.SampleCorrelationID = corr // the latest: rows come newest first
		}
		return nil
	})
	if err != nil {
		return out, wrap(ctx, "store: alert context: events", err)
	}
	out.Sampled = out.SampledEvents == q.MaxEvents
	out.TenantsAffected = len(tenants)
	for k, n := range endpoints {
		out.TopEndpoints = append(out.TopEndpoints, EndpointCount{Method: k.method, Endpoint: k.endpoint, Count: n})
	}
	slices.SortFunc(out.TopEndpoints, func(a, b EndpointCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Method, b.Method))
	})
	if len(out.TopEndpoints) > q.TopN {
		out.TopEndpoints = out.TopEndpoints[:q.TopN]
	}
	return out, nil
}
