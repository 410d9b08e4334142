package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
)

type endpointsCmd struct {
	sourceFlags
	outputFlag
	cli.Window `set:"window_from=7 days before --to; calls are counted by the hour"`
	Provider   string `name:"provider" help:"Only this provider's endpoints and templates."`
	Limit      int    `name:"limit" default:"50" help:"Most endpoints listed per provider, busiest first (0: all)."`
	JSON       bool   `name:"json" help:"Print JSON for machines."`
}

// endpointsWindow is the period of report endpoints: a week by default.
var endpointsWindow = cli.Span{Length: 7 * 24 * time.Hour}

func (cmd *endpointsCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), endpointsWindow)
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
	e, err := report.BuildEndpoints(ctx, st, report.EndpointsOptions{
		From: from.Truncate(time.Hour), To: to, Provider: cmd.Provider, Limit: cmd.Limit, Catalogs: cats,
	})
	if err != nil {
		return err
	}
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return e.WriteJSON(w)
		}
		return e.WriteText(w)
	})
}
