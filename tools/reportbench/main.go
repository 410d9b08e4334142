// Command reportbench measures faultline's reports over a database the
// size of production and prints the figures with the query plans:
//
//	reportbench load    fills a database with error events over daily
//	                    partitions, with their ids, rollups and error groups
//	reportbench measure times report weekly and trends over one week, and
//	                    lookups of random ids of every kind: through event_ids
//	                    (what report lookup does) and, for reference, by
//	                    probing the id indexes of every events partition
//
// load is idempotent and resumable: it writes each day in chunks with
// store.WriteBatch (binary COPY of the events, their ids and rollups in one
// transaction per chunk) under the source "reportbench", whose stored
// offsets say what is done, so running it again on a loaded database does
// nothing and an interrupted load resumes. Events are synth records, all
// errors, classified and redacted by ingest.Builder (not consumed from
// Kafka); request rollups are scaled to a 7% error rate. The database is
// created if missing. Other benchmarks (alerts backtests) can load the same
// database once and reuse it:
//
//	go run ./tools/reportbench load --database-url postgres://postgres@127.0.0.1:5432/faultline_reportbench?sslmode=disable
//
// Run it through `make bench` (scripts/bench.sh).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

func main() { os.Exit(run()) }

type cli struct {
	Load    loadCmd    `cmd:"" help:"Fill the database with error events, ids, rollups and groups (idempotent, resumable)."`
	Measure measureCmd `cmd:"" help:"Time weekly, trends and lookups over the loaded database and print the plans."`
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kctx := kong.Parse(&c, kong.Name("reportbench"),
		kong.Description("Benchmark faultline's reports over millions of stored events."),
		kong.BindTo(ctx, (*context.Context)(nil)))
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "reportbench: %v\n", err)
		return 1
	}
	return 0
}
