package classify

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// The general reader takes every record the contract's fast path cannot:
// structured loggers' lines, ECS documents, container envelopes, the log
// records of OpenTelemetry messages, and records read through an input
// map. It parses the record (fastjson: linear time, depth bounded) and
// looks each field up where the recognised shapes write it (knownPaths),
// in layers searched in order: a container's inner record before its
// envelope; an OpenTelemetry record's attributes, then a record held in
// its body, then its resource, then its own timestamp and trace id.

// maxLayers bounds the layers of one record.
const maxLayers = 4

// layers are the objects a record's fields are looked up in, in order.
type layers struct {
	v [maxLayers]*fastjson.Value
	n int
}

func (ls *layers) add(v *fastjson.Value) {
	if v != nil && v.Type() == fastjson.TypeObject && ls.n < maxLayers {
		ls.v[ls.n] = v
		ls.n++
	}
}

// found says where the general reader found the facts that tell shapes
// apart.
type found struct {
	status, ts  keyPath // the paths the status and the timestamp were read from
	loggerMarks bool
	ecsMark     bool
}

// readGeneral reads doc, a JSON object the fast path could not take, into
// r and returns its shape.
func (c *Classifier) readGeneral(st *state, doc []byte, r *raw) (Shape, error) {
	v, err := st.outer.ParseBytes(trimBOM(doc))
	if err != nil {
		return "", recordError(ReasonNotJSON, "%s", quoted([]byte(err.Error()), 256)) // the parser quotes the record
	}
	if v.Type() != fastjson.TypeObject {
		return "", recordError(ReasonNotObject, "record is JSON but not an object")
	}
	*r = raw{}
	if c.inputMap != nil && c.inputMap.read(st, v, r) {
		return ShapeMapped, nil
	}
	var ls layers
	shape := Shape("")
	inner, criTS := st.unwrapContainer(v)
	if inner != nil {
		ls.add(inner)
		shape = ShapeContainer
	}
	ls.add(v)
	var f found
	var text [numFields][]byte
	st.readLayers(&ls, r, &f, &text)
	r.fill(&text)
	if len(r.ts) == 0 {
		r.ts = criTS
	}
	if shape == "" {
		shape = f.shape()
	}
	return shape, nil
}

// shape tells, from where the facts were found, the shape of a record
// that is not in an envelope.
func (f *found) shape() Shape {
	switch {
	case f.ecsMark || (f.ts.is(atTimestamp) && (f.status == nil || f.status.is(ecsStatus))):
		return ShapeECS
	case f.loggerMarks || (f.status != nil && !f.status.is(contractStatus)):
		return ShapeLogger
	}
	return ShapeContract
}

var (
	atTimestamp    = parsePath("@timestamp")
	ecsStatus      = parsePath("http.response.status_code")
	contractStatus = parsePath("status")
)

// is reports whether p is q.
func (p keyPath) is(q keyPath) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// containerKeys hold the record, as a JSON string, in the envelopes of
// container runtimes and log shippers (Docker json-file, Fluent Bit,
// Fluentd, CRI: log; Vector, syslog-style shippers: message); Fluent
// Bit's Merge_Log puts the parsed record in log_processed.
var containerKeys = []string{"log_processed", "log", "message"}

// unwrapContainer returns the record a container envelope holds, parsed,
// or nil when v is not an envelope. When the record came as a line of the
// CRI log format (a shipper without a CRI parser), criTS is the line's
// time, for a record without one.
func (st *state) unwrapContainer(v *fastjson.Value) (inner *fastjson.Value, criTS []byte) {
	for _, k := range containerKeys {
		inner := v.Get(k)
		if inner == nil {
			continue
		}
		switch inner.Type() {
		case fastjson.TypeObject:
			if k == "log_processed" { // ECS's "log" is an object of its own
				return inner, nil
			}
		case fastjson.TypeString:
			s, _ := inner.StringBytes()
			s = bytes.TrimSpace(trimBOM(s))
			var ts []byte
			if t, payload, ok := criLine(s); ok {
				ts, s = t, bytes.TrimSpace(payload)
			}
			if len(s) < 2 || s[0] != '{' {
				continue
			}
			if in, err := st.inner.ParseBytes(s); err == nil && in.Type() == fastjson.TypeObject {
				return in, ts
			}
		}
	}
	return nil, nil
}

// readLayers finds the fields in ls: their texts, and r's status. A field
// is taken from the first layer that has it, at the most preferred of its
// paths there (the first such key when keys repeat); a value of a type the
// field does not take counts as absent.
func (st *state) readLayers(ls *layers, r *raw, f *found, text *[numFields][]byte) {
	statusDone := false
	for i := 0; i < ls.n; i++ {
		st.matches = st.walk(ls.v[i], known, st.matches[:0], 0)
		slices.SortFunc(st.matches, func(a, b match) int {
			return cmp.Or(cmp.Compare(a.f, b.f), cmp.Compare(a.prio, b.prio), cmp.Compare(a.order, b.order))
		})
		for _, m := range st.matches {
			switch {
			case m.f == markLogger:
				f.loggerMarks = true
			case m.f == markECS:
				f.ecsMark = true
			case m.f == fieldStatus:
				// The first candidate that is an HTTP status; one that is not
				// (a logger's "status": "ok") is remembered, and reported only
				// when nothing else says how the call ended.
				if statusDone {
					continue
				}
				n, err := statusOf(m.v)
				if err != nil {
					if r.badStatus == nil {
						r.badStatus = err
					}
					continue
				}
				if n != 0 {
					r.status, f.status, statusDone = n, paths[fieldStatus][m.prio], true
				}
			case text[m.f] == nil:
				if b := st.accept(m.f, m.v); b != nil {
					text[m.f] = b
					if m.f == fieldTS {
						f.ts = paths[fieldTS][m.prio]
					}
				}
			}
		}
	}
}

// accept returns the text of v as field fld takes it, or nil when v is
// absent or of a type fld does not take.
func (st *state) accept(fld field, v *fastjson.Value) []byte {
	if v == nil {
		return nil
	}
	switch fld {
	case fieldHeaders:
		switch v.Type() {
		case fastjson.TypeObject, fastjson.TypeArray, fastjson.TypeString:
			return v.MarshalTo(nil)
		}
		return nil
	case fieldBody:
		switch v.Type() {
		case fastjson.TypeObject:
			if responseHolder(v) {
				return nil // {"status", "body", "headers"}: the response, not its body
			}
			return v.MarshalTo(nil)
		case fastjson.TypeArray, fastjson.TypeString:
			return v.MarshalTo(nil)
		}
		return nil
	case fieldTS, fieldDurationMS, fieldDurationNS, fieldPort:
		if v.Type() == fastjson.TypeNumber {
			return v.MarshalTo(nil)
		}
	}
	if v.Type() != fastjson.TypeString {
		return nil
	}
	s, _ := v.StringBytes()
	if len(bytes.TrimSpace(s)) == 0 {
		return nil
	}
	return s
}

var responseParts = []keyPath{parsePath("status"), parsePath("status_code"), parsePath("body"), parsePath("headers")}

// responseHolder reports whether v holds a response's parts rather than
// being a response body.
func responseHolder(v *fastjson.Value) bool {
	for _, p := range responseParts {
		if find(v, p) != nil {
			return true
		}
	}
	return false
}

// statusOf reads an HTTP status from a JSON number or string.
func statusOf(v *fastjson.Value) (int, error) {
	switch v.Type() {
	case fastjson.TypeNumber, fastjson.TypeString:
		var b []byte
		if v.Type() == fastjson.TypeString {
			b, _ = v.StringBytes()
		} else {
			b = v.MarshalTo(nil)
		}
		return parseStatus(b)
	case fastjson.TypeNull:
		return 0, nil
	}
	return 0, recordError(ReasonBadStatus, "status is not a number")
}

// parseStatus reads an HTTP status as records write it: 401, "401",
// "401 Unauthorized", "HTTP/1.1 401 Unauthorized", 401.0. 0 means no
// response arrived.
func parseStatus(b []byte) (int, error) {
	if len(b) == 3 && b[0] >= '1' && b[0] <= '5' && b[1] >= '0' && b[1] <= '9' && b[2] >= '0' && b[2] <= '9' {
		return int(b[0]-'0')*100 + int(b[1]-'0')*10 + int(b[2]-'0'), nil // the usual 200
	}
	s := strings.TrimSpace(b2s(b))
	if strings.HasPrefix(s, "HTTP/") {
		if i := strings.IndexByte(s, ' '); i > 0 {
			s = strings.TrimSpace(s[i+1:])
		}
	}
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	rest := s[digits:]
	if strings.HasPrefix(rest, ".") && strings.Trim(rest[1:], "0") == "" {
		rest = "" // 401.0
	}
	if digits == 0 || digits > 3 || (rest != "" && rest[0] != ' ') {
		return 0, recordError(ReasonBadStatus, "status %q is not an HTTP status", quoted(b, 32))
	}
	n, _ := strconv.Atoi(s[:digits])
	if n != 0 && (n < 100 || n > 599) {
		return 0, recordError(ReasonBadStatus, "status %s out of range", quoted(b, 32))
	}
	return n, nil
}

// fill sets r's fields from the texts found for them.
func (r *raw) fill(text *[numFields][]byte) {
	r.ts = text[fieldTS]
	r.provider, r.method, r.transportErr = text[fieldProvider], text[fieldMethod], text[fieldError]
	r.service, r.env, r.tenant, r.traceID = text[fieldService], text[fieldEnv], text[fieldTenant], text[fieldTraceID]
	r.respHeaders, r.body = text[fieldHeaders], text[fieldBody]
	r.url = text[fieldURL]
	if len(r.url) == 0 && len(text[fieldHost]) > 0 {
		r.url = composeURL(text[fieldScheme], text[fieldHost], text[fieldPort], text[fieldURLPath])
	}
	switch {
	case text[fieldDurationMS] != nil:
		if f, err := strconv.ParseFloat(b2s(text[fieldDurationMS]), 64); err == nil && f >= 0 {
			r.duration = f
		}
	case text[fieldDurationNS] != nil:
		if f, err := strconv.ParseFloat(b2s(text[fieldDurationNS]), 64); err == nil && f >= 0 {
			r.duration = f / 1e6
		}
	case text[fieldDurationText] != nil:
		if d, err := time.ParseDuration(strings.TrimSpace(b2s(text[fieldDurationText]))); err == nil && d >= 0 {
			r.duration = float64(d) / float64(time.Millisecond)
		}
	}
}

// composeURL builds a URL from the parts OpenTelemetry and ECS write
// apart (server.address, server.port, url.path).
func composeURL(scheme, host, port, p []byte) []byte {
	if len(scheme) == 0 {
		scheme = []byte("https")
	}
	u := append(append(append([]byte(nil), scheme...), "://"...), host...)
	if len(port) > 0 {
		u = append(append(u, ':'), port...)
	}
	if len(p) > 0 && p[0] != '/' {
		u = append(u, '/')
	}
	return append(u, p...)
}
