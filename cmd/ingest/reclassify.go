package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/reclassify"
)

type reclassifyCmd struct {
	storedFlags
	cli.Window `set:"window_from=24h before --to"`
}

func (cmd *reclassifyCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), ingestWindow)
	if err != nil {
		return err
	}
	cls, st, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	var days int64
	for d := from; d.Before(to); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, time.UTC) {
		days++
	}
	var bar *progressbar.ProgressBar
	if term.IsTerminal(int(os.Stderr.Fd())) {
		bar = progressbar.Default(days, "reclassify")
	}
	total, err := reclassify.Run(ctx, st, cls, from, to, func(d reclassify.Day) {
		if bar != nil {
			_ = bar.Add(1)
			return
		}
		log.Info("day reclassified", "day", d.From.Format("2006-01-02"), "events", d.Events, "changed", d.Changed)
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s to %s: %s read, %d reclassified\n", from.Format(time.RFC3339), to.Format(time.RFC3339),
		plural(total.Events, "error event", "error events"), total.Changed)
	// What an older build stored is redacted again with this build's
	// rules: the window's events, every dead letter and error group.
	red, err := reclassify.Redact(ctx, st, from, to, func(d reclassify.Day) {
		log.Info("day redacted again", "day", d.From.Format("2006-01-02"), "events", d.Events, "changed", d.Changed)
	})
	if err != nil {
		return err
	}
	fmt.Printf("redacted again: %d of %s, %d of %s, %d of %s\n",
		red.Events.Changed, plural(red.Events.Read, "event", "events"),
		red.DeadLetters.Changed, plural(red.DeadLetters.Read, "dead letter", "dead letters"),
		red.Groups.Changed, plural(red.Groups.Read, "error group", "error groups"))
	return nil
}
