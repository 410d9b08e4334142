// This file judges a series at a minute (windows, baselines, the test)
// and estimates an incident's start, end and description.

package detect

import (
	"fmt"
	"math"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// window returns the first minute of the window ending with minute i and
// its requests: Window minutes, doubled up to MaxWindow until it holds
// MinRequests requests. ok is false when even MaxWindow holds fewer, or
// the counts do not reach back far enough.
func (t *tracker) window(i int) (lo int, n int64, ok bool) {
	w := int(t.params.Window / time.Minute)
	maxW := int(t.params.MaxWindow / time.Minute)
	for {
		lo = i - w + 1
		if lo < 0 {
			return 0, 0, false
		}
		n = t.requests[i+1] - t.requests[lo]
		if n >= t.params.MinRequests {
			return lo, n, true
		}
		if w >= maxW {
			return lo, n, false
		}
		w = min(2*w, maxW)
	}
}

func (s *series) count(lo, hi int) int64 { return s.minute[hi+1] - s.minute[lo] }

// baseline returns the series' expected rate in hour h and its spread:
// the median and MAD of the rates of the same hour (and the hours either
// side) in each of the last Weeks weeks and yesterday, and of the last two
// hours. A sample counts when it holds MinBaselineRequests requests; the
// baseline needs MinBaselines of them.
func (e *engine) baseline(t *tracker, s *series, h int) baseline {
	if s.baselines == nil {
		s.baselines = make([]baseline, len(t.hourReq))
	}
	if h < 0 || h >= len(s.baselines) {
		return baseline{}
	}
	if b := s.baselines[h]; b.done {
		return b
	}
	var rates []float64
	sample := func(hours ...int) {
		var k, n int64
		for _, x := range hours {
			if x < 0 || x >= len(t.hourReq) {
				return
			}
			n += t.hourReq[x]
			k += s.hour[x]
		}
		if n >= t.params.MinBaselineRequests {
			rates = append(rates, float64(k)/float64(n))
		}
	}
	for w := 1; w <= t.params.Weeks; w++ {
		x := h - 168*w
		sample(x-1, x, x+1)
	}
	sample(h-25, h-24, h-23)
	sample(h-2, h-1)
	b := baseline{done: true}
	if len(rates) >= t.params.MinBaselines {
		b.rate, b.sigma = medianMAD(rates)
		b.ok = true
	}
	s.baselines[h] = b
	return b
}

// judgement is the opening condition of a series at a minute.
type judgement struct {
	significant  bool
	lo           int
	n, k         int64
	rate         float64
	expected     float64
	threshold    float64 // the opening threshold
	closeBelow   float64
	excessErrors float64
}

// judge tells whether the opening condition of series s holds at minute
// i, in any of the windows ending there (Window, doubled up to MaxWindow)
// that hold MinRequests requests: short windows see a sharp rise soon,
// long ones a moderate one surely. It returns the first window that holds
// it, or else the shortest judged.
func (e *engine) judge(t *tracker, s *series, i int) judgement {
	var first judgement
	judged := false
	w := int(t.params.Window / time.Minute)
	maxW := int(t.params.MaxWindow / time.Minute)
	for {
		lo := i - w + 1
		if lo < t.barrier {
			break
		}
		if n := t.requests[i+1] - t.requests[lo]; n >= t.params.MinRequests {
			j := e.judgeWindow(t, s, i, lo, n)
			if j.significant {
				return j
			}
			if !judged {
				first, judged = j, true
			}
		}
		if w >= maxW {
			break
		}
		w = min(2*w, maxW)
	}
	return first
}

func (e *engine) judgeWindow(t *tracker, s *series, i, lo int, n int64) judgement {
	j := judgement{lo: lo, n: n}
	j.k = s.count(lo, i)
	j.rate = float64(j.k) / float64(n)
	p := t.params
	if t.rule == NewCode {
		firstSeen := t.firstSeen.Truncate(time.Minute)
		at := e.minuteTime(i)
		j.threshold = p.MinDelta
		j.closeBelow = p.MinDelta * p.CloseFraction
		j.significant = !at.Before(firstSeen) && at.Sub(firstSeen) < p.Novelty &&
			j.k >= p.MinCount && j.rate >= p.MinDelta
		return j
	}
	if j.k < p.MinCount {
		return j // too few errors to page whatever the baseline
	}
	h, _ := e.c.hourIndex(e.minuteTime(i))
	b := e.baseline(t, s, h)
	if !b.ok {
		return j
	}
	band := b.rate + p.MADs*b.sigma
	j.expected = b.rate
	j.threshold = max(b.rate*p.MinRatio, b.rate+p.MinDelta, band)
	j.closeBelow = b.rate + p.CloseFraction*(j.threshold-b.rate)
	j.excessErrors = float64(j.k) - b.rate*float64(n)
	if j.k < p.MinCount || j.rate < j.threshold {
		return j
	}
	j.significant = binomialUpperTail(j.k, n, band) <= p.Alpha
	return j
}

// hot reports whether an open incident is still on at minute i: its
// series' rate in the window (the widest when traffic is low) is at least
// its closing threshold. A window without any traffic keeps it on.
func (e *engine) hot(t *tracker, o *openIncident, i int) bool {
	lo, n, _ := t.window(i)
	if n == 0 {
		return true // no traffic to judge by: nothing changes
	}
	k := o.series.count(lo, i)
	rate := float64(k) / float64(n)
	if k > 0 && rate >= o.CloseBelow {
		if rate > o.Observed {
			o.Observed, o.ObservedCount, o.ObservedRequests = rate, k, n
			o.ObservedWindow = time.Duration(i-lo+1) * time.Minute
		}
		return true
	}
	return false
}

// onset estimates when the incident began: the change point of its
// series' rate from the baseline to the rate that opened it, within the
// widest window before the opening minute (and after the last incident).
func (e *engine) onset(t *tracker, s *series, j judgement, i int) time.Time {
	lo := max(i-int(t.params.MaxWindow/time.Minute)+1, t.barrier, 0)
	latest := i - int(t.params.For/time.Minute) + 1
	return e.minuteTime(min(changepoint(t.requests, s, lo, i, j.expected, j.rate, true), latest))
}

// lastHot estimates when an incident ended: the change point of its
// series' rate from the worst rate seen back to the baseline, between
// MaxWindow before its quiet run began and now.
func (e *engine) lastHot(t *tracker, o *openIncident, i int) time.Time {
	start, _ := e.c.minuteIndex(o.StartsAt)
	lo := max(o.quietSince-int(t.params.MaxWindow/time.Minute), start, 0)
	return e.minuteTime(changepoint(t.requests, o.series, lo, i, o.Expected, max(o.Observed, o.CloseBelow), false))
}

// changepoint finds where the rate of series s in minutes [lo, hi] steps
// between p0 (the baseline) and p1 (the incident's rate), by maximum
// likelihood: each minute's evidence for p1 against p0 is the log
// likelihood ratio k·ln(p1/p0) − n·(p1−p0) of its k errors in n requests
// (Poisson), and the step is where the evidence on the incident's side
// adds up most. Rising, it returns the first minute at p1 (a start);
// falling, the first minute back at p0 (an end, hi+1 if none).
func changepoint(requests []int64, s *series, lo, hi int, p0, p1 float64, rising bool) int {
	p0 = max(p0, 1e-6)
	p1 = max(p1, 2*p0)
	gain, cost := math.Log(p1/p0), p1-p0
	llr := func(m int) float64 {
		return float64(s.count(m, m))*gain - float64(requests[m+1]-requests[m])*cost
	}
	if rising {
		best, at, sum := math.Inf(-1), hi, 0.0
		for m := hi; m >= lo; m-- {
			sum += llr(m)
			if sum > best {
				best, at = sum, m
			}
		}
		return at
	}
	best, at, sum := 0.0, lo, 0.0
	for m := lo; m <= hi; m++ {
		sum += llr(m)
		if sum > best {
			best, at = sum, m+1
		}
	}
	return at
}

// describe names what an incident is about from the window [lo, hi]: the
// category with the most errors, and the code (and subcode) when the
// series is one code's or one code has most (60%) of the errors.
func (e *engine) describe(t *tracker, s *series, lo, hi int) (classify.Category, string, string) {
	byCat := map[classify.Category]int64{}
	type cs struct{ code, subcode string }
	byCode := map[cs]int64{}
	var total int64
	for _, ki := range t.keys {
		k := e.c.keyList[ki]
		if s.code != "" && (k.code != s.code || t.rule != NewCode && k.subcode != s.subcode) {
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

// summary says what happened in one line.
func summary(in *Incident) string {
	pct := func(x float64) string {
		switch {
		case x >= 0.1:
			return fmt.Sprintf("%.0f%%", 100*x)
		case x >= 0.001:
			return fmt.Sprintf("%.1f%%", 100*x)
		default:
			return fmt.Sprintf("%.2g%%", 100*x)
		}
	}
	win := fmtDuration(in.ObservedWindow)
	if in.Rule == NewCode {
		return fmt.Sprintf("%s returns a code never seen before: %s (%s), %d of %d requests (%s) in %s",
			in.Provider, in.Code, in.Category, in.ObservedCount, in.ObservedRequests, pct(in.Observed), win)
	}
	what := in.Rule.what()
	if in.Series != "" {
		what += " of " + codeName(in.Code, in.Subcode)
	} else if in.Code != "" {
		what += " (mostly " + codeName(in.Code, in.Subcode) + ")"
	}
	ratio := ""
	if in.Expected > 0 {
		ratio = fmt.Sprintf(", %.1f× the expected %s", in.Observed/in.Expected, pct(in.Expected))
	} else {
		ratio = ", expected none"
	}
	return fmt.Sprintf("%s %s at %s of requests (%d of %d in %s)%s",
		in.Provider, what, pct(in.Observed), in.ObservedCount, in.ObservedRequests, win, ratio)
}

func codeName(code, subcode string) string {
	if subcode == "" {
		return code
	}
	return code + "/" + subcode
}

func fmtDuration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
