// This file estimates a series' baseline for an hour: its expected rate,
// the band of rates that are still normal, and the rates the evidence
// charts test against it.

package detect

import "math"

// baselineDays is how many days before an hour give a sample of the same
// hours each (the seventh day back is the first weekly sample).
const baselineDays = 6

// nCharts is how many elevated rates each series is tested for at once,
// from the smallest rise worth a page to chartTop.
const nCharts = 8

// chartTop is the highest rate a chart tests for.
const chartTop = 0.95

// outlierP is how improbable a baseline sample must be, above the band of
// the others, to be left out as an incident of the past: a sample of
// ordinary traffic is left out once in a thousand.
const outlierP = 1e-3

// baselineHours are the hours before an hour (as [from, to) counts of
// hours back) whose counts its baseline reads: the week before (its days
// are the daily samples, the prior and the recent hours) and the same
// hour in each of weeks earlier weeks.
func baselineHours(weeks int) [][2]int {
	out := [][2]int{{1, 169}}
	for w := 2; w <= weeks; w++ {
		out = append(out, [2]int{168 * w, 168*w + 1})
	}
	return out
}

// baseline is a series' reference in one hour.
type baseline struct {
	ok bool
	// p0 is the expected rate, pa the top of the band of normal rates
	// (the charts' null hypothesis), pmin the smallest rise worth a page.
	p0, pa, pmin float64
	// Each chart j tests the rate level[j] against pa: a minute of k
	// errors in n requests adds k·logRatio[j] − n·diff[j] to its evidence.
	level, logRatio, diff [nCharts]float64
}

// baseline returns the series' baseline in hour h (computed once). The
// samples are the same hour on each of the baselineDays days before and in
// each of the Weeks weeks before (the hour itself, not the hours either
// side: an evening that starts at 18:00 is not smeared over 17:00), and
// the two hours before. Each sample's rate borrows PriorRequests requests at the
// prior, the series' rate over the week before without its worst day: a
// quiet hour leans on the week, a busy one on itself. Samples far above
// the band of the others (median and MAD of their rates) are left out as
// incidents of the past; the rest are pooled into the expected rate, and
// the band is that rate plus MADs spreads: of the samples' rates beyond
// their counting noise, and of the expected rate's own estimate.
func (e *engine) baseline(t *tracker, s *series, h int) *baseline {
	if s.baselines == nil {
		s.baselines = make([]*baseline, len(t.hourReq))
	}
	if h < 0 || h >= len(s.baselines) {
		return &baseline{}
	}
	if b := s.baselines[h]; b != nil {
		return b
	}
	b := &baseline{}
	s.baselines[h] = b
	p := t.params
	sum := func(lo, hi int) (k, n int64) {
		for x := max(lo, 0); x <= hi && x < len(t.hourReq); x++ {
			k += s.hour[x]
			n += t.hourReq[x]
		}
		return k, n
	}

	// The prior: the week before, without its worst day.
	var K, N int64
	worst, worstRate, days := -1, -1.0, 0
	var dk, dn [7]int64
	for d := range 7 {
		dk[d], dn[d] = sum(h-24*(d+1), h-24*d-1)
		if dn[d] > 0 {
			days++
			if r := float64(dk[d]) / float64(dn[d]); r > worstRate {
				worst, worstRate = d, r
			}
		}
	}
	for d := range 7 {
		if d != worst || days < 3 {
			K, N = K+dk[d], N+dn[d]
		}
	}
	if N == 0 {
		return b
	}
	// Jeffreys' estimate: never zero, however clean the week.
	q := (float64(K) + 0.5) / (float64(N) + 1)

	type sample struct{ k, n int64 }
	var samples []sample
	add := func(lo, hi int) {
		if lo < 0 {
			return
		}
		if k, n := sum(lo, hi); n > 0 {
			samples = append(samples, sample{k, n})
		}
	}
	for w := 1; w <= p.Weeks; w++ {
		add(h-168*w, h-168*w)
	}
	for d := 1; d <= baselineDays; d++ {
		add(h-24*d, h-24*d)
	}
	add(h-2, h-1)
	if len(samples) < p.MinBaselines {
		return b
	}
	m := p.PriorRequests
	rates := make([]float64, len(samples))
	for i, x := range samples {
		rates[i] = (float64(x.k) + m*q) / (float64(x.n) + m)
	}
	med, sigma := medianMAD(rates)
	band := med + p.MADs*sigma
	var k, n float64
	for _, x := range samples {
		if float64(x.k) > band*float64(x.n) && binomialUpperTail(x.k, x.n, band) < outlierP {
			continue // an incident of the past
		}
		k, n = k+float64(x.k), n+float64(x.n)
	}
	b.p0 = (k + m*q) / (n + m)
	// The band: the spread of the samples' rates beyond their own counting
	// noise (the charts model the noise of the minutes judged; the band is
	// for how the rate itself moves from day to day), and the uncertainty
	// of p0 itself.
	noise := make([]float64, len(samples))
	for i, x := range samples {
		noise[i] = b.p0 * float64(x.n) / ((float64(x.n) + m) * (float64(x.n) + m))
	}
	extra := max(sigma*sigma-median(noise), 0) + b.p0/(n+m)
	b.pa = b.p0 + p.MADs*math.Sqrt(extra)
	b.pmin = max(b.p0*p.MinRatio, b.p0+p.MinDelta, 1.5*b.pa)
	if b.pmin >= chartTop {
		return b // a rate this high leaves no rise to page for
	}
	rho := math.Pow(chartTop/b.pmin, 1/float64(nCharts-1))
	for j := range nCharts {
		l := b.pmin * math.Pow(rho, float64(j))
		b.level[j], b.logRatio[j], b.diff[j] = l, math.Log(l/b.pa), l-b.pa
	}
	b.ok = true
	return b
}
