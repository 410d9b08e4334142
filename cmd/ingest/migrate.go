package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/faultline-dev/faultline/internal/cli"
)

type migrateCmd struct {
	cli.Database
	Action string `arg:"" optional:"" default:"up" enum:"up,status" help:"up applies pending migrations (the default); status shows the schema version."`
}

func (cmd *migrateCmd) Run(ctx context.Context, log *slog.Logger) error {
	st, err := cmd.Open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	applied := 0
	if cmd.Action == "up" {
		versions, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		applied = len(versions)
	}
	cur, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	state := "up to date"
	if cur < latest {
		state = fmt.Sprintf("%d pending: run `ingest migrate`", latest-cur)
	}
	if cmd.Action == "up" {
		fmt.Printf("applied %s; ", plural(applied, "migration", "migrations"))
	}
	fmt.Printf("schema version %d of %d (%s)\n", cur, latest, state)
	return nil
}
