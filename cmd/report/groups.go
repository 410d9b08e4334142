package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
)

// groupsWindow is the period of report groups: a day by default (the
// report widens it to whole hours).
var groupsWindow = cli.Span{Length: 24 * time.Hour}

// groupsCmd is `report groups`: the error groups of a window.
type groupsCmd struct {
	sourceFlags
	outputFlag
	cli.Window `set:"window_from=24h before --to; the window is widened to whole hours, at most 90 days"`
	Provider   string `name:"provider" help:"Only this provider's groups."`
	Category   string `name:"category" help:"Only groups of this category."`
	Sort       string `name:"sort" default:"count" enum:"count,new,last" help:"Order: count (most events in the window first), new (first seen last first), last (last seen last first)."`
	Limit      int    `name:"limit" default:"50" help:"Most groups listed (0: all)."`
	JSON       bool   `name:"json" help:"Print JSON for machines: {\"groups\": […]}."`
}

func (cmd *groupsCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), groupsWindow)
	if err != nil {
		return err
	}
	if cmd.Limit < 0 {
		return cli.Usagef("--limit must not be negative, got %d", cmd.Limit)
	}
	o := report.GroupsOptions{Provider: cmd.Provider, Category: cmd.Category, From: from, To: to, Sort: cmd.Sort, Limit: cmd.Limit}
	if err := o.Check(); err != nil {
		return cli.Usagef("%w", err)
	}
	st, cats, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	o.Catalogs = cats
	g, err := report.ListGroups(ctx, st, o)
	if err != nil {
		return queryError(err)
	}
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return g.WriteJSON(w)
		}
		return g.WriteText(w)
	})
}
