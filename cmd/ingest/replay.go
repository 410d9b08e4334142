package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/faultline-dev/faultline/ingest"
)

type replayCmd struct {
	pipelineFlags
	Files []string `arg:"" name:"file" help:"NDJSON files of integration log records; - reads stdin."`
}

func (cmd *replayCmd) Run(ctx context.Context, log *slog.Logger) error {
	pipe, err := cmd.openPipeline(ctx, log, nil)
	if err != nil {
		return err
	}
	defer pipe.st.Close()
	cls, st, templater := pipe.cls, pipe.st, pipe.templater
	// Templates are learned while the files are replayed, and once more at
	// the end, which folds what was stored before them.
	var learning sync.WaitGroup
	lctx, stopLearning := context.WithCancel(ctx)
	learning.Go(func() { templater.Run(lctx) })
	defer func() {
		stopLearning()
		learning.Wait()
	}()
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
	stopLearning()
	learning.Wait()
	p, err := templater.Pass(ctx)
	if err != nil {
		return fmt.Errorf("endpoint templates: %w", err)
	}
	if p.Added > 0 || p.Folded.Endpoints > 0 {
		fmt.Printf("endpoint templates: %d learned (%d in all), %s folded into them\n", p.Added, p.Rules,
			plural(p.Folded.Endpoints, "stored endpoint", "stored endpoints"))
	}
	if overflow := pipe.templates.Overflowed(); overflow > 0 {
		fmt.Printf("%d calls stored under {other}: their provider had --max-endpoints distinct endpoints\n", overflow)
	}
	return nil
}
