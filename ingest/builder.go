// Package ingest is faultline's pipeline from raw integration log records to
// Postgres: decode and classify (package classify), redact, aggregate into
// batches with their rollups and error groups, and write each batch with
// the offset it reached in one transaction, so that a record delivered
// twice or a process killed at any instant changes nothing in the end.
// It consumes a Kafka consumer group (Consumer) or NDJSON files (Replay).
package ingest

import (
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// Bounds of what is stored from one record.
const (
	DefaultMaxBodyBytes = 8 << 10
	maxDeadLetterBytes  = 16 << 10
	maxDetailBytes      = 512
)

// ReasonTimeRange marks a record whose timestamp is too far in the future
// or older than the retention period: storing it would create partitions
// that make no sense.
const ReasonTimeRange classify.Reason = "timestamp_out_of_range"

// Builder accumulates the records of one source into a store.Batch:
// classified and redacted error events, dead letters, and the batch's
// increments of the per-minute rollups and of the error groups. It is not
// safe for concurrent use.
type Builder struct {
	c       *classify.Classifier
	maxBody int
	now     func() time.Time
	keep    time.Duration

	b            store.Batch
	records      int
	first        time.Time // when the first record of the batch was added
	minTS, maxTS time.Time // the acceptable timestamps, fixed when the batch starts
	reqs         map[reqKey]int
	errs         map[errKey]int
	groups       map[string]int
}

type reqKey struct {
	minute             int64
	provider, endpoint string
}

type errKey struct {
	minute         int64
	provider, code string
	category       classify.Category
}

// BuilderOptions configure a Builder.
type BuilderOptions struct {
	MaxBodyBytes int           // bound of a stored body (default 8 KiB)
	Keep         time.Duration // records older than now-Keep are dead letters (0: no bound)
	Now          func() time.Time
}

// NewBuilder returns a Builder for source, whose stored offset is expected.
func NewBuilder(c *classify.Classifier, source store.Source, expected int64, o BuilderOptions) *Builder {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	bb := &Builder{
		c:       c,
		maxBody: o.MaxBodyBytes,
		now:     o.Now,
		keep:    o.Keep,
		reqs:    map[reqKey]int{},
		errs:    map[errKey]int{},
		groups:  map[string]int{},
	}
	bb.b.Source = source
	bb.b.ExpectedOffset = expected
	return bb
}

// Len is the number of records in the current batch.
func (bb *Builder) Len() int { return bb.records }

// Started is when the first record of the current batch was added.
func (bb *Builder) Started() time.Time { return bb.first }

// Add classifies one record and adds it to the batch. It reports whether the
// record was usable (false: it became a dead letter) and the event.
func (bb *Builder) Add(value []byte, topic string, partition int32, offset int64) (classify.Event, bool) {
	bb.count()
	ev, err := bb.c.Classify(value)
	if err == nil && (ev.TS.After(bb.maxTS) || ev.TS.Before(bb.minTS)) {
		err = &classify.RecordError{Reason: ReasonTimeRange, Detail: "ts " + ev.TS.Format(time.RFC3339) + " is outside the stored range"}
	}
	if err != nil {
		bb.addDeadLetter(err, value, topic, partition, offset)
		return classify.Event{}, false
	}
	minute := ev.TS.Truncate(time.Minute).Unix()
	rk := reqKey{minute, ev.Provider, ev.Endpoint}
	i, ok := bb.reqs[rk]
	if !ok {
		i = len(bb.b.Requests)
		bb.reqs[rk] = i
		bb.b.Requests = append(bb.b.Requests, store.RequestRollup{Minute: time.Unix(minute, 0).UTC(), Provider: ev.Provider, Endpoint: ev.Endpoint})
	}
	bb.b.Requests[i].Requests++
	if !ev.IsError {
		return ev, true
	}
	bb.b.Requests[i].Errors++
	bb.addError(&ev, minute, topic, partition, offset)
	return ev, true
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

func (bb *Builder) addDeadLetter(err error, raw []byte, topic string, partition int32, offset int64) {
	bb.b.DeadLetters = append(bb.b.DeadLetters, store.DeadLetter{
		Reason:    classify.ReasonOf(err),
		Detail:    classify.Sanitize(classify.RedactText(err.Error()), maxDetailBytes),
		Raw:       classify.RedactBody(raw, maxDeadLetterBytes),
		Topic:     topic,
		Partition: partition,
		Offset:    offset,
	})
}

func (bb *Builder) addError(ev *classify.Event, minute int64, topic string, partition int32, offset int64) {
	ev.Message = classify.RedactText(ev.Message) // the store sanitises and bounds every text
	ek := errKey{minute, ev.Provider, ev.Code, ev.Category}
	j, ok := bb.errs[ek]
	if !ok {
		j = len(bb.b.Errors)
		bb.errs[ek] = j
		bb.b.Errors = append(bb.b.Errors, store.ErrorRollup{Minute: time.Unix(minute, 0).UTC(), Provider: ev.Provider, Category: ev.Category, Code: ev.Code})
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

	body := classify.RedactBody(ev.Body, bb.maxBody)
	ev.Body = nil
	bb.b.Events = append(bb.b.Events, store.Event{Event: *ev, Body: body, Topic: topic, Partition: partition, Offset: offset})
}

// Take returns the batch, ending at next (the offset to resume from), and
// starts a new one that expects next as the stored offset.
func (bb *Builder) Take(next int64) *store.Batch {
	b := bb.b
	b.NextOffset = next
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
}
