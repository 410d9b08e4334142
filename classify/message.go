package classify

import (
	"fmt"
	"runtime/debug"

	"github.com/faultline-dev/faultline/redact"
)

// A message (a Kafka message's value, or a line of a file) holds one
// record, or, as OpenTelemetry exporters write them, many.

// Result is the classification of one record of a message.
type Result struct {
	Event Event
	// Err is why the record is unusable (a *RecordError), nil otherwise.
	Err error
	// Index is the record's place in its message, counted from 0; Many
	// says the message is a container of records (OpenTelemetry), even of
	// one.
	Index int
	Many  bool
	// Raw is, for an unusable record of a container, the record written
	// as JSON (not redacted); nil when the record is the message itself.
	Raw []byte
}

// Classify decodes a message of one record and classifies it. An
// unusable record gives a *RecordError naming the Reason. A message that
// holds several records (OpenTelemetry) gives its first: the pipeline
// reads messages with ClassifyAll. No record can make it panic: should
// decoding, classifying or redacting fail that way (a bug), the record is
// unusable with ReasonInternal, and the error holds the stack.
func (c *Classifier) Classify(line []byte) (ev Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			ev, err = Event{}, internalError(p)
		}
	}()
	if len(line) > c.maxRec || isOTLPProto(line) {
		var one [1]Result
		rs := c.ClassifyAll(line, one[:0])
		return rs[0].Event, rs[0].Err
	}
	st := c.states.Get().(*state)
	defer c.states.Put(st)
	otlp, err := c.classifyOne(st, line, &ev)
	if otlp || (err != nil && line[0] == protoResourceLogs) {
		var one [1]Result
		rs := c.ClassifyAll(line, one[:0])
		return rs[0].Event, rs[0].Err
	}
	return ev, err
}

// ClassifyAll classifies every record of msg, appending one Result per
// record, in order, to out[:0]; there is always at least one. It
// allocates nothing for a message in the contract's shape when out has
// room.
func (c *Classifier) ClassifyAll(msg []byte, out []Result) (rs []Result) {
	out = out[:0]
	defer func() {
		if p := recover(); p != nil {
			rs = append(out[:0], Result{Err: internalError(p)})
		}
	}()
	if len(msg) > c.maxRec {
		return append(out, Result{Err: recordError(ReasonOversized, "record of %d bytes exceeds %d", len(msg), c.maxRec)})
	}
	st := c.states.Get().(*state)
	defer c.states.Put(st)
	if isOTLPProto(msg) {
		if rs, ok := c.classifyOTLP(st, msg, ShapeOTLPProto, out); ok {
			return rs
		}
	}
	out = append(out, Result{})
	otlp, err := c.classifyOne(st, msg, &out[0].Event)
	if otlp {
		if rs, ok := c.classifyOTLP(st, msg, ShapeOTLPJSON, out[:0]); ok {
			return rs
		}
	}
	if err != nil && len(msg) > 0 && msg[0] == protoResourceLogs {
		// A protobuf message may begin with bytes that look like JSON
		// ("\n{": resource logs 123 bytes long).
		if rs, ok := c.classifyOTLP(st, msg, ShapeOTLPProto, out[:0]); ok {
			return rs
		}
	}
	out[0].Err = err
	return out
}

// classifyOne classifies a message of one record into ev, or says why it
// is unusable; it reports whether the message is an OpenTelemetry JSON
// message instead (ev is then unset). A panic is the caller's to recover.
func (c *Classifier) classifyOne(st *state, msg []byte, ev *Event) (otlp bool, err error) {
	var r raw
	if err := st.scanRecord(msg, &r); err != nil {
		if ts, payload, ok := criLine(msg); ok {
			return false, c.classifyCRILine(st, ts, payload, ev)
		}
		return false, err
	}
	if r.otlp {
		return true, nil
	}
	if c.inputMap == nil && r.fast() {
		if err := c.decide(st, &r, r.shape(), ev); err == nil {
			return false, nil
		}
	}
	shape, err := c.readGeneral(st, msg, &r)
	if err == nil {
		err = c.decide(st, &r, shape, ev)
	}
	if err != nil {
		*ev = Event{}
	}
	return false, err
}

// classifyCRILine classifies a container's record forwarded as a line
// of the CRI log format (criLine): a container record, whose time is the
// runtime's when the record has none.
func (c *Classifier) classifyCRILine(st *state, ts, payload []byte, ev *Event) error {
	var r raw
	shape, err := c.readGeneral(st, payload, &r)
	if err == nil {
		if len(r.ts) == 0 {
			r.ts = ts
		}
		if shape != ShapeMapped {
			shape = ShapeContainer
		}
		err = c.decide(st, &r, shape, ev)
	}
	if err != nil {
		*ev = Event{}
		if re, ok := err.(*RecordError); ok {
			return &RecordError{Reason: re.Reason, Detail: "in a CRI log line: " + re.Detail}
		}
	}
	return err
}

// recoverInto turns a panic while classifying a record into res's
// ReasonInternal error.
func (c *Classifier) recoverInto(res *Result) {
	if p := recover(); p != nil {
		res.Event, res.Err = Event{}, internalError(p)
	}
}

// internalError is the error of a record that made classification panic
// (p): what the panic said, redacted, and the stack.
func internalError(p any) *RecordError {
	return &RecordError{Reason: ReasonInternal, Detail: redact.Text(fmt.Sprint(p)), Stack: debug.Stack()}
}
