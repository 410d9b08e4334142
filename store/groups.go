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
// services among them, through the events (fingerprint, ts) index. What
// the counts mean (new, regressed) is package report's.

// ErrNoGroup means no error group has the fingerprint given; ErrNotStored
// that an event is not stored (any more: retention drops whole days).
var (
	ErrNoGroup   = errors.New("no such error group")
	ErrNotStored = errors.New("event not stored")
)

// GroupHour is a group's events in an hour.
type GroupHour struct {
	Hour        time.Time
	Fingerprint string
	Count       int64
}

// ReadGroupHours returns each group's events per hour of [from, to),
// whole UTC hours, from rollup_groups_hourly (of the one group of
// fingerprint, when not ""), in no particular order.
func (s *Store) ReadGroupHours(ctx context.Context, from, to time.Time, fingerprint string) ([]GroupHour, error) {
	if !from.Before(to) || !from.Equal(from.Truncate(time.Hour)) || !to.Equal(to.Truncate(time.Hour)) {
		return nil, fmt.Errorf("store: group hours: %s to %s is not a window of whole hours", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	var rows pgx.Rows
	var err error
	if fingerprint == "" {
		rows, err = s.pool.Query(ctx, `SELECT hour, fingerprint, count FROM rollup_groups_hourly WHERE hour >= $1 AND hour < $2`, from, to)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT hour, fingerprint, count FROM rollup_groups_hourly
			WHERE fingerprint = $3 AND hour >= $1 AND hour < $2`, from, to, fingerprint)
	}
	if err != nil {
		return nil, wrap(ctx, "store: group hours", err)
	}
	out := []GroupHour{}
	var (
		h  GroupHour
		fp pgtype.DriverBytes
		in = interner{}
	)
	if _, err := pgx.ForEachRow(rows, []any{&h.Hour, &fp, &h.Count}, func() error {
		h.Hour, h.Fingerprint = h.Hour.UTC(), in.get(fp)
		out = append(out, h)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: group hours", err)
	}
	return out, nil
}

// GroupsQuery asks for error groups by fingerprint.
type GroupsQuery struct {
	// Fingerprints are the groups; Back[i] is when Fingerprints[i] came
	// back: the last hour with events before it is read (zero: none).
	Fingerprints []string
	Back         []time.Time
	// Provider and Category narrow the groups ("": any).
	Provider, Category string
}

// Group is an error group as stored.
type Group struct {
	Fingerprint                                         string
	Provider, Code, Subcode, Method, Endpoint, Category string
	// FirstSeen and LastSeen bound every event of the group ever stored;
	// Total counts them.
	FirstSeen, LastSeen time.Time
	Total               int64
	// LastBefore is the last hour with events before the group's Back
	// hour (zero: none stored, or no Back asked).
	LastBefore time.Time
	// SampleStatus is the HTTP status of the group's sample event (its
	// newest when stored) when the group has no code, 0 otherwise or when
	// it is not stored any more.
	SampleStatus        int
	SampleCorrelationID string
	// SampleEventID and SampleTS are the sample event's primary key (zero
	// when none).
	SampleEventID int64
	SampleTS      time.Time
}

// groupsSQL reads the groups of fingerprints $1, of provider $3 and
// category $4 when not ”, with the last hour with events before their
// hour $2 (a backward probe of the (fingerprint, hour) index each).
const groupsSQL = `
	SELECT g.fingerprint, g.provider, g.code, g.subcode, g.method, g.endpoint, g.category,
		g.first_seen, g.last_seen, g.count,
		(SELECT max(h.hour) FROM rollup_groups_hourly h WHERE h.fingerprint = g.fingerprint AND h.hour < q.back),
		coalesce(g.sample_correlation_id, ''), g.sample_event_id, g.sample_ts
	FROM unnest($1::text[], $2::timestamptz[]) AS q(fingerprint, back)
	JOIN error_groups g ON g.fingerprint = q.fingerprint
	WHERE ($3 = '' OR g.provider = $3) AND ($4 = '' OR g.category = $4)`

// ReadGroups returns the groups q names that exist and pass its filters,
// in no particular order, in one read-only snapshot.
func (s *Store) ReadGroups(ctx context.Context, q GroupsQuery) ([]Group, error) {
	if len(q.Back) != len(q.Fingerprints) {
		return nil, fmt.Errorf("store: groups: %d fingerprints and %d hours", len(q.Fingerprints), len(q.Back))
	}
	backs := make([]pgtype.Timestamptz, len(q.Back))
	for i, t := range q.Back {
		backs[i] = pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: groups", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, groupsSQL, q.Fingerprints, backs, q.Provider, q.Category)
	if err != nil {
		return nil, wrap(ctx, "store: groups", err)
	}
	out, err := pgx.CollectRows(rows, scanGroup)
	if err != nil {
		return nil, wrap(ctx, "store: groups", err)
	}
	// The status of the groups without a code (their fingerprint is made
	// of it): one read of their sample events, in the partitions of their
	// times only.
	var ids []int64
	var tss []time.Time
	for _, g := range out {
		if g.Code == "" && g.SampleEventID != 0 {
			ids, tss = append(ids, g.SampleEventID), append(tss, g.SampleTS)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"); err != nil {
		return nil, wrap(ctx, "store: groups", err)
	}
	rows, err = tx.Query(ctx, `SELECT id, ts, status FROM events WHERE ts = ANY($2) AND id = ANY($1)`, ids, tss)
	if err != nil {
		return nil, wrap(ctx, "store: groups: statuses", err)
	}
	type key struct {
		id int64
		ts int64
	}
	status := map[key]int{}
	var (
		id int64
		ts time.Time
		st int16
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &ts, &st}, func() error {
		status[key{id, ts.UnixNano()}] = int(st)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: groups: statuses", err)
	}
	for i := range out {
		if g := &out[i]; g.Code == "" {
			g.SampleStatus = status[key{g.SampleEventID, g.SampleTS.UnixNano()}]
		}
	}
	return out, nil
}

// GetGroup returns the group of fingerprint, with the last hour with
// events before back (zero: not read), or an error wrapping ErrNoGroup.
func (s *Store) GetGroup(ctx context.Context, fingerprint string, back time.Time) (Group, error) {
	groups, err := s.ReadGroups(ctx, GroupsQuery{Fingerprints: []string{fingerprint}, Back: []time.Time{back}})
	if err != nil {
		return Group{}, err
	}
	if len(groups) == 0 {
		return Group{}, fmt.Errorf("store: group %q: %w", truncateForError(fingerprint), ErrNoGroup)
	}
	return groups[0], nil
}

func scanGroup(row pgx.CollectableRow) (Group, error) {
	var (
		g        Group
		before   pgtype.Timestamptz
		sampleID pgtype.Int8
		sampleTS pgtype.Timestamptz
	)
	err := row.Scan(&g.Fingerprint, &g.Provider, &g.Code, &g.Subcode, &g.Method, &g.Endpoint, &g.Category,
		&g.FirstSeen, &g.LastSeen, &g.Total, &before, &g.SampleCorrelationID, &sampleID, &sampleTS)
	if err != nil {
		return g, err
	}
	g.FirstSeen, g.LastSeen, g.LastBefore = g.FirstSeen.UTC(), g.LastSeen.UTC(), utc(before.Time)
	g.SampleEventID, g.SampleTS = sampleID.Int64, utc(sampleTS.Time)
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
	if out.Events, err = scanSearchEvents(rows); err != nil {
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
