package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Error groups over time: what the groups pages read. A group's counts
// per hour come from rollup_groups_hourly (written with each batch), never
// from counting events; a group's latest events, and the tenants and
// services among them, through the events (fingerprint, ts) index.

// ErrNoGroup means no error group has the fingerprint given; ErrNotStored
// that an event is not stored (any more: retention drops whole days).
var (
	ErrNoGroup   = errors.New("no such error group")
	ErrNotStored = errors.New("event not stored")
)

// GroupQuery asks for the error groups seen in a window of whole UTC
// hours, [From, To).
type GroupQuery struct {
	From, To time.Time
	// Provider and Category narrow the list ("": any).
	Provider, Category string
}

// Group is an error group and its events per hour of a window.
type Group struct {
	Fingerprint                                         string
	Provider, Code, Subcode, Method, Endpoint, Category string
	// FirstSeen and LastSeen bound every event of the group ever stored;
	// Total counts them.
	FirstSeen, LastSeen time.Time
	Total               int64
	// Hours are the window's hours with events, in time order.
	Hours []HourCount
	// LastBefore is the last hour with events before the window's first
	// hour with events (zero: none stored).
	LastBefore time.Time
	// SampleStatus is the HTTP status of the group's sample event (its
	// newest when stored), 0 when none; SampleCorrelationID its id.
	SampleStatus        int
	SampleCorrelationID string
	// SampleEventID and SampleTS are the sample event's primary key (zero
	// when none).
	SampleEventID int64
	SampleTS      time.Time
}

// HourCount is a group's events in an hour.
type HourCount struct {
	Hour  time.Time
	Count int64
}

func (q GroupQuery) check() error {
	if !q.From.Before(q.To) || !q.From.Equal(q.From.Truncate(time.Hour)) || !q.To.Equal(q.To.Truncate(time.Hour)) {
		return fmt.Errorf("store: groups: %s to %s is not a window of whole hours", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	return nil
}

// groupsSQL reads the groups with events in [$1, $2), of provider $3 and
// category $4 when not ” (or the one group $5 when not ”), with their
// hours in the window, the last hour with events before their first one
// in the window (a backward probe of the (fingerprint, hour) index each),
// and their sample event's status (a primary-key read in its partition).
const groupsSQL = `
	WITH w AS (
		SELECT fingerprint, array_agg(hour ORDER BY hour) AS hours, array_agg(count ORDER BY hour) AS counts
		FROM rollup_groups_hourly
		WHERE hour >= $1 AND hour < $2 AND ($5 = '' OR fingerprint = $5)
		GROUP BY fingerprint)
	SELECT g.fingerprint, g.provider, g.code, g.subcode, g.method, g.endpoint, g.category,
		g.first_seen, g.last_seen, g.count, w.hours, w.counts,
		(SELECT max(h.hour) FROM rollup_groups_hourly h WHERE h.fingerprint = g.fingerprint AND h.hour < w.hours[1]),
		coalesce((SELECT e.status FROM events e WHERE e.id = g.sample_event_id AND e.ts = g.sample_ts), 0),
		coalesce(g.sample_correlation_id, ''), g.sample_event_id, g.sample_ts
	FROM w JOIN error_groups g ON g.fingerprint = w.fingerprint
	WHERE ($3 = '' OR g.provider = $3) AND ($4 = '' OR g.category = $4)`

// ListGroups returns the groups with events in q's window, in one
// read-only snapshot, in no particular order.
func (s *Store) ListGroups(ctx context.Context, q GroupQuery) ([]Group, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	return s.readGroups(ctx, "store: groups", q, "")
}

// GetGroup returns the group of fingerprint with its hours in q's window
// (q's provider and category are not used), or an error wrapping
// ErrNoGroup. A group without events in the window has no hours.
func (s *Store) GetGroup(ctx context.Context, fingerprint string, q GroupQuery) (Group, error) {
	if err := q.check(); err != nil {
		return Group{}, err
	}
	if fingerprint == "" || sanitize(fingerprint, maxShortText) != fingerprint {
		return Group{}, fmt.Errorf("store: group %q: %w", truncateForError(fingerprint), ErrNoGroup)
	}
	groups, err := s.readGroups(ctx, "store: group", GroupQuery{From: q.From, To: q.To}, fingerprint)
	if err != nil {
		return Group{}, err
	}
	if len(groups) == 1 {
		return groups[0], nil
	}
	// No events in the window: the group alone.
	rows, err := s.pool.Query(ctx, `SELECT fingerprint, provider, code, subcode, method, endpoint, category, first_seen, last_seen, count,
			'{}'::timestamptz[], '{}'::bigint[],
			(SELECT max(h.hour) FROM rollup_groups_hourly h WHERE h.fingerprint = g.fingerprint AND h.hour < $2),
			coalesce((SELECT e.status FROM events e WHERE e.id = g.sample_event_id AND e.ts = g.sample_ts), 0),
			coalesce(sample_correlation_id, ''), sample_event_id, sample_ts
		FROM error_groups g WHERE fingerprint = $1`, fingerprint, q.To)
	if err != nil {
		return Group{}, wrap(ctx, "store: group", err)
	}
	g, err := pgx.CollectExactlyOneRow(rows, scanGroup)
	if errors.Is(err, pgx.ErrNoRows) {
		return Group{}, fmt.Errorf("store: group %s: %w", fingerprint, ErrNoGroup)
	}
	if err != nil {
		return Group{}, wrap(ctx, "store: group", err)
	}
	return g, nil
}

func (s *Store) readGroups(ctx context.Context, op string, q GroupQuery, fingerprint string) ([]Group, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The window decides the plan (an hour's rows or a month's).
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, op, err)
	}
	rows, err := tx.Query(ctx, groupsSQL, q.From, q.To, q.Provider, q.Category, fingerprint)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	out, err := pgx.CollectRows(rows, scanGroup)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	return out, nil
}

func scanGroup(row pgx.CollectableRow) (Group, error) {
	var (
		g            Group
		hours        []time.Time
		counts       []int64
		before       pgtype.Timestamptz
		status       int16
		sampleID     pgtype.Int8
		sampleTS     pgtype.Timestamptz
		firstSeen    time.Time
		lastSeen     time.Time
		fingerprintS string
	)
	err := row.Scan(&fingerprintS, &g.Provider, &g.Code, &g.Subcode, &g.Method, &g.Endpoint, &g.Category,
		&firstSeen, &lastSeen, &g.Total, &hours, &counts, &before, &status, &g.SampleCorrelationID, &sampleID, &sampleTS)
	if err != nil {
		return g, err
	}
	g.Fingerprint, g.FirstSeen, g.LastSeen = fingerprintS, firstSeen.UTC(), lastSeen.UTC()
	g.LastBefore, g.SampleStatus = utc(before.Time), int(status)
	g.SampleEventID, g.SampleTS = sampleID.Int64, utc(sampleTS.Time)
	g.Hours = make([]HourCount, len(hours))
	for i := range hours {
		g.Hours[i] = HourCount{Hour: hours[i].UTC(), Count: counts[i]}
	}
	return g, nil
}

// GroupEvents are a group's latest events of a window.
type GroupEvents struct {
	// Events are the latest, newest first, at most the limit asked.
	Events []SearchEvent
	// Tenants and Services count the events of each among the latest
	// Read events of the window ("" for events without one).
	Tenants, Services map[string]int64
	// Read is how many events Tenants and Services were counted over;
	// Sampled is set when the window has more.
	Read    int
	Sampled bool
}

// ReadGroupEvents reads the latest events of the group of fingerprint in
// [from, to) through the events (fingerprint, ts) index: the newest limit
// of them, and the tenants and services among the newest maxRead.
func (s *Store) ReadGroupEvents(ctx context.Context, fingerprint string, from, to time.Time, limit, maxRead int) (*GroupEvents, error) {
	if limit <= 0 || maxRead < limit {
		return nil, fmt.Errorf("store: group events: limit %d and %d read", limit, maxRead)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: group events", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, "store: group events", err)
	}
	var b pgx.Batch
	b.Queue(`SELECT `+searchColumns+` FROM events WHERE fingerprint = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4`,
		fingerprint, from, to, limit)
	b.Queue(`SELECT tenant, service FROM events WHERE fingerprint = $1 AND ts >= $2 AND ts < $3 ORDER BY ts DESC LIMIT $4`,
		fingerprint, from, to, maxRead)
	br := tx.SendBatch(ctx, &b)
	defer func() { _ = br.Close() }()
	out := &GroupEvents{Events: []SearchEvent{}, Tenants: map[string]int64{}, Services: map[string]int64{}}
	rows, err := br.Query()
	if err != nil {
		return nil, wrap(ctx, "store: group events", err)
	}
	var e SearchEvent
	var status int16
	if _, err := pgx.ForEachRow(rows, []any{&e.ID, &e.TS, &e.Provider, &e.Service, &e.Env, &e.Tenant, &e.Method, &e.Host,
		&e.Endpoint, &status, &e.DurationMS, &e.Category, &e.Code, &e.Subcode, &e.Retryable, &e.Known,
		&e.CorrelationID, &e.TraceID, &e.References, &e.Fingerprint, &e.Message}, func() error {
		e.Status, e.TS = int(status), e.TS.UTC()
		out.Events = append(out.Events, e)
		e.References = nil
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: group events", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, wrap(ctx, "store: group events", err)
	}
	var tenant, service string
	if _, err := pgx.ForEachRow(rows, []any{&tenant, &service}, func() error {
		out.Read++
		out.Tenants[tenant]++
		out.Services[service]++
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: group events", err)
	}
	out.Sampled = out.Read == maxRead
	return out, nil
}

// ReadEvent returns the event of primary key (id, ts), as a lookup shows
// it, with its group: one primary-key read in the partition of ts. An
// event that is not stored (any more) is an error wrapping ErrNotStored.
func (s *Store) ReadEvent(ctx context.Context, id int64, ts time.Time) (FoundEvent, error) {
	f := FoundEvent{ID: id, TS: ts.UTC()}
	var status int16
	var first *time.Time
	err := s.pool.QueryRow(ctx, findEventSQL, id, ts).Scan(&f.Provider, &f.Service, &f.Env, &f.Tenant, &f.Method, &f.Host, &f.Endpoint,
		&status, &f.DurationMS, &f.Category, &f.Code, &f.Subcode, &f.Retryable, &f.Known,
		&f.CorrelationID, &f.TraceID, &f.References, &f.Fingerprint, &f.Message, &f.Body, &f.GroupCount, &first)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, fmt.Errorf("store: read event %d: %w", id, ErrNotStored)
	}
	if err != nil {
		return f, wrap(ctx, "store: read event", err)
	}
	f.Status = int(status)
	if first != nil {
		f.GroupFirstSeen = first.UTC()
	}
	return f, nil
}
