// Package ingest is faultline's pipeline from raw integration log records to
// Postgres: decode and classify (package classify), redact, aggregate into
// batches with their rollups and error groups, and write each batch with
// the offset it reached in one transaction, so that a record delivered
// twice or a process killed at any instant changes nothing in the end.
// It consumes a Kafka consumer group (Consumer) or NDJSON files (Replay),
// keeps the events partitions ahead of time and applies retention (Upkeep),
// and reports the lag of what is stored (Lags).
package ingest

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/redact"
	"github.com/faultline-dev/faultline/store"
)

// Bounds of what is stored of an unusable record (a usable record's body is
// bounded by the classifier).
const (
	maxDeadLetterBytes = 16 << 10
	maxDetailBytes     = 512
)

// Classifier is what the pipeline needs of classification: for each
// record of a message (one, or an OpenTelemetry message's many), an Event
// whose every string is redacted, or an error naming the Reason.
type Classifier interface {
	ClassifyAll(msg []byte, out []classify.Result) []classify.Result
}

// ReasonTimeRange marks a record whose timestamp is too far in the future
// or older than the retention period: storing it would create partitions
// that make no sense.
const ReasonTimeRange classify.Reason = "timestamp_out_of_range"

// Builder accumulates the records of one source into a store.Batch:
// classified and redacted error events, dead letters, and the batch's
// increments of the per-minute rollups and of the error groups. It is not
// safe for concurrent use.
type Builder struct {
	c        Classifier
	now      func() time.Time
	keep     time.Duration
	internal func(err *classify.RecordError, topic string, partition int32, offset int64)

	b            store.Batch
	records      int
	first        time.Time // when the first record of the batch was added
	minTS, maxTS time.Time // the acceptable timestamps, fixed when the batch starts
	reqs         map[reqKey]int
	errs         map[errKey]int
	groups       map[string]int
	shapes       map[classify.Shape]int64
	results      []classify.Result  // of the message being added
	dead         []store.DeadLetter // of the message being added
	names        map[store.EndpointName]struct{}
}

type reqKey struct {
	minute             int64
	provider, endpoint string
}

type errKey struct {
	minute                  int64
	provider, code, subcode string
	category                classify.Category
}

// BuilderOptions configure a Builder.
type BuilderOptions struct {
	Keep time.Duration // records older than now-Keep are dead letters (0: no bound)
	Now  func() time.Time
	// InternalError, when set, is told of every record that made
	// faultline fail (ReasonInternal: a bug), with the record's
	// coordinates, never its content; the record is a dead letter.
	InternalError func(err *classify.RecordError, topic string, partition int32, offset int64)
}

// NewBuilder returns a Builder for source, whose stored offset is expected.
func NewBuilder(c Classifier, source store.Source, expected int64, o BuilderOptions) *Builder {
	if o.Now == nil {
		o.Now = time.Now
	}
	bb := &Builder{
		c:        c,
		now:      o.Now,
		keep:     o.Keep,
		internal: o.InternalError,
		reqs:     map[reqKey]int{},
		errs:     map[errKey]int{},
		groups:   map[string]int{},
		shapes:   map[classify.Shape]int64{},
		names:    map[store.EndpointName]struct{}{},
	}
	bb.b.Source = source
	bb.b.ExpectedOffset = expected
	return bb
}

// Len is the number of records in the current batch.
func (bb *Builder) Len() int { return bb.records }

// Started is when the first record of the current batch was added.
func (bb *Builder) Started() time.Time { return bb.first }

// Add classifies the records of one message and adds them to the batch:
// one record, or an OpenTelemetry message's many, all stored with the
// message's coordinates (the batch's offsets make the whole message stored
// exactly once). It returns how many records were usable and how many
// became dead letters. No record can make it panic: a message that makes
// classification or redaction fail that way is a dead letter with
// ReasonInternal.
func (bb *Builder) Add(value []byte, topic string, partition int32, offset int64) (usable, unusable int) {
	bb.count()
	defer func() {
		if p := recover(); p != nil {
			// Nothing of the batch was changed yet: the work that can fail
			// (classify, redact) comes before any change.
			err := &classify.RecordError{Reason: classify.ReasonInternal, Detail: redact.Text(fmt.Sprint(p)), Stack: debug.Stack()}
			bb.reportInternal(err, topic, partition, offset)
			bb.b.DeadLetters = append(bb.b.DeadLetters, store.DeadLetter{
				Reason: classify.ReasonInternal, Detail: redact.Bound(err.Error(), maxDetailBytes),
				Topic: topic, Partition: partition, Offset: offset,
			})
			usable, unusable = 0, 1
		}
	}()
	bb.results = bb.c.ClassifyAll(value, bb.results[:0])
	bb.dead = bb.dead[:0]
	for i := range bb.results {
		r := &bb.results[i]
		err := r.Err
		if err == nil && (r.Event.TS.After(bb.maxTS) || r.Event.TS.Before(bb.minTS)) {
			err = &classify.RecordError{Reason: ReasonTimeRange, Detail: "ts " + r.Event.TS.Format(time.RFC3339) + " is outside the stored range"}
		}
		if err == nil {
			continue
		}
		r.Err = err
		raw := value
		if r.Raw != nil {
			raw = r.Raw
		}
		if r.Many {
			detail := err.Error()
			if re, ok := err.(*classify.RecordError); ok {
				detail = re.Detail
			}
			err = &classify.RecordError{Reason: classify.ReasonOf(err), Detail: fmt.Sprintf("log record %d of the message: %s", r.Index, detail)}
		}
		bb.dead = append(bb.dead, bb.deadLetter(err, raw, topic, partition, offset))
	}
	// Only now is the batch changed.
	for i := range bb.results {
		if r := &bb.results[i]; r.Err == nil {
			bb.addEvent(&r.Event, topic, partition, offset)
			usable++
		}
	}
	bb.b.DeadLetters = append(bb.b.DeadLetters, bb.dead...)
	return usable, len(bb.dead)
}

// addEvent adds a usable record's counts, and the event itself when it is
// an error.
func (bb *Builder) addEvent(ev *classify.Event, topic string, partition int32, offset int64) {
	bb.shapes[ev.Shape]++
	minute := ev.TS.Truncate(time.Minute).Unix()
	rk := reqKey{minute, ev.Provider, ev.Endpoint}
	i, ok := bb.reqs[rk]
	if !ok {
		i = len(bb.b.Requests)
		bb.reqs[rk] = i
		bb.b.Requests = append(bb.b.Requests, store.RequestRollup{Minute: time.Unix(minute, 0).UTC(), Provider: ev.Provider, Endpoint: ev.Endpoint})
	}
	bb.b.Requests[i].Requests++
	// The endpoint with its method, registered with the batch (and bounded).
	if n := (store.EndpointName{Provider: ev.Provider, Method: ev.Method, Endpoint: ev.Endpoint}); !bb.hasName(n) {
		bb.names[n] = struct{}{}
		bb.b.Endpoints = append(bb.b.Endpoints, n)
	}
	if !ev.IsError {
		return
	}
	bb.b.Requests[i].Errors++
	bb.addError(ev, minute, topic, partition, offset)
}

func (bb *Builder) hasName(n store.EndpointName) bool {
	_, ok := bb.names[n]
	return ok
}

// AddUnusable adds a record that could not even be read (err says why) as
// a dead letter; raw is what is known of it.
func (bb *Builder) AddUnusable(err error, raw []byte, topic string, partition int32, offset int64) {
	bb.count()
	bb.addDeadLetter(err, raw, topic, partition, offset)
}

// count counts a record; the first of a batch fixes the batch's start and
// the range of timestamps it accepts (more than a day ahead, or older than
// Keep, is refused).
func (bb *Builder) count() {
	if bb.records == 0 {
		bb.first = bb.now()
		bb.maxTS = bb.first.Add(24 * time.Hour)
		bb.minTS = time.Time{}
		if bb.keep > 0 {
			bb.minTS = bb.first.Add(-bb.keep)
		}
	}
	bb.records++
}

// addDeadLetter keeps an unusable record.
func (bb *Builder) addDeadLetter(err error, raw []byte, topic string, partition int32, offset int64) {
	bb.b.DeadLetters = append(bb.b.DeadLetters, bb.deadLetter(err, raw, topic, partition, offset))
}

// deadLetter is an unusable record as it is kept: redacted as a document
// (key-aware whatever shape it has), then bounded.
func (bb *Builder) deadLetter(err error, raw []byte, topic string, partition int32, offset int64) store.DeadLetter {
	if re, ok := err.(*classify.RecordError); ok && re.Reason == classify.ReasonInternal {
		bb.reportInternal(re, topic, partition, offset)
	}
	return store.DeadLetter{
		Reason:    classify.ReasonOf(err),
		Detail:    redact.Bound(redact.Document(err.Error()), maxDetailBytes),
		Raw:       redact.Body(raw, maxDeadLetterBytes),
		Topic:     topic,
		Partition: partition,
		Offset:    offset,
	}
}

func (bb *Builder) reportInternal(err *classify.RecordError, topic string, partition int32, offset int64) {
	if bb.internal != nil {
		bb.internal(err, topic, partition, offset)
	}
}

func (bb *Builder) addError(ev *classify.Event, minute int64, topic string, partition int32, offset int64) {
	ek := errKey{minute, ev.Provider, ev.Code, ev.Subcode, ev.Category}
	j, ok := bb.errs[ek]
	if !ok {
		j = len(bb.b.Errors)
		bb.errs[ek] = j
		bb.b.Errors = append(bb.b.Errors, store.ErrorRollup{
			Minute: time.Unix(minute, 0).UTC(), Provider: ev.Provider, Category: ev.Category, Code: ev.Code, Subcode: ev.Subcode,
		})
	}
	bb.b.Errors[j].Count++

	g, ok := bb.groups[ev.Fingerprint]
	if !ok {
		g = len(bb.b.Groups)
		bb.groups[ev.Fingerprint] = g
		bb.b.Groups = append(bb.b.Groups, store.GroupDelta{
			Fingerprint: ev.Fingerprint, Provider: ev.Provider, Code: ev.Code, Subcode: ev.Subcode,
			Method: ev.Method, Endpoint: ev.Endpoint, Category: ev.Category,
			FirstSeen: ev.TS, LastSeen: ev.TS, SampleEvent: -1,
		})
	}
	gd := &bb.b.Groups[g]
	gd.Count++
	if ev.TS.Before(gd.FirstSeen) {
		gd.FirstSeen = ev.TS
	}
	if !ev.TS.Before(gd.LastSeen) {
		// The group's sample is this event, appended below.
		gd.LastSeen = ev.TS
		gd.SampleCorrelationID, gd.SampleMessage = ev.CorrelationID, ev.Message
		gd.SampleEvent = len(bb.b.Events)
	}

	bb.b.Events = append(bb.b.Events, store.Event{Event: *ev, Topic: topic, Partition: partition, Offset: offset})
}

// Take returns the batch, ending at next (the offset to resume from), and
// starts a new one that expects next as the stored offset.
func (bb *Builder) Take(next int64) *store.Batch {
	b := bb.b
	b.NextOffset = next
	minute := bb.first.UTC().Truncate(time.Minute)
	for _, sh := range classify.Shapes {
		if n := bb.shapes[sh]; n > 0 {
			b.Shapes = append(b.Shapes, store.ShapeCount{Minute: minute, Shape: sh, Records: n})
		}
	}
	bb.Reset(next)
	return &b
}

// Reset drops the current batch and expects the given stored offset.
func (bb *Builder) Reset(expected int64) {
	bb.b = store.Batch{Source: bb.b.Source, ExpectedOffset: expected}
	bb.records = 0
	clear(bb.reqs)
	clear(bb.errs)
	clear(bb.groups)
	clear(bb.shapes)
	clear(bb.names)
}
