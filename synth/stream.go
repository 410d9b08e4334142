package synth

// A scenario's traffic, minute by minute: the calls drawn (fill), rendered
// as records (Next) or counted as rollups (NextMinute, rollups.go).

import (
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stream returns the scenario's records in time order.
func (s Scenario) Stream() (*Stream, error) {
	n, err := s.normalized()
	if err != nil {
		return nil, err
	}
	st := &Stream{s: n, g: New(Options{Seed: n.Seed, Start: n.Start}), minute: n.Start,
		draw: rand.New(rand.NewPCG(n.Seed^0x5ce7a510, n.Seed))}
	for _, p := range n.Providers {
		st.kinds = append(st.kinds, sortedKinds(p.Errors))
	}
	return st, nil
}

func sortedKinds(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Stream produces a scenario's records, a minute at a time, or their
// per-minute counts (NextMinute): the same requests either way, drawn from
// one random source, rendered from another. It is not safe for concurrent
// use.
type Stream struct {
	s      Scenario
	g      *Generator // renders records
	draw   *rand.Rand // draws requests
	kinds  [][]string // per provider, its kinds of errors in a fixed order
	minute time.Time
	calls  []call
	// classes are the classifications of the kinds of calls NextMinute
	// met.
	classes           map[callKind]Classification
	incidentTemplates map[*Incident][]errorTemplate
	buf               []pending
	next              int
	arena             []byte
}

// call is n identical requests of a minute: their provider, endpoint,
// tenant ("": any of the others), error (nil: a success).
type call struct {
	provider *provider
	endpoint int
	tenant   string
	tmpl     *errorTemplate
	n        int64
}

type pending struct {
	ts         time.Time
	start, end int // in arena
}

// Next appends the next record (without a newline) to dst and returns it
// with its timestamp; ok is false when the scenario is over.
func (st *Stream) Next(dst []byte) (out []byte, ts time.Time, ok bool) {
	for st.next >= len(st.buf) {
		if !st.minute.Before(st.s.Start.Add(st.s.Duration)) {
			return dst, time.Time{}, false
		}
		t := st.fill()
		st.buf, st.next, st.arena = st.buf[:0], 0, st.arena[:0]
		for i := range st.calls {
			for range st.calls[i].n {
				st.add(t, &st.calls[i])
			}
		}
		slices.SortStableFunc(st.buf, func(a, b pending) int { return a.ts.Compare(b.ts) })
	}
	p := st.buf[st.next]
	st.next++
	return append(dst, st.arena[p.start:p.end]...), p.ts, true
}

// WriteTo writes every remaining record as NDJSON.
func (st *Stream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	var line []byte
	for {
		var ok bool
		line, _, ok = st.Next(line[:0])
		if !ok {
			return total, nil
		}
		line = append(line, '\n')
		n, err := w.Write(line)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// fill draws the requests of the next minute into st.calls, as counts of
// identical calls, and returns the minute. A provider's requests in a
// minute are Poisson; so, by Poisson splitting, are those of each
// endpoint, tenant and outcome: each cell's count is drawn on its own, in
// time that does not grow with the traffic.
func (st *Stream) fill() time.Time {
	st.calls = st.calls[:0]
	t := st.minute
	st.minute = t.Add(time.Minute)
	rng := st.draw
	draw := func(mean float64) int64 { return int64(poisson(rng.Float64, rng.NormFloat64, mean)) }
	for pi, p := range st.s.Providers {
		prov := providerNamed(p.Name)
		active := st.s.activeIncidents(p.Name, t)
		volume := st.s.volume(p, t)
		for _, in := range active {
			volume *= in.Volume
		}
		// Who sends the calls: the active tenants with errors of their own,
		// then everyone else.
		type sender struct {
			tenant string
			share  float64
			errs   map[string]float64
		}
		rest := 1.0
		var senders []sender
		for i := range st.s.Tenants {
			if tn := &st.s.Tenants[i]; tn.Provider == p.Name && tn.active(t) {
				senders = append(senders, sender{tn.Name, tn.Share, tn.errors(p.Errors)})
				rest -= tn.Share
			}
		}
		senders = append(senders, sender{"", max(rest, 0), p.Errors})
		kinds := st.kinds[pi]
		per := volume / float64(len(prov.endpoints))
		for e := range prov.endpoints {
			for _, sd := range senders {
				mean := per * sd.share
				if mean <= 0 {
					continue
				}
				left := 1.0
				for _, k := range kinds {
					list := templates[p.Name][k]
					share := min(sd.errs[k], left)
					left -= share
					for i := range list {
						st.addCalls(prov, e, sd.tenant, &list[i], draw(mean*share/float64(len(list))))
					}
				}
				for _, in := range active {
					if in.Endpoint != "" && prov.endpoints[e].name() != in.Endpoint {
						continue
					}
					share := min(in.strength(t), left)
					left -= share
					list := st.incidentTmpl(in)
					for i := range list {
						st.addCalls(prov, e, sd.tenant, &list[i], draw(mean*share/float64(len(list))))
					}
				}
				st.addCalls(prov, e, sd.tenant, nil, draw(mean*left))
			}
		}
		for _, b := range st.s.Blips {
			if b.Provider == p.Name && b.At.UTC().Truncate(time.Minute).Equal(t) {
				list := templates[p.Name][b.Kind]
				for range b.Count {
					st.addCalls(prov, rng.IntN(len(prov.endpoints)), "", &list[rng.IntN(len(list))], 1)
				}
			}
		}
	}
	return t
}

// addCalls adds n identical calls of the minute.
func (st *Stream) addCalls(p *provider, endpoint int, tenant string, tmpl *errorTemplate, n int64) {
	if n > 0 {
		st.calls = append(st.calls, call{provider: p, endpoint: endpoint, tenant: tenant, tmpl: tmpl, n: n})
	}
}

// errors is the tenant's error mix: its own kinds, the provider's others.
func (tn *Tenant) errors(provider map[string]float64) map[string]float64 {
	out := maps.Clone(provider)
	maps.Copy(out, tn.Errors)
	return out
}

// incidentTmpl returns the errors of incident in, one of which each
// request failing in it gets (computed once).
func (st *Stream) incidentTmpl(in *Incident) []errorTemplate {
	if st.incidentTemplates == nil {
		st.incidentTemplates = map[*Incident][]errorTemplate{}
	}
	if list, ok := st.incidentTemplates[in]; ok {
		return list
	}
	var list []errorTemplate
	if in.Kind == NewCode {
		list = []errorTemplate{{category: "", status: in.Status, code: in.Code, msg: "Undocumented: " + in.Code}}
	}
	for _, k := range incidentKinds[in.Kind] {
		if in.Category != "" && k != in.Category {
			continue
		}
		for _, t := range templates[in.Provider][k] {
			if in.Code == "" || t.code == in.Code && (in.Subcode == "" || t.subcode == in.Subcode) {
				list = append(list, t)
			}
		}
	}
	st.incidentTemplates[in] = list
	return list
}

// volume is a provider's mean requests per minute at t.
func (s *Scenario) volume(p ProviderTraffic, t time.Time) float64 {
	v := s.Rate * p.Share
	h := float64(t.Hour()) + float64(t.Minute())/60
	v *= 1 - s.Seasonality.Daily*(0.5+0.5*math.Cos(2*math.Pi*(h-3)/24))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v *= s.Seasonality.Weekend
	}
	if t.Weekday() == time.Monday && h >= 7 && h < 12 {
		ramp := (h - 7) / 2
		if h >= 9 {
			ramp = (12 - h) / 3
		}
		v *= 1 + s.Seasonality.MondayRamp*ramp
	}
	if s.Duration > 0 {
		v *= 1 + (p.Growth-1)*float64(t.Sub(s.Start))/float64(s.Duration)
	}
	for _, su := range s.Surges {
		if (su.Provider == "" || su.Provider == p.Name) && !t.Before(su.Start) && t.Before(su.Start.Add(su.Length)) {
			v *= su.Factor
		}
	}
	return v
}

func (s *Scenario) activeIncidents(provider string, t time.Time) []*Incident {
	var out []*Incident
	for i := range s.Incidents {
		in := &s.Incidents[i]
		if in.Provider == provider && in.strength(t) > 0 {
			out = append(out, in)
		}
	}
	return out
}

// poisson draws from a Poisson law of the mean (normal above 50).
func poisson(uniform, normal func() float64, mean float64) int {
	switch {
	case mean <= 0:
		return 0
	case mean > 50:
		return max(0, int(math.Round(mean+math.Sqrt(mean)*normal())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= uniform()
		if p <= l {
			return k
		}
		k++
	}
}

var scenarioTenants = []string{"acme-foods", "northwind", "globex", "initech", "umbrella", "hooli",
	"stark-retail", "wayne-cafe", "tyrell-home", "soylent-market", "cyberdyne-parts", "oceanic-travel"}

// add renders call c of minute t: a success when it has no error, else
// that error in the provider's dialect.
func (st *Stream) add(t time.Time, c *call) {
	g := st.g
	ts := t.Add(time.Duration(g.rng.Int64N(int64(time.Minute/time.Millisecond))) * time.Millisecond)
	tenant := c.tenant
	if tenant == "" {
		tenant = scenarioTenants[g.rng.IntN(len(scenarioTenants))]
	}
	p := c.provider
	ep := p.endpoints[c.endpoint]
	id := g.id(12)
	path := ep.path
	if strings.Contains(path, "%s") {
		path = fmt.Sprintf(path, id)
	}
	start := len(st.arena)
	b := st.arena
	b = append(b, `{"ts":"`...)
	b = ts.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","service":"`...)
	b = append(b, services[g.rng.IntN(len(services))]...)
	b = append(b, `","env":"prod","tenant":"`...)
	b = append(b, tenant...)
	b = append(b, `","provider":"`...)
	b = append(b, p.name...)
	b = append(b, `","method":"`...)
	b = append(b, ep.method...)
	b = append(b, `","url":"https://`...)
	b = append(b, p.host...)
	b = append(b, path...)
	b = append(b, '"')
	status, body, headers, transport := 200, "", "", ""
	if ep.method == "POST" {
		status = 201
	}
	if tmpl := c.tmpl; tmpl != nil {
		status, body, headers, transport = st.render(p.name, tmpl)
		b = append(b, `,"request_headers":{"Authorization":"Bearer `...)
		b = append(b, PlantedToken...)
		b = append(b, `"}`...)
	}
	if status != 0 {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
	}
	if transport != "" {
		b = append(b, `,"error":`...)
		b = strconv.AppendQuote(b, transport)
	}
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, int64(20+g.rng.IntN(900)), 10)
	if headers != "" {
		b = append(b, `,"response_headers":{`...)
		b = append(b, headers...)
		b = append(b, '}')
	}
	if body != "" {
		b = append(b, `,"response_body":`...)
		b = appendJSONString(b, body)
	}
	b = append(b, `,"trace_id":"`...)
	b = append(b, g.hex(32)...)
	b = append(b, `"}`...)
	st.arena = b
	st.buf = append(st.buf, pending{ts: ts, start: start, end: len(b)})
}

// render returns the status, body, response headers (a JSON fragment) and
// transport error of a failed call in the provider's dialect.
func (st *Stream) render(provider string, t *errorTemplate) (int, string, string, string) {
	g := st.g
	if t.status == 0 {
		return 0, "", "", "context deadline exceeded"
	}
	if t.code == "" {
		switch {
		case t.status == 502:
			return t.status, `<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>`, `"X-Request-Id":"` + g.hex(16) + `"`, ""
		default:
			return t.status, "", `"x-request-id":"` + g.hex(16) + `"`, ""
		}
	}
	switch provider {
	case "finterra":
		return t.status, `{"error":"` + t.code + `","message":"` + t.msg + `","request_id":"req_01j` + g.id(20) + `"}`, "", ""
	case "cheers":
		return t.status, `{"errorModel":{"errorCode":"` + t.code + `","message":"` + t.msg + `","descriptors":["transaction","` + g.hex(8) + `"]}}`, `"X-Correlation-Id":"` + g.uuid() + `"`, ""
	case "flexiti":
		return t.status, `{"error":"` + t.code + `","message":"` + t.msg + `"}`, `"X-Request-Id":"` + g.uuid() + `"`, ""
	case "finix":
		au := "AU" + g.id(22)
		failure := ""
		if t.subcode != "" {
			failure = `,"failure_code":"` + t.subcode + `","authorization":"` + au + `"`
		}
		return t.status, `{"total":1,"_embedded":{"errors":[{"logref":"` + g.hex(16) + `","code":"` + t.code + `","message":"` + t.msg + `"` + failure + `}]}}`, "", ""
	default:
		return t.status, `{"type":"https://docs.paylera.com/problems/` + t.code + `","problem":"` + t.code + `","title":"` + t.msg + `","status":` + strconv.Itoa(t.status) + `,"trace_id":"` + g.hex(32) + `"}`, "", ""
	}
}
