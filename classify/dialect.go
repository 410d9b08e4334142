package classify

import (
	"unsafe"

	"github.com/valyala/fastjson"
)

// extracted is what a dialect reads out of an error body: views into the
// parser's memory, copied before the parser is reused.
type extracted struct {
	code, subcode, message, correlation []byte
	refs                                []string
	body                                []byte
}

// extract reads an error body of dialect d. correlationFields, when given,
// override the dialect's own request-id field.
func extract(d Dialect, correlationFields []string, body *fastjson.Value, x *extracted) {
	switch d {
	case DialectFlat:
		extractFlat(body, x)
	case DialectErrorModel:
		em := body.Get("errorModel")
		x.code = stringOf(em.Get("errorCode"))
		x.message = stringOf(em.Get("message"))
	case DialectHAL:
		extractHAL(body, x)
	case DialectProblem:
		extractProblem(body, x)
	}
	for _, f := range correlationFields {
		if s := stringOf(body.Get(f)); len(s) > 0 {
			x.correlation = s
			break
		}
	}
}

// extractAny reads a body whose provider is not known, by its shape.
func extractAny(body *fastjson.Value, x *extracted) {
	d := shapeOf(body)
	extract(d, nil, body, x)
	if x.correlation == nil {
		for _, f := range []string{"request_id", "requestId", "trace_id", "traceId", "correlation_id"} {
			if s := stringOf(body.Get(f)); len(s) > 0 {
				x.correlation = s
				break
			}
		}
	}
	if x.message == nil {
		x.message = stringOf(body.Get("message"))
	}
}

func extractFlat(body *fastjson.Value, x *extracted) {
	e := body.Get("error")
	if e != nil && e.Type() == fastjson.TypeObject { // {"error": {"code", "message"}}
		x.code = firstString(e, "code", "type")
		x.message = stringOf(e.Get("message"))
	} else {
		x.code = stringOf(e)
		x.message = firstString(body, "message", "error_description")
	}
	x.correlation = stringOf(body.Get("request_id"))
	if fe := body.GetArray("field_errors"); len(fe) > 0 {
		x.subcode = stringOf(fe[0].Get("param"))
	}
}

func extractHAL(body *fastjson.Value, x *extracted) {
	errs := body.GetArray("_embedded", "errors")
	if len(errs) == 0 {
		return
	}
	first := errs[0]
	x.code = stringOf(first.Get("code"))
	x.subcode = stringOf(first.Get("failure_code"))
	x.message = firstString(first, "failure_message", "message")
	x.correlation = stringOf(first.Get("logref"))
	for _, e := range errs {
		for _, k := range [...]string{"authorization", "transfer"} {
			if s := stringOf(e.Get(k)); len(s) > 0 && len(x.refs) < maxReferences {
				x.refs = appendUnique(x.refs, identifier(s))
			}
		}
	}
}

func extractProblem(body *fastjson.Value, x *extracted) {
	x.code = stringOf(body.Get("problem"))
	x.message = firstString(body, "detail", "title", "message")
	x.correlation = stringOf(body.Get("trace_id"))
	if errs := body.GetArray("errors"); len(errs) > 0 {
		x.subcode = firstString(errs[0], "field", "param", "pointer", "code")
	} else if le := body.Get("last_error"); le != nil {
		x.subcode = firstString(le, "decline_code", "code")
	}
}

func firstString(v *fastjson.Value, keys ...string) []byte {
	for _, k := range keys {
		if s := stringOf(v.Get(k)); len(s) > 0 {
			return s
		}
	}
	return nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// b2s views b as a string without copying; the string is valid while b is.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// s2b views s as bytes without copying, to be read only.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
