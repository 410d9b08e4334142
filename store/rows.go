package store

import (
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/faultline-dev/faultline/classify"
)

// Bounds of stored text, in bytes. Text is also made valid UTF-8 without
// NUL bytes (classify.Sanitize): Postgres text can hold neither, and one
// bad value would fail a whole COPY.
const (
	maxShortText = 512     // provider, codes, ids, method, host, endpoint, service, ...
	maxMessage   = 8 << 10 // event and group messages, dead letter details
	maxBody      = 1 << 20 // event bodies and dead letters' raw records (ingest bounds them far lower)
	maxRefs      = 64      // secondary references of one event
)

// eventColumns are the events columns of an event's values, in order:
// every column but id and ingested_at, which take their defaults in
// WriteEventsCSV's lines and InsertEventsOneByOne. eventRow.values follows
// this order.
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

// CopyColumns returns the events columns of WriteEventsCSV's lines, in
// order: those ingestion writes, except id, which loading the CSV leaves
// to its default (events_id_seq, the sequence ingestion takes its ids
// from).
func CopyColumns() []string { return slices.Clone(eventColumns) }

// eventRow is one event as stored: sanitised, bounded, empty ids and
// references meaning NULL. It is the single source of the stored values for
// COPY, the one-by-one INSERT and CSV.
type eventRow struct {
	id                                  int64 // COPY only: values leaves id to its default
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
	r.provider = classify.Sanitize(e.Provider, maxShortText)
	r.category = classify.Sanitize(string(e.Category), maxShortText)
	r.code = classify.Sanitize(e.Code, maxShortText)
	r.subcode = classify.Sanitize(e.Subcode, maxShortText)
	r.status = int64(min(max(e.Status, 0), math.MaxInt16))
	r.retryable, r.known = e.Retryable, e.Known
	r.correlationID = classify.Sanitize(e.CorrelationID, maxShortText)
	r.traceID = classify.Sanitize(e.TraceID, maxShortText)
	r.refs = cleanRefs(e.References)
	r.refsDims[0] = pgtype.ArrayDimension{Length: int32(len(r.refs)), LowerBound: 1}
	r.fingerprint = classify.Sanitize(e.Fingerprint, maxShortText)
	r.method = classify.Sanitize(e.Method, maxShortText)
	r.host = classify.Sanitize(e.Host, maxShortText)
	r.endpoint = classify.Sanitize(e.Endpoint, maxShortText)
	r.service = classify.Sanitize(e.Service, maxShortText)
	r.env = classify.Sanitize(e.Env, maxShortText)
	r.tenant = classify.Sanitize(e.Tenant, maxShortText)
	r.durationMS = e.DurationMS
	r.message = classify.Sanitize(e.Message, maxMessage)
	r.body = classify.Sanitize(e.Body, maxBody)
	r.topic = classify.Sanitize(e.Topic, maxShortText)
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
		ok = s != "" && classify.Sanitize(s, maxShortText) == s
	}
	if ok {
		return refs
	}
	out := make([]string, 0, min(len(refs), maxRefs))
	for _, s := range refs {
		if s = classify.Sanitize(s, maxShortText); s != "" && len(out) < maxRefs {
			out = append(out, s)
		}
	}
	return out
}

// values returns r's values as plain Go values, nil for NULL.
func (r *eventRow) values() []any {
	var corr, trace, refs any
	if r.correlationID != "" {
		corr = r.correlationID
	}
	if r.traceID != "" {
		trace = r.traceID
	}
	if len(r.refs) > 0 {
		refs = r.refs
	}
	return []any{
		r.ts, r.provider, r.category, r.code, r.subcode, int16(r.status), r.retryable, r.known,
		corr, trace, refs, r.fingerprint, r.method, r.host, r.endpoint,
		r.service, r.env, r.tenant, r.durationMS, r.message, r.body,
		r.topic, int32(r.partition), r.offset,
	}
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
