// This file decides, when an alert opens, whether it pages: not inside a
// maintenance window, not when it recurs every week, and not when another
// alert already pages for the same incident.

package detect

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// start records an alert opened at minute i and decides whether it pages.
func (e *engine) start(o *openAlert, i int) {
	o.t.open = o
	switch {
	case e.maintenance(o, i):
	case e.recurring(o):
	case e.join(o):
	default:
		o.PagedAt = o.DetectedAt
	}
	e.open = append(e.open, o)
}

// maintenance suppresses an alert opened inside one of its provider's
// maintenance windows, until the window ends.
func (e *engine) maintenance(o *openAlert, i int) bool {
	at := e.minuteTime(i)
	for _, w := range e.cfg.Maintenance(o.Provider) {
		if _, end, ok := w.Covering(at); ok {
			o.Suppression = Suppression{Reason: Maintenance, Until: end, Detail: "maintenance " + w.String()}
			return true
		}
	}
	return false
}

// recurring suppresses an alert when the same rule, provider and subject
// alerted at the same minute of the week (its start or its detection
// within RecurTolerance) in at least RecurAfter of the last RecurWeeks
// weeks: an event of the provider's
// week, such as a weekly maintenance nobody declared. It is suppressed for
// as long as the longest of those lasted (and the tolerance): still firing
// after that, on fresh evidence, it pages.
func (e *engine) recurring(o *openAlert) bool {
	p := o.t.params
	weeks := map[int]time.Time{}
	var longest time.Duration
	for _, h := range e.history {
		if h.Rule != o.Rule || h.Provider != o.Provider || h.Subject != o.Subject {
			continue
		}
		d := o.StartsAt.Sub(h.StartsAt)
		w := int((d + week/2) / week)
		if w < 1 || w > p.RecurWeeks {
			continue
		}
		// The same minute of the week: the starts, or the detections (a
		// start is uncertain where calls are minutes apart).
		near := func(off time.Duration) bool { return off >= -p.RecurTolerance && off <= p.RecurTolerance }
		if !near(d-time.Duration(w)*week) && !near(o.DetectedAt.Sub(h.DetectedAt)-time.Duration(w)*week) {
			continue
		}
		weeks[w] = h.StartsAt
		longest = max(longest, h.EndsAt.Sub(h.StartsAt))
	}
	if len(weeks) < p.RecurAfter {
		return false
	}
	var seen []string
	for _, w := range slices.Sorted(maps.Keys(weeks)) {
		seen = append(seen, weeks[w].UTC().Format("2006-01-02 15:04"))
	}
	o.Suppression = Suppression{Reason: Recurring, Until: o.StartsAt.Add(longest + p.RecurTolerance),
		Detail: "also started at this minute of the week on " + strings.Join(seen, ", ")}
	return true
}

// join makes an alert part of an incident another alert of the provider
// already has open, when they see the same errors: a new code of a
// category a firing rate rule follows, a rate rule's category of a firing
// new code, a new code while another new code fires. The alert is kept,
// suppressed while its parent fires; the parent names it in its context
// and takes its severity when higher. It pages on its own only if it
// outlasts the parent on fresh evidence.
func (e *engine) join(o *openAlert) bool {
	parent := e.related(o)
	if parent == nil {
		return false
	}
	o.parent = parent
	parent.children = append(parent.children, o)
	o.Parent, o.ParentID = parent.Key(), parent.ID
	o.Suppression = Suppression{Reason: Joined, Detail: fmt.Sprintf("part of %s %s since %s", parent.Rule, parent.Provider,
		parent.StartsAt.UTC().Format("2006-01-02 15:04"))}
	j := JoinedAlert{Rule: o.Rule, Subject: o.Subject, Category: o.Category, Code: o.Code, Severity: o.Severity,
		DetectedAt: o.DetectedAt, Summary: summary(&o.Alert)}
	joined := slices.DeleteFunc(parent.Context.Joined, func(x JoinedAlert) bool { return x.Rule == j.Rule && x.Subject == j.Subject })
	parent.Context.Joined = append(joined, j)
	if severityRank(o.Severity) > severityRank(parent.Severity) {
		parent.Severity = o.Severity
	}
	return true
}

// related finds the open alert o joins, if any: the first opened of the
// provider's that sees the same errors and joined none itself; for a new
// code, a rate rule's before another new code's.
func (e *engine) related(o *openAlert) *openAlert {
	var fallback *openAlert
	for _, x := range e.open {
		if x == o || x.Provider != o.Provider || x.parent != nil {
			continue
		}
		switch {
		case o.Rule == NewCode && x.Rule != NewCode && slices.Contains(x.Rule.Categories(), o.Category):
			return x
		case o.Rule == NewCode && x.Rule == NewCode:
			if fallback == nil {
				fallback = x
			}
		case o.Rule != NewCode && x.Rule == NewCode && slices.Contains(o.Rule.Categories(), x.Category):
			return x
		}
	}
	return fallback
}
