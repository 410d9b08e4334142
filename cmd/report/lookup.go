package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

type lookupCmd struct {
	sourceFlags
	tzFlag
	cli.Window `kong:"set='window_from=all stored',set='window_to=all stored'"`
	Limit      int      `name:"limit" default:"${lookup_limit}" help:"Most events printed, newest first."`
	JSON       bool     `name:"json" help:"Print JSON for machines."`
	IDs        []string `arg:"" name:"id" help:"Ids to look up: a provider's request id (Finterra request_id, Finix logref, Paylera trace_id, a Cheers or Flexiti request id header), our trace_id, a Finix authorization or transfer id."`
}

func (cmd *lookupCmd) Run(ctx context.Context, log *slog.Logger) error {
	loc, err := cmd.location()
	if err != nil {
		return err
	}
	// No default length: an omitted end searches everything stored.
	from, to, err := cmd.Resolve(time.Now(), cli.Span{})
	if err != nil {
		return err
	}
	if cmd.Limit <= 0 {
		return cli.Usagef("--limit must be positive, got %d", cmd.Limit)
	}
	if len(cmd.IDs) > store.MaxLookupIDs {
		return cli.Usagef("%d ids: at most %d at once", len(cmd.IDs), store.MaxLookupIDs)
	}
	st, cats, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := report.Lookup(ctx, st, report.LookupOptions{
		IDs: cmd.IDs, From: from, To: to, Limit: cmd.Limit, Location: loc, Catalogs: cats,
	})
	if errors.Is(err, store.ErrBadID) {
		return cli.UsageError{Err: err}
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
