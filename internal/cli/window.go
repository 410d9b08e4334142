package cli

import (
	"time"
)

// Window is the --from/--to pair of flags of a command that reads a period
// of time; the package documentation gives its rules. The command embeds it
// with the variable window_from set to what an omitted --from means (and
// window_to, when not "now"), for --help:
//
//	cli.Window `set:"window_from=24h before --to"`
//
// (both variables: `kong:"set='window_from=…',set='window_to=…'"`, a
// struct tag having each key once) and resolves it with its Span.
type Window struct {
	From string `name:"from" placeholder:"TIME" help:"Start of the window, included, RFC 3339 (default: ${window_from})."`
	To   string `name:"to" placeholder:"TIME" help:"End of the window, not included, RFC 3339 (default: ${window_to=now})."`
}

// Span is how a command fills in and rounds its window.
type Span struct {
	// Length is the window's length when --from is omitted. Zero leaves
	// omitted ends open (the zero time): the command reads everything
	// before --to, after --from, or everything.
	Length time.Duration
	// Step, when not zero, takes both ends to the start of their step (a
	// minute for the commands that count whole minutes).
	Step time.Duration
}

// Resolve applies the window's rules at now: the bounds in UTC, an open
// end as the zero time. A time that is not RFC 3339, or a --from that is
// not before --to, is a usage error naming the flags.
func (w *Window) Resolve(now time.Time, s Span) (from, to time.Time, err error) {
	if to, err = parseTime("--to", w.To); err != nil {
		return from, to, err
	}
	if from, err = parseTime("--from", w.From); err != nil {
		return from, to, err
	}
	if s.Length > 0 {
		if to.IsZero() {
			to = now.UTC()
		}
		if from.IsZero() {
			from = to.Add(-s.Length)
		}
	}
	if s.Step > 0 {
		from, to = from.Truncate(s.Step), to.Truncate(s.Step)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		if s.Step > 0 {
			return from, to, Usagef("--from (%s) must be before --to (%s), both taken to the start of their %s",
				from.Format(time.RFC3339), to.Format(time.RFC3339), stepName(s.Step))
		}
		return from, to, Usagef("--from (%s) must be before --to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

// parseTime parses an RFC 3339 flag value in UTC; "" is the zero time.
func parseTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, Usagef("%s %q: want RFC 3339 like 2026-11-02T10:00:00Z", flag, v)
	}
	return t.UTC(), nil
}

func stepName(step time.Duration) string {
	switch step {
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	}
	return step.String()
}
