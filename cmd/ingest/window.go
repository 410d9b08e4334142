package main

import (
	"fmt"
	"time"
)

// windowFlags are the --from/--to time window of reporting commands.
type windowFlags struct {
	From string `name:"from" help:"Start of the window, RFC 3339 (default: 24h before --to)."`
	To   string `name:"to" help:"End of the window, RFC 3339 (default: now)."`
}

func (f *windowFlags) window(now time.Time) (from, to time.Time, err error) {
	to = now
	if f.To != "" {
		if to, err = time.Parse(time.RFC3339, f.To); err != nil {
			return from, to, usageError{fmt.Errorf("--to %q: want RFC 3339 like 2026-11-02T10:00:00Z", f.To)}
		}
	}
	from = to.Add(-24 * time.Hour)
	if f.From != "" {
		if from, err = time.Parse(time.RFC3339, f.From); err != nil {
			return from, to, usageError{fmt.Errorf("--from %q: want RFC 3339 like 2026-11-02T10:00:00Z", f.From)}
		}
	}
	if !from.Before(to) {
		return from, to, usageError{fmt.Errorf("--from (%s) must be before --to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))}
	}
	return from.UTC(), to.UTC(), nil
}
