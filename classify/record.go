package classify

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// raw holds the fields of a record as views into the record (or, for
// strings with escapes, into fresh memory). respHeaders and body are raw
// JSON spans, decoded only for errors.
type raw struct {
	ts, provider, service, env, tenant, method, url, transportErr, traceID []byte
	status                                                                 int
	duration                                                               float64
	respHeaders, body                                                      []byte

	// badStatus is why a status that was given is none (a logger's
	// "status": "ok"); it is the record's error only when nothing else
	// says how the call ended.
	badStatus error
	// What the fast path saw of other shapes: a structured logger's keys,
	// ECS's version, an OpenTelemetry message.
	loggerMarks, ecsMark, otlp bool
}

// outcome reports whether the record says how the call ended: an HTTP
// status, or a transport error when no response arrived.
func (r *raw) outcome() bool {
	return r.status != 0 || len(bytes.TrimSpace(r.transportErr)) > 0
}

// callish reports whether the record has anything of a provider call: an
// application's log line about something else has none of these.
func (r *raw) callish() bool {
	return r.status != 0 || len(r.provider) > 0 || len(r.url) > 0 ||
		len(r.method) > 0 || len(r.body) > 0 || len(r.respHeaders) > 0
}

// fast reports whether the fast path's reading of the record may be
// enough: a timestamp, an outcome and the URL called, at the top level as
// the contract has them. Anything less may be a shape whose facts are
// nested (a logger's "http": {…}) and goes to the general reader.
func (r *raw) fast() bool {
	return len(r.ts) > 0 && r.outcome() && len(r.url) > 0
}

// shape is the shape of a record the fast path read.
func (r *raw) shape() Shape {
	switch {
	case r.ecsMark:
		return ShapeECS
	case r.loggerMarks:
		return ShapeLogger
	}
	return ShapeContract
}

// scanRecord decodes the top level of a record into r: the contract's
// fields, and the marks of other shapes. A UTF-8 byte-order mark before it
// is allowed.
func (st *state) scanRecord(line []byte, r *raw) error {
	sc := &st.sc
	sc.b, sc.i, sc.err = trimBOM(line), 0, nil
	if sc.peek() == 0 {
		return recordError(ReasonEmpty, "empty record")
	}
	if sc.peek() != '{' {
		if sc.peek() == '[' || sc.peek() == '"' || (sc.peek() >= '0' && sc.peek() <= '9') || sc.peek() == 't' || sc.peek() == 'f' || sc.peek() == 'n' || sc.peek() == '-' {
			sc.skip(1)
			if sc.err == nil && sc.peek() == 0 {
				return recordError(ReasonNotObject, "record is JSON but not an object")
			}
		}
		return recordError(ReasonNotJSON, "record is not a JSON object")
	}
	sc.object(func(key []byte) {
		switch string(key) {
		case "ts":
			r.ts = sc.timestamp()
		case "@timestamp":
			if ts := sc.timestamp(); r.ts == nil {
				r.ts = ts
			}
		case "provider":
			r.provider = sc.stringOrSkip()
		case "service":
			r.service = sc.stringOrSkip()
		case "env":
			r.env = sc.stringOrSkip()
		case "tenant":
			r.tenant = sc.stringOrSkip()
		case "method":
			r.method = sc.stringOrSkip()
		case "url":
			r.url = sc.stringOrSkip()
		case "error":
			r.transportErr = sc.stringOrSkip()
		case "trace_id":
			r.traceID = sc.stringOrSkip()
		case "duration_ms":
			if sc.peek() == '-' || (sc.peek() >= '0' && sc.peek() <= '9') {
				if f, err := strconv.ParseFloat(b2s(sc.number()), 64); err == nil && f >= 0 {
					r.duration = f
				}
			} else {
				sc.skip(1)
			}
		case "status":
			r.status, r.badStatus = sc.status()
		case "response_headers":
			if c := sc.peek(); c == '{' || c == '[' || c == '"' {
				r.respHeaders = sc.span()
			} else {
				sc.skip(1)
			}
		case "response_body":
			r.body = sc.span()
		case "level", "msg", "severity", "logger", "caller", "logger_name", "lvl":
			r.loggerMarks = true
			sc.skip(1)
		case "ecs.version", "ecs":
			r.ecsMark = true
			sc.skip(1)
		case "resourceLogs", "resource_logs":
			r.otlp = true
			sc.skip(1)
		default:
			sc.skip(1)
		}
	})
	if sc.err == nil && sc.peek() != 0 {
		sc.fail("unexpected data after the record")
	}
	if sc.err != nil {
		// Checked only for records the scanner refused (it stops at a NUL
		// byte or invalid UTF-8 inside strings, and anywhere else they are
		// a syntax error).
		if bytes.IndexByte(line, 0) >= 0 {
			return recordError(ReasonNULByte, "record contains a NUL byte")
		}
		if !utf8.Valid(line) {
			return recordError(ReasonInvalidUTF8, "record is not valid UTF-8")
		}
		return recordError(ReasonNotJSON, "%s", sc.err.Error())
	}
	return nil
}

// trimBOM removes the UTF-8 byte-order mark some writers put before a
// document.
func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// timestamp returns the text of a timestamp: a string (RFC 3339, or digits
// of a Unix epoch), or a number (a Unix epoch). Other types are skipped.
func (s *scanner) timestamp() []byte {
	if c := s.peek(); c == '-' || (c >= '0' && c <= '9') {
		return s.number()
	}
	return s.stringOrSkip()
}

// stringOrSkip returns the string at s.i, or skips a value of another type
// and returns nil.
func (s *scanner) stringOrSkip() []byte {
	if s.peek() == '"' {
		return s.str()
	}
	s.skip(1)
	return nil
}

// status decodes the HTTP status: a number, a string (see parseStatus) or
// null.
func (s *scanner) status() (int, error) {
	var text []byte
	switch c := s.peek(); {
	case c == 'n':
		s.literal("null")
		return 0, nil
	case c == '"':
		text = s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		text = s.number()
	default:
		s.skip(1)
		return 0, recordError(ReasonBadStatus, "status is not a number")
	}
	return parseStatus(text)
}

// decide turns a record read into r (in shape) into ev: a record is a
// provider call only on evidence. Without anything of a call it is not
// one (ReasonNotACall); a call must say how it ended (ReasonNoOutcome),
// when (ReasonNoTimestamp, ReasonBadTime), and to whom: a provider it
// names, a URL host or an error body that attributes it to one
// (ReasonNoProvider). Nothing is guessed.
func (c *Classifier) decide(st *state, r *raw, shape Shape, ev *Event) error {
	if !r.callish() {
		return recordError(ReasonNotACall, "nothing of a provider call in this %s record (no provider, url, method, status or response)", shape)
	}
	if !r.outcome() {
		if r.badStatus != nil {
			return r.badStatus
		}
		return recordError(ReasonNoOutcome, "a call with neither a status nor a transport error in this %s record: how it ended is unknown", shape)
	}
	if len(r.ts) == 0 {
		return recordError(ReasonNoTimestamp, "no timestamp (ts, @timestamp, time, timestamp) in this %s record", shape)
	}
	ts, err := parseTime(r.ts)
	if err != nil {
		return recordError(ReasonBadTime, "timestamp %q is neither RFC 3339 nor Unix epoch seconds or milliseconds", quoted(r.ts, 64))
	}
	c.classifyRecord(st, r, ts, ev)
	if ev.Provider == "" {
		*ev = Event{}
		return recordError(ReasonNoProvider, "a call that nothing attributes to a provider in this %s record: no provider named, no URL host, no provider's error body", shape)
	}
	ev.Shape = shape
	return nil
}
