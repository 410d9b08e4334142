package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/faultline-dev/faultline/ingest"
)

type replayCmd struct {
	pipelineFlags
	Files []string `arg:"" name:"file" help:"NDJSON files of integration log records; - reads stdin."`
}

func (cmd *replayCmd) Run(ctx context.Context, log *slog.Logger) error {
	cls, st, err := cmd.pipelineFlags.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, path := range cmd.Files {
		var bar *progressbar.ProgressBar
		var progress func(done, total int64)
		if term.IsTerminal(int(os.Stderr.Fd())) {
			bar = progressbar.DefaultBytes(-1, "replay "+path)
			progress = func(done, total int64) {
				bar.ChangeMax64(total)
				_ = bar.Set64(done)
			}
		}
		r, err := ingest.NewReplay(ingest.ReplayConfig{
			Store: st, Classifier: cls, BatchSize: cmd.BatchSize, MaxRecordBytes: cmd.MaxRecordBytes,
			Builder: cmd.builderOptions(), Logger: log, Progress: progress,
		})
		if err != nil {
			return err
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
		fmt.Printf("%s: %s, %d already stored, %s stored, %s\n", path, plural(stats.Lines, "line", "lines"), stats.Skipped,
			plural(stats.Stored, "record", "records"), plural(stats.DeadLetters, "dead letter", "dead letters"))
	}
	return nil
}
