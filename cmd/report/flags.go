package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// dbFlags name the Postgres database, which report only reads.
type dbFlags struct {
	DatabaseURL string `name:"database-url" env:"DATABASE_URL" help:"Postgres URL, e.g. postgres://user@host:5432/db?sslmode=verify-full (TLS via the URL). Opened read-only."`
}

// open connects read-only and checks that the schema is the one this
// binary reads.
func (f *dbFlags) open(ctx context.Context, log *slog.Logger) (*store.Store, error) {
	if f.DatabaseURL == "" {
		return nil, usageError{errors.New("--database-url (or DATABASE_URL) is required")}
	}
	st, err := store.Open(ctx, f.DatabaseURL, store.ReadOnly(), store.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.DisplayURL(f.DatabaseURL), err)
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// tzFlag is the time zone times are shown (and days and weeks counted) in.
type tzFlag struct {
	TZ string `name:"tz" env:"FAULTLINE_TZ" default:"UTC" help:"Time zone, an IANA name like America/Toronto (default UTC)."`
}

func (f *tzFlag) location() (*time.Location, error) {
	if f.TZ == "" { // FAULTLINE_TZ set but empty
		return time.UTC, nil
	}
	if f.TZ == "Local" {
		return nil, usageError{fmt.Errorf("--tz %q: want an IANA time zone name like America/Toronto or UTC", f.TZ)}
	}
	loc, err := time.LoadLocation(f.TZ)
	if err != nil {
		return nil, usageError{fmt.Errorf("--tz %q: want an IANA time zone name like America/Toronto or UTC", f.TZ)}
	}
	return loc, nil
}

// catalogFlags add provider catalogs to the built-in ones, as ingest does.
type catalogFlags struct {
	CatalogDir string `name:"catalog-dir" env:"FAULTLINE_CATALOG_DIR" type:"existingdir" help:"Directory of provider catalogs (*.yaml): new providers, or improved catalogs that replace the built-in one of the same provider (as ingest reads them)."`
}

func (f *catalogFlags) catalogs() (*classify.Catalogs, error) {
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		return nil, err
	}
	if f.CatalogDir != "" {
		if err := cats.OverrideFS(os.DirFS(f.CatalogDir)); err != nil {
			return nil, usageError{fmt.Errorf("--catalog-dir %s: %w", f.CatalogDir, err)}
		}
	}
	return cats, nil
}

// parseTime parses an RFC 3339 flag value; "" is the zero time.
func parseTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, usageError{fmt.Errorf("--%s %q: want RFC 3339 like 2026-11-02T10:00:00Z", flag, v)}
	}
	return t.UTC(), nil
}

// output is where a report goes: stdout, or a file written whole.
type outputFlag struct {
	Output string `name:"output" short:"o" type:"path" help:"Write to this file instead of stdout."`
}

// write calls fn with the output and closes it.
func (f *outputFlag) write(fn func(io.Writer) error) error {
	if f.Output == "" {
		return fn(os.Stdout)
	}
	out, err := os.Create(f.Output)
	if err != nil {
		return err
	}
	if err := fn(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
