package store

import (
	"errors"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// Sentinel errors. Callers check them with errors.Is and never import pgx.
// Their text has no "store:" prefix: the operation that wraps them has.
var (
	// ErrFenced means the stored offset of a source is not the one the
	// writer expected: another consumer has written that partition since.
	// The batch was not written; the caller must stop consuming the
	// partition and resume from the stored offset.
	ErrFenced = errors.New("partition offset moved on (fenced)")
	// ErrUnavailable means Postgres could not be reached or the connection
	// broke; the operation may be retried.
	ErrUnavailable = errors.New("postgres unavailable")
	// ErrSchemaBehind means the database schema is older than this binary's
	// migrations: run `ingest migrate`.
	ErrSchemaBehind = errors.New("database schema is behind; run `ingest migrate`")
)

// Source names a stream of records whose progress is stored with the data:
// a Kafka consumer group's topic partition, or a replayed file
// (Group "replay", Topic "file:<sha256>", Partition 0, offsets = line numbers).
type Source struct {
	Group     string
	Topic     string
	Partition int32
}

// NoOffset is the expected offset of a source that has no stored offset yet.
const NoOffset int64 = -1

// Event is a classified, redacted error event ready to be stored.
type Event struct {
	classify.Event // as the classifier gives it: every string redacted, the body bounded
	// Kafka coordinates (or file line) of the record.
	Topic     string
	Partition int32
	Offset    int64
}

// DeadLetter is an unusable record, kept with the reason.
type DeadLetter struct {
	Reason    classify.Reason
	Detail    string
	Raw       string // the record, sanitised and bounded
	Topic     string
	Partition int32
	Offset    int64
}

// RequestRollup counts requests and errors per minute, provider and endpoint.
type RequestRollup struct {
	Minute   time.Time
	Provider string
	Endpoint string
	Requests int64
	Errors   int64
}

// ErrorRollup counts errors per minute, provider, category, code and
// subcode.
type ErrorRollup struct {
	Minute   time.Time
	Provider string
	Category classify.Category
	Code     string
	Subcode  string
	Count    int64
}

// GroupDelta is what one batch adds to an error group (by fingerprint).
type GroupDelta struct {
	Fingerprint string
	Provider    string
	Code        string
	Subcode     string
	Method      string
	Endpoint    string
	Category    classify.Category
	FirstSeen   time.Time
	LastSeen    time.Time
	Count       int64
	// SampleCorrelationID and SampleMessage describe one event of the batch.
	SampleCorrelationID string
	SampleMessage       string
	// SampleEvent is the index in Batch.Events of the group's sample: the
	// event of this group with the latest ts in the batch, the one
	// SampleCorrelationID and SampleMessage describe. WriteBatch stores
	// that event's id and ts in error_groups (sample_event_id, sample_ts:
	// the events primary key) when this delta's LastSeen is not older than
	// the stored group's. -1, an index out of range or one whose event has
	// another fingerprint means none: the stored sample event, if any, is
	// kept. Note that the zero value is the batch's first event.
	SampleEvent int
}

// ShapeCount counts the usable records read in one shape (classify.Shape)
// in the minute a batch was built.
type ShapeCount struct {
	Minute  time.Time
	Shape   classify.Shape
	Records int64
}

// Batch is everything one transaction writes for one source: events, dead
// letters, rollup and group increments, and the source's new offset.
type Batch struct {
	Source Source
	// ExpectedOffset is the stored offset the writer resumed from (or its
	// previous batch's NextOffset); NoOffset when none was stored.
	ExpectedOffset int64
	// NextOffset is the offset to resume from after this batch.
	NextOffset  int64
	Events      []Event
	DeadLetters []DeadLetter
	Requests    []RequestRollup
	Errors      []ErrorRollup
	Groups      []GroupDelta
	Shapes      []ShapeCount
	// Endpoints are the distinct provider, method and endpoint of the
	// batch's calls: they are registered, and bounded (WithEndpointLimit).
	Endpoints []EndpointName
}

// EndpointName is the provider, method and endpoint of calls.
type EndpointName struct {
	Provider, Method, Endpoint string
}
