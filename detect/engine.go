package detect

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// CodeSeen is when a provider's code was first seen.
type CodeSeen struct {
	Provider, Code string
	FirstSeen      time.Time
}

// State is what an evaluation starts from besides the counts.
type State struct {
	// Open are the alerts firing when the first minute is evaluated.
	Open []Alert
	// History are the alerts closed since the plan's HistorySince: the
	// weeks recurrence is learned from; no window of a rule reaches back
	// into its last incident.
	History []Alert
	// FirstSeen are the codes first seen since the plan's CodesSince.
	FirstSeen []CodeSeen
	// CodeAlerts are the new-code alerts ever stored of the codes of
	// FirstSeen: a code alerts once.
	CodeAlerts []Alert
	// HistoryStart is the first minute of stored traffic.
	HistoryStart time.Time
}

// ProviderCode is a provider's code.
type ProviderCode struct{ Provider, Code string }

// FollowedCodes returns the codes NewCode follows from st, whatever their
// category, by provider and code: those first seen since the plan's
// CodesSince and those of open new-code alerts. The per-minute errors an
// evaluation needs are those of the plan's Categories and of these codes;
// errors of other categories and codes change nothing.
func (st *State) FollowedCodes() []ProviderCode {
	var out []ProviderCode
	for _, cs := range st.FirstSeen {
		out = append(out, ProviderCode{cs.Provider, cs.Code})
	}
	for _, a := range st.Open {
		if a.Rule == NewCode {
			out = append(out, ProviderCode{a.Provider, a.Subject})
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

// closeEvidence is the evidence, in nats, that an alert's rate is back
// under its closing rate that closes it: 100 to 1.
var closeEvidence = math.Log(100)

// Evaluate evaluates every minute of the plan's [From, To), in order, and
// returns the alerts that were firing during any of them: those of
// st.Open, continued or closed, and those opened. An alert opens when the
// evidence of a minute's window says so (see doc.go), closes when its rate
// is back, and is suppressed when a maintenance window, its weekly
// recurrence or another alert of the same incident says so. The result
// depends on nothing but the arguments.
func Evaluate(cfg *Config, p Plan, c *Counts, st State) []Alert {
	c.finish()
	e := &engine{cfg: cfg, c: c, plan: p}
	e.from, _ = c.minuteIndex(p.From)
	e.hourOffset = int(c.minFrom.Sub(c.hourFrom) / time.Hour)
	e.build(st)
	start := max(e.from-int(cfg.maxLookback()/time.Minute), 0)
	for i := start; i < c.nMin; i++ {
		for _, t := range e.trackers {
			if t.code != nil {
				e.stepCode(t, i, i >= e.from)
			} else {
				e.stepRate(t, i, i >= e.from)
			}
		}
	}
	var out []Alert
	for _, t := range e.trackers {
		out = append(out, t.done...)
		if t.open != nil {
			out = append(out, t.open.Alert)
		}
	}
	for i := range out {
		out[i].Summary = summary(&out[i])
	}
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Subject, b.Subject))
	})
	return out
}

type engine struct {
	cfg        *Config
	c          *Counts
	plan       Plan
	from       int // the minute index of plan.From
	hourOffset int // the hour index of the first minute
	trackers   []*tracker
	// history are the closed alerts recurrence is learned from: the
	// state's and those closed by this evaluation.
	history []*Alert
	// open are the alerts firing now, in the order they opened.
	open []*openAlert
}

// tracker follows one rule for one provider and subject: its series, and
// the alert it has open.
type tracker struct {
	rule     Rule
	provider string
	subject  string
	params   Params
	requests []int64 // the provider's prefix sums per minute
	hourReq  []int64
	series   []*series
	open     *openAlert
	done     []Alert
	// barrier is the first minute that windows may start with: the end of
	// the tracker's last incident, or of its alert's suppression.
	barrier int
	keys    []int // the provider's keys of the rule's categories (or code)
	code    *newCode
}

// openAlert is an alert firing, with what the engine follows it by.
type openAlert struct {
	Alert
	t        *tracker
	series   *series
	parent   *openAlert
	children []*openAlert
}

func (e *engine) minuteTime(i int) time.Time { return e.c.minFrom.Add(time.Duration(i) * time.Minute) }

func (e *engine) minuteIndex(t time.Time) int {
	d := t.Sub(e.c.minFrom)
	i := int(d / time.Minute)
	if d < 0 && d%time.Minute != 0 {
		i-- // floor, not towards zero
	}
	return i
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
			if params := e.cfg.Params(r, provider); params.Enabled {
				e.trackers = append(e.trackers, e.rateTracker(r, provider, params))
			}
		}
	}
	for i := range st.History {
		e.history = append(e.history, &st.History[i])
	}
	e.newCodeTrackers(st)
	for _, a := range st.Open {
		e.resume(a)
	}
	e.link()
	for _, a := range e.history {
		for _, t := range e.trackers {
			if t.rule == a.Rule && t.provider == a.Provider && t.subject == a.Subject {
				t.setBarrier(e.minuteIndex(a.EndsAt))
			}
		}
	}
}

func (t *tracker) setBarrier(i int) { t.barrier = max(t.barrier, i) }

func (e *engine) tracker(r Rule, provider, subject string) *tracker {
	for _, t := range e.trackers {
		if t.rule == r && t.provider == provider && t.subject == subject {
			return t
		}
	}
	return nil
}

// rateTracker follows a rate rule for a provider: the rule's rate and, for
// declines, each decline code's.
func (e *engine) rateTracker(r Rule, provider string, params Params) *tracker {
	req := e.c.provider(provider)
	t := &tracker{rule: r, provider: provider, params: params, requests: req.minute, hourReq: req.hour}
	t.series = append(t.series, e.rateSeries(t, r.Categories()))
	if r == DeclineSpike {
		t.series = append(t.series, e.codeSeries(t)...)
	}
	return t
}

// rateSeries sums the provider's keys of the categories.
func (e *engine) rateSeries(t *tracker, cats []classify.Category) *series {
	s := e.newSeries("", "", "")
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
			s = e.newSeries(name, k.code, k.subcode)
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

func (e *engine) newSeries(name, code, subcode string) *series {
	return &series{name: name, code: code, subcode: subcode,
		minute: make([]int64, e.c.nMin+1), hour: make([]int64, e.c.nHour)}
}

func addTo(dst, src []int64) {
	for i := range dst {
		dst[i] += src[i]
	}
}

// resume continues a stored alert: it finds its tracker (making one when
// the provider has no traffic in the plan, the rule is now off for it or
// the code is no longer new: the alert still runs its course).
func (e *engine) resume(a Alert) {
	t := e.tracker(a.Rule, a.Provider, a.Subject)
	if t == nil {
		params := e.cfg.Params(a.Rule, a.Provider)
		if a.Rule == NewCode {
			t = e.codeTracker(a.Provider, a.Subject, a.StartsAt, params)
		} else {
			t = e.rateTracker(a.Rule, a.Provider, params)
		}
		e.trackers = append(e.trackers, t)
	}
	var s *series
	for _, x := range t.series {
		if x.name == a.Series {
			s = x
		}
	}
	if s == nil { // a decline code with no errors in the plan
		code, subcode, _ := decodeSeries(a.Series)
		s = e.newSeries(a.Series, code, subcode)
		t.series = append(t.series, s)
	}
	o := &openAlert{Alert: a, t: t, series: s}
	if o.Rule != NewCode && !(o.Level > o.Expected) {
		// Stored before alerts kept their level (migration 00009): the
		// closing threshold was half way to the opening one.
		o.Level = max(2*o.CloseBelow-o.Expected, 2*o.Expected, 1e-6)
	}
	t.open = o
	e.open = append(e.open, o)
}

// link joins the resumed alerts to their parents; one whose parent is no
// longer firing has its suppression end where the evaluation begins.
func (e *engine) link() {
	for _, o := range e.open {
		if o.Suppression.Reason != Joined || o.Paging() {
			continue
		}
		for _, x := range e.open {
			if x != o && (o.ParentID != 0 && x.ID == o.ParentID || o.ParentID == 0 && o.Parent != "" && x.Key() == o.Parent) {
				o.parent = x
				x.children = append(x.children, o)
			}
		}
		if o.parent == nil && o.Suppression.Until.IsZero() {
			o.Suppression.Until = e.plan.From
			o.t.setBarrier(e.from)
		}
	}
}

// stepRate evaluates minute i for a rate tracker; before the first minute
// of the plan (live false) it only gathers evidence.
func (e *engine) stepRate(t *tracker, i int, live bool) {
	o := t.open
	lapsed := o != nil && !o.Paging() && !o.Suppression.Until.IsZero() && !e.minuteTime(i).Before(o.Suppression.Until)
	if lapsed {
		t.setBarrier(e.minuteIndex(o.Suppression.Until))
	}
	for _, s := range t.series {
		e.advance(t, s, i)
	}
	if !live {
		return
	}
	end := e.minuteTime(i + 1)
	if o != nil {
		o.LastEvaluated = end
		e.observe(o, i)
		if lapsed && o.series.alarm.ok {
			o.PagedAt = end // it outlasted its suppression on fresh evidence
		}
		if lo, ok := e.over(o, i); ok {
			e.close(o, e.minuteTime(lo), end)
		}
		return
	}
	// The rule's own rate wins; among codes, the most evidence.
	var trigger *series
	for _, s := range t.series {
		if s.alarm.ok && (trigger == nil || trigger != t.series[0] && s.alarm.evidence > trigger.alarm.evidence) {
			trigger = s
		}
	}
	if trigger != nil {
		e.openRate(t, trigger, i)
	}
}

// openRate opens an alert of series s at minute i.
func (e *engine) openRate(t *tracker, s *series, i int) {
	b := e.baseline(t, s, e.hourOffset+i/60)
	al := s.alarm
	o := &openAlert{t: t, series: s}
	o.Rule, o.Provider, o.Subject = t.rule, t.provider, t.subject
	o.Severity = t.params.Severity
	o.Series = s.name
	o.Expected = b.p0
	o.Evidence = al.evidence
	// The start: where the rate steps up from the baseline to the
	// window's, by maximum likelihood over the evidence's window.
	lo := al.lo
	if k, n := s.count(lo, i), t.requests[i+1]-t.requests[lo]; n > 0 {
		lo = changepoint(t.requests, s, max(i-int(t.params.MaxWindow/time.Minute)+1, t.barrier, 0), i, b.p0, float64(k)/float64(n), true)
		lo = min(lo, i-int(t.params.For/time.Minute)+1)
	}
	o.ObservedCount = s.count(lo, i)
	o.ObservedRequests = t.requests[i+1] - t.requests[lo]
	if o.ObservedRequests > 0 {
		o.Observed = float64(o.ObservedCount) / float64(o.ObservedRequests)
	}
	o.ObservedWindow = time.Duration(i-lo+1) * time.Minute
	o.Level = max(al.lowest, o.Observed/2)
	o.CloseBelow = (o.Level - o.Expected) / math.Log(o.Level/o.Expected)
	o.StartsAt = e.minuteTime(lo)
	o.DetectedAt = e.minuteTime(i + 1)
	o.LastEvaluated = o.DetectedAt
	o.Category, o.Code, o.Subcode = e.describe(t, s, lo, i)
	e.start(o, i)
}

// observe keeps the worst rate seen, over windows as long as the one that
// opened the alert holding at least MinCount errors.
func (e *engine) observe(o *openAlert, i int) {
	t := o.t
	lo := max(i-int(o.ObservedWindow/time.Minute)+1, e.minuteIndex(o.StartsAt), 0)
	n := t.requests[i+1] - t.requests[lo]
	if n == 0 {
		return
	}
	k := o.series.count(lo, i)
	if r := float64(k) / float64(n); r > o.Observed && k >= t.params.MinCount {
		o.Observed, o.ObservedCount, o.ObservedRequests = r, k, n
	}
}

// over tells whether a rate alert is over at minute i, and since when: a
// window of at least ResolveAfter minutes (and at most MaxWindow) ending
// with i holds 100:1 evidence that the rate is back at the baseline rather
// than still at the alert's level. The window's first minute is its end.
// A window without traffic says nothing.
func (e *engine) over(o *openAlert, i int) (int, bool) {
	t := o.t
	p := t.params
	opened := e.minuteIndex(o.DetectedAt) - 1
	if i <= opened {
		return 0, false
	}
	p0 := max(o.Expected, 1e-12)
	lr, d := math.Log(p0/o.Level), p0-o.Level
	lowest := max(i-int(p.MaxWindow/time.Minute)+1, e.minuteIndex(o.StartsAt)+1, 0)
	ra := int(p.ResolveAfter / time.Minute)
	sum, best, at := 0.0, math.Inf(-1), -1
	for lo := i; lo >= lowest; lo-- {
		sum += float64(o.series.count(lo, lo))*lr - float64(t.requests[lo+1]-t.requests[lo])*d
		if i-lo+1 >= ra && sum > best {
			best, at = sum, lo
		}
	}
	return at, at >= 0 && best >= closeEvidence
}

// close ends an open alert.
func (e *engine) close(o *openAlert, end, resolved time.Time) {
	t := o.t
	o.EndsAt = maxTime(end, o.StartsAt)
	o.ResolvedAt = resolved
	t.done = append(t.done, o.Alert)
	e.history = append(e.history, &t.done[len(t.done)-1])
	t.open = nil
	t.setBarrier(e.minuteIndex(o.EndsAt))
	for _, s := range t.series {
		s.alarm = alarm{}
	}
	for _, c := range o.children {
		if c.Suppression.Until.IsZero() {
			c.Suppression.Until = resolved
		}
	}
	e.open = slices.DeleteFunc(e.open, func(x *openAlert) bool { return x == o })
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
