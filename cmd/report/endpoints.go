package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/report"
)

type endpointsCmd struct {
	dbFlags
	catalogFlags
	outputFlag
	From     string `name:"from" help:"Start of the period whose calls are counted, RFC 3339 (default: 7 days before --to)."`
	To       string `name:"to" help:"End of the period, RFC 3339 (default: now)."`
	Provider string `name:"provider" help:"Only this provider's endpoints and templates."`
	Limit    int    `name:"limit" default:"50" help:"Most endpoints listed per provider, busiest first (0: all)."`
	JSON     bool   `name:"json" help:"Print JSON for machines."`
}

func (cmd *endpointsCmd) Run(ctx context.Context, log *slog.Logger) error {
	to, err := parseTime("to", cmd.To)
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	from, err := parseTime("from", cmd.From)
	if err != nil {
		return err
	}
	if from.IsZero() {
		from = to.Add(-7 * 24 * time.Hour)
	}
	if !from.Before(to) {
		return usageError{fmt.Errorf("--from (%s) must be before --to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))}
	}
	if cmd.Limit < 0 {
		return usageError{fmt.Errorf("--limit must not be negative, got %d", cmd.Limit)}
	}
	cats, err := cmd.catalogs()
	if err != nil {
		return err
	}
	st, err := cmd.open(ctx, log)
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
