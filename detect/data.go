package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// TimeRange is [From, To).
type TimeRange struct{ From, To time.Time }

// Plan says what an evaluation of the minutes [From, To) reads: per-minute
// counts over Minutes (which starts on an hour, early enough for the
// widest window of the first minute evaluated; the hours it covers are
// counted from its minutes), per-hour counts over Hours (the whole hours
// before Minutes that the baselines compare with: the week before each
// hour evaluated and the same hours of earlier weeks), of the Categories
// only, with codes and subcodes for the Detailed ones; the codes first
// seen since CodesSince; and the alerts closed since HistorySince, which
// recurrence is learned from.
type Plan struct {
	From, To             time.Time
	Minutes              TimeRange
	Hours                []TimeRange
	Categories, Detailed []string
	CodesSince           time.Time
	HistorySince         time.Time
}

// Plan returns what evaluating the minutes of [from, to) reads. from and
// to are truncated to the minute; to must be after from.
func (c *Config) Plan(from, to time.Time) (Plan, error) {
	from, to = from.UTC().Truncate(time.Minute), to.UTC().Truncate(time.Minute)
	if !to.After(from) {
		return Plan{}, fmt.Errorf("detect: empty window [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	p := Plan{From: from, To: to}
	p.Minutes = TimeRange{From: from.Add(-c.maxLookback() - time.Minute).Truncate(time.Hour), To: to}
	weeks := c.maxWeeks()
	need := map[time.Time]bool{}
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		for _, r := range baselineHours(weeks) {
			for back := r[0]; back < r[1]; back++ {
				if hour := h.Add(-time.Duration(back) * time.Hour); hour.Before(p.Minutes.From) {
					need[hour] = true
				}
			}
		}
	}
	hours := make([]time.Time, 0, len(need))
	for h := range need {
		hours = append(hours, h)
	}
	slices.SortFunc(hours, func(a, b time.Time) int { return a.Compare(b) })
	for _, h := range hours {
		if n := len(p.Hours); n > 0 && p.Hours[n-1].To.Equal(h) {
			p.Hours[n-1].To = h.Add(time.Hour)
			continue
		}
		p.Hours = append(p.Hours, TimeRange{From: h, To: h.Add(time.Hour)})
	}
	all, detailed := monitored()
	for _, cat := range all {
		p.Categories = append(p.Categories, string(cat))
	}
	for _, cat := range detailed {
		p.Detailed = append(p.Detailed, string(cat))
	}
	p.CodesSince = from.Add(-c.maxNovelty())
	p.HistorySince = from.Add(-c.historyDuration())
	return p, nil
}

// Counts holds what an evaluation reads, as a Plan says: per-minute
// requests and errors, and per-hour ones for the baselines. Fill it with
// the Add methods, then Evaluate. Counts outside the plan are ignored.
// Per-minute errors need only be those of the plan's Categories and of
// the State's FollowedCodes.
type Counts struct {
	plan     Plan
	minFrom  time.Time
	nMin     int
	hourFrom time.Time
	nHour    int

	keys    map[key]int
	keyList []key
	// errorKeys maps a minute's error key to its index and its hourly
	// key's (-1 when not monitored): one lookup per row.
	errorKeys map[key][2]int
	minute    [][]int64 // per key, per minute; prefix sums once finished
	hour      [][]int64 // per hour key (codes kept for detailed categories only), per hour
	requests  map[string]*requestCounts
	finished  bool

	monitored, detailed map[classify.Category]bool
}

type key struct {
	provider      string
	category      classify.Category
	code, subcode string
}

type requestCounts struct {
	minute []int64 // prefix sums once finished
	hour   []int64
}

// NewCounts returns empty Counts for the plan.
func NewCounts(p Plan) *Counts {
	c := &Counts{
		plan:      p,
		minFrom:   p.Minutes.From,
		nMin:      int(p.Minutes.To.Sub(p.Minutes.From) / time.Minute),
		keys:      map[key]int{},
		errorKeys: map[key][2]int{},
		requests:  map[string]*requestCounts{},
		monitored: map[classify.Category]bool{},
		detailed:  map[classify.Category]bool{},
	}
	c.hourFrom = p.Minutes.From
	if len(p.Hours) > 0 && p.Hours[0].From.Before(c.hourFrom) {
		c.hourFrom = p.Hours[0].From
	}
	c.nHour = int(p.Minutes.To.Add(time.Hour-1).Sub(c.hourFrom) / time.Hour)
	for _, cat := range p.Categories {
		c.monitored[classify.Category(cat)] = true
	}
	for _, cat := range p.Detailed {
		c.detailed[classify.Category(cat)] = true
	}
	return c
}

func (c *Counts) minuteIndex(t time.Time) (int, bool) {
	if t.Before(c.minFrom) {
		return 0, false
	}
	i := int(t.Sub(c.minFrom) / time.Minute)
	return i, i < c.nMin
}

func (c *Counts) hourIndex(t time.Time) (int, bool) {
	if t.Before(c.hourFrom) {
		return 0, false
	}
	i := int(t.Sub(c.hourFrom) / time.Hour)
	return i, i < c.nHour
}

func (c *Counts) provider(name string) *requestCounts {
	r := c.requests[name]
	if r == nil {
		r = &requestCounts{minute: make([]int64, c.nMin+1), hour: make([]int64, c.nHour)}
		c.requests[name] = r
	}
	return r
}

func (c *Counts) keyIndex(k key) int {
	i, ok := c.keys[k]
	if !ok {
		i = len(c.keyList)
		c.keys[k] = i
		c.keyList = append(c.keyList, k)
		c.minute = append(c.minute, nil)
		c.hour = append(c.hour, nil)
	}
	return i
}

// hourKey is the key a minute's error counts toward in the hourly counts:
// nothing outside the monitored categories, codes only for the detailed.
func (c *Counts) hourKey(k key) (key, bool) {
	if !c.monitored[k.category] {
		return k, false
	}
	if !c.detailed[k.category] {
		k.code, k.subcode = "", ""
	}
	return k, true
}

func (c *Counts) check() {
	if c.finished {
		panic("detect: Counts added to after Evaluate")
	}
}

// AddRequests adds a provider's requests in a minute.
func (c *Counts) AddRequests(minute time.Time, provider string, n int64) {
	c.check()
	i, ok := c.minuteIndex(minute)
	if !ok {
		return
	}
	r := c.provider(provider)
	r.minute[i+1] += n // prefix sums are shifted by one
	h, _ := c.hourIndex(minute)
	r.hour[h] += n
}

// AddErrors adds a provider's errors of one category, code and subcode in
// a minute.
func (c *Counts) AddErrors(minute time.Time, provider string, category classify.Category, code, subcode string, n int64) {
	c.check()
	i, ok := c.minuteIndex(minute)
	if !ok {
		return
	}
	k := key{provider, category, code, subcode}
	idx, ok := c.errorKeys[k]
	if !ok {
		c.provider(provider)
		idx = [2]int{c.keyIndex(k), -1}
		if c.minute[idx[0]] == nil {
			c.minute[idx[0]] = make([]int64, c.nMin+1)
		}
		if hk, ok := c.hourKey(k); ok {
			idx[1] = c.keyIndex(hk)
			if c.hour[idx[1]] == nil {
				c.hour[idx[1]] = make([]int64, c.nHour)
			}
		}
		c.errorKeys[k] = idx
	}
	c.minute[idx[0]][i+1] += n
	if idx[1] >= 0 {
		h, _ := c.hourIndex(minute)
		c.hour[idx[1]][h] += n
	}
}

// AddHourlyRequests adds a provider's requests in an hour of the plan's
// Hours.
func (c *Counts) AddHourlyRequests(hour time.Time, provider string, n int64) {
	c.check()
	h, ok := c.hourIndex(hour)
	if !ok || !hour.Before(c.minFrom) {
		return
	}
	c.provider(provider).hour[h] += n
}

// AddHourlyErrors adds errors in an hour of the plan's Hours, as the plan
// asks for them (codes "" outside the detailed categories).
func (c *Counts) AddHourlyErrors(hour time.Time, provider string, category classify.Category, code, subcode string, n int64) {
	c.check()
	h, ok := c.hourIndex(hour)
	if !ok || !hour.Before(c.minFrom) {
		return
	}
	hk, ok := c.hourKey(key{provider, category, code, subcode})
	if !ok {
		return
	}
	c.provider(provider)
	c.addHour(hk, h, n)
}

func (c *Counts) addHour(k key, h int, n int64) {
	ki := c.keyIndex(k)
	if c.hour[ki] == nil {
		c.hour[ki] = make([]int64, c.nHour)
	}
	c.hour[ki][h] += n
}

// finish turns the per-minute counts into prefix sums.
func (c *Counts) finish() {
	if c.finished {
		return
	}
	c.finished = true
	for _, r := range c.requests {
		prefix(r.minute)
	}
	for _, m := range c.minute {
		if m != nil {
			prefix(m)
		}
	}
}

func prefix(xs []int64) {
	for i := 1; i < len(xs); i++ {
		xs[i] += xs[i-1]
	}
}
