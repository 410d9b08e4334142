package report

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Week is an ISO 8601 week: Monday to Sunday, in the year that holds its
// Thursday.
type Week struct {
	Year, Number int
}

var weekPattern = regexp.MustCompile(`^([0-9]{4})-W([0-9]{2})$`)

// ParseWeek parses an ISO week written like 2026-W46.
func ParseWeek(s string) (Week, error) {
	m := weekPattern.FindStringSubmatch(s)
	if m == nil {
		return Week{}, fmt.Errorf("week %q: want an ISO week like 2026-W46", s)
	}
	y, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	w := Week{Year: y, Number: n}
	if n < 1 || n > 53 || WeekOf(w.Start(time.UTC)) != w {
		return Week{}, fmt.Errorf("week %q: %d has no week %d", s, y, n)
	}
	return w, nil
}

// WeekOf returns the ISO week of t (in t's location).
func WeekOf(t time.Time) Week {
	y, n := t.ISOWeek()
	return Week{Year: y, Number: n}
}

// LastCompleteWeek is the week before the one now falls in, in loc.
func LastCompleteWeek(now time.Time, loc *time.Location) Week {
	return WeekOf(WeekOf(now.In(loc)).Start(loc).AddDate(0, 0, -7))
}

func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Number) }

// Start is the week's Monday, 00:00 in loc.
func (w Week) Start(loc *time.Location) time.Time {
	// January 4th is always in week 1.
	jan4 := time.Date(w.Year, time.January, 4, 0, 0, 0, 0, loc)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	return monday.AddDate(0, 0, 7*(w.Number-1))
}

// End is the next week's Monday, 00:00 in loc: the week is [Start, End).
func (w Week) End(loc *time.Location) time.Time { return w.Start(loc).AddDate(0, 0, 7) }

// Previous is the week before.
func (w Week) Previous() Week { return WeekOf(w.Start(time.UTC).AddDate(0, 0, -7)) }
