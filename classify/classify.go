package classify

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fastjson"
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
