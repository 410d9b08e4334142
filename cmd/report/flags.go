package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// sourceFlags are what the reading commands read: the Postgres database,
// only read, and the provider catalogs that tell documented codes from
// others.
type sourceFlags struct {
	cli.Database `set:"database_use= Opened read-only."`
	cli.CatalogDir
}

// open loads the catalogs, then connects read-only and checks that the
// schema is the one this binary reads.
func (f *sourceFlags) open(ctx context.Context, log *slog.Logger) (*store.Store, *classify.Catalogs, error) {
	cats, err := f.Catalogs()
	if err != nil {
		return nil, nil, err
	}
	st, err := f.OpenCurrent(ctx, log, store.ReadOnly())
	if err != nil {
		return nil, nil, err
	}
	return st, cats, nil
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
		return nil, cli.Usagef("--tz %q: want an IANA time zone name like America/Toronto or UTC", f.TZ)
	}
	loc, err := time.LoadLocation(f.TZ)
	if err != nil {
		return nil, cli.Usagef("--tz %q: want an IANA time zone name like America/Toronto or UTC", f.TZ)
	}
	return loc, nil
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

// queryError is the error of reading what a command asked for: a usage
// error (exit 2) when the query itself is bad (report.ErrBadQuery: a
// cursor that is not one, a filter the report refuses).
func queryError(err error) error {
	if errors.Is(err, report.ErrBadQuery) {
		return cli.Usagef("%w", err)
	}
	return err
}
