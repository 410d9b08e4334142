package store

import "time"

// The lookup's statements, for tests that check their plans.
const (
	FindKeysSQL  = findKeysSQL
	FindEventSQL = findEventSQL
)

// SplitPeriod is splitPeriod with its spans as [lo, hi) pairs.
func SplitPeriod(from, to time.Time, loc *time.Location) (hours, minutes [][2]time.Time) {
	h, m := splitPeriod(from, to, loc)
	for _, s := range h {
		hours = append(hours, [2]time.Time{s.From, s.To})
	}
	for _, s := range m {
		minutes = append(minutes, [2]time.Time{s.From, s.To})
	}
	return hours, minutes
}

// ContextEventsQuery is the events query of AlertContext, for plan tests.
const ContextEventsQuery = contextEventsQuery
