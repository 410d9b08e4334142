package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// historyWindow is the period of report history: a week by default.
var historyWindow = cli.Span{Length: 7 * 24 * time.Hour}

// historyCmd is `report history`: the stored alerts of a window, read
// only (report alerts evaluates and stores them).
type historyCmd struct {
	cli.Database `set:"database_use= Opened read-only."`
	outputFlag
	cli.Window `set:"window_from=7 days before --to; alerts whose incident overlaps it, at most 400 days"`
	Provider   string `name:"provider" help:"Only this provider's alerts."`
	Rule       string `name:"rule" help:"Only this rule's alerts (decline_spike, expired_token_storm, provider_outage, rate_limit_storm, auth_failure, new_code)."`
	Severity   string `name:"severity" help:"Only alerts of this severity (info, warning, critical)."`
	Status     string `name:"status" help:"Only firing, resolved, suppressed (stored suppressed, sent later or not) or paged (sent to Alertmanager) alerts."`
	After      string `name:"after" placeholder:"CURSOR" help:"The next page: the cursor the previous page printed."`
	Limit      int    `name:"limit" default:"50" help:"Most alerts of a page, firing ones first, then newest first (at most 500)."`
	JSON       bool   `name:"json" help:"Print JSON for machines: {\"alerts\": [… as report alerts --json prints them, with their id], \"next\": CURSOR or null}."`
}

func (cmd *historyCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), historyWindow)
	if err != nil {
		return err
	}
	if cmd.Limit <= 0 {
		return cli.Usagef("--limit must be positive")
	}
	o := report.HistoryOptions{Provider: cmd.Provider, Rule: cmd.Rule, Severity: cmd.Severity, Status: cmd.Status,
		From: from, To: to, After: cmd.After, Limit: cmd.Limit}
	if err := o.Check(); err != nil {
		return cli.Usagef("%w", err)
	}
	st, err := cmd.OpenCurrent(ctx, log, store.ReadOnly())
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := report.ReadAlertHistory(ctx, st, o)
	if err != nil {
		return queryError(err)
	}
	cfg := detect.DefaultConfig()
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return alerting.WriteHistoryJSON(w, h.Alerts, h.Next, cfg)
		}
		if err := alerting.WriteText(w, alerting.Result{From: h.From, To: h.To, Alerts: h.Alerts}, cfg); err != nil {
			return err
		}
		if h.Next != "" {
			_, err := io.WriteString(w, "\nNext page: --after "+h.Next+"\n")
			return err
		}
		return nil
	})
}
