package classify

import (
	"strings"

	"github.com/valyala/fastjson"
)

// field is one fact of the contract's record (DESIGN.md's input table) or
// a part of a URL that some shapes write apart.
type field int

const (
	fieldTS field = iota
	fieldStatus
	fieldError
	fieldProvider
	fieldMethod
	fieldURL
	fieldScheme
	fieldHost
	fieldPort
	fieldURLPath
	fieldService
	fieldEnv
	fieldTenant
	fieldTraceID
	fieldDurationMS
	fieldDurationNS
	fieldDurationText
	fieldHeaders
	fieldBody
	numFields

	// Marks: keys that tell shapes apart, matched with the fields.
	markLogger // a structured logger's level, msg, caller…
	markECS    // ecs.version
)

// fieldNames are the names an input map gives the fields (the contract's
// own names, and the URL's parts).
var fieldNames = [numFields]string{
	fieldTS: "ts", fieldStatus: "status", fieldError: "error", fieldProvider: "provider",
	fieldMethod: "method", fieldURL: "url", fieldScheme: "url_scheme", fieldHost: "url_host",
	fieldPort: "url_port", fieldURLPath: "url_path", fieldService: "service", fieldEnv: "env",
	fieldTenant: "tenant", fieldTraceID: "trace_id", fieldDurationMS: "duration_ms",
	fieldDurationNS: "duration_ns", fieldDurationText: "duration",
	fieldHeaders: "response_headers", fieldBody: "response_body",
}

// knownPaths are where the shapes faultline recognises write each field,
// in order of preference: the contract's names, then the structured
// loggers' (flat or nested under http, request, response), Elastic Common
// Schema's, OpenTelemetry's HTTP semantic conventions (current and older),
// and the container envelopes' metadata. A path matches nested objects,
// dotted keys ("http.response.status_code" as one key, as OpenTelemetry
// attributes and some ECS writers have it) and any mix of the two; names
// match ignoring ASCII case, '_' and '-' (status_code, statusCode and
// StatusCode are one name).
var knownPaths = [numFields][]string{
	fieldTS:       {"ts", "@timestamp", "timestamp", "time", "date"},
	fieldStatus:   {"status", "status_code", "http.response.status_code", "http.status_code", "http.status", "http.response.status", "response.status", "response.status_code", "resp.status", "res.status_code", "http_status", "response_status", "httpRequest.status"},
	fieldError:    {"error", "err", "error.message", "exception.message", "error.type", "transport_error"},
	fieldProvider: {"provider", "provider.name", "labels.provider", "peer.service", "service.peer.name"},
	fieldMethod:   {"method", "http.request.method", "http.method", "request.method", "req.method", "http_method", "httpRequest.requestMethod"},
	fieldURL:      {"url", "url.full", "url.original", "http.url", "http.request.url", "request.url", "req.url", "uri", "request_uri", "httpRequest.requestUrl"},
	fieldScheme:   {"url.scheme", "http.scheme"},
	fieldHost:     {"server.address", "url.domain", "http.host", "net.peer.name", "destination.address"},
	fieldPort:     {"server.port", "url.port", "net.peer.port"},
	fieldURLPath:  {"url.path", "http.target", "request.path", "path"},
	fieldService:  {"service", "service.name", "app", "application", "labels.service", "kubernetes.labels.app", "kubernetes.container_name", "container_name"},
	fieldEnv:      {"env", "environment", "deployment.environment.name", "deployment.environment", "service.environment", "labels.env"},
	fieldTenant:   {"tenant", "tenant_id", "tenant.id", "merchant", "merchant_id", "merchant.id", "labels.tenant", "labels.merchant"},
	fieldTraceID:  {"trace_id", "trace.id", "dd.trace_id"},
	// Durations carry their unit in their name: milliseconds, ECS's
	// event.duration in nanoseconds, or a Go duration string ("250ms").
	fieldDurationMS:   {"duration_ms", "elapsed_ms", "latency_ms", "took_ms", "response_time_ms"},
	fieldDurationNS:   {"event.duration"},
	fieldDurationText: {"duration", "elapsed", "latency"},
	fieldHeaders:      {"response_headers", "response.headers", "http.response.headers", "http.response_headers", "resp.headers", "res.headers"},
	fieldBody:         {"response_body", "response.body", "http.response.body.content", "http.response.body", "http.response_body", "resp.body", "res.body", "response"},
}

// A keyPath is a field's location in a record, its names normalized (see
// normName).
type keyPath []string

// paths are knownPaths, split and normalized once.
var paths = func() (ps [numFields][]keyPath) {
	for f, list := range knownPaths {
		for _, p := range list {
			ps[f] = append(ps[f], parsePath(p))
		}
	}
	return ps
}()

// parsePath splits a dotted path into normalized names.
func parsePath(p string) keyPath {
	var out keyPath
	for _, s := range strings.Split(p, ".") {
		out = append(out, normName(s))
	}
	return out
}

// normName folds ASCII letters to lower case and drops '_' and '-'.
func normName(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// sameName reports whether key names name (normalized), ignoring ASCII
// case, '_' and '-' in key.
func sameName(key []byte, name string) bool {
	j := 0
	for _, c := range key {
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

// keyCovers returns how many names of p the key covers (a dotted key
// covers several: "http.response" covers http and response), or 0 when
// the key is not p's beginning.
func keyCovers(key []byte, p keyPath) int {
	n := 0
	for len(key) > 0 {
		part := key
		if i := indexByte(key, '.'); i >= 0 {
			part, key = key[:i], key[i+1:]
		} else {
			key = nil
		}
		if n >= len(p) || !sameName(part, p[n]) {
			return 0
		}
		n++
	}
	return n
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// find returns the value at p in the object v, or nil. Keys are visited
// in their order, the first match wins; the time is linear in the size of
// v for each path.
func find(v *fastjson.Value, p keyPath) *fastjson.Value {
	if v == nil || v.Type() != fastjson.TypeObject || len(p) == 0 {
		return nil
	}
	o, _ := v.Object()
	var found *fastjson.Value
	o.Visit(func(key []byte, val *fastjson.Value) {
		if found != nil {
			return
		}
		switch n := keyCovers(key, p); {
		case n == 0:
		case n == len(p):
			found = val
		default:
			found = find(val, p[n:])
		}
	})
	return found
}

// A pathNode is a name of the known paths; a walk of a record follows the
// record's keys down the trie, so that every known path is looked up in
// one pass over the record, whatever their number.
type pathNode struct {
	next  map[string]*pathNode
	terms []term // the fields whose path ends here
}

// term is a field (or a mark) whose path ends at a node, with the path's
// preference (its index in knownPaths).
type term struct {
	f    field
	prio int
}

// markPaths are the keys of the marks.
var markPaths = map[field][]string{
	markLogger: {"level", "msg", "severity", "logger", "caller", "logger_name", "lvl"},
	markECS:    {"ecs.version"},
}

var known = func() *pathNode {
	root := &pathNode{}
	add := func(f field, prio int, p keyPath) {
		n := root
		for _, name := range p {
			if n.next == nil {
				n.next = map[string]*pathNode{}
			}
			c := n.next[name]
			if c == nil {
				c = &pathNode{}
				n.next[name] = c
			}
			n = c
		}
		n.terms = append(n.terms, term{f, prio})
	}
	for f, ps := range paths {
		for prio, p := range ps {
			add(field(f), prio, p)
		}
	}
	for f, ps := range markPaths {
		for prio, p := range ps {
			add(f, prio, parsePath(p))
		}
	}
	return root
}()

// match is a value found at a known path: of field f, the path's
// preference, and the order the walk met it in.
type match struct {
	f           field
	prio, order int
	v           *fastjson.Value
}

// maxWalkDepth bounds the nesting a walk follows (the scanner refused
// deeper records already).
const maxWalkDepth = 64

// walk appends to ms the values of the object v at the known paths below
// n. It visits each key once and descends only where a known path does:
// linear in the size of v.
func (st *state) walk(v *fastjson.Value, n *pathNode, ms []match, depth int) []match {
	o, err := v.Object()
	if err != nil || depth > maxWalkDepth {
		return ms
	}
	o.Visit(func(key []byte, val *fastjson.Value) {
		if len(key) == 0 {
			return
		}
		node := n
		for len(key) > 0 && node != nil {
			part := key
			if i := indexByte(key, '.'); i >= 0 {
				part, key = key[:i], key[i+1:]
				if len(key) == 0 { // a trailing dot
					node = nil
					break
				}
			} else {
				key = nil
			}
			st.norm = appendNorm(st.norm[:0], part)
			node = node.next[string(st.norm)]
		}
		if node == nil {
			return
		}
		for _, t := range node.terms {
			ms = append(ms, match{t.f, t.prio, len(ms), val})
		}
		if len(node.next) > 0 && val.Type() == fastjson.TypeObject {
			ms = st.walk(val, node, ms, depth+1)
		}
	})
	return ms
}

// appendNorm appends name normalized (see normName).
func appendNorm(dst, name []byte) []byte {
	for _, c := range name {
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
