package classify

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/internal/jsonstr"
	"github.com/valyala/fastjson"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// OpenTelemetry logs as the Collector's Kafka exporter writes them: a
// message is an ExportLogsServiceRequest, protobuf (otlp_proto, its
// default) or JSON (otlp_json), holding many log records. Each log record
// is written as a small JSON document of four layers (its attributes, its
// body, its resource's attributes, and its own timestamp, trace id and
// response headers) and read by the general reader with the HTTP semantic
// conventions (knownPaths). Decoding is pdata's, the Collector's own.

// protoResourceLogs is the first byte of an ExportLogsServiceRequest:
// field 1 (resource_logs), wire type 2 (length-delimited).
const protoResourceLogs = 0x0A

// maxValueDepth bounds the nesting of an attribute value written as JSON
// (the general reader's parser refuses deeper documents).
const maxValueDepth = 64

// isOTLPProto reports whether msg can only be a protobuf message: it
// begins as one, and not as JSON after whitespace.
func isOTLPProto(msg []byte) bool {
	if len(msg) < 2 || msg[0] != protoResourceLogs {
		return false
	}
	for _, c := range msg {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c != '{'
	}
	return false
}

// classifyOTLP classifies every log record of an OpenTelemetry message,
// appending to out. It reports false when msg is not such a message and
// the caller should read it otherwise (a protobuf that does not decode).
func (c *Classifier) classifyOTLP(st *state, msg []byte, shape Shape, out []Result) ([]Result, bool) {
	var ld plog.Logs
	var err error
	if shape == ShapeOTLPProto {
		ld, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(msg)
		if err != nil {
			return out, false
		}
	} else if ld, err = (&plog.JSONUnmarshaler{}).UnmarshalLogs(trimBOM(msg)); err != nil {
		return append(out, Result{Many: true, Err: recordError(ReasonNotJSON, "an %s message that does not decode: %s", shape, quoted([]byte(err.Error()), 256))}), true
	}
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				out = append(out, Result{Index: n, Many: true})
				c.classifyLogRecord(st, rl.Resource(), lrs.At(k), shape, &out[len(out)-1])
				n++
			}
		}
	}
	if n == 0 {
		out = append(out, Result{Many: true, Err: recordError(ReasonEmpty, "an %s message without log records", shape)})
	}
	return out, true
}

// classifyLogRecord classifies one OpenTelemetry log record into res.
func (c *Classifier) classifyLogRecord(st *state, res pcommon.Resource, lr plog.LogRecord, shape Shape, out *Result) {
	defer c.recoverInto(out)
	st.otlp = appendLogRecord(st.otlp[:0], res, lr)
	doc, err := st.outer.ParseBytes(st.otlp)
	if err != nil { // written by appendLogRecord: a bug
		panic("otlp: log record written as invalid JSON: " + err.Error())
	}
	attrs := doc.Get("attributes")
	body := doc.Get("body")
	if body != nil && body.Type() == fastjson.TypeString {
		// A record written as text (the filelog receiver reads lines) or a
		// provider's body.
		s, _ := body.StringBytes()
		if t := strings.TrimSpace(b2s(s)); len(t) > 1 && t[0] == '{' {
			if v, err := st.inner.ParseBytes(s2b(t)); err == nil {
				body = v
			}
		}
	}
	var ls layers
	ls.add(attrs)
	bodyIsRecord := isRecordBody(body, attrs)
	if bodyIsRecord {
		ls.add(body)
	}
	ls.add(doc.Get("resource"))
	ls.add(doc.Get("log"))
	var r raw
	var f found
	var text [numFields][]byte
	st.readLayers(&ls, &r, &f, &text)
	r.fill(&text)
	if r.body == nil && !bodyIsRecord && providerBody(body) {
		r.body = body.MarshalTo(nil)
	}
	if err := c.decide(st, &r, shape, &out.Event); err != nil {
		out.Event, out.Err = Event{}, err
		out.Raw = append([]byte(nil), st.otlp...)
	}
}

// providerBody reports whether a log body that is not a record is the
// provider's response body: JSON or markup. Plain text is the log's own
// message ("provider call failed"), as logging bridges (otelslog, otelzap)
// write it, not the provider's.
func providerBody(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	switch v.Type() {
	case fastjson.TypeObject, fastjson.TypeArray:
		return true
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		t := strings.TrimSpace(b2s(s))
		return t != "" && (t[0] == '<' || t[0] == '{' || t[0] == '[')
	}
	return false
}

var (
	tsPaths      = paths[fieldTS]
	statusPaths  = paths[fieldStatus]
	errorPaths   = paths[fieldError]
	outcomePaths = append(append([]keyPath(nil), statusPaths...), errorPaths...)
	callPaths    = append(append(append([]keyPath(nil), paths[fieldURL]...), paths[fieldProvider]...), paths[fieldMethod]...)
)

// isRecordBody reports whether a log body is a call record of its own (the
// filelog receiver's line) rather than the provider's body: it has a
// timestamp (no provider body here has: problem+json has a status,
// Flexiti's an error and a url), and either the attributes say nothing of
// the call's outcome, or the body names the call (a url, provider or
// method) beside its outcome.
func isRecordBody(body, attrs *fastjson.Value) bool {
	if body == nil || body.Type() != fastjson.TypeObject || !anyPath(body, tsPaths) {
		return false
	}
	return !anyPath(attrs, outcomePaths) || (anyPath(body, outcomePaths) && anyPath(body, callPaths))
}

func anyPath(v *fastjson.Value, ps []keyPath) bool {
	for _, p := range ps {
		if find(v, p) != nil {
			return true
		}
	}
	return false
}

// responseHeaderPrefix begins the attributes that hold response headers
// in OpenTelemetry's HTTP semantic conventions
// (http.response.header.x-request-id: ["…"]).
const responseHeaderPrefix = "http.response.header."

// appendLogRecord writes a log record as a JSON document:
//
//	{"attributes": {…}, "body": …, "resource": {…},
//	 "log": {"ts": "…", "trace_id": "…", "response_headers": {…}}}
//
// ts is the record's timestamp, else the time it was observed.
func appendLogRecord(dst []byte, res pcommon.Resource, lr plog.LogRecord) []byte {
	dst = append(dst, `{"attributes":`...)
	dst = appendMap(dst, lr.Attributes(), 0)
	dst = append(dst, `,"body":`...)
	dst = appendValue(dst, lr.Body(), 0)
	dst = append(dst, `,"resource":`...)
	dst = appendMap(dst, res.Attributes(), 0)
	dst = append(dst, `,"log":{`...)
	sep := ""
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts != 0 {
		dst = append(dst, `"ts":"`...)
		dst = ts.AsTime().UTC().AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, '"')
		sep = ","
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		dst = append(dst, sep+`"trace_id":"`...)
		dst = append(dst, id.String()...)
		dst = append(dst, '"')
		sep = ","
	}
	first := true
	for k, v := range lr.Attributes().All() {
		name, ok := strings.CutPrefix(k, responseHeaderPrefix)
		if !ok {
			continue
		}
		if first {
			dst = append(dst, sep+`"response_headers":{`...)
			first = false
		} else {
			dst = append(dst, ',')
		}
		dst = appendString(dst, name)
		dst = append(dst, ':')
		dst = appendValue(dst, v, 1)
	}
	if !first {
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

func appendMap(dst []byte, m pcommon.Map, depth int) []byte {
	dst = append(dst, '{')
	first := true
	for k, v := range m.All() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendValue(dst, v, depth+1)
	}
	return append(dst, '}')
}

func appendValue(dst []byte, v pcommon.Value, depth int) []byte {
	if depth > maxValueDepth {
		return append(dst, "null"...)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeMap:
		return appendMap(dst, v.Map(), depth)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		dst = append(dst, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, s.At(i), depth+1)
		}
		return append(dst, ']')
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	}
	return append(dst, "null"...)
}

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	return append(jsonstr.AppendEscaped(append(dst, '"'), s), '"')
}
