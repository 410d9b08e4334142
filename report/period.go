package report

import (
	"time"

	"github.com/faultline-dev/faultline/store"
)

// splitPeriod splits [from, to) into the whole UTC hours that no midnight
// of loc cuts, to read from the hourly rollups, and the rest, to read from
// the per-minute rollups: the edges of the period that are not whole hours,
// and the hours that a local midnight cuts (in zones whose offset is not
// whole hours). Counted per local day, both give exactly what the
// per-minute rollups alone would. Every report that reads rollups over
// hours splits its period here.
func splitPeriod(from, to time.Time, loc *time.Location) store.Spans {
	var s store.Spans
	add := func(list []store.TimeRange, lo, hi time.Time) []store.TimeRange {
		if !lo.Before(hi) {
			return list
		}
		if n := len(list); n > 0 && list[n-1].To.Equal(lo) {
			list[n-1].To = hi
			return list
		}
		return append(list, store.TimeRange{From: lo, To: hi})
	}
	for a := from; a.Before(to); {
		y, m, d := a.In(loc).Date()
		b := time.Date(y, m, d+1, 0, 0, 0, 0, loc) // the next local midnight
		if !b.After(a) {
			// time.Date may resolve a midnight that a daylight saving
			// change skips to an instant before a: take the day after.
			b = time.Date(y, m, d+2, 0, 0, 0, 0, loc)
		}
		b = b.UTC()
		if b.After(to) {
			b = to
		}
		ha, hb := a.Truncate(time.Hour), b.Truncate(time.Hour)
		if !ha.Equal(a) {
			ha = ha.Add(time.Hour)
		}
		if ha.Before(hb) {
			s.Minutes = add(s.Minutes, a, ha)
			s.Hours = add(s.Hours, ha, hb)
			s.Minutes = add(s.Minutes, hb, b)
		} else {
			s.Minutes = add(s.Minutes, a, b)
		}
		a = b
	}
	return s
}
