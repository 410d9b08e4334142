package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/report"
)

// historyCmd is `report history`: the stored alerts of a window, read
// only (report alerts evaluates and stores them).
type historyCmd struct {
	dbFlags
	outputFlag
	Provider string `name:"provider" help:"Only this provider's alerts."`
	Rule     string `name:"rule" help:"Only this rule's alerts (decline_spike, expired_token_storm, provider_outage, rate_limit_storm, auth_failure, new_code)."`
	Severity string `name:"severity" help:"Only alerts of this severity (info, warning, critical)."`
	Status   string `name:"status" help:"Only firing, resolved, suppressed (stored suppressed, sent later or not) or paged (sent to Alertmanager) alerts."`
	From     string `name:"from" help:"Start of the window, RFC 3339: alerts whose incident overlaps it (default: 7 days before --to; at most 400 days)."`
	To       string `name:"to" help:"End of the window, RFC 3339 (default: now)."`
	After    string `name:"after" placeholder:"CURSOR" help:"The next page: the cursor the previous page printed."`
	Limit    int    `name:"limit" default:"50" help:"Most alerts of a page, firing ones first, then newest first (at most 500)."`
	JSON     bool   `name:"json" help:"Print JSON for machines: {\"alerts\": [… as report alerts --json prints them, with their id], \"next\": CURSOR or null}."`
}

func (cmd *historyCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, err := parseTime("from", cmd.From)
	if err != nil {
		return err
	}
	to, err := parseTime("to", cmd.To)
	if err != nil {
		return err
	}
	if cmd.Limit <= 0 {
		return usageError{errors.New("--limit must be positive")}
	}
	o := report.HistoryOptions{Provider: cmd.Provider, Rule: cmd.Rule, Severity: cmd.Severity, Status: cmd.Status,
		From: from, To: to, After: cmd.After, Limit: cmd.Limit}
	if err := o.Check(); err != nil {
		return usageError{err}
	}
	st, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := report.ReadAlertHistory(ctx, st, o)
	if errors.Is(err, report.ErrBadQuery) {
		return usageError{err}
	}
	if err != nil {
		return err
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
