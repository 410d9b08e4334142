package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/faultline-dev/faultline/ingest"
)

type replayCmd struct {
	dbFlags
	catalogFlags
	Files        []string  `arg:"" name:"file" help:"NDJSON files of integration log records; - reads stdin."`
	Migrate      bool      `help:"Apply pending migrations first."`
	BatchSize    int       `name:"batch-size" default:"5000" help:"Most records in one batch (one transaction)."`
	Keep         retention `name:"keep" env:"FAULTLINE_KEEP" default:"90d" help:"Records older than this are dead letters (they would be dropped by retention)."`
	MaxBodyBytes int       `name:"max-body-bytes" default:"8192" help:"Bound of a stored (redacted) response body."`
}

func (cmd *replayCmd) Run(ctx context.Context, log *slog.Logger) error {
	if cmd.BatchSize <= 0 {
		return usageError{fmt.Errorf("--batch-size must be positive, got %d", cmd.BatchSize)}
	}
	dbURL, err := cmd.url()
	if err != nil {
		return err
	}
	cls, err := cmd.classifier()
	if err != nil {
		return err
	}
	st, err := openCurrentStore(ctx, dbURL, cmd.Migrate, log)
	if err != nil {
		return err
	}
	defer st.Close()
	r := &ingest.Replay{
		Store: st, Classifier: cls, BatchSize: cmd.BatchSize, MaxRecordBytes: cmd.MaxRecordBytes,
		Builder: ingest.BuilderOptions{MaxBodyBytes: cmd.MaxBodyBytes, Keep: time.Duration(cmd.Keep)},
		Logger:  log,
	}
	for _, path := range cmd.Files {
		var bar *progressbar.ProgressBar
		if term.IsTerminal(int(os.Stderr.Fd())) {
			bar = progressbar.DefaultBytes(-1, "replay "+path)
			r.Progress = func(done, total int64) {
				bar.ChangeMax64(total)
				_ = bar.Set64(done)
			}
		}
		var stats ingest.ReplayStats
		if path == "-" {
			stats, err = r.Reader(ctx, os.Stdin)
		} else {
			stats, err = r.File(ctx, path)
		}
		if bar != nil {
			_ = bar.Finish()
		}
		if err != nil {
			return fmt.Errorf("replay %s: %w", path, err)
		}
		fmt.Printf("%s: %d lines, %d already stored, %d records stored, %d dead letters\n",
			path, stats.Lines, stats.Skipped, stats.Stored, stats.DeadLetters)
	}
	return nil
}
