package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

type lookupCmd struct {
	dbFlags
	tzFlag
	catalogFlags
	From  string   `name:"from" help:"Search events from this time on, RFC 3339 (default: all stored)."`
	To    string   `name:"to" help:"Search events before this time, RFC 3339 (default: all stored)."`
	Limit int      `name:"limit" default:"100" help:"Most events printed, newest first."`
	JSON  bool     `name:"json" help:"Print JSON for machines."`
	IDs   []string `arg:"" name:"id" help:"Ids to look up: a provider's request id (Finterra request_id, Finix logref, Paylera trace_id, a Cheers or Flexiti request id header), our trace_id, a Finix authorization or transfer id."`
}

func (cmd *lookupCmd) Run(ctx context.Context, log *slog.Logger) error {
	loc, err := cmd.location()
	if err != nil {
		return err
	}
	from, err := parseTime("from", cmd.From)
	if err != nil {
		return err
	}
	to, err := parseTime("to", cmd.To)
	if err != nil {
		return err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return usageError{fmt.Errorf("--from (%s) must be before --to (%s)", cmd.From, cmd.To)}
	}
	if cmd.Limit <= 0 {
		return usageError{fmt.Errorf("--limit must be positive, got %d", cmd.Limit)}
	}
	if len(cmd.IDs) > store.MaxLookupIDs {
		return usageError{fmt.Errorf("%d ids: at most %d at once", len(cmd.IDs), store.MaxLookupIDs)}
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
	res, err := report.Lookup(ctx, st, report.LookupOptions{
		IDs: cmd.IDs, From: from, To: to, Limit: cmd.Limit, Location: loc, Catalogs: cats,
	})
	if errors.Is(err, store.ErrBadID) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if cmd.JSON {
		err = res.WriteJSON(os.Stdout)
	} else {
		err = res.WriteText(os.Stdout)
	}
	if err != nil {
		return err
	}
	if len(res.Unmatched) > 0 {
		return noMatchError{fmt.Errorf("no event found for %d of %d ids (%s), searched %s",
			len(res.Unmatched), len(res.IDs), quoteList(res.Unmatched), res.Window())}
	}
	return nil
}

func quoteList(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", id)
	}
	return s
}
