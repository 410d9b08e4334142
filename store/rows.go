package store

import (
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Bounds of stored text, in bytes. Text is also made valid UTF-8 without
// NUL bytes (sanitize): Postgres text can hold neither, and one
// bad value would fail a whole COPY.
const (
	maxShortText = 512     // provider, codes, ids, method, host, endpoint, service, ...
	maxMessage   = 8 << 10 // event and group messages, dead letter details
	maxBody      = 1 << 20 // event bodies and dead letters' raw records (ingest bounds them far lower)
	maxRefs      = 64      // secondary references of one event
)

// eventColumns are the events columns of an event's values, in order:
// every column but id and ingested_at.
var eventColumns = []string{
	"ts", "provider", "category", "code", "subcode", "status", "retryable", "known",
	"correlation_id", "trace_id", "refs", "fingerprint", "method", "host", "endpoint",
	"service", "env", "tenant", "duration_ms", "message", "body",
	"src_topic", "src_partition", "src_offset",
}

// copyColumns are the events columns of WriteBatch's COPY, in order: id
// (reserved from events_id_seq beforehand, so that error groups can point
// at their sample event) and eventColumns. eventRow.copyRow follows this
// order.
var copyColumns = append([]string{"id"}, eventColumns...)

// eventRow is one event as stored: sanitised, bounded, empty ids and
// references meaning NULL. It is the single source of the stored values.
type eventRow struct {
	id                                  int64
	ts                                  time.Time
	provider, category, code, subcode   string
	status                              int64 // within smallint
	retryable, known                    bool
	correlationID, traceID              string   // "" is NULL
	refs                                []string // empty is NULL
	refsDims                            [1]pgtype.ArrayDimension
	fingerprint, method, host, endpoint string
	service, env, tenant                string
	durationMS                          float64
	message, body, topic                string
	partition, offset                   int64
}

func (r *eventRow) set(e *Event) {
	r.ts = e.TS
	r.provider = sanitize(e.Provider, maxShortText)
	r.category = sanitize(string(e.Category), maxShortText)
	r.code = sanitize(e.Code, maxShortText)
	r.subcode = sanitize(e.Subcode, maxShortText)
	r.status = int64(min(max(e.Status, 0), math.MaxInt16))
	r.retryable, r.known = e.Retryable, e.Known
	r.correlationID = sanitize(e.CorrelationID, maxShortText)
	r.traceID = sanitize(e.TraceID, maxShortText)
	r.refs = cleanRefs(e.References)
	r.refsDims[0] = pgtype.ArrayDimension{Length: int32(len(r.refs)), LowerBound: 1}
	r.fingerprint = sanitize(e.Fingerprint, maxShortText)
	r.method = sanitize(e.Method, maxShortText)
	r.host = sanitize(e.Host, maxShortText)
	r.endpoint = sanitize(e.Endpoint, maxShortText)
	r.service = sanitize(e.Service, maxShortText)
	r.env = sanitize(e.Env, maxShortText)
	r.tenant = sanitize(e.Tenant, maxShortText)
	r.durationMS = e.DurationMS
	r.message = sanitize(e.Message, maxMessage)
	r.body = sanitize(e.Body, maxBody)
	r.topic = sanitize(e.Topic, maxShortText)
	r.partition, r.offset = int64(e.Partition), e.Offset
}

// cleanRefs returns the non-empty references, sanitised, at most maxRefs;
// refs itself when it needs no change.
func cleanRefs(refs []string) []string {
	ok := len(refs) <= maxRefs
	for _, s := range refs {
		if !ok {
			break
		}
		ok = s != "" && sanitize(s, maxShortText) == s
	}
	if ok {
		return refs
	}
	out := make([]string, 0, min(len(refs), maxRefs))
	for _, s := range refs {
		if s = sanitize(s, maxShortText); s != "" && len(out) < maxRefs {
			out = append(out, s)
		}
	}
	return out
}

// copyRow returns values for COPY (copyColumns) that read r's fields when
// encoded: set r to an event and an id and the same row encodes them. The
// values are pointer-shaped, so that neither building nor encoding a row
// allocates.
func (r *eventRow) copyRow() []any {
	return []any{
		intCol{&r.id}, timeCol{&r.ts}, textCol{&r.provider}, textCol{&r.category}, textCol{&r.code}, textCol{&r.subcode},
		intCol{&r.status}, boolCol{&r.retryable}, boolCol{&r.known},
		nullTextCol{&r.correlationID}, nullTextCol{&r.traceID}, refsCol{r},
		textCol{&r.fingerprint}, textCol{&r.method}, textCol{&r.host}, textCol{&r.endpoint},
		textCol{&r.service}, textCol{&r.env}, textCol{&r.tenant}, floatCol{&r.durationMS},
		textCol{&r.message}, textCol{&r.body}, textCol{&r.topic}, intCol{&r.partition}, intCol{&r.offset},
	}
}

// Pointer-shaped column values implementing pgx's valuer interfaces.
type (
	textCol     struct{ p *string }
	nullTextCol struct{ p *string }
	timeCol     struct{ p *time.Time }
	intCol      struct{ p *int64 }
	boolCol     struct{ p *bool }
	floatCol    struct{ p *float64 }
	refsCol     struct{ r *eventRow }
)

// TextValue implements pgtype.TextValuer.
func (c textCol) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: *c.p, Valid: true}, nil
}

// TextValue implements pgtype.TextValuer; "" is NULL.
func (c nullTextCol) TextValue() (pgtype.Text, error) {
	return pgtype.Text{String: *c.p, Valid: *c.p != ""}, nil
}

// TimestamptzValue implements pgtype.TimestamptzValuer.
func (c timeCol) TimestamptzValue() (pgtype.Timestamptz, error) {
	return pgtype.Timestamptz{Time: *c.p, Valid: true}, nil
}

// Int64Value implements pgtype.Int64Valuer (for smallint, integer and bigint).
func (c intCol) Int64Value() (pgtype.Int8, error) { return pgtype.Int8{Int64: *c.p, Valid: true}, nil }

// BoolValue implements pgtype.BoolValuer.
func (c boolCol) BoolValue() (pgtype.Bool, error) { return pgtype.Bool{Bool: *c.p, Valid: true}, nil }

// Float64Value implements pgtype.Float64Valuer.
func (c floatCol) Float64Value() (pgtype.Float8, error) {
	return pgtype.Float8{Float64: *c.p, Valid: true}, nil
}

// Dimensions implements pgtype.ArrayGetter: refsCol is a text[], NULL
// when there are no references.
func (c refsCol) Dimensions() []pgtype.ArrayDimension {
	if len(c.r.refs) == 0 {
		return nil
	}
	return c.r.refsDims[:]
}

// Index implements pgtype.ArrayGetter.
func (c refsCol) Index(i int) any { return textCol{&c.r.refs[i]} }

// IndexType implements pgtype.ArrayGetter.
func (c refsCol) IndexType() any { return textCol{} }

// eventSource feeds events to COPY with their ids (ids[i] is events[i]'s),
// one reused row.
type eventSource struct {
	events []Event
	ids    []int64
	next   int
	cur    eventRow
	row    []any
}

func newEventSource(events []Event, ids []int64) *eventSource {
	s := &eventSource{events: events, ids: ids}
	s.row = s.cur.copyRow()
	return s
}

// Next implements pgx.CopyFromSource.
func (s *eventSource) Next() bool {
	s.next++
	return s.next <= len(s.events)
}

// Values implements pgx.CopyFromSource: the same row, set to the next event.
func (s *eventSource) Values() ([]any, error) {
	s.cur.set(&s.events[s.next-1])
	s.cur.id = s.ids[s.next-1]
	return s.row, nil
}

// Err implements pgx.CopyFromSource.
func (s *eventSource) Err() error { return nil }
