package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
)

// escalateCmd is `report escalate`: what to send a provider's support
// about an alert's incident.
type escalateCmd struct {
	sourceFlags
	outputFlag
	JSON    bool   `name:"json" help:"Print JSON for machines: {\"alert\": …, \"samples\": [{\"id\", \"ts\", \"status\", \"code\", \"endpoint\"}, …]}."`
	AlertID string `arg:"" name:"alert-id" help:"The stored alert's id (report alerts --json prints it; the console shows it in /alerts/ID)."`
}

func (cmd *escalateCmd) Run(ctx context.Context, log *slog.Logger) error {
	id, err := strconv.ParseInt(cmd.AlertID, 10, 64)
	if err != nil || id <= 0 {
		return cli.Usagef("alert id %q: want a stored alert's number, like 42", cmd.AlertID)
	}
	st, cats, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	x, err := report.Escalate(ctx, st, id, report.EscalateOptions{Catalogs: cats})
	if errors.Is(err, report.ErrNoAlert) {
		return fmt.Errorf("no alert %d is stored (report history lists them)", id)
	}
	if err != nil {
		return err
	}
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return x.WriteJSON(w)
		}
		return x.WriteText(w)
	})
}
