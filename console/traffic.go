package console

import (
	"context"
	"time"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// A provider's traffic over a window longer than report.MinuteWindowLimit
// comes from the hourly rollups (report.ReadProviderWindow). Its whole
// UTC days that have settled (report.DaySettled) change only with late
// data: they are read once per dayCacheTTL, all missing days of a window
// in one read, and kept; the window's cut days at either end, and days
// too recent to have settled, are read every time. A 90-day window then
// reads two days of rollups instead of 90.
const (
	dayCacheTTL   = 10 * time.Minute
	maxCachedDays = 2048 // over 90 days: 22 providers
)

type providerDayKey struct {
	provider string
	day      time.Time
}

// providerWindow reads provider's traffic over [from, to), its settled
// days from the cache.
func (c *Console) providerWindow(ctx context.Context, provider string, from, to time.Time) (*report.ProviderWindow, error) {
	now := c.o.Now().UTC()
	return report.ReadProviderWindow(ctx, c.o.Store, report.ProviderWindowOptions{
		Provider: provider, From: from, To: to, Now: now,
		Days: func(ctx context.Context, first, last time.Time) ([]store.ProviderDay, error) {
			return c.settledDays(ctx, provider, first, last, now)
		},
	})
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
