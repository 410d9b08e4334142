package detect

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// week is the period of weekly recurrence.
const week = 7 * 24 * time.Hour

// Window is a provider's declared maintenance: a stretch of time every
// week (Weekly), or once (From, To). Alerts opened inside one are stored
// as suppressed and not sent; one still firing after it ends pages then.
type Window struct {
	// Weekly windows start every week at Start after the beginning of
	// Sunday in Location, for Length.
	Weekly   bool
	Start    time.Duration
	Length   time.Duration
	Location *time.Location
	// One-off windows cover [From, To).
	From, To time.Time
}

// Covering returns the occurrence of w that covers t, if one does.
func (w Window) Covering(t time.Time) (from, to time.Time, ok bool) {
	if !w.Weekly {
		return w.From, w.To, !t.Before(w.From) && t.Before(w.To)
	}
	local := t.In(w.Location)
	day := int(w.Start / (24 * time.Hour))
	tod := w.Start % (24 * time.Hour)
	// This week's occurrence, or last week's still running, at the wall
	// clock time of the window's zone whatever daylight saving does.
	for _, back := range []int{0, 7} {
		start := time.Date(local.Year(), local.Month(), local.Day()-int(local.Weekday())+day-back,
			int(tod/time.Hour), int(tod%time.Hour/time.Minute), 0, 0, w.Location)
		if end := start.Add(w.Length); !t.Before(start) && t.Before(end) {
			return start.UTC(), end.UTC(), true
		}
	}
	return time.Time{}, time.Time{}, false
}

func (w Window) String() string {
	if !w.Weekly {
		return fmt.Sprintf("%s to %s", w.From.UTC().Format(time.RFC3339), w.To.UTC().Format(time.RFC3339))
	}
	day := time.Weekday(w.Start / (24 * time.Hour))
	tod := w.Start % (24 * time.Hour)
	return fmt.Sprintf("every %s %02d:%02d %s for %s", day.String()[:3], tod/time.Hour, tod%time.Hour/time.Minute,
		w.Location, fmtDuration(w.Length))
}

// windowYAML is one window in the file: weekly "Sun 02:00" with for (and
// optionally time_zone), or from and to.
type windowYAML struct {
	Weekly   string        `yaml:"weekly"`
	For      time.Duration `yaml:"for"`
	TimeZone string        `yaml:"time_zone"`
	From     time.Time     `yaml:"from"`
	To       time.Time     `yaml:"to"`
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// decodeWindows reads a provider's list of maintenance windows.
func decodeWindows(n *yaml.Node, path string) ([]Window, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s: must be a list of windows", n.Line, path)
	}
	var out []Window
	for i, item := range n.Content {
		where := fmt.Sprintf("line %d: %s[%d]", item.Line, path, i)
		var y windowYAML
		dec := item
		if err := eachKey(dec, where, func(k string, v *yaml.Node, _ string) error {
			switch k {
			case "weekly", "for", "time_zone", "from", "to":
				return nil
			}
			return fmt.Errorf("%s: unknown key %q (known: weekly, for, time_zone, from, to)", where, k)
		}); err != nil {
			return nil, err
		}
		if err := item.Decode(&y); err != nil {
			return nil, fmt.Errorf("%s: %s", where, yamlMessage(err))
		}
		w, err := y.window()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out = append(out, w)
	}
	return out, nil
}

func (y windowYAML) window() (Window, error) {
	if y.Weekly == "" {
		switch {
		case y.For != 0 || y.TimeZone != "":
			return Window{}, fmt.Errorf("for and time_zone go with weekly; a one-off window has from and to")
		case y.From.IsZero() || y.To.IsZero() || !y.To.After(y.From):
			return Window{}, fmt.Errorf("want weekly (\"Sun 02:00\") with for, or from and to (RFC 3339, to after from)")
		}
		return Window{From: y.From.UTC(), To: y.To.UTC()}, nil
	}
	if !y.From.IsZero() || !y.To.IsZero() {
		return Window{}, fmt.Errorf("weekly goes with for, not with from and to")
	}
	day, clock, ok := strings.Cut(strings.TrimSpace(y.Weekly), " ")
	wd, okDay := weekdays[strings.ToLower(day)]
	tod, err := time.Parse("15:04", strings.TrimSpace(clock))
	if !ok || !okDay || err != nil {
		return Window{}, fmt.Errorf("weekly %q: want a day and a time like \"Sun 02:00\"", y.Weekly)
	}
	if y.For < time.Minute || y.For > week {
		return Window{}, fmt.Errorf("for: must be between 1m and 168h, got %s", y.For)
	}
	loc := time.UTC
	if y.TimeZone != "" {
		if loc, err = time.LoadLocation(y.TimeZone); err != nil || y.TimeZone == "Local" {
			return Window{}, fmt.Errorf("time_zone %q: want an IANA name like Europe/Paris", y.TimeZone)
		}
	}
	start := time.Duration(wd)*24*time.Hour + time.Duration(tod.Hour())*time.Hour + time.Duration(tod.Minute())*time.Minute
	return Window{Weekly: true, Start: start, Length: y.For, Location: loc}, nil
}
