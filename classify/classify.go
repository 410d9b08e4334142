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
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/faultline-dev/faultline/redact"
)

// Defaults for Options.
const (
	DefaultMaxRecordBytes = 1 << 20
	// DefaultMaxBodyBytes bounds the response body an Event keeps, after
	// redaction: what is stored of it.
	DefaultMaxBodyBytes = 8 << 10
	maxMessage          = 1024
	maxIdentifier       = 200
	maxReferences       = 8
	internLimit         = 4096
)

// OtherProvider names, in events, a provider that is neither one of the
// catalogs nor configured with a host rule: what a record names freely
// must not become an unbounded set of names.
const OtherProvider = "other"

// UnknownProvider names, in events, the provider of a call to a URL host
// that no catalog or --host rule knows, when nothing else names it.
const UnknownProvider = "unknown"

// Options tune a Classifier. The zero value is usable.
type Options struct {
	// Hosts maps extra URL hosts (or parent domains) to provider names, on
	// top of the hosts the catalogs declare.
	Hosts map[string]string
	// MaxRecordBytes rejects larger records as oversized (default 1 MiB).
	MaxRecordBytes int
	// MaxBodyBytes bounds the response body an Event keeps, once redacted
	// (default 8 KiB).
	MaxBodyBytes int
	// InputMap, when set, reads the records it matches (see InputMap)
	// before the shapes faultline recognises by itself.
	InputMap *InputMap
}

// Classifier decodes and classifies integration log records. It is safe for
// concurrent use.
type Classifier struct {
	cats       *Catalogs
	hosts      []hostRule // longest first
	configured map[string]bool
	maxRec     int
	maxBody    int
	states     sync.Pool
	dialects   map[Dialect][]*Catalog
	inputMap   *InputMap
	templates  atomic.Pointer[Templates] // learned endpoint templates (SetTemplates)
}

type hostRule struct {
	host     string
	provider string
}

// state is the per-goroutine scratch of a classification: the parsers and
// an intern table for low-cardinality strings.
type state struct {
	sc       scanner
	body     fastjson.Parser // error bodies
	outer    fastjson.Parser // records the general reader takes
	inner    fastjson.Parser // records held in an envelope or an OpenTelemetry body
	otlp     []byte          // an OpenTelemetry log record written as JSON
	matches  []match         // the general reader's finds in one layer
	norm     []byte          // a key's name normalized
	scratch  []byte
	segs     []segment
	fold     []byte
	key      []byte
	interned map[string]string // intern key (field, raw value) to the value an Event holds
	recent   [recentFields]recentSet
}

// New returns a Classifier over cats. Zero options take their defaults;
// negative ones are an error.
func New(cats *Catalogs, opts Options) (*Classifier, error) {
	if cats == nil {
		return nil, fmt.Errorf("classify: no catalogs")
	}
	if opts.MaxRecordBytes < 0 || opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("classify: negative size bound (record %d, body %d)", opts.MaxRecordBytes, opts.MaxBodyBytes)
	}
	c := &Classifier{
		cats:       cats,
		configured: map[string]bool{},
		maxRec:     cmpOr(opts.MaxRecordBytes, DefaultMaxRecordBytes),
		maxBody:    cmpOr(opts.MaxBodyBytes, DefaultMaxBodyBytes),
		dialects:   map[Dialect][]*Catalog{},
		inputMap:   opts.InputMap,
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
		c.configured[p] = true
	}
	sort.SliceStable(c.hosts, func(i, j int) bool { return len(c.hosts[i].host) > len(c.hosts[j].host) })
	c.states.New = func() any { return &state{interned: make(map[string]string, 256)} }
	return c, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Catalogs returns the catalogs the classifier uses.
func (c *Classifier) Catalogs() *Catalogs { return c.cats }

// classifyRecord fills ev from a decoded record.
func (c *Classifier) classifyRecord(st *state, r *raw, ts time.Time, ev *Event) {
	*ev = Event{
		TS:         ts,
		Service:    st.identifier(recentService, r.service, 0, 64),
		Env:        st.identifier(recentEnv, r.env, 0, 64),
		Tenant:     st.identifier(recentTenant, r.tenant, 0, 64),
		Method:     st.identifier(recentMethod, r.method, 'U', 16),
		Status:     r.status,
		DurationMS: r.duration,
		IsError:    r.status == 0 || r.status >= 400,
	}
	host, path := SplitURL(b2s(r.url))
	ev.Host = st.identifier(recentHost, s2b(host), 'L', 128)

	var cat *Catalog
	if name := bytes.TrimSpace(r.provider); len(name) > 0 {
		ev.Provider = st.provider(c, name)
		cat = c.cats.Provider(ev.Provider)
	}
	if ev.Provider == "" && host != "" {
		if p := c.providerByHost(strings.ToLower(host)); p != "" {
			ev.Provider = p
			cat = c.cats.Provider(p)
		}
	}
	if !ev.IsError {
		if ev.Provider == "" && ev.Host != "" {
			ev.Provider = UnknownProvider
		}
		c.setEndpoint(st, ev, cat, path)
		return
	}
	c.setEndpoint(st, ev, cat, path)
	c.classifyError(st, ev, r, cat)
}

// provider returns the provider a record names: a catalog's or a
// configured one, else OtherProvider.
func (st *state) provider(c *Classifier, name []byte) string {
	st.fold = foldASCII(st.fold[:0], name, false)
	if v, ok := st.recent[recentProvider].get(st.fold); ok {
		return v
	}
	p := OtherProvider
	for _, cand := range providerCandidates(b2s(st.fold)) {
		if cat := c.cats.Provider(cand); cat != nil {
			p = cat.Provider
			break
		} else if c.configured[cand] {
			p = strings.Clone(cand) // cand views st.fold, which the next record overwrites
			break
		}
	}
	st.recent[recentProvider].put(string(st.fold), p)
	return p
}

// providerCandidates are the provider names a record's provider field
// (lower-cased) may mean, in order: itself, its first word, its words
// joined ("Finix Payments" is finix, "Fin-Terra" finterra).
func providerCandidates(name string) [3]string {
	name = strings.TrimSpace(name)
	word := func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }
	first, _, _ := strings.Cut(strings.TrimLeftFunc(name, word), " ")
	if i := strings.IndexFunc(first, word); i >= 0 {
		first = first[:i]
	}
	joined := strings.Map(func(r rune) rune {
		if word(r) {
			return -1
		}
		return r
	}, name)
	return [3]string{name, first, joined}
}

// classifyError fills the error fields of ev.
func (c *Classifier) classifyError(st *state, ev *Event, r *raw, cat *Catalog) {
	ev.TraceID = identifier(r.traceID)
	var x extracted
	body := c.bodyValue(st, r.body, &x)
	if body != nil {
		if cat == nil {
			cat = c.providerByShape(body)
			if cat != nil && ev.Provider == "" {
				ev.Provider = cat.Provider
				_, path := SplitURL(b2s(r.url))
				c.setEndpoint(st, ev, cat, path) // now that its catalog is known
			}
		}
		if cat != nil {
			extract(cat.Dialect, cat.CorrelationFields, body, &x)
		} else {
			extractAny(body, &x)
		}
	}
	if ev.Provider == "" && ev.Host != "" {
		// A call to a host no catalog or --host rule knows: its provider
		// is unknown, the call is one.
		ev.Provider = UnknownProvider
		_, path := SplitURL(b2s(r.url))
		c.setEndpoint(st, ev, nil, path)
	}
	if x.correlation == nil && r.respHeaders != nil {
		x.correlation = st.headerCorrelation(r.respHeaders)
	}
	ev.CorrelationID = identifier(x.correlation)
	ev.References = x.refs
	ev.Body = redact.Body(x.body, c.maxBody)

	code := string(bytes.TrimSpace(x.code))
	if ev.Status == 0 && len(r.transportErr) > 0 && len(x.message) == 0 {
		x.message = r.transportErr
	}
	code = c.categorize(cat, ev, code)
	ev.Code = st.identifier(recentCode, s2b(code), 0, maxIdentifier)
	ev.Subcode = st.identifier(recentSubcode, bytes.TrimSpace(x.subcode), 0, maxIdentifier)
	// A message may hold structure of its own (JSON, key=value): it is
	// redacted as a document.
	ev.Message = truncate(redact.Document(strings.TrimSpace(string(x.message))), maxMessage)
	ev.Fingerprint = Fingerprint(ev)
}

// categorize sets the category, known, retryable and remediation of an
// error from its provider's catalog (nil when it has none), code, status,
// method and endpoint. It returns the code as the catalog writes it.
func (c *Classifier) categorize(cat *Catalog, ev *Event, code string) string {
	var entry *Entry
	ev.Known, ev.Remediation = false, ""
	switch {
	case ev.Status == 0:
		ev.Category = Timeout
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
	return code
}

// Reclassify decides again, with the classifier's catalogs, the category,
// known, retryable, remediation and fingerprint of a stored error event
// from what is stored of it (provider, code, subcode, status, method and
// endpoint): after a catalog improves, stored events can follow.
func (c *Classifier) Reclassify(ev *Event) {
	c.categorize(c.cats.Provider(ev.Provider), ev, ev.Code)
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
		x.body = span
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
		s = bytes.TrimSpace(trimBOM(s))
		// Middleware may encode a body twice: a JSON string holding a JSON
		// string holding the body.
		for depth := 0; depth < maxBodyEncodings && len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"'; depth++ {
			inner, ok := unescape(nil, s[1:len(s)-1])
			if !ok {
				break
			}
			s = bytes.TrimSpace(trimBOM(inner))
		}
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
		x.body = span
		return nil
	}
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

// maxBodyEncodings bounds how many times a body encoded as a JSON string
// is decoded again.
const maxBodyEncodings = 3

// correlationHeaders are the response headers that carry a provider's
// request id, in order of preference.
var correlationHeaders = []string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Trace-Id"}

// headerRank returns the preference of a correlation header (0 best), or
// len(correlationHeaders) for any other header. Names match in any case.
func headerRank(name []byte) int {
	for rank, h := range correlationHeaders {
		if strings.EqualFold(b2s(name), h) {
			return rank
		}
	}
	return len(correlationHeaders)
}

// headerCorrelation finds the provider's request id in the response
// headers, in the shapes loggers write them: the raw header block as one
// string ("X-Request-Id: abc\r\n…"), an object of values
// ({"X-Request-Id": "abc"}), of arrays as Go's http.Header marshals
// ({"X-Request-Id": ["abc"]}: the first value), a HAR-style list of
// {"name", "value"} objects, or a list of [name, value] pairs.
func (st *state) headerCorrelation(span []byte) []byte {
	sc := scanner{b: span}
	best, bestRank := []byte(nil), len(correlationHeaders)
	consider := func(rank int, value []byte) {
		if rank < bestRank && len(bytes.TrimSpace(value)) > 0 {
			best, bestRank = value, rank
		}
	}
	switch sc.peek() {
	case '"': // the raw header block: "Name: value\r\nName: value"
		block := sc.str()
		for len(block) > 0 {
			line := block
			if i := bytes.IndexByte(block, '\n'); i >= 0 {
				line, block = block[:i], block[i+1:]
			} else {
				block = nil
			}
			if name, value, ok := bytes.Cut(line, []byte(":")); ok {
				consider(headerRank(bytes.TrimSpace(name)), bytes.TrimSpace(value))
			}
		}
	case '{':
		sc.object(func(key []byte) {
			if rank := headerRank(key); rank < bestRank {
				consider(rank, sc.firstString())
				return
			}
			sc.skip(1)
		})
	case '[':
		sc.array(func() {
			switch sc.peek() {
			case '{': // {"name": …, "value": …} in either order
				var name, value []byte
				sc.object(func(key []byte) {
					switch {
					case strings.EqualFold(b2s(key), "name"):
						name = sc.stringOrSkip()
					case strings.EqualFold(b2s(key), "value"):
						value = sc.firstString()
					default:
						sc.skip(1)
					}
				})
				consider(headerRank(name), value)
			case '[': // [name, value]
				var name, value []byte
				i := 0
				sc.array(func() {
					switch i {
					case 0:
						name = sc.stringOrSkip()
					case 1:
						value = sc.firstString()
					default:
						sc.skip(1)
					}
					i++
				})
				consider(headerRank(name), value)
			default:
				sc.skip(1)
			}
		})
	}
	return best
}

// Fingerprint is the stable group key of an error: provider, code, subcode,
// method and endpoint template (and, for an error without a code, its
// status and category). Never message text or ids; computed from the
// redacted values, so that a hash cannot be searched for a secret.
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

// identifier is an id, code or reference as an Event holds it: redacted
// (whole, when it holds a secret), then bounded.
func identifier(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	return truncate(redact.Identifier(string(b)), maxIdentifier)
}

// quoted is a value quoted in an error detail: redacted, then bounded.
func quoted(b []byte, n int) string {
	return truncate(redact.Document(string(b)), n)
}

// htmlTitle returns the text of the title (or first h1) of an HTML page.
// Tags are found ignoring ASCII case in s itself: a lower-cased copy would
// not have s's positions (Ⱥ grows, the Kelvin sign shrinks).
func htmlTitle(s []byte) []byte {
	head := b2s(s[:min(len(s), 4096)])
	for _, tag := range [...][2]string{{"<title>", "</title>"}, {"<h1>", "</h1>"}} {
		i := redact.IndexFold(head, tag[0])
		if i < 0 {
			continue
		}
		i += len(tag[0])
		j := redact.IndexFold(head[i:], tag[1])
		if j < 0 {
			return nil
		}
		return bytes.TrimSpace(s[i : i+j])
	}
	return nil
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
	recentCode
	recentSubcode
	recentFields
)

// recentSet remembers the last few values of a low-cardinality field, as
// received and as an Event holds them; a linear scan of them is cheaper
// than hashing into the intern map.
type recentSet struct {
	raw, val []string
	next     int
}

const recentSize = 8

func (r *recentSet) get(b []byte) (string, bool) {
	for i, v := range r.raw {
		if v == string(b) {
			return r.val[i], true
		}
	}
	return "", false
}

func (r *recentSet) put(raw, val string) {
	if len(r.raw) < recentSize {
		r.raw, r.val = append(r.raw, raw), append(r.val, val)
		return
	}
	r.raw[r.next], r.val[r.next] = raw, val
	r.next = (r.next + 1) % recentSize
}

// identifier returns the value an Event holds for b, a low-cardinality
// field (service, env, tenant, method, host): folded to upper ('U') or
// lower ('L') ASCII case when fold says so, redacted (whole, when it holds
// a secret), then bounded to max bytes. Values are remembered per state.
func (st *state) identifier(field int, b []byte, fold byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	if fold != 0 {
		st.fold = foldASCII(st.fold[:0], b, fold == 'U')
		b = st.fold
	}
	if v, ok := st.recent[field].get(b); ok {
		return v
	}
	st.key = append(append(st.key[:0], byte(field)), b...)
	v, ok := st.interned[string(st.key)]
	if !ok {
		v = truncate(redact.Identifier(string(b)), max)
		st.remember(st.key, v)
	}
	st.recent[field].put(string(b), v)
	return v
}

// foldASCII appends b folded to upper or lower ASCII case.
func foldASCII(dst, b []byte, upper bool) []byte {
	for _, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// internBytes interns an endpoint template (which holds no secret:
// appendTemplate replaced any segment that does), bounded to max bytes.
func (st *state) internBytes(b []byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	st.key = append(append(st.key[:0], 0xFF), b...) // no field's key starts so
	if s, ok := st.interned[string(st.key)]; ok {
		return s
	}
	v := truncate(string(b), max)
	st.remember(st.key, v)
	return v
}

func (st *state) remember(key []byte, v string) {
	if len(st.interned) >= internLimit {
		clear(st.interned)
	}
	st.interned[string(key)] = v
}
