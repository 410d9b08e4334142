package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Search without an id: the events of a tenant, a service or a provider
// over a window, newest first, a page at a time. Each scope has an index
// (scope, ts, id) on every events partition (migration 00013): a page is a
// backward scan of the newest partition's index, then the one before's, in
// partition order, that stops once the page is full. Pages are keyed on
// (ts, id), never counted with OFFSET: the next page starts strictly
// before the last event shown, however many pages deep.

// ErrBadSearch means a search that cannot be run: no tenant, service or
// provider, an empty window, or a value that cannot be stored.
var ErrBadSearch = errors.New("store: not a search that can be run")

// MaxSearchLimit bounds the events of one search page.
const MaxSearchLimit = 1000

// SearchQuery asks for the events of a scope over a window.
type SearchQuery struct {
	// Tenant, Service and Provider are the scope: at least one is set,
	// and every one set must match.
	Tenant, Service, Provider string
	// Category, Code, Endpoint and Status narrow the scope ("" and 0:
	// any). Endpoint is the templated path, without the method.
	Category, Code, Endpoint string
	Status                   int
	// From and To bound the window: ts in [From, To).
	From, To time.Time
	// AfterTS and AfterID continue a search: only events before (AfterTS,
	// AfterID) in (ts, id) order. A zero AfterTS starts at the newest.
	AfterTS time.Time
	AfterID int64
	// Limit bounds the events returned (1 to MaxSearchLimit).
	Limit int
}

// SearchEvent is an event a search found: what a lookup shows of it, but
// its body.
type SearchEvent struct {
	ID                             int64
	TS                             time.Time
	Provider, Service, Env, Tenant string
	Method, Host, Endpoint         string
	Status                         int
	DurationMS                     float64
	Category, Code, Subcode        string
	Retryable, Known               bool
	CorrelationID, TraceID         string
	References                     []string
	Fingerprint, Message           string
}

// SearchPage is a page of a search.
type SearchPage struct {
	// Events are newest first.
	Events []SearchEvent
	// More is set when events older than the last one match too.
	More bool
}

// check refuses what cannot be a search.
func (q *SearchQuery) check() error {
	switch {
	case q.Tenant == "" && q.Service == "" && q.Provider == "":
		return fmt.Errorf("%w: give a tenant, a service or a provider", ErrBadSearch)
	case !q.From.Before(q.To):
		return fmt.Errorf("%w: empty window %s to %s", ErrBadSearch, q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	case q.Limit <= 0 || q.Limit > MaxSearchLimit:
		return fmt.Errorf("%w: limit %d, want 1 to %d", ErrBadSearch, q.Limit, MaxSearchLimit)
	case q.Status < 0 || q.Status > 999:
		return fmt.Errorf("%w: status %d", ErrBadSearch, q.Status)
	}
	for _, v := range []string{q.Tenant, q.Service, q.Provider, q.Category, q.Code, q.Endpoint} {
		if v != "" && sanitize(v, maxShortText) != v {
			return fmt.Errorf("%w: %q cannot be a stored value", ErrBadSearch, truncateForError(v))
		}
	}
	return nil
}

// searchColumns are what a search reads of an event (not its body).
const searchColumns = `id, ts, provider, service, env, tenant, method, host, endpoint, status, duration_ms,
	category, code, subcode, retryable, known, coalesce(correlation_id, ''), coalesce(trace_id, ''),
	coalesce(refs, '{}'), fingerprint, message`

// searchSQL builds the statement of q: its conditions are parameters,
// never text from q. The scope's equalities repeat the partial indexes'
// predicates (tenant <> ”, service <> ”) so that the planner can use
// them whatever the value.
//
// A code or an endpoint is part of what makes an error group: their
// groups' fingerprints (fingerprints, when given) restrict the search too,
// so that the planner may read a rare code's events through the events
// (fingerprint, ts) index rather than the scope's through its own.
func searchSQL(q *SearchQuery, fingerprints []string) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Tenant != "" {
		where = append(where, "tenant = "+arg(q.Tenant)+" AND tenant <> ''")
	}
	if q.Service != "" {
		where = append(where, "service = "+arg(q.Service)+" AND service <> ''")
	}
	if q.Provider != "" {
		where = append(where, "provider = "+arg(q.Provider))
	}
	where = append(where, "ts >= "+arg(q.From), "ts < "+arg(q.To))
	if !q.AfterTS.IsZero() {
		where = append(where, "(ts, id) < ("+arg(q.AfterTS)+", "+arg(q.AfterID)+")")
	}
	for _, c := range []struct{ column, value string }{{"category", q.Category}, {"code", q.Code}, {"endpoint", q.Endpoint}} {
		if c.value != "" {
			where = append(where, c.column+" = "+arg(c.value))
		}
	}
	if q.Status != 0 {
		where = append(where, "status = "+arg(q.Status))
	}
	if fingerprints != nil {
		where = append(where, "fingerprint = ANY("+arg(fingerprints)+")")
	}
	return `SELECT ` + searchColumns + ` FROM events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ts DESC, id DESC LIMIT ` + arg(q.Limit+1), args
}

// SearchEvents returns a page of the events q asks for, newest first, in
// one read-only snapshot. A query that cannot be run is an error wrapping
// ErrBadSearch.
func (s *Store) SearchEvents(ctx context.Context, q SearchQuery) (*SearchPage, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: search", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The window and the scope decide the plan (which partitions, which
	// index): plan for the values every time. JIT would cost more than the
	// page.
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, "store: search", err)
	}
	page := &SearchPage{Events: []SearchEvent{}}
	fingerprints, err := searchGroups(ctx, tx, &q)
	if err != nil {
		return nil, wrap(ctx, "store: search", err)
	}
	if fingerprints != nil && len(fingerprints) == 0 {
		return page, nil // no group of that code or endpoint: no event either
	}
	sql, args := searchSQL(&q, fingerprints)
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(ctx, "store: search", err)
	}
	if page.Events, err = scanSearchEvents(rows); err != nil {
		return nil, wrap(ctx, "store: search", err)
	}
	if len(page.Events) > q.Limit {
		page.Events, page.More = page.Events[:q.Limit], true
	}
	return page, nil
}

// scanSearchEvents reads rows of searchColumns.
func scanSearchEvents(rows pgx.Rows) ([]SearchEvent, error) {
	out := []SearchEvent{}
	var e SearchEvent
	var status int16
	_, err := pgx.ForEachRow(rows, []any{&e.ID, &e.TS, &e.Provider, &e.Service, &e.Env, &e.Tenant, &e.Method, &e.Host,
		&e.Endpoint, &status, &e.DurationMS, &e.Category, &e.Code, &e.Subcode, &e.Retryable, &e.Known,
		&e.CorrelationID, &e.TraceID, &e.References, &e.Fingerprint, &e.Message}, func() error {
		e.Status, e.TS = int(status), e.TS.UTC()
		out = append(out, e)
		e.References = nil
		return nil
	})
	return out, err
}

// searchGroups returns the fingerprints of the groups of q's code and
// endpoint (and provider), or nil when q names neither.
func searchGroups(ctx context.Context, c querier, q *SearchQuery) ([]string, error) {
	if q.Code == "" && q.Endpoint == "" {
		return nil, nil
	}
	rows, err := c.Query(ctx, `SELECT fingerprint FROM error_groups
		WHERE ($1 = '' OR code = $1) AND ($2 = '' OR endpoint = $2) AND ($3 = '' OR provider = $3) ORDER BY 1`,
		q.Code, q.Endpoint, q.Provider)
	if err != nil {
		return nil, err
	}
	fps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if fps == nil {
		fps = []string{}
	}
	return fps, nil
}

// SearchStatement is the statement and arguments SearchEvents runs for q,
// for benchmarks and tests that read its plan.
func (s *Store) SearchStatement(ctx context.Context, q SearchQuery) (string, []any, error) {
	if err := q.check(); err != nil {
		return "", nil, err
	}
	fps, err := searchGroups(ctx, s.pool, &q)
	if err != nil {
		return "", nil, wrap(ctx, "store: search", err)
	}
	sql, args := searchSQL(&q, fps)
	return sql, args, nil
}
