package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/faultline-dev/faultline/store"
)

// Database is the --database-url flag. Its help ends with the variable
// ${database_use}, which a command sets to say how it uses the database
// (empty by default).
type Database struct {
	DatabaseURL string `name:"database-url" env:"DATABASE_URL" help:"Postgres URL, e.g. postgres://user@host:5432/db?sslmode=verify-full (TLS via the URL).${database_use=}"`
}

// Open connects to the database with opts and the logger. Its errors show
// the database only as store.DisplayURL does: never a password, nor a
// keyword/value connection string. A missing URL is a usage error.
func (d *Database) Open(ctx context.Context, log *slog.Logger, opts ...store.Option) (*store.Store, error) {
	if d.DatabaseURL == "" {
		return nil, Usagef("--database-url (or DATABASE_URL) is required")
	}
	st, err := store.Open(ctx, d.DatabaseURL, append([]store.Option{store.WithLogger(log)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.DisplayURL(d.DatabaseURL), err)
	}
	return st, nil
}

// OpenCurrent is Open, then refuses a schema that is not the one this
// binary reads and writes (store.ErrSchemaBehind names `ingest migrate`).
func (d *Database) OpenCurrent(ctx context.Context, log *slog.Logger, opts ...store.Option) (*store.Store, error) {
	st, err := d.Open(ctx, log, opts...)
	if err != nil {
		return nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Display is the database as messages may show it (store.DisplayURL).
func (d *Database) Display() string { return store.DisplayURL(d.DatabaseURL) }
