package classify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Defaults for Options.
const (
	DefaultMaxRecordBytes = 1 << 20
	DefaultMaxBodyBytes   = 16 << 10
	maxMessage            = 1024
	maxIdentifier         = 200
	maxReferences         = 8
	internLimit           = 4096
)

// Options tune a Classifier. The zero value is usable.
type Options struct {
	// Hosts maps extra URL hosts (or parent domains) to provider names, on
	// top of the hosts the catalogs declare.
	Hosts map[string]string
	// MaxRecordBytes rejects larger records as oversized (default 1 MiB).
	MaxRecordBytes int
	// MaxBodyBytes bounds the response body an Event keeps (default 16 KiB).
	MaxBodyBytes int
}

// Classifier decodes and classifies integration log records. It is safe for
// concurrent use.
type Classifier struct {
	cats     *Catalogs
	hosts    []hostRule // longest first
	maxRec   int
	maxBody  int
	states   sync.Pool
	dialects map[Dialect][]*Catalog
}

type hostRule struct {
	host     string
	provider string
}

// state is the per-goroutine scratch of a classification: the parsers and
// an intern table for low-cardinality strings.
type state struct {
	sc       scanner
	body     fastjson.Parser
	scratch  []byte
	fold     []byte
	interned map[string]string
	recent   [recentFields]recentSet
}

// New returns a Classifier over cats.
func New(cats *Catalogs, opts Options) (*Classifier, error) {
	if cats == nil {
		return nil, fmt.Errorf("classify: no catalogs")
	}
	c := &Classifier{
		cats:     cats,
		maxRec:   opts.MaxRecordBytes,
		maxBody:  opts.MaxBodyBytes,
		dialects: map[Dialect][]*Catalog{},
	}
	if c.maxRec <= 0 {
		c.maxRec = DefaultMaxRecordBytes
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	for _, name := range cats.Providers() {
		cat := cats.Provider(name)
		c.dialects[cat.Dialect] = append(c.dialects[cat.Dialect], cat)
		for _, h := range cat.Hosts {
			c.hosts = append(c.hosts, hostRule{host: h, provider: name})
		}
	}
	for h, p := range opts.Hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		p = strings.ToLower(strings.TrimSpace(p))
		if h == "" || !providerName.MatchString(p) {
			return nil, fmt.Errorf("classify: host rule %q=%q: want host=provider", h, p)
		}
		c.hosts = append(c.hosts, hostRule{host: h, provider: p})
	}
	sort.SliceStable(c.hosts, func(i, j int) bool { return len(c.hosts[i].host) > len(c.hosts[j].host) })
	c.states.New = func() any { return &state{interned: make(map[string]string, 256)} }
	return c, nil
}

// Catalogs returns the catalogs the classifier uses.
func (c *Classifier) Catalogs() *Catalogs { return c.cats }

// Classify decodes one record and classifies it. An unusable record gives a
// *RecordError naming the Reason.
func (c *Classifier) Classify(line []byte) (ev Event, err error) {
	if len(line) > c.maxRec {
		return Event{}, recordError(ReasonOversized, "record of %d bytes exceeds %d", len(line), c.maxRec)
	}
	st := c.states.Get().(*state)
	defer c.states.Put(st)
	var r raw
	if err = st.scanRecord(line, &r); err != nil {
		return Event{}, err
	}
	if len(r.ts) == 0 {
		return Event{}, recordError(ReasonNoTimestamp, "record has no ts or @timestamp")
	}
	ts, err := parseTime(r.ts)
	if err != nil {
		return Event{}, recordError(ReasonBadTime, "ts %q is not RFC 3339", truncate(string(r.ts), 64))
	}
	c.classifyRecord(st, &r, ts, &ev)
	return ev, nil
}

// raw holds the fields of a record as views into the record (or, for
// strings with escapes, into fresh memory). respHeaders and body are raw
// JSON spans, decoded only for errors.
type raw struct {
	ts, provider, service, env, tenant, method, url, transportErr, traceID []byte
	status                                                                 int
	duration                                                               float64
	respHeaders, body                                                      []byte
}

// scanRecord decodes the top level of a record into r.
func (st *state) scanRecord(line []byte, r *raw) error {
	sc := &st.sc
	sc.b, sc.i, sc.err = line, 0, nil
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
	var bad error
	sc.object(func(key []byte) {
		switch string(key) {
		case "ts":
			r.ts = sc.stringOrSkip()
		case "@timestamp":
			if ts := sc.stringOrSkip(); r.ts == nil {
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
			r.status, bad = sc.status()
		case "response_headers":
			if sc.peek() == '{' {
				r.respHeaders = sc.span()
			} else {
				sc.skip(1)
			}
		case "response_body":
			r.body = sc.span()
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
	return bad
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

// status decodes the HTTP status: a number, a numeric string or null.
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
	n, err := strconv.Atoi(strings.TrimSpace(b2s(text)))
	if err != nil {
		return 0, recordError(ReasonBadStatus, "status %q is not an integer", truncate(string(text), 32))
	}
	if n != 0 && (n < 100 || n > 599) {
		return 0, recordError(ReasonBadStatus, "status %d out of range", n)
	}
	return n, nil
}

// classifyRecord fills ev from a decoded record.
func (c *Classifier) classifyRecord(st *state, r *raw, ts time.Time, ev *Event) {
	*ev = Event{
		TS:         ts,
		Service:    st.recent[recentService].intern(st, r.service, 64),
		Env:        st.recent[recentEnv].intern(st, r.env, 64),
		Tenant:     st.recent[recentTenant].intern(st, r.tenant, 64),
		Method:     st.internFolded(recentMethod, r.method, true, 16),
		Status:     r.status,
		DurationMS: r.duration,
		IsError:    r.status == 0 || r.status >= 400,
	}
	host, path := SplitURL(b2s(r.url))
	ev.Host = st.internFolded(recentHost, []byte(host), false, 128)
	st.scratch = appendTemplate(st.scratch[:0], path)
	ev.Endpoint = st.internBytes(st.scratch, maxEndpoint)

	var cat *Catalog
	if name := bytes.TrimSpace(r.provider); len(name) > 0 {
		ev.Provider = st.internFolded(recentProvider, name, false, 40)
		cat = c.cats.Provider(ev.Provider)
	}
	if ev.Provider == "" && ev.Host != "" {
		if p := c.providerByHost(ev.Host); p != "" {
			ev.Provider = p
			cat = c.cats.Provider(p)
		}
	}
	if !ev.IsError {
		if ev.Provider == "" {
			ev.Provider = "unknown"
		}
		return
	}
	c.classifyError(st, ev, r, cat)
}

// classifyError fills the error fields of ev.
func (c *Classifier) classifyError(st *state, ev *Event, r *raw, cat *Catalog) {
	ev.TraceID = sanitizeID(r.traceID)
	var x extracted
	body := c.bodyValue(st, r.body, &x)
	if body != nil {
		if cat == nil {
			cat = c.providerByShape(body)
			if cat != nil && ev.Provider == "" {
				ev.Provider = cat.Provider
			}
		}
		if cat != nil {
			extract(cat.Dialect, cat.CorrelationFields, body, &x)
		} else {
			extractAny(body, &x)
		}
	}
	if ev.Provider == "" {
		ev.Provider = "unknown"
	}
	if x.correlation == nil && r.respHeaders != nil {
		x.correlation = st.headerCorrelation(r.respHeaders)
	}
	ev.CorrelationID = sanitizeID(x.correlation)
	ev.References = x.refs
	ev.Body = c.boundBody(x.body)

	code := string(bytes.TrimSpace(x.code))
	var entry *Entry
	switch {
	case ev.Status == 0:
		ev.Category = Timeout
		if len(r.transportErr) > 0 && len(x.message) == 0 {
			x.message = r.transportErr
		}
	case code != "" && cat != nil:
		if entry = cat.Lookup(code, ev.Status, ev.Method, ev.Endpoint); entry != nil {
			ev.Category, ev.Known, ev.Remediation = entry.Category, true, entry.Remediation
			code = entry.Code // interned
			break
		}
		ev.Category = c.fallback(cat, ev.Status, true)
	default:
		if cat != nil && code == "" {
			if rule := cat.StatusRule(ev.Status); rule != nil {
				ev.Category, ev.Known, ev.Remediation = rule.Category, true, rule.Remediation
				break
			}
		}
		ev.Category = c.fallback(cat, ev.Status, code != "")
	}
	if entry != nil {
		ev.Retryable = entry.IsRetryable()
	} else {
		ev.Retryable = ev.Category.DefaultRetryable()
	}
	ev.Code = truncate(code, maxIdentifier)
	ev.Subcode = truncate(string(bytes.TrimSpace(x.subcode)), maxIdentifier)
	ev.Message = truncate(strings.TrimSpace(string(x.message)), maxMessage)
	ev.Fingerprint = Fingerprint(ev)
}

// fallback is the category of an error without a documented code.
func (c *Classifier) fallback(cat *Catalog, status int, coded bool) Category {
	if cat != nil {
		if rule := cat.StatusRule(status); rule != nil {
			return rule.Category
		}
		if coded && cat.opaque(status) {
			return Unknown
		}
	}
	return StatusCategory(status)
}

// bodyValue returns the response body (a raw JSON span) as a parsed JSON
// object, or nil. It records the body bytes in x, and for HTML or text
// bodies a message.
func (c *Classifier) bodyValue(st *state, span []byte, x *extracted) *fastjson.Value {
	if len(span) == 0 {
		return nil
	}
	switch span[0] {
	case '{':
		x.body = append([]byte(nil), span...)
		v, err := st.body.ParseBytes(span)
		if err != nil {
			return nil
		}
		return v
	case '"':
		s, ok := unescape(nil, span[1:len(span)-1])
		if !ok {
			return nil
		}
		s = bytes.TrimSpace(s)
		if len(s) == 0 {
			return nil
		}
		x.body = s
		switch s[0] {
		case '{':
			if v, err := st.body.ParseBytes(s); err == nil && v.Type() == fastjson.TypeObject {
				return v
			}
		case '<':
			x.message = htmlTitle(s)
		default:
			x.message, _, _ = bytes.Cut(s, []byte("\n"))
		}
		return nil
	case 'n': // null
		return nil
	default:
		x.body = append([]byte(nil), span...)
		return nil
	}
}

// boundBody bounds the body bytes an Event keeps.
func (c *Classifier) boundBody(b []byte) []byte {
	if len(b) > c.maxBody {
		return b[:c.maxBody]
	}
	return b
}

func (c *Classifier) providerByHost(host string) string {
	for _, h := range c.hosts {
		if host == h.host || (strings.HasSuffix(host, h.host) && host[len(host)-len(h.host)-1] == '.') {
			return h.provider
		}
	}
	return ""
}

// providerByShape recognises the provider of an error body: the dialect
// from its top-level keys, then among that dialect's catalogs the one whose
// identifying keys are present, or the only one that documents the code.
func (c *Classifier) providerByShape(body *fastjson.Value) *Catalog {
	d := shapeOf(body)
	if d == "" {
		return nil
	}
	cands := c.dialects[d]
	if len(cands) == 1 {
		return cands[0]
	}
	for _, cat := range cands {
		for _, k := range cat.IdentifyBy {
			if body.Exists(k) {
				return cat
			}
		}
	}
	var x extracted
	extract(d, nil, body, &x)
	var found *Catalog
	for _, cat := range cands {
		if cat.Known(string(x.code)) {
			if found != nil {
				return nil
			}
			found = cat
		}
	}
	return found
}

func shapeOf(body *fastjson.Value) Dialect {
	switch {
	case body.Exists("errorModel"):
		return DialectErrorModel
	case body.Exists("_embedded", "errors"):
		return DialectHAL
	case body.Exists("problem"):
		return DialectProblem
	case body.Exists("error"):
		return DialectFlat
	}
	return ""
}

// correlationHeaders are the response headers that carry a provider's
// request id, in order of preference.
var correlationHeaders = []string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Trace-Id"}

func (st *state) headerCorrelation(span []byte) []byte {
	sc := scanner{b: span}
	best, bestRank := []byte(nil), len(correlationHeaders)
	sc.object(func(key []byte) {
		for rank, name := range correlationHeaders[:bestRank] {
			if strings.EqualFold(b2s(key), name) {
				if v := sc.stringOrSkip(); len(bytes.TrimSpace(v)) > 0 {
					best, bestRank = v, rank
				}
				return
			}
		}
		sc.skip(1)
	})
	return best
}

// Fingerprint is the stable group key of an error: provider, code, subcode,
// method and endpoint template (and, for an error without a code, its
// status and category). Never message text or ids.
func Fingerprint(ev *Event) string {
	h := sha256.New()
	for _, s := range []string{ev.Provider, ev.Code, ev.Subcode, ev.Method, ev.Endpoint} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if ev.Code == "" {
		h.Write([]byte(strconv.Itoa(ev.Status)))
		h.Write([]byte{0})
		h.Write([]byte(ev.Category))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}

// stringOf returns the bytes of a JSON string, or nil for any other type.
func stringOf(v *fastjson.Value) []byte {
	if v == nil || v.Type() != fastjson.TypeString {
		return nil
	}
	s, _ := v.StringBytes()
	return s
}

func sanitizeID(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	return Sanitize(string(b), maxIdentifier)
}

func htmlTitle(s []byte) []byte {
	lower := bytes.ToLower(s[:min(len(s), 4096)])
	i := bytes.Index(lower, []byte("<title>"))
	if i < 0 {
		i = bytes.Index(lower, []byte("<h1>"))
		if i < 0 {
			return nil
		}
		j := bytes.Index(lower[i:], []byte("</h1>"))
		if j < 0 {
			return nil
		}
		return bytes.TrimSpace(s[i+4 : i+j])
	}
	j := bytes.Index(lower[i:], []byte("</title>"))
	if j < 0 {
		return nil
	}
	return bytes.TrimSpace(s[i+7 : i+j])
}

// truncate bounds s to n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// The fields whose few values are remembered per state.
const (
	recentService = iota
	recentEnv
	recentTenant
	recentMethod
	recentHost
	recentProvider
	recentFields
)

// recentSet remembers the last few values of a low-cardinality field; a
// linear scan of them is cheaper than hashing into the intern map.
type recentSet struct {
	vals []string
	next int
}

const recentSize = 8

func (r *recentSet) intern(st *state, b []byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	for _, v := range r.vals {
		if v == string(b) {
			return v
		}
	}
	s := st.internBytes(b, max)
	if len(r.vals) < recentSize {
		r.vals = append(r.vals, s)
	} else {
		r.vals[r.next] = s
		r.next = (r.next + 1) % recentSize
	}
	return s
}

// internFolded interns b folded to upper or lower case (ASCII), through
// the recent values of field.
func (st *state) internFolded(field int, b []byte, upper bool, max int) string {
	st.fold = st.fold[:0]
	for _, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		st.fold = append(st.fold, c)
	}
	return st.recent[field].intern(st, st.fold, max)
}

func (st *state) internBytes(b []byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := st.interned[string(b)]; ok {
		return s
	}
	return st.intern(string(b), max)
}

func (st *state) intern(s string, max int) string {
	if s == "" {
		return ""
	}
	s = truncate(s, max)
	if v, ok := st.interned[s]; ok {
		return v
	}
	if len(st.interned) >= internLimit {
		clear(st.interned)
	}
	s = strings.Clone(s)
	st.interned[s] = s
	return s
}
