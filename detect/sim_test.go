package detect

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// traffic simulates one provider's per-minute rollups: requests from a
// seasonal curve, each an error of a key with that key's probability.
type traffic struct {
	provider string
	// perMinute is the mean requests per minute at t.
	perMinute func(t time.Time) float64
	// errs are the error keys and their probability at t.
	errs []errorRate
}

type errorRate struct {
	category      classify.Category
	code, subcode string
	p             func(t time.Time) float64
}

func constant(p float64) func(time.Time) float64 { return func(time.Time) float64 { return p } }

// during returns base, plus extra in [from, from+d).
func during(base, extra float64, from time.Time, d time.Duration) func(time.Time) float64 {
	return func(t time.Time) float64 {
		if !t.Before(from) && t.Before(from.Add(d)) {
			return base + extra
		}
		return base
	}
}

// seasonal is a daily curve (low at 03:00, high at 15:00 UTC) with
// weekends at half, peaking at peak requests per minute.
func seasonal(peak float64) func(time.Time) float64 {
	return func(t time.Time) float64 {
		h := float64(t.Hour()) + float64(t.Minute())/60
		daily := 0.15 + 0.85*(0.5-0.5*math.Cos(2*math.Pi*(h-3)/24))
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			daily *= 0.5
		}
		return peak * daily
	}
}

// minuteRow is one provider's minute.
type minuteRow struct {
	t        time.Time
	provider string
	requests int64
	errs     map[key]int64
}

// simulate draws the minutes of [from, to) for every provider: requests
// Poisson around the curve, each an error of a key with that key's
// probability; by Poisson splitting, each key's count and the successes'
// are drawn on their own.
func simulate(seed uint64, from, to time.Time, providers ...traffic) []minuteRow {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var out []minuteRow
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		for _, p := range providers {
			mean := p.perMinute(t)
			row := minuteRow{t: t, provider: p.provider, errs: map[key]int64{}}
			left := 1.0
			for _, e := range p.errs {
				share := min(e.p(t), left)
				left -= share
				if n := poisson(rng, mean*share); n > 0 {
					row.errs[key{p.provider, e.category, e.code, e.subcode}] += n
					row.requests += n
				}
			}
			row.requests += poisson(rng, mean*left)
			out = append(out, row)
		}
	}
	return out
}

func poisson(rng *rand.Rand, mean float64) int64 {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return max(0, int64(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// hourRow is one provider's hour, summed from its minutes.
type hourRow struct {
	t        time.Time
	provider string
	requests int64
	errs     map[key]int64
}

// hourly caches the hours of simulated minutes (by their first row): the
// hours a plan reads, summed once per history.
var hourly sync.Map

func hoursOf(rows []minuteRow) []hourRow {
	if len(rows) == 0 {
		return nil
	}
	if h, ok := hourly.Load(&rows[0]); ok {
		return h.([]hourRow)
	}
	var out []hourRow
	at := map[[2]any]int{}
	for _, r := range rows {
		k := [2]any{r.t.Truncate(time.Hour), r.provider}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, hourRow{t: r.t.Truncate(time.Hour), provider: r.provider, errs: map[key]int64{}})
		}
		out[i].requests += r.requests
		for k, n := range r.errs {
			out[i].errs[k] += n
		}
	}
	hourly.Store(&rows[0], out)
	return out
}

// feed fills Counts as the store would for the plan: minutes of
// p.Minutes as they are, hours of p.Hours summed (Counts keeps codes only
// for the detailed categories and only the monitored ones).
func feed(c *Counts, p Plan, rows []minuteRow) {
	lo, _ := slices.BinarySearchFunc(rows, p.Minutes.From, func(r minuteRow, t time.Time) int { return r.t.Compare(t) })
	for _, r := range rows[lo:] {
		if !r.t.Before(p.Minutes.To) {
			break
		}
		c.AddRequests(r.t, r.provider, r.requests)
		for k, n := range r.errs {
			c.AddErrors(r.t, k.provider, k.category, k.code, k.subcode, n)
		}
	}
	for _, h := range hoursOf(rows) {
		for _, tr := range p.Hours {
			if !h.t.Before(tr.From) && h.t.Before(tr.To) {
				c.AddHourlyRequests(h.t, h.provider, h.requests)
				for k, n := range h.errs {
					c.AddHourlyErrors(h.t, k.provider, k.category, k.code, k.subcode, n)
				}
				break
			}
		}
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// evaluate evaluates [from, to) over the simulated rows with st.
func evaluate(t *testing.T, cfg *Config, rows []minuteRow, from, to time.Time, st State) []Alert {
	t.Helper()
	p, err := cfg.Plan(from, to)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCounts(p)
	feed(c, p, rows)
	if st.HistoryStart.IsZero() && len(rows) > 0 {
		st.HistoryStart = rows[0].t
	}
	return Evaluate(cfg, p, c, st)
}

// firstSeen lists when each code of rows was first seen.
func firstSeen(rows []minuteRow) []CodeSeen {
	seen := map[[2]string]time.Time{}
	var out []CodeSeen
	for _, r := range rows {
		for k, n := range r.errs {
			id := [2]string{k.provider, k.code}
			if _, ok := seen[id]; !ok && n > 0 {
				seen[id] = r.t
				out = append(out, CodeSeen{Provider: k.provider, Code: k.code, FirstSeen: r.t})
			}
		}
	}
	return out
}
