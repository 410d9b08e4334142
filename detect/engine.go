package detect

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// Incident is an alert as the detectors see it: one incident of a rule for
// a provider and a subject, from its start to its end.
type Incident struct {
	// ID is the stored alert's id, passed through from State.Open; 0 for
	// an incident opened by this evaluation.
	ID       int64
	Rule     Rule
	Provider string
	// Subject tells incidents of one rule and provider apart: the code of
	// a new-code incident, "" otherwise.
	Subject  string
	Category classify.Category
	Code     string
	Subcode  string
	Severity string
	// Series is the series the incident follows: "" for the rule's rate,
	// a decline code's (EncodeSeries) or a new code.
	Series string
	// Expected is the baseline rate, CloseBelow the rate under which the
	// incident counts as over: both fixed when it opened.
	Expected   float64
	CloseBelow float64
	// Observed is the worst rate seen, of ObservedCount errors in
	// ObservedRequests requests over ObservedWindow.
	Observed         float64
	ObservedCount    int64
	ObservedRequests int64
	ObservedWindow   time.Duration
	StartsAt         time.Time
	EndsAt           time.Time // zero while firing
	DetectedAt       time.Time // the end of the minute whose evaluation opened it
	ResolvedAt       time.Time // the end of the minute whose evaluation closed it
	LastEvaluated    time.Time
	Summary          string
}

// Firing reports whether the incident is not over.
func (in *Incident) Firing() bool { return in.EndsAt.IsZero() }

// CodeSeen is when a provider's code was first seen.
type CodeSeen struct {
	Provider, Code string
	FirstSeen      time.Time
}

// State is what an evaluation starts from besides the counts.
type State struct {
	// Open are the incidents firing when the first minute is evaluated.
	Open []Incident
	// Closed are the incidents closed since the plan's CodesSince: a code
	// alerted once is not new any more, and no window of a rule reaches
	// back into its last incident.
	Closed []Incident
	// FirstSeen are the codes first seen since the plan's CodesSince.
	FirstSeen []CodeSeen
	// HistoryStart is the first minute of stored traffic.
	HistoryStart time.Time
}

// ProviderCode is a provider's code.
type ProviderCode struct{ Provider, Code string }

// FollowedCodes returns the codes NewCode follows from st, whatever their
// category, by provider and code: those first seen since the plan's
// CodesSince and those of open new-code incidents. The per-minute errors
// an evaluation needs are those of the plan's Categories and of these
// codes; errors of other categories and codes change nothing.
func (st *State) FollowedCodes() []ProviderCode {
	var out []ProviderCode
	for _, cs := range st.FirstSeen {
		out = append(out, ProviderCode{cs.Provider, cs.Code})
	}
	for _, in := range st.Open {
		if in.Rule == NewCode {
			out = append(out, ProviderCode{in.Provider, in.Subject})
		}
	}
	slices.SortFunc(out, func(a, b ProviderCode) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Code, b.Code))
	})
	return slices.Compact(out)
}

// EncodeSeries names the series of one code and subcode.
func EncodeSeries(code, subcode string) string {
	b, _ := json.Marshal([2]string{code, subcode})
	return string(b)
}

func decodeSeries(s string) (code, subcode string, ok bool) {
	var cs [2]string
	if json.Unmarshal([]byte(s), &cs) != nil {
		return "", "", false
	}
	return cs[0], cs[1], true
}

// Evaluate evaluates every minute of the plan's [From, To), in order, and
// returns the incidents that were firing during any of them: those of
// st.Open, continued or closed, and those opened. An incident is opened
// when its condition holds For consecutive minutes, and closed once its
// rate stays under its closing threshold for ResolveAfter; it carries its
// start, its end, the baseline it was judged against and the worst rate
// seen. The result depends on nothing but the arguments.
func Evaluate(cfg *Config, p Plan, c *Counts, st State) []Incident {
	c.finish()
	e := &engine{cfg: cfg, c: c, plan: p}
	e.build(st)
	from, _ := c.minuteIndex(p.From)
	to := c.nMin
	warm := 0
	for _, t := range e.trackers {
		warm = max(warm, int(t.params.For/time.Minute)-1)
	}
	for i := max(from-warm, 0); i < to; i++ {
		for _, t := range e.trackers {
			e.step(t, i, i >= from)
		}
	}
	var out []Incident
	for _, t := range e.trackers {
		out = append(out, t.done...)
		if t.open != nil {
			out = append(out, t.open.Incident)
		}
	}
	for i := range out {
		out[i].Summary = summary(&out[i])
	}
	slices.SortFunc(out, func(a, b Incident) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

type engine struct {
	cfg      *Config
	c        *Counts
	plan     Plan
	trackers []*tracker
}

// tracker follows one rule for one provider and subject: its series, and
// the incident it has open.
type tracker struct {
	rule     Rule
	provider string
	subject  string
	params   Params
	requests []int64 // the provider's prefix sums per minute
	hourReq  []int64
	series   []*series
	open     *openIncident
	done     []Incident
	// barrier is the first minute that opening windows may start with:
	// the end of the tracker's last incident.
	barrier int
	// NewCode only: when the code was first seen, and its category.
	firstSeen time.Time
	category  classify.Category
	keys      []int // the provider's keys of the rule's categories (or code)
}

type series struct {
	name          string
	code, subcode string
	minute        []int64 // prefix sums
	hour          []int64
	run           int        // consecutive minutes the opening condition held
	baselines     []baseline // per hour, computed once
}

type baseline struct {
	rate, sigma float64
	ok, done    bool
}

type openIncident struct {
	Incident
	series     *series
	quietSince int // minute index where the current quiet run began, -1 when hot
}

func (e *engine) build(st State) {
	providers := make([]string, 0, len(e.c.requests))
	for name := range e.c.requests {
		providers = append(providers, name)
	}
	slices.Sort(providers)
	for _, provider := range providers {
		for _, r := range Rules {
			if r == NewCode {
				continue
			}
			params := e.cfg.Params(r, provider)
			if !params.Enabled {
				continue
			}
			e.trackers = append(e.trackers, e.rateTracker(r, provider, params))
		}
	}
	e.newCodeTrackers(st)
	for _, in := range st.Open {
		e.resume(in)
	}
	for _, in := range st.Closed {
		for _, t := range e.trackers {
			if t.rule == in.Rule && t.provider == in.Provider && t.subject == in.Subject {
				t.setBarrier(e.c, in.EndsAt)
			}
		}
	}
}

// setBarrier keeps opening windows from reaching back before end.
func (t *tracker) setBarrier(c *Counts, end time.Time) {
	if i, _ := c.minuteIndex(end); !end.Before(c.minFrom) && i > t.barrier {
		t.barrier = i
	}
}

// rateSeries sums the provider's keys of the categories.
func (e *engine) rateSeries(t *tracker, cats []classify.Category) *series {
	s := &series{minute: make([]int64, e.c.nMin+1), hour: make([]int64, e.c.nHour)}
	for ki, k := range e.c.keyList {
		if k.provider != t.provider || !slices.Contains(cats, k.category) {
			continue
		}
		if m := e.c.minute[ki]; m != nil {
			t.keys = append(t.keys, ki)
			addTo(s.minute, m)
		}
		if h := e.c.hour[ki]; h != nil && (k.code == "" && k.subcode == "" || e.c.detailed[k.category]) {
			addTo(s.hour, h)
		}
	}
	return s
}

// codeSeries returns one series per decline code and subcode of the
// provider.
func (e *engine) codeSeries(t *tracker) []*series {
	byName := map[string]*series{}
	var out []*series
	get := func(k key) *series {
		name := EncodeSeries(k.code, k.subcode)
		s := byName[name]
		if s == nil {
			s = &series{name: name, code: k.code, subcode: k.subcode,
				minute: make([]int64, e.c.nMin+1), hour: make([]int64, e.c.nHour)}
			byName[name] = s
			out = append(out, s)
		}
		return s
	}
	for ki, k := range e.c.keyList {
		if k.provider != t.provider || k.category != classify.Decline {
			continue
		}
		if m := e.c.minute[ki]; m != nil {
			addTo(get(k).minute, m)
		}
		if h := e.c.hour[ki]; h != nil {
			addTo(get(k).hour, h)
		}
	}
	slices.SortFunc(out, func(a, b *series) int { return cmp.Compare(a.name, b.name) })
	return out
}

// newCodeTrackers follows each code first seen since the plan's
// CodesSince that is new: stored history began at least MinHistory
// before it, and it was not alerted on already.
func (e *engine) newCodeTrackers(st State) {
	alerted := map[[2]string]bool{}
	for _, in := range st.Closed {
		if in.Rule == NewCode {
			alerted[[2]string{in.Provider, in.Subject}] = true
		}
	}
	for _, cs := range st.FirstSeen {
		params := e.cfg.Params(NewCode, cs.Provider)
		if !params.Enabled || e.c.requests[cs.Provider] == nil || alerted[[2]string{cs.Provider, cs.Code}] ||
			st.HistoryStart.IsZero() || cs.FirstSeen.Sub(st.HistoryStart) < params.MinHistory {
			continue
		}
		t := e.codeTracker(cs.Provider, cs.Code, params)
		t.firstSeen = cs.FirstSeen
		e.trackers = append(e.trackers, t)
	}
}

// codeTracker follows one code of a provider, whatever its category.
func (e *engine) codeTracker(provider, code string, params Params) *tracker {
	req := e.c.provider(provider)
	t := &tracker{rule: NewCode, provider: provider, subject: code, params: params,
		requests: req.minute, hourReq: req.hour}
	s := &series{name: code, code: code, minute: make([]int64, e.c.nMin+1)}
	var most int64 = -1
	for ki, k := range e.c.keyList {
		if k.provider != provider || k.code != code || e.c.minute[ki] == nil {
			continue
		}
		t.keys = append(t.keys, ki)
		addTo(s.minute, e.c.minute[ki])
		if n := e.c.minute[ki][e.c.nMin]; n > most {
			most, t.category = n, k.category
		}
	}
	t.series = []*series{s}
	return t
}

// rateTracker follows a rate rule for a provider.
func (e *engine) rateTracker(r Rule, provider string, params Params) *tracker {
	req := e.c.provider(provider)
	t := &tracker{rule: r, provider: provider, params: params, requests: req.minute, hourReq: req.hour}
	t.series = append(t.series, e.rateSeries(t, r.Categories()))
	if r == DeclineSpike {
		t.series = append(t.series, e.codeSeries(t)...)
	}
	return t
}

// resume continues a stored incident: it finds its tracker (making one
// when the provider has no traffic in the plan) and how long it has been
// quiet before the first minute evaluated.
func (e *engine) resume(in Incident) {
	var t *tracker
	for _, x := range e.trackers {
		if x.rule == in.Rule && x.provider == in.Provider && x.subject == in.Subject {
			t = x
			break
		}
	}
	if t == nil {
		// The rule is off for the provider now, or the code is no longer
		// new: the incident still runs its course.
		params := e.cfg.Params(in.Rule, in.Provider)
		if in.Rule == NewCode {
			t = e.codeTracker(in.Provider, in.Subject, params)
		} else {
			t = e.rateTracker(in.Rule, in.Provider, params)
		}
		e.trackers = append(e.trackers, t)
	}
	var s *series
	for _, x := range t.series {
		if x.name == in.Series {
			s = x
		}
	}
	if s == nil { // a decline code with no errors in the plan
		code, subcode, _ := decodeSeries(in.Series)
		s = &series{name: in.Series, code: code, subcode: subcode, minute: make([]int64, e.c.nMin+1), hour: make([]int64, e.c.nHour)}
		t.series = append(t.series, s)
	}
	o := &openIncident{Incident: in, series: s, quietSince: -1}
	from, _ := e.c.minuteIndex(e.plan.From)
	start, _ := e.c.minuteIndex(maxTime(in.DetectedAt, e.plan.From.Add(-t.params.ResolveAfter)))
	for i := start; i < from; i++ {
		if e.hot(t, o, i) {
			o.quietSince = -1
		} else if o.quietSince < 0 {
			o.quietSince = i
		}
	}
	t.open = o
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func addTo(dst, src []int64) {
	for i := range dst {
		dst[i] += src[i]
	}
}

func (e *engine) minuteTime(i int) time.Time { return e.c.minFrom.Add(time.Duration(i) * time.Minute) }

// step evaluates minute i for the tracker; before the first minute of the
// plan (live false) it only counts how long opening conditions have held.
func (e *engine) step(t *tracker, i int, live bool) {
	end := e.minuteTime(i + 1)
	if o := t.open; o != nil {
		if !live {
			return
		}
		o.LastEvaluated = end
		if e.hot(t, o, i) {
			o.quietSince = -1
			return
		}
		if o.quietSince < 0 {
			o.quietSince = i
		}
		if time.Duration(i-o.quietSince+1)*time.Minute < t.params.ResolveAfter {
			return
		}
		o.EndsAt = maxTime(e.lastHot(t, o, i), o.StartsAt)
		o.ResolvedAt = end
		t.done = append(t.done, o.Incident)
		t.open = nil
		t.setBarrier(e.c, o.EndsAt)
		for _, s := range t.series {
			s.run = 0
		}
		return
	}
	need := int(t.params.For / time.Minute)
	var trigger *series
	var tj judgement
	for _, s := range t.series {
		j := e.judge(t, s, i)
		if !j.significant {
			s.run = 0
			continue
		}
		s.run++
		if s.run < need || !live {
			continue
		}
		// The rule's own rate wins; among codes, the largest excess.
		if trigger == nil || (trigger != t.series[0] && j.excessErrors > tj.excessErrors) {
			trigger, tj = s, j
		}
	}
	if trigger != nil {
		t.open = e.openAt(t, trigger, tj, i)
	}
}

// openAt opens an incident of series s at minute i, judged j.
func (e *engine) openAt(t *tracker, s *series, j judgement, i int) *openIncident {
	o := &openIncident{series: s, quietSince: -1}
	o.Rule, o.Provider, o.Subject = t.rule, t.provider, t.subject
	o.Severity = t.params.Severity
	o.Series = s.name
	o.Expected, o.CloseBelow = j.expected, j.closeBelow
	o.Observed, o.ObservedCount, o.ObservedRequests = j.rate, j.k, j.n
	o.ObservedWindow = time.Duration(i-j.lo+1) * time.Minute
	o.DetectedAt = e.minuteTime(i + 1)
	o.LastEvaluated = o.DetectedAt
	o.StartsAt = e.onset(t, s, j, i)
	o.Category, o.Code, o.Subcode = e.describe(t, s, j.lo, i)
	if t.rule == NewCode {
		o.Code = t.subject
		o.Category = t.category
	}
	return o
}
