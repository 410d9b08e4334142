// Command loggen writes realistic integration log records as NDJSON to
// stdout, or produces them to a Kafka topic, for the demo, load tests and
// benchmarks.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/segmentio/kafka-go"

	"github.com/faultline-dev/faultline/synth"
)

func main() { os.Exit(run()) }

type cli struct {
	Count        int           `short:"n" default:"1000" help:"Number of records."`
	Seed         uint64        `default:"1" help:"Random seed; the same seed gives the same records."`
	Start        time.Time     `default:"2026-11-02T09:00:00Z" help:"Timestamp of the first record (RFC 3339)."`
	Step         time.Duration `default:"10ms" help:"Time between records."`
	ErrorRate    float64       `name:"error-rate" default:"0.07" help:"Share of failed calls, 0 < rate <= 1."`
	KafkaBrokers []string      `name:"kafka-brokers" env:"KAFKA_BROKERS" sep:"," help:"Produce to these brokers instead of writing to stdout."`
	KafkaTopic   string        `name:"kafka-topic" env:"KAFKA_TOPIC" default:"integration-logs" help:"Topic to produce to."`
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kong.Parse(&c, kong.Name("loggen"), kong.Description("Write realistic integration log records as NDJSON (stdout) or to Kafka."))
	if c.ErrorRate <= 0 || c.ErrorRate > 1 {
		fmt.Fprintf(os.Stderr, "loggen: --error-rate must be in (0, 1], got %v\n", c.ErrorRate)
		return 2
	}
	if c.Count < 0 {
		fmt.Fprintf(os.Stderr, "loggen: --count must not be negative, got %d\n", c.Count)
		return 2
	}
	g := synth.New(synth.Options{Seed: c.Seed, Start: c.Start, Step: c.Step, ErrorRate: c.ErrorRate})
	var err error
	if len(c.KafkaBrokers) > 0 {
		err = produce(ctx, g, c.Count, c.KafkaBrokers, c.KafkaTopic)
	} else {
		err = write(g, c.Count)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loggen: %v\n", err)
		return 1
	}
	return 0
}

func write(g *synth.Generator, n int) error {
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	var buf []byte
	for i := 0; i < n; i++ {
		buf = append(g.Next(buf[:0]), '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Flush()
}

// produce writes n records to the topic, in batches, with all replicas'
// acknowledgement.
func produce(ctx context.Context, g *synth.Generator, n int, brokers []string, topic string) error {
	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.RoundRobin{},
		BatchSize:    1000,
		BatchBytes:   900 << 10, // under the broker's default 1 MiB message.max.bytes
		BatchTimeout: 10 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
		Transport:    &kafka.Transport{},
	}
	defer w.Close()
	const chunk = 10000
	msgs := make([]kafka.Message, 0, chunk)
	for i := 0; i < n; i++ {
		msgs = append(msgs, kafka.Message{Value: g.Next(nil)})
		if len(msgs) == chunk || i == n-1 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				var werr kafka.WriteErrors
				if errors.As(err, &werr) {
					return fmt.Errorf("produce to %s: %d of %d messages failed, first: %w", topic, werr.Count(), len(msgs), firstError(werr))
				}
				return fmt.Errorf("produce to %s: %w", topic, err)
			}
			msgs = msgs[:0]
		}
	}
	return nil
}

func firstError(errs kafka.WriteErrors) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
