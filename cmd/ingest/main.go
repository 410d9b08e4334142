// Command ingest consumes integration logs, classifies provider errors and
// stores them in Postgres. Its subcommands: classify (stdin to stdout, no
// database), run, replay, migrate and status.
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

// cli is the whole command line of ingest; every flag lives here.
type cli struct {
	Classify classifyCmd `cmd:"" help:"Classify NDJSON records from stdin: one JSON line per input line on stdout; no database."`
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	parser, err := kong.New(&c,
		kong.Name("ingest"),
		kong.Description("faultline ingest: classify and store payment-provider errors from integration logs."),
		kong.UsageOnError(),
		kong.BindTo(ctx, (*context.Context)(nil)),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %v\n", err)
		return 2
	}
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %v\n", err)
		return 1
	}
	return 0
}
