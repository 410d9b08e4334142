package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/report"
)

type trendsCmd struct {
	dbFlags
	catalogFlags
	outputFlag
	From  string `name:"from" help:"Start of the period, RFC 3339 (default: 24h before --to)."`
	To    string `name:"to" help:"End of the period, RFC 3339 (default: now)."`
	Limit int    `name:"limit" default:"20" help:"Most movers listed (0: all)."`
	JSON  bool   `name:"json" help:"Print JSON for machines."`
}

func (cmd *trendsCmd) Run(ctx context.Context, log *slog.Logger) error {
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
		from = to.Add(-24 * time.Hour)
	}
	if to.Sub(from) < time.Minute {
		return usageError{fmt.Errorf("--from (%s) must be at least a minute before --to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))}
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
