package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
)

type weeklyCmd struct {
	sourceFlags
	tzFlag
	outputFlag
	Week   string `name:"week" help:"ISO week, like 2026-W46 (default: the last complete week in --tz)."`
	Format string `name:"format" default:"md" enum:"md,html,json,csv" help:"Output format (${enum}): md pastes into chat, html is one self-contained file with charts."`
	Top    int    `name:"top" default:"${top_codes}" help:"Top codes listed per provider."`
	deliveryFlags
}

func (cmd *weeklyCmd) Run(ctx context.Context, log *slog.Logger) error {
	loc, err := cmd.location()
	if err != nil {
		return err
	}
	week := report.LastCompleteWeek(time.Now(), loc)
	if cmd.Week != "" {
		if week, err = report.ParseWeek(cmd.Week); err != nil {
			return cli.UsageError{Err: err}
		}
	}
	if cmd.Top <= 0 {
		return cli.Usagef("--top must be positive, got %d", cmd.Top)
	}
	send, err := cmd.delivery(log)
	if err != nil {
		return cli.UsageError{Err: err}
	}
	st, cats, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := report.BuildWeekly(ctx, st, report.WeeklyOptions{Week: week, Location: loc, TopCodes: cmd.Top, Catalogs: cats, Alerts: st})
	if err != nil {
		return err
	}
	if send.wanted() {
		// Sent, not printed; -o still keeps a copy.
		if cmd.Output != "" {
			if err := cmd.write(func(w io.Writer) error { return writeWeekly(w, rep, cmd.Format) }); err != nil {
				return err
			}
		}
		return send.send(ctx, rep, os.Stdout)
	}
	return cmd.write(func(w io.Writer) error { return writeWeekly(w, rep, cmd.Format) })
}

// writeWeekly writes the report in format: md, html, json or csv.
func writeWeekly(w io.Writer, rep *report.Weekly, format string) error {
	switch format {
	case "html":
		return rep.WriteHTML(w)
	case "json":
		return rep.WriteJSON(w)
	case "csv":
		return rep.WriteCSV(w)
	}
	return rep.WriteMarkdown(w)
}
