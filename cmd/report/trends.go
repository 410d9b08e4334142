package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
)

type trendsCmd struct {
	sourceFlags
	outputFlag
	cli.Window `kong:"set='window_from=24h before --to',set='window_to=now; both are taken to the minute'"`
	Limit      int  `name:"limit" default:"20" help:"Most movers listed (0: all)."`
	JSON       bool `name:"json" help:"Print JSON for machines."`
}

// trendsWindow is the period of report trends: whole minutes (rollups
// count per minute), a day by default.
var trendsWindow = cli.Span{Length: 24 * time.Hour, Step: time.Minute}

func (cmd *trendsCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), trendsWindow)
	if err != nil {
		return err
	}
	if cmd.Limit < 0 {
		return cli.Usagef("--limit must not be negative, got %d", cmd.Limit)
	}
	st, cats, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := report.BuildTrends(ctx, st, report.TrendsOptions{From: from, To: to, Limit: cmd.Limit, Catalogs: cats})
	if err != nil {
		return err
	}
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return t.WriteJSON(w)
		}
		return t.WriteText(w)
	})
}
