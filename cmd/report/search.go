package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// searchWindow is the period of report search: a day by default.
var searchWindow = cli.Span{Length: 24 * time.Hour}

// searchCmd is `report search`: events without an id.
type searchCmd struct {
	cli.Database `set:"database_use= Opened read-only."`
	outputFlag
	cli.Window `set:"window_from=24h before --to; the window is at most 31 days"`
	Tenant     string `name:"tenant" help:"Events of this tenant (merchant)."`
	Service    string `name:"service" help:"Events of this calling service."`
	Provider   string `name:"provider" help:"Events of this provider."`
	Category   string `name:"category" help:"Only this category (decline, auth_expired, provider_error, …)."`
	Code       string `name:"code" help:"Only this provider code."`
	Status     int    `name:"status" help:"Only this HTTP status."`
	Endpoint   string `name:"endpoint" help:"Only this endpoint, as stored (templated: /v1/orders/{id}/payments)."`
	After      string `name:"after" placeholder:"CURSOR" help:"The next page: the cursor the previous page printed (next)."`
	Limit      int    `name:"limit" default:"50" help:"Most events of a page, newest first (at most 500)."`
	JSON       bool   `name:"json" help:"Print JSON for machines: {\"events\": […], \"next\": CURSOR or null}."`
}

func (cmd *searchCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), searchWindow)
	if err != nil {
		return err
	}
	o := report.SearchOptions{Tenant: cmd.Tenant, Service: cmd.Service, Provider: cmd.Provider, Category: cmd.Category,
		Code: cmd.Code, Status: cmd.Status, Endpoint: cmd.Endpoint, From: from, To: to, After: cmd.After, Limit: cmd.Limit}
	if cmd.Limit <= 0 {
		return cli.Usagef("--limit must be positive")
	}
	if err := o.Check(); err != nil { // before connecting: it needs no database
		return cli.Usagef("%w", err)
	}
	st, err := cmd.OpenCurrent(ctx, log, store.ReadOnly())
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := report.Search(ctx, st, o)
	if err != nil {
		return queryError(err)
	}
	return cmd.write(func(w io.Writer) error {
		if cmd.JSON {
			return res.WriteJSON(w)
		}
		return res.WriteText(w)
	})
}
