// This file gathers a series' evidence minute by minute: the charts of a
// window-limited CUSUM, one per elevated rate tested.

package detect

import (
	"math"
	"time"
)

// series is one rate a tracker follows: its errors per minute and per
// hour, its baselines, and the evidence of its charts.
type series struct {
	name          string
	code, subcode string
	minute        []int64 // prefix sums
	hour          []int64
	baselines     []*baseline // per hour, computed once
	charts        [nCharts]chart
	alarm         alarm // the minute's verdict
}

func (s *series) count(lo, hi int) int64 { return s.minute[hi+1] - s.minute[lo] }

// chart holds the running sum of one chart's log-likelihood ratios, and
// the window starts that may still give the largest sum ending now: a
// deque of increasing sums (the sliding minimum of the prefix sums).
type chart struct {
	sum  float64
	dq   []start
	head int
}

type start struct {
	lo  int
	sum float64 // the running sum before minute lo
}

// alarm is a series' verdict at a minute: ok when some chart's evidence
// over a window ending then reaches Evidence with at least MinCount
// errors; evidence, lo and lowest are the best chart's evidence, its
// window's first minute, and the lowest rate level of the charts that
// reach it.
type alarm struct {
	ok       bool
	evidence float64
	lo       int
	lowest   float64
}

// advance adds minute i to every chart of series s and sets s.alarm. Each
// chart j adds the log-likelihood ratio of the minute's k errors in n
// requests at the rate level[j] against the top of the baseline's band,
// k·ln(level/pa) − n·(level − pa) (Poisson), at most Evidence/For: the
// evidence of one minute alone never opens an alert. A chart's evidence at
// i is its largest sum over the windows ending with i, no longer than
// MaxWindow and starting after the tracker's barrier.
func (e *engine) advance(t *tracker, s *series, i int) {
	p := t.params
	b := e.baseline(t, s, e.hourOffset+i/60)
	k := float64(s.count(i, i))
	n := float64(t.requests[i+1] - t.requests[i])
	limit := p.Evidence / float64(p.For/time.Minute)
	lowest := min(max(i-int(p.MaxWindow/time.Minute)+1, t.barrier, 0), i)
	s.alarm = alarm{}
	for j := range s.charts {
		c := &s.charts[j]
		for len(c.dq) > c.head && c.dq[len(c.dq)-1].sum >= c.sum {
			c.dq = c.dq[:len(c.dq)-1]
		}
		c.dq = append(c.dq, start{lo: i, sum: c.sum})
		if b.ok && (k > 0 || n > 0) {
			c.sum += min(k*b.logRatio[j]-n*b.diff[j], limit)
		}
		for c.dq[c.head].lo < lowest {
			c.head++
		}
		if c.head > 64 && c.head > len(c.dq)/2 {
			c.dq = append(c.dq[:0], c.dq[c.head:]...)
			c.head = 0
		}
		best := c.dq[c.head]
		ev := c.sum - best.sum
		if ev < p.Evidence || s.count(best.lo, i) < p.MinCount {
			continue
		}
		if !s.alarm.ok {
			s.alarm = alarm{ok: true, evidence: ev, lo: best.lo, lowest: b.level[j]}
		} else if ev > s.alarm.evidence {
			s.alarm.evidence, s.alarm.lo = ev, best.lo
		}
	}
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
