package detect

import (
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// describe names what an alert is about from the window [lo, hi]: the
// category with the most errors, and the code (and subcode) when the
// series is one code's or one code has most (60%) of the errors.
func (e *engine) describe(t *tracker, s *series, lo, hi int) (classify.Category, string, string) {
	byCat := map[classify.Category]int64{}
	type cs struct{ code, subcode string }
	byCode := map[cs]int64{}
	var total int64
	for _, ki := range t.keys {
		k := e.c.keyList[ki]
		if s.code != "" && (k.code != s.code || k.subcode != s.subcode) {
			continue
		}
		n := e.c.minute[ki][hi+1] - e.c.minute[ki][lo]
		byCat[k.category] += n
		byCode[cs{k.code, k.subcode}] += n
		total += n
	}
	var cat classify.Category
	if cats := t.rule.Categories(); len(cats) > 0 {
		cat = cats[0]
	}
	var most int64 = -1
	for c, n := range byCat {
		if n > most || n == most && c < cat {
			cat, most = c, n
		}
	}
	if s.code != "" {
		return cat, s.code, s.subcode
	}
	var top cs
	most = -1
	for c, n := range byCode {
		if n > most || n == most && (c.code < top.code || c.code == top.code && c.subcode < top.subcode) {
			top, most = c, n
		}
	}
	if total > 0 && float64(most) >= 0.6*float64(total) {
		return cat, top.code, top.subcode
	}
	return cat, "", ""
}

// pct prints a share of requests.
func pct(x float64) string {
	switch {
	case x >= 0.1:
		return fmt.Sprintf("%.0f%%", 100*x)
	case x >= 0.001:
		return fmt.Sprintf("%.1f%%", 100*x)
	default:
		return fmt.Sprintf("%.2g%%", 100*x)
	}
}

// summary says what happened in one line.
func summary(a *Alert) string {
	win := fmtDuration(a.ObservedWindow)
	if a.Rule == NewCode {
		return fmt.Sprintf("%s returns a code never seen before: %s (%s), %d of %d requests (%s) in %s",
			a.Provider, a.Code, a.Category, a.ObservedCount, a.ObservedRequests, pct(a.Observed), win)
	}
	what := a.Rule.what()
	if a.Series != "" {
		what += " of " + codeName(a.Code, a.Subcode)
	} else if a.Code != "" {
		what += " (mostly " + codeName(a.Code, a.Subcode) + ")"
	}
	ratio := ""
	if a.Expected > 0 && a.Observed/a.Expected < 1000 {
		ratio = fmt.Sprintf(", %.1f× the expected %s", a.Observed/a.Expected, pct(a.Expected))
	} else {
		ratio = fmt.Sprintf(", expected %s", pct(a.Expected))
	}
	return fmt.Sprintf("%s %s at %s of requests (%d of %d in %s)%s",
		a.Provider, what, pct(a.Observed), a.ObservedCount, a.ObservedRequests, win, ratio)
}

func codeName(code, subcode string) string {
	if subcode == "" {
		return code
	}
	return code + "/" + subcode
}

func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
