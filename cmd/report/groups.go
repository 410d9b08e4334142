package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/faultline-dev/faultline/report"
)

// groupsCmd is `report groups`: the error groups of a window.
type groupsCmd struct {
	dbFlags
	catalogFlags
	outputFlag
	Provider string `name:"provider" help:"Only this provider's groups."`
	Category string `name:"category" help:"Only groups of this category."`
	From     string `name:"from" help:"Start of the window, RFC 3339, rounded down to the hour (default: 24h before --to; at most 90 days)."`
	To       string `name:"to" help:"End of the window, RFC 3339, rounded up to the hour (default: now)."`
	Sort     string `name:"sort" default:"count" enum:"count,new,last" help:"Order: count (most events in the window first), new (first seen last first), last (last seen last first)."`
	Limit    int    `name:"limit" default:"50" help:"Most groups listed (0: all)."`
	JSON     bool   `name:"json" help:"Print JSON for machines: {\"groups\": […]}."`
}

func (cmd *groupsCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, err := parseTime("from", cmd.From)
	if err != nil {
		return err
	}
	to, err := parseTime("to", cmd.To)
	if err != nil {
		return err
	}
	if cmd.Limit < 0 {
		return usageError{fmt.Errorf("--limit must not be negative, got %d", cmd.Limit)}
	}
	cats, err := cmd.catalogs()
	if err != nil {
		return err
	}
	o := report.GroupsOptions{Provider: cmd.Provider, Category: cmd.Category, From: from, To: to, Sort: cmd.Sort, Limit: cmd.Limit, Catalogs: cats}
	if err := o.Check(); err != nil {
		return usageError{err}
	}
	st, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	g, err := report.ListGroups(ctx, st, o)
	if errors.Is(err, report.ErrBadQuery) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return g.WriteJSON(w)
		}
		return g.WriteText(w)
	})
}
