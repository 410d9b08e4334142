package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// IDKind says which of an event's ids matched a lookup.
type IDKind int16

// The kinds of ids of an event, as stored in event_ids.kind.
const (
	// KindCorrelation is the provider's request id: Finterra request_id,
	// Finix logref, Paylera trace_id, or a request id response header.
	KindCorrelation IDKind = 1
	// KindTrace is our own trace id.
	KindTrace IDKind = 2
	// KindReference is a secondary reference: a Finix authorization or
	// transfer id.
	KindReference IDKind = 3
)

func (k IDKind) String() string {
	switch k {
	case KindCorrelation:
		return "correlation_id"
	case KindTrace:
		return "trace_id"
	case KindReference:
		return "reference"
	}
	return fmt.Sprintf("kind(%d)", int16(k))
}

// MaxLookupIDs bounds the ids of one FindEvents call; DefaultLookupLimit
// is the most events it returns when not told.
const (
	MaxLookupIDs       = 1000
	DefaultLookupLimit = 100
)

// ErrBadID means an id given to FindEvents cannot be a stored id: empty,
// longer than any stored id, not UTF-8 or holding a NUL byte.
var ErrBadID = errors.New("store: not an id that can be stored")

var eventIDColumns = []string{"id", "ts", "event_id", "kind"}

// copyEventIDs writes the ids of events (their stored, sanitised values)
// into event_ids, in the transaction that copies the events themselves:
// ids[i] is events[i]'s id.
func copyEventIDs(ctx context.Context, tx pgx.Tx, events []Event, ids []int64) error {
	src := &eventIDSource{}
	src.row = []any{textCol{&src.cur.id}, timeCol{&src.cur.ts}, intCol{&src.cur.eventID}, intCol{&src.cur.kind}}
	var seen []string
	for i := range events {
		e := &events[i]
		if s := sanitize(e.CorrelationID, maxShortText); s != "" {
			src.rows = append(src.rows, eventIDRow{s, e.TS, ids[i], int64(KindCorrelation)})
		}
		if s := sanitize(e.TraceID, maxShortText); s != "" {
			src.rows = append(src.rows, eventIDRow{s, e.TS, ids[i], int64(KindTrace)})
		}
		// Two references may sanitise alike: each is stored once.
		seen = seen[:0]
		for _, r := range cleanRefs(e.References) {
			if !slices.Contains(seen, r) {
				seen = append(seen, r)
				src.rows = append(src.rows, eventIDRow{r, e.TS, ids[i], int64(KindReference)})
			}
		}
	}
	if len(src.rows) == 0 {
		return nil
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"event_ids"}, eventIDColumns, src)
	if err != nil {
		return fmt.Errorf("copy event ids: %w", err)
	}
	if n != int64(len(src.rows)) {
		return fmt.Errorf("copy event ids: %d of %d rows copied", n, len(src.rows))
	}
	return nil
}

// eventIDRow is one row of event_ids.
type eventIDRow struct {
	id            string
	ts            time.Time
	eventID, kind int64
}

// eventIDSource feeds event_ids rows to COPY through one reused row of
// pointer-shaped values, as eventSource does for events.
type eventIDSource struct {
	rows []eventIDRow
	next int
	cur  eventIDRow
	row  []any
}

// Next implements pgx.CopyFromSource.
func (s *eventIDSource) Next() bool {
	s.next++
	return s.next <= len(s.rows)
}

// Values implements pgx.CopyFromSource.
func (s *eventIDSource) Values() ([]any, error) {
	s.cur = s.rows[s.next-1]
	return s.row, nil
}

// Err implements pgx.CopyFromSource.
func (s *eventIDSource) Err() error { return nil }

// deleteEventIDsBefore deletes the ids of events before t, in the
// transaction that drops their partitions.
func deleteEventIDsBefore(ctx context.Context, tx pgx.Tx, t time.Time) error {
	if _, err := tx.Exec(ctx, "DELETE FROM event_ids WHERE ts < $1", t); err != nil {
		return fmt.Errorf("delete event ids: %w", err)
	}
	return nil
}

// FoundEvent is a stored event that a lookup found, with what its error
// group knows.
type FoundEvent struct {
	ID int64
	TS time.Time
	// Matched are the looked-up ids that found this event, and as what.
	Matched []MatchedID

	Provider, Service, Env, Tenant string
	Method, Host, Endpoint         string
	Status                         int
	DurationMS                     float64
	Category, Code, Subcode        string
	Retryable, Known               bool
	CorrelationID, TraceID         string
	References                     []string
	Fingerprint, Message, Body     string

	// GroupCount is the number of events of its fingerprint ever stored
	// (itself included) and GroupFirstSeen the first of them; 0 and the
	// zero time when the group is unknown.
	GroupCount     int64
	GroupFirstSeen time.Time
}

// MatchedID is one looked-up id that found an event.
type MatchedID struct {
	ID   string
	Kind IDKind
}

// Lookup is what FindEvents answers.
type Lookup struct {
	// Events are the events found, newest first, each once.
	Events []FoundEvent
	// Truncated is set when more than the limit matched: Events holds the
	// newest.
	Truncated bool
	// Found are the looked-up ids that matched an event (listed or not).
	Found []string
}

// findKeysSQL finds the events primary keys of ids ($1) in [$2, $3),
// newest first, at most $4 events: an index-only probe of event_ids per id.
const findKeysSQL = `
	SELECT event_id, ts, array_agg(id ORDER BY id, kind), array_agg(kind ORDER BY id, kind) FROM event_ids
	WHERE id = ANY($1::text[]) AND ts >= $2 AND ts < $3
	GROUP BY event_id, ts
	ORDER BY ts DESC, event_id DESC
	LIMIT $4`

// findEventSQL reads one event by its primary key ($1, $2), from the one
// partition of its ts, with its error group.
const findEventSQL = `
	SELECT e.provider, e.service, e.env, e.tenant, e.method, e.host, e.endpoint, e.status, e.duration_ms,
		e.category, e.code, e.subcode, e.retryable, e.known,
		coalesce(e.correlation_id, ''), coalesce(e.trace_id, ''), coalesce(e.refs, '{}'),
		e.fingerprint, e.message, e.body, coalesce(g.count, 0), g.first_seen
	FROM events e LEFT JOIN error_groups g ON g.fingerprint = e.fingerprint
	WHERE e.id = $1 AND e.ts = $2`

// FindEvents finds the events having any of ids as their provider's
// correlation id, our trace id or a secondary reference, with ts in [from,
// to) (a zero time leaves that side open), newest first, at most limit of
// them (limit <= 0: DefaultLookupLimit). It reads event_ids (one index probe per id) and
// then each event from its own partition, in a read-only transaction. An id
// that cannot be stored is an error wrapping ErrBadID.
func (s *Store) FindEvents(ctx context.Context, ids []string, from, to time.Time, limit int) (*Lookup, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("store: find events: %w: no id", ErrBadID)
	}
	if len(ids) > MaxLookupIDs {
		return nil, fmt.Errorf("store: find events: %d ids, at most %d at once", len(ids), MaxLookupIDs)
	}
	for _, id := range ids {
		if id == "" || len(id) > maxShortText || !utf8.ValidString(id) || strings.IndexByte(id, 0) >= 0 {
			return nil, fmt.Errorf("store: find events: %w: %q", ErrBadID, truncateForError(id))
		}
	}
	if limit <= 0 {
		limit = DefaultLookupLimit
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: find events", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	lo, hi := bound(from, pgtype.NegativeInfinity), bound(to, pgtype.Infinity)

	// The keys first: one probe of event_ids per id. An event matched by
	// several ids (or one id of several kinds) comes once.
	rows, err := tx.Query(ctx, findKeysSQL, ids, lo, hi, limit+1)
	if err != nil {
		return nil, wrap(ctx, "store: find events", err)
	}
	var (
		keys  []FoundEvent
		mids  []string
		kinds []int16
		row   FoundEvent
	)
	if _, err := pgx.ForEachRow(rows, []any{&row.ID, &row.TS, &mids, &kinds}, func() error {
		f := FoundEvent{ID: row.ID, TS: row.TS}
		for i := range mids {
			f.Matched = append(f.Matched, MatchedID{ID: mids[i], Kind: IDKind(kinds[i])})
		}
		keys = append(keys, f)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: find events", err)
	}
	res := &Lookup{}
	if len(keys) > limit {
		keys, res.Truncated = keys[:limit], true
		// Ids whose events are all older than the listed ones found some too.
		rows, err := tx.Query(ctx, `SELECT DISTINCT id FROM event_ids WHERE id = ANY($1::text[]) AND ts >= $2 AND ts < $3`, ids, lo, hi)
		if err != nil {
			return nil, wrap(ctx, "store: find events", err)
		}
		if res.Found, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, wrap(ctx, "store: find events", err)
		}
	} else {
		for _, k := range keys {
			for _, m := range k.Matched {
				if !slices.Contains(res.Found, m.ID) {
					res.Found = append(res.Found, m.ID)
				}
			}
		}
	}
	if len(keys) == 0 {
		return res, nil
	}

	// Then each event by its primary key: the ts names its one partition.
	var q pgx.Batch
	for _, k := range keys {
		q.Queue(findEventSQL, k.ID, k.TS)
	}
	br := tx.SendBatch(ctx, &q)
	for _, f := range keys {
		var status int16
		var first *time.Time
		err := br.QueryRow().Scan(&f.Provider, &f.Service, &f.Env, &f.Tenant, &f.Method, &f.Host, &f.Endpoint,
			&status, &f.DurationMS, &f.Category, &f.Code, &f.Subcode, &f.Retryable, &f.Known,
			&f.CorrelationID, &f.TraceID, &f.References, &f.Fingerprint, &f.Message, &f.Body, &f.GroupCount, &first)
		if errors.Is(err, pgx.ErrNoRows) {
			// Retention dropped its partition after this snapshot read
			// its ids: it is gone.
			continue
		}
		if err != nil {
			_ = br.Close()
			return nil, wrap(ctx, "store: find events", err)
		}
		f.Status = int(status)
		if first != nil {
			f.GroupFirstSeen = *first
		}
		res.Events = append(res.Events, f)
	}
	if err := br.Close(); err != nil {
		return nil, wrap(ctx, "store: find events", err)
	}
	return res, nil
}

// bound is t as a timestamptz, or the given infinity for the zero time.
func bound(t time.Time, inf pgtype.InfinityModifier) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: inf, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// truncateForError bounds an id quoted in an error message.
func truncateForError(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:80] + "…"
}
