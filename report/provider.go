package report

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/store"
)

// A provider's traffic over a window (the console's provider page): read
// from the rollups, never from events. What is read where:
//
//   - a window up to MinuteWindowLimit is read per minute from the
//     per-minute rollups;
//   - a longer one per hour: its whole UTC hours from the hourly rollups,
//     the minutes of the hours its edges cut from the per-minute ones
//     (splitPeriod);
//   - a caller that keeps whole days (ProviderWindowOptions.Days: the
//     console keeps them for a while) is asked for the window's whole UTC
//     days that ended at least DaySettled ago; only the rest is read.
//
// Each part's hours and codes are added up here, whatever part they come
// from, and the codes ranked as every report ranks them (rankCodes).

// MinuteWindowLimit is the longest window read per minute.
const MinuteWindowLimit = 6 * time.Hour

// DaySettled is how long after a UTC day ended its rollups are taken as
// final: only late data (a backfill) changes them after.
const DaySettled = time.Hour

// ProviderRollupReader reads a provider's rollups (store.Store does).
type ProviderRollupReader interface {
	ReadProviderRollups(ctx context.Context, q store.ProviderRollupQuery) (*store.ProviderRollups, error)
	ReadProviderDays(ctx context.Context, provider string, from, to time.Time) ([]store.ProviderDay, error)
}

// ProviderWindowOptions ask for a provider's traffic over [From, To),
// truncated to the minute.
type ProviderWindowOptions struct {
	Provider string
	From, To time.Time
	// TopN bounds TopCodes (0: DefaultTopCodes; negative: every code).
	TopN int
	// Days, when set, returns the provider's days of [first, last) (whole
	// UTC days that ended at least DaySettled before Now), from wherever
	// the caller keeps them; ReadProviderDays reads them otherwise. Nil
	// reads the whole window at once.
	Days func(ctx context.Context, first, last time.Time) ([]store.ProviderDay, error)
	// Now is the clock Days is asked by (zero: time.Now).
	Now time.Time
}

// ProviderWindow is a provider's requests and errors over a window.
type ProviderWindow struct {
	Provider string
	From, To time.Time
	Requests int64
	Errors   int64
	// Series has the requests and errors of every minute (windows up to
	// MinuteWindowLimit) or hour (longer windows; the hours a window's
	// edges cut hold only the window's minutes) that had traffic, in
	// time order.
	Series []store.TrafficPoint
	// ByCategory counts the window's errors per category.
	ByCategory map[string]int64
	// TopCodes are the most frequent codes and subcodes, with their
	// category, ranked by rankCodes.
	TopCodes []store.CategoryCodeCount
	// Minutely is set when Series is per minute, else it is per hour.
	Minutely bool
}

// ReadProviderWindow reads o.Provider's traffic over the window.
func ReadProviderWindow(ctx context.Context, src ProviderRollupReader, o ProviderWindowOptions) (*ProviderWindow, error) {
	from, to := o.From.UTC().Truncate(time.Minute), o.To.UTC().Truncate(time.Minute)
	if !from.Before(to) {
		return nil, fmt.Errorf("report: provider window: empty window %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	bucket := time.Hour
	if to.Sub(from) <= MinuteWindowLimit {
		bucket = time.Minute
	}
	sum := newWindowSum(from, to, bucket)
	if bucket == time.Minute {
		r, err := src.ReadProviderRollups(ctx, store.ProviderRollupQuery{
			Provider: o.Provider, Minutes: []store.TimeRange{{From: from, To: to}}, PerMinute: true,
		})
		if err != nil {
			return nil, err
		}
		sum.add(r.Traffic, r.Errors)
		return sum.window(o.Provider, cmp.Or(o.TopN, DefaultTopCodes)), nil
	}

	// The window's whole UTC days that have settled, kept by the caller;
	// the cut days at either end, and days too recent, are read.
	first, last := to, to // no day kept: the window is one part
	if o.Days != nil {
		first, last = settledDays(from, to, o.Now)
	}
	for _, part := range []store.TimeRange{{From: from, To: first}, {From: last, To: to}} {
		if !part.From.Before(part.To) {
			continue
		}
		spans := splitPeriod(part.From, part.To, time.UTC)
		if len(spans.Hours) > 1 || len(spans.Minutes) > 2 {
			return nil, fmt.Errorf("report: provider window: %d hour spans and %d minute spans", len(spans.Hours), len(spans.Minutes))
		}
		q := store.ProviderRollupQuery{Provider: o.Provider, Minutes: spans.Minutes}
		if len(spans.Hours) == 1 {
			q.Hours = spans.Hours[0]
		}
		r, err := src.ReadProviderRollups(ctx, q)
		if err != nil {
			return nil, err
		}
		sum.add(r.Traffic, r.Errors)
	}
	if first.Before(last) {
		days, err := o.Days(ctx, first, last)
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			sum.add(d.Hours, d.Codes)
		}
	}
	return sum.window(o.Provider, cmp.Or(o.TopN, DefaultTopCodes)), nil
}

// windowSum adds up a window's parts per bucket (a minute or an hour) and
// per category, code and subcode.
type windowSum struct {
	from, to time.Time
	bucket   time.Duration
	first    time.Time
	points   []store.TrafficPoint
	codes    map[store.CategoryCodeCount]int64 // keyed with a zero Count
	requests int64
	errors   int64
	byCat    map[string]int64
}

func newWindowSum(from, to time.Time, bucket time.Duration) *windowSum {
	first := from.Truncate(bucket)
	return &windowSum{from: from, to: to, bucket: bucket, first: first,
		points: make([]store.TrafficPoint, int(to.Sub(first)/bucket)+1),
		codes:  map[store.CategoryCodeCount]int64{}, byCat: map[string]int64{}}
}

func (s *windowSum) add(traffic []store.TrafficPoint, codes []store.CategoryCodeCount) {
	for _, p := range traffic {
		i := int(p.Start.Sub(s.first) / s.bucket)
		if p.Start.Before(s.first) || i >= len(s.points) {
			continue // not in the window: none are
		}
		s.points[i].Requests += p.Requests
		s.points[i].Errors += p.Errors
		s.requests += p.Requests
		s.errors += p.Errors
	}
	for _, c := range codes {
		n := c.Count
		c.Count = 0
		s.codes[c] += n
		s.byCat[c.Category] += n
	}
}

func (s *windowSum) window(provider string, topN int) *ProviderWindow {
	w := &ProviderWindow{Provider: provider, From: s.from, To: s.to, Requests: s.requests, Errors: s.errors,
		ByCategory: s.byCat, TopCodes: []store.CategoryCodeCount{}, Minutely: s.bucket == time.Minute}
	for i, p := range s.points {
		if p.Requests != 0 || p.Errors != 0 {
			p.Start = s.first.Add(time.Duration(i) * s.bucket)
			w.Series = append(w.Series, p)
		}
	}
	for k, n := range s.codes {
		k.Count = n
		w.TopCodes = append(w.TopCodes, k)
	}
	w.TopCodes = rankCodes(w.TopCodes, topN, func(c *store.CategoryCodeCount) codeRank {
		return codeRank{c.Count, c.Category, c.Code, c.Subcode}
	})
	return w
}
