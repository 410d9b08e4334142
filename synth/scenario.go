package synth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A Scenario is weeks of traffic from the five providers: volume with daily
// and weekly seasonality (and growth, surges, a Monday-morning ramp), each
// provider's usual mix of errors, and incidents of the kinds the alert
// detectors look for. Its records come out in time order, deterministic
// for a seed (Stream).
//
// Everything is per minute: a provider's requests in a minute are drawn
// from a Poisson law around Rate × share × seasonality × growth × surges;
// each request fails with its provider's rate of each kind of error, plus
// the strength of the incidents running then.
type Scenario struct {
	Seed uint64 `yaml:"seed"`
	// Start is the first minute; Duration how long the traffic lasts.
	Start    time.Time     `yaml:"start"`
	Duration time.Duration `yaml:"duration"`
	// Rate is the requests per minute of all providers together at a
	// weekday's peak hour (15:00 UTC), before growth and surges.
	Rate        float64     `yaml:"rate"`
	Seasonality Seasonality `yaml:"seasonality"`
	// Providers default to DefaultProviders.
	Providers []ProviderTraffic `yaml:"providers"`
	Incidents []Incident        `yaml:"incidents"`
	// Surges change volume only: error rates stay as they are.
	Surges []Surge `yaml:"surges"`
	// Blips are a few errors in one minute: noise that must page nobody.
	Blips []Blip `yaml:"blips"`
	// Tenants are merchants with an error mix of their own at a provider
	// (one that declines far more than the others, say).
	Tenants []Tenant `yaml:"tenants"`
}

// Tenant is a merchant with its own share of a provider's requests and
// its own errors. Outside Hours (from, to, UTC hours; none: always) it
// sends nothing.
type Tenant struct {
	Name     string `yaml:"name"`
	Provider string `yaml:"provider"`
	// Share is the tenant's share of the provider's requests while it is
	// active, on top of the others'.
	Share float64 `yaml:"share"`
	// Errors are the shares of the tenant's requests failing with each
	// kind of error; kinds not given take the provider's.
	Errors map[string]float64 `yaml:"errors"`
	Hours  [2]int             `yaml:"hours"`
}

func (tn *Tenant) active(t time.Time) bool {
	if tn.Hours == [2]int{} {
		return true
	}
	h := t.Hour()
	if tn.Hours[0] <= tn.Hours[1] {
		return h >= tn.Hours[0] && h < tn.Hours[1]
	}
	return h >= tn.Hours[0] || h < tn.Hours[1]
}

// Seasonality shapes volume over the day and the week.
type Seasonality struct {
	// Daily is the depth of the night trough: volume at 03:00 UTC is
	// (1 - Daily) of the 15:00 peak. 0 is flat.
	Daily float64 `yaml:"daily"`
	// Weekend multiplies volume on Saturdays and Sundays.
	Weekend float64 `yaml:"weekend"`
	// MondayRamp adds this share of volume on Monday mornings, rising
	// from 07:00 to a peak at 09:00 UTC and gone by 12:00.
	MondayRamp float64 `yaml:"monday_ramp"`
}

// ProviderTraffic is one provider's part of the traffic.
type ProviderTraffic struct {
	Name string `yaml:"name"`
	// Share is the provider's share of Rate.
	Share float64 `yaml:"share"`
	// Growth is the volume multiplier reached at the end of the scenario,
	// growing steadily from 1 at its start (3: steady 3× growth).
	Growth float64 `yaml:"growth"`
	// Errors are the shares of requests failing with each kind of error
	// (a taxonomy category); kinds not given take the provider's defaults.
	Errors map[string]float64 `yaml:"errors"`
}

// IncidentKind names an incident: what the alert rule that should catch it
// is called.
type IncidentKind string

// The incident kinds.
const (
	DeclineSpike      IncidentKind = "decline_spike"
	ExpiredTokenStorm IncidentKind = "expired_token_storm"
	ProviderOutage    IncidentKind = "provider_outage"
	RateLimitStorm    IncidentKind = "rate_limit_storm"
	AuthFailure       IncidentKind = "auth_failure"
	NewCode           IncidentKind = "new_code"
)

// IncidentKinds lists every kind.
var IncidentKinds = []IncidentKind{DeclineSpike, ExpiredTokenStorm, ProviderOutage, RateLimitStorm, AuthFailure, NewCode}

// Incident is a stretch of time when a provider fails more, one way.
type Incident struct {
	Kind     IncidentKind  `yaml:"kind"`
	Provider string        `yaml:"provider"`
	Start    time.Time     `yaml:"start"`
	Length   time.Duration `yaml:"length"`
	// Strength is the share of the provider's requests that fail this way
	// during the incident, on top of the usual errors.
	Strength float64 `yaml:"strength"`
	// Code picks one of the kind's codes (a decline spike of one code),
	// or names the new code of a new_code incident; Subcode likewise (a
	// Finix failure_code). Status is a new code's HTTP status (default
	// 409).
	Code    string `yaml:"code"`
	Subcode string `yaml:"subcode"`
	Status  int    `yaml:"status"`
	// Category picks the kind's errors of one category only (timeout:
	// transport errors without a status).
	Category string `yaml:"category"`
	// Endpoint limits the incident to one endpoint of the provider
	// ("POST /transfers", its path as the provider's calls have it with
	// {id} for ids): Strength is then the share of that endpoint's
	// requests failing, the others are fine.
	Endpoint string `yaml:"endpoint"`
	// Ramp makes a slow burn: the strength rises from 0 to Strength over
	// the incident's first Ramp.
	Ramp time.Duration `yaml:"ramp"`
	// Volume multiplies the provider's requests during the incident (a
	// retry loop raises volume and errors at once).
	Volume float64 `yaml:"volume"`
	// Every repeats the incident from Start every period (a weekly
	// maintenance: 168h) until the scenario ends.
	Every time.Duration `yaml:"every"`
}

// End is when the incident stops (its first occurrence, when it repeats).
func (in Incident) End() time.Time { return in.Start.Add(in.Length) }

// Occurrences returns the starts of the incident before end: Start, and
// every Every after it when it repeats.
func (in Incident) Occurrences(end time.Time) []time.Time {
	out := []time.Time{in.Start}
	for t := in.Start.Add(in.Every); in.Every > 0 && t.Before(end); t = t.Add(in.Every) {
		out = append(out, t)
	}
	return out
}

// strength is the share of requests failing in the incident at t (0
// outside it), for one of its occurrences.
func (in *Incident) strength(t time.Time) float64 {
	start := in.Start
	if in.Every > 0 && !t.Before(start) {
		start = start.Add(t.Sub(start) / in.Every * in.Every)
	}
	if t.Before(start) || !t.Before(start.Add(in.Length)) {
		return 0
	}
	if d := t.Sub(start); in.Ramp > 0 && d < in.Ramp {
		return in.Strength * float64(d+time.Minute) / float64(in.Ramp)
	}
	return in.Strength
}

// Surge multiplies the volume of a provider ("" for all) for a while.
type Surge struct {
	Provider string        `yaml:"provider"`
	Start    time.Time     `yaml:"start"`
	Length   time.Duration `yaml:"length"`
	Factor   float64       `yaml:"factor"`
}

// Blip is Count extra errors of a kind at a provider in the minute At.
type Blip struct {
	Provider string    `yaml:"provider"`
	At       time.Time `yaml:"at"`
	Kind     string    `yaml:"kind"`
	Count    int       `yaml:"count"`
}

// ParseScenario reads a scenario from YAML; an unknown key is an error
// that names it. The scenario is checked as Stream checks it.
func ParseScenario(data []byte) (Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return s, fmt.Errorf("scenario: %w", err)
	}
	if _, err := s.normalized(); err != nil {
		return s, err
	}
	return s, nil
}

// normalized returns the scenario with its defaults, or an error naming
// what is wrong.
func (s Scenario) normalized() (Scenario, error) {
	s.Start = s.Start.UTC().Truncate(time.Minute)
	if s.Start.IsZero() {
		s.Start = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	}
	switch {
	case s.Duration < time.Minute:
		return s, fmt.Errorf("scenario: duration must be at least 1m, got %s", s.Duration)
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return s, fmt.Errorf("scenario: rate must be a positive number of requests per minute, got %v", s.Rate)
	case s.Seasonality.Daily < 0 || s.Seasonality.Daily >= 1:
		return s, fmt.Errorf("scenario: seasonality.daily must be in [0, 1), got %v", s.Seasonality.Daily)
	case s.Seasonality.Weekend < 0 || s.Seasonality.MondayRamp < 0:
		return s, errors.New("scenario: seasonality.weekend and monday_ramp must not be negative")
	}
	if s.Seasonality.Weekend == 0 {
		s.Seasonality.Weekend = 1
	}
	defaults := DefaultProviders()
	if len(s.Providers) == 0 {
		s.Providers = defaults
	}
	providers := make([]ProviderTraffic, len(s.Providers))
	for i, p := range s.Providers {
		if templates[p.Name] == nil {
			return s, fmt.Errorf("scenario: providers[%d]: unknown provider %q (finix, finterra, paylera, flexiti, cheers)", i, p.Name)
		}
		if p.Share < 0 || p.Growth < 0 {
			return s, fmt.Errorf("scenario: providers[%d] (%s): share and growth must not be negative", i, p.Name)
		}
		if p.Growth == 0 {
			p.Growth = 1
		}
		errs := map[string]float64{}
		for _, d := range defaults {
			if d.Name == p.Name {
				for k, v := range d.Errors {
					errs[k] = v
				}
			}
		}
		var total float64
		for k, v := range p.Errors {
			if templates[p.Name][k] == nil {
				return s, fmt.Errorf("scenario: providers[%d] (%s): errors.%s: the provider has no such errors", i, p.Name, k)
			}
			if v < 0 || v > 1 {
				return s, fmt.Errorf("scenario: providers[%d] (%s): errors.%s must be in [0, 1], got %v", i, p.Name, k, v)
			}
			errs[k] = v
		}
		for _, v := range errs {
			total += v
		}
		if total > 0.5 {
			return s, fmt.Errorf("scenario: providers[%d] (%s): errors add up to %.2f of requests, more than half", i, p.Name, total)
		}
		p.Errors = errs
		providers[i] = p
	}
	s.Providers = providers
	incidents := slices.Clone(s.Incidents)
	for i := range incidents {
		in := &incidents[i]
		in.Start = in.Start.UTC()
		where := fmt.Sprintf("scenario: incidents[%d] (%s at %s)", i, in.Kind, in.Provider)
		if !slices.Contains(IncidentKinds, in.Kind) {
			return s, fmt.Errorf("%s: unknown kind %q", where, in.Kind)
		}
		if templates[in.Provider] == nil {
			return s, fmt.Errorf("%s: unknown provider %q", where, in.Provider)
		}
		if in.Length < time.Minute || !(in.Strength > 0 && in.Strength <= 1) {
			return s, fmt.Errorf("%s: length must be at least 1m and strength in (0, 1]", where)
		}
		switch {
		case in.Ramp < 0 || in.Ramp > in.Length:
			return s, fmt.Errorf("%s: ramp must be between 0 and the length", where)
		case in.Volume < 0:
			return s, fmt.Errorf("%s: volume must not be negative", where)
		case in.Every != 0 && in.Every < in.Length:
			return s, fmt.Errorf("%s: every must be at least the length", where)
		case in.Endpoint != "" && endpointIndex(in.Provider, in.Endpoint) < 0:
			return s, fmt.Errorf("%s: %s has no endpoint %q (%s)", where, in.Provider, in.Endpoint, strings.Join(endpointNames(in.Provider), ", "))
		case in.Category != "" && (in.Kind == NewCode || !slices.Contains(incidentKinds[in.Kind], in.Category)):
			return s, fmt.Errorf("%s: category %q is not one of the kind's (%s)", where, in.Category, strings.Join(incidentKinds[in.Kind], ", "))
		}
		if in.Volume == 0 {
			in.Volume = 1
		}
		if in.Kind == NewCode {
			if in.Code == "" {
				return s, fmt.Errorf("%s: a new code needs its code", where)
			}
			if in.Status == 0 {
				in.Status = 409
			}
			continue
		}
		var have bool
		for _, k := range incidentKinds[in.Kind] {
			for _, t := range templates[in.Provider][k] {
				have = have || (in.Category == "" || k == in.Category) &&
					(in.Code == "" || t.code == in.Code && (in.Subcode == "" || t.subcode == in.Subcode))
			}
		}
		if !have {
			return s, fmt.Errorf("scenario: incidents[%d]: %s has no %s errors with code %q subcode %q", i, in.Provider, in.Kind, in.Code, in.Subcode)
		}
	}
	s.Incidents = incidents
	for i, su := range s.Surges {
		if su.Provider != "" && templates[su.Provider] == nil || !(su.Factor > 0) || su.Length < time.Minute {
			return s, fmt.Errorf("scenario: surges[%d]: needs a known provider (or none), a positive factor and a length of at least 1m", i)
		}
	}
	for i, b := range s.Blips {
		if templates[b.Provider][b.Kind] == nil || b.Count < 1 {
			return s, fmt.Errorf("scenario: blips[%d]: needs a provider with errors of kind %q and a positive count", i, b.Kind)
		}
	}
	for i, tn := range s.Tenants {
		where := fmt.Sprintf("scenario: tenants[%d] (%s)", i, tn.Name)
		if tn.Name == "" || templates[tn.Provider] == nil || !(tn.Share > 0 && tn.Share <= 1) {
			return s, fmt.Errorf("%s: needs a name, a known provider and a share in (0, 1]", where)
		}
		if tn.Hours[0] < 0 || tn.Hours[0] > 23 || tn.Hours[1] < 0 || tn.Hours[1] > 24 {
			return s, fmt.Errorf("%s: hours must be UTC hours, from 0 to 24", where)
		}
		var total float64
		for k, v := range tn.Errors {
			if templates[tn.Provider][k] == nil || v < 0 || v > 1 {
				return s, fmt.Errorf("%s: errors.%s: the provider has no such errors, or the share is not in [0, 1]", where, k)
			}
			total += v
		}
		if total > 1 {
			return s, fmt.Errorf("%s: errors add up to more than all requests", where)
		}
	}
	return s, nil
}

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
