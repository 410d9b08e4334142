// This file follows codes never seen before: an alert on their first
// sightings, once per provider and code, ever.

package detect

import (
	"cmp"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// newCode is what a new-code tracker knows of its code.
type newCode struct {
	firstSeen time.Time
	category  classify.Category
	lastSeen  int // the last minute with the code, -1 before any
}

// newCodeTrackers follows each code first seen since the plan's
// CodesSince that is new: the stored history began at least MinHistory
// before it, and no evaluation before this one alerted on it (a new-code
// alert of it detected before the plan's first minute, stored in
// st.CodeAlerts, st.History or st.Open; one detected later is this
// evaluation's to find again).
func (e *engine) newCodeTrackers(st State) {
	alerted := map[ProviderCode]bool{}
	for _, list := range [][]Alert{st.CodeAlerts, st.History, st.Open} {
		for _, a := range list {
			if a.Rule == NewCode && a.DetectedAt.Before(e.plan.From.Add(time.Second)) {
				alerted[ProviderCode{a.Provider, a.Subject}] = true
			}
		}
	}
	seen := slices.Clone(st.FirstSeen)
	slices.SortFunc(seen, func(a, b CodeSeen) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Code, b.Code))
	})
	for _, cs := range seen {
		params := e.cfg.Params(NewCode, cs.Provider)
		if !params.Enabled || e.c.requests[cs.Provider] == nil || alerted[ProviderCode{cs.Provider, cs.Code}] ||
			st.HistoryStart.IsZero() || cs.FirstSeen.Sub(st.HistoryStart) < params.MinHistory {
			continue
		}
		e.trackers = append(e.trackers, e.codeTracker(cs.Provider, cs.Code, cs.FirstSeen, params))
	}
}

// codeTracker follows one code of a provider, whatever its category.
func (e *engine) codeTracker(provider, code string, firstSeen time.Time, params Params) *tracker {
	req := e.c.provider(provider)
	t := &tracker{rule: NewCode, provider: provider, subject: code, params: params,
		requests: req.minute, hourReq: req.hour, code: &newCode{firstSeen: firstSeen, lastSeen: -1}}
	s := &series{name: code, code: code, minute: make([]int64, e.c.nMin+1)}
	var most int64 = -1
	for ki, k := range e.c.keyList {
		if k.provider != provider || k.code != code || e.c.minute[ki] == nil {
			continue
		}
		t.keys = append(t.keys, ki)
		addTo(s.minute, e.c.minute[ki])
		if n := e.c.minute[ki][e.c.nMin]; n > most {
			most, t.code.category = n, k.category
		}
	}
	t.series = []*series{s}
	return t
}

// stepCode evaluates minute i for a new code. Its alert opens with the
// first minute that holds its MinCount-th sighting (within Novelty of the
// first) and closes once the code has not been seen for ResolveAfter. Its
// severity follows the code's rate, as sure as the sightings make it (the
// lower 90% bound): info under MinDelta, the rule's severity, critical from
// CriticalRate; it only rises.
func (e *engine) stepCode(t *tracker, i int, live bool) {
	s, nc, p := t.series[0], t.code, t.params
	if s.count(i, i) > 0 {
		nc.lastSeen = i
	}
	if !live {
		return
	}
	end := e.minuteTime(i + 1)
	window := int(p.MaxWindow / time.Minute)
	first := max(e.minuteIndex(nc.firstSeen), 0)
	if o := t.open; o != nil {
		o.LastEvaluated = end
		lo := max(i-window+1, first, e.minuteIndex(o.StartsAt), 0)
		e.rateSeverity(o, lo, i)
		if !o.Paging() && !o.Suppression.Until.IsZero() && !e.minuteTime(i).Before(o.Suppression.Until) &&
			s.count(max(e.minuteIndex(o.Suppression.Until), 0), i) >= p.MinCount {
			o.PagedAt = end // still seen after its suppression
		}
		last := nc.lastSeen
		if last < 0 {
			last = max(e.minuteIndex(o.StartsAt), 0)
		}
		if i-last >= int(p.ResolveAfter/time.Minute) {
			e.close(o, e.minuteTime(last+1), end)
		}
		return
	}
	at := e.minuteTime(i)
	if len(t.done) > 0 || s.count(i, i) == 0 || at.Before(nc.firstSeen.Truncate(time.Minute)) || at.Sub(nc.firstSeen) >= p.Novelty {
		return // a code alerts once
	}
	lo := max(i-window+1, first)
	if s.count(lo, i) < p.MinCount {
		return
	}
	o := &openAlert{t: t, series: s}
	o.Rule, o.Provider, o.Subject = NewCode, t.provider, t.subject
	o.Series, o.Code, o.Category = s.name, t.subject, nc.category
	o.Severity = "info"
	o.StartsAt = maxTime(nc.firstSeen.Truncate(time.Minute), e.minuteTime(lo))
	o.DetectedAt, o.LastEvaluated = end, end
	for j := lo; j <= i; j++ {
		if s.count(j, j) > 0 {
			o.StartsAt = e.minuteTime(j)
			break
		}
	}
	e.rateSeverity(o, lo, i)
	e.start(o, i)
}

// rateSeverity sets a new code's observed rate over [lo, i] and raises its
// severity to what that rate calls for.
func (e *engine) rateSeverity(o *openAlert, lo, i int) {
	t, p := o.t, o.t.params
	k, n := o.series.count(lo, i), t.requests[i+1]-t.requests[lo]
	if n <= 0 {
		return
	}
	if r := float64(k) / float64(n); r > o.Observed || o.ObservedRequests == 0 {
		o.Observed, o.ObservedCount, o.ObservedRequests = r, k, n
		o.ObservedWindow = time.Duration(i-lo+1) * time.Minute
	}
	sure := rateLowerBound(k, n, 0.1)
	sev := "info"
	switch {
	case sure >= p.CriticalRate:
		sev = "critical"
	case sure >= p.MinDelta:
		sev = p.Severity
	}
	if severityRank(sev) > severityRank(o.Severity) {
		o.Severity = sev
	}
	if o.parent != nil && severityRank(o.Severity) > severityRank(o.parent.Severity) {
		o.parent.Severity = o.Severity
	}
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 3
	case "warning":
		return 2
	case "info":
		return 1
	}
	return 0
}
