// Command loggen writes realistic integration log records as NDJSON, for
// the demo, load tests and benchmarks.
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"

	"github.com/alecthomas/kong"

	"github.com/faultline-dev/faultline/synth"
)

func main() { os.Exit(run()) }

type cli struct {
	Count     int           `short:"n" default:"1000" help:"Number of records."`
	Seed      uint64        `default:"1" help:"Random seed; the same seed gives the same records."`
	Start     time.Time     `default:"2026-11-02T09:00:00Z" help:"Timestamp of the first record (RFC 3339)."`
	Step      time.Duration `default:"10ms" help:"Time between records."`
	ErrorRate float64       `name:"error-rate" default:"0.07" help:"Share of failed calls, 0 < rate <= 1."`
}

func run() int {
	var c cli
	kong.Parse(&c, kong.Name("loggen"), kong.Description("Write realistic integration log records as NDJSON to stdout."))
	if c.ErrorRate <= 0 || c.ErrorRate > 1 {
		fmt.Fprintf(os.Stderr, "loggen: --error-rate must be in (0, 1], got %v\n", c.ErrorRate)
		return 2
	}
	if c.Count < 0 {
		fmt.Fprintf(os.Stderr, "loggen: --count must not be negative, got %d\n", c.Count)
		return 2
	}
	g := synth.New(synth.Options{Seed: c.Seed, Start: c.Start, Step: c.Step, ErrorRate: c.ErrorRate})
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	var buf []byte
	for i := 0; i < c.Count; i++ {
		buf = append(g.Next(buf[:0]), '\n')
		if _, err := w.Write(buf); err != nil {
			fmt.Fprintf(os.Stderr, "loggen: %v\n", err)
			return 1
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "loggen: %v\n", err)
		return 1
	}
	return 0
}
