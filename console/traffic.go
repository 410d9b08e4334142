package console

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// A provider's traffic over a window longer than store.MinuteWindowLimit
// comes from the hourly rollups. Its whole UTC days that ended a while ago
// change only with late data: they are read once per dayCacheTTL, all
// missing days of a window in one read, and kept; the window's cut days
// at either end, and days too recent to have settled, are read every
// time. A 90-day window then reads two days of rollups instead of 90.
const (
	dayCacheTTL   = 10 * time.Minute
	daySettled    = time.Hour // a day is kept once it ended this long ago
	maxCachedDays = 2048      // over 90 days: 22 providers
	topCodes      = report.DefaultTopCodes
)

type providerDayKey struct {
	provider string
	day      time.Time
}

// providerWindow reads provider's traffic over [from, to).
func (c *Console) providerWindow(ctx context.Context, provider string, from, to time.Time) (*store.ProviderWindow, error) {
	read := func(from, to time.Time, top int) (*store.ProviderWindow, error) {
		return c.o.Store.ReadProviderWindow(ctx, store.ProviderWindowQuery{Provider: provider, From: from, To: to, TopN: top})
	}
	if to.Sub(from) <= store.MinuteWindowLimit {
		return read(from, to, topCodes)
	}
	const day = 24 * time.Hour
	now := c.o.Now().UTC()
	first := from.Truncate(day)
	if first.Before(from) {
		first = first.Add(day)
	}
	last := to.Truncate(day)
	if settled := now.Add(-daySettled).Truncate(day); settled.Before(last) {
		last = settled
	}
	if !first.Before(last) {
		return read(from, to, topCodes)
	}

	parts := []*store.ProviderWindow{}
	for _, edge := range [][2]time.Time{{from, first}, {last, to}} {
		if edge[0].Before(edge[1]) {
			w, err := read(edge[0], edge[1], -1)
			if err != nil {
				return nil, err
			}
			parts = append(parts, w)
		}
	}
	days, err := c.settledDays(ctx, provider, first, last, now)
	if err != nil {
		return nil, err
	}
	return mergeWindow(provider, from, to, parts, days), nil
}

// settledDays returns provider's days of [first, last) from the cache,
// reading the missing ones in one go.
func (c *Console) settledDays(ctx context.Context, provider string, first, last, now time.Time) ([]store.ProviderDay, error) {
	const day = 24 * time.Hour
	var missing []time.Time
	c.days.mu.Lock()
	for d := first; d.Before(last); d = d.Add(day) {
		e := c.days.entries[providerDayKey{provider, d}]
		if e == nil || e.finished() && (e.err != nil || now.Sub(e.made) >= c.days.ttl) {
			missing = append(missing, d)
		}
	}
	c.days.mu.Unlock()
	var fetched map[time.Time]store.ProviderDay
	var fetchErr error
	if len(missing) > 0 {
		// One read from the first missing day to the last: the days in
		// between that are cached come again, at no extra round trip.
		days, err := c.o.Store.ReadProviderDays(ctx, provider, missing[0], missing[len(missing)-1].Add(day))
		fetchErr = err
		fetched = map[time.Time]store.ProviderDay{}
		for _, d := range days {
			fetched[d.Day] = d
		}
	}
	var out []store.ProviderDay
	for d := first; d.Before(last); d = d.Add(day) {
		v, err := c.days.get(providerDayKey{provider, d}, now, func() (store.ProviderDay, error) {
			if fetchErr != nil {
				return store.ProviderDay{}, fetchErr
			}
			if v, ok := fetched[d]; ok {
				return v, nil
			}
			// Another request's read was under way when this one looked,
			// and failed: read the day alone.
			days, err := c.o.Store.ReadProviderDays(ctx, provider, d, d.Add(day))
			if err != nil {
				return store.ProviderDay{}, err
			}
			return days[0], nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// mergeWindow adds up parts of a window and its days, per hour.
func mergeWindow(provider string, from, to time.Time, parts []*store.ProviderWindow, days []store.ProviderDay) *store.ProviderWindow {
	out := &store.ProviderWindow{Provider: provider, From: from, To: to, ByCategory: map[string]int64{}, TopCodes: []store.CategoryCodeCount{}}
	// The window's hours, in order: a point per hour that had traffic.
	first := from.Truncate(time.Hour)
	hours := make([]store.TrafficPoint, int(to.Sub(first)/time.Hour)+1)
	addPoint := func(p store.TrafficPoint) {
		i := int(p.Start.Sub(first) / time.Hour)
		if i < 0 || i >= len(hours) {
			return // not in the window: none are
		}
		hours[i].Requests += p.Requests
		hours[i].Errors += p.Errors
		out.Requests += p.Requests
		out.Errors += p.Errors
	}
	type codeKey struct{ category, code, subcode string }
	codes := map[codeKey]int64{}
	addCode := func(c store.CategoryCodeCount) {
		codes[codeKey{c.Category, c.Code, c.Subcode}] += c.Count
		out.ByCategory[c.Category] += c.Count
	}
	for _, w := range parts {
		for _, p := range w.Series {
			addPoint(p)
		}
		for _, c := range w.TopCodes { // every code: read with a negative TopN
			addCode(c)
		}
	}
	for _, d := range days {
		for _, p := range d.Hours {
			addPoint(p)
		}
		for _, c := range d.Codes {
			addCode(c)
		}
	}
	for i, p := range hours {
		if p.Requests != 0 || p.Errors != 0 {
			p.Start = first.Add(time.Duration(i) * time.Hour)
			out.Series = append(out.Series, p)
		}
	}
	for k, n := range codes {
		out.TopCodes = append(out.TopCodes, store.CategoryCodeCount{Category: k.category, Code: k.code, Subcode: k.subcode, Count: n})
	}
	slices.SortFunc(out.TopCodes, func(a, b store.CategoryCodeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Subcode, b.Subcode), cmp.Compare(a.Category, b.Category))
	})
	if len(out.TopCodes) > topCodes {
		out.TopCodes = out.TopCodes[:topCodes]
	}
	return out
}
