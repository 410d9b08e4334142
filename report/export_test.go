package report

import "time"

// SplitPeriod is splitPeriod with its spans as [lo, hi) pairs.
func SplitPeriod(from, to time.Time, loc *time.Location) (hours, minutes [][2]time.Time) {
	s := splitPeriod(from, to, loc)
	for _, r := range s.Hours {
		hours = append(hours, [2]time.Time{r.From, r.To})
	}
	for _, r := range s.Minutes {
		minutes = append(minutes, [2]time.Time{r.From, r.To})
	}
	return hours, minutes
}
