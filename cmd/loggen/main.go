// Command loggen writes realistic integration log records as NDJSON to
// stdout, or produces them to a Kafka topic, for the demo, load tests and
// benchmarks.
//
// It has two modes. By count (the default): --count records --step apart,
// a fixed share of them errors, for benchmarks. As a scenario (--duration
// or --scenario): traffic per minute at --rate with daily and weekly
// seasonality, and incidents (--incident, repeatable) of the kinds the
// alert detectors look for; see synth.Scenario, whose YAML form --scenario
// reads.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/segmentio/kafka-go"

	"github.com/faultline-dev/faultline/synth"
	"github.com/faultline-dev/faultline/synth/reshape"
)

func main() { os.Exit(run()) }

type cli struct {
	Count        int           `short:"n" default:"1000" help:"Number of records (by count)."`
	Seed         uint64        `default:"1" help:"Random seed; the same seed gives the same records."`
	Start        time.Time     `help:"Timestamp of the first record (RFC 3339; default: so that the last record is now)."`
	Step         time.Duration `default:"10ms" help:"Time between records (by count)."`
	ErrorRate    float64       `name:"error-rate" default:"0.07" help:"Share of failed calls, 0 < rate <= 1 (by count)."`
	KafkaBrokers []string      `name:"kafka-brokers" env:"KAFKA_BROKERS" sep:"," help:"Produce to these brokers instead of writing to stdout."`
	KafkaTopic   string        `name:"kafka-topic" env:"KAFKA_TOPIC" default:"integration-logs" help:"Topic to produce to."`
	Style        string        `name:"style" default:"contract" help:"Write each record as this logging stack does: contract, zap, zap-nested, zerolog, slog, logrus, ecszap, ecs-nested, logstash, docker, fluentbit, fluentbit-merged, fluentbit-tail, fluentd, vector, cri, cri-line, otlp_json, otlp_proto, otlp_old_semconv, otlp_filelog (OpenTelemetry protobuf only to Kafka)."`
	PerMessage   int           `name:"per-message" default:"1" help:"OpenTelemetry styles: log records per message, 1 to 500 (the Collector's batch processor sends many in one message)."`

	Scenario   string        `name:"scenario" type:"existingfile" placeholder:"FILE" help:"Generate the traffic a YAML scenario describes (see synth.Scenario); the other scenario flags are then not allowed."`
	Duration   time.Duration `name:"duration" help:"Generate a scenario of this much traffic (72h), per minute at --rate, instead of --count records."`
	Rate       float64       `name:"rate" default:"600" help:"Scenario: requests per minute of all providers at a weekday's 15:00 UTC peak."`
	Daily      float64       `name:"daily" default:"0.6" help:"Scenario: depth of the night trough (volume at 03:00 UTC is 1-daily of the peak), in [0, 1)."`
	Weekend    float64       `name:"weekend" default:"0.6" help:"Scenario: volume on Saturdays and Sundays, as a share of weekdays'."`
	MondayRamp float64       `name:"monday-ramp" help:"Scenario: extra share of volume on Monday mornings (peak at 09:00 UTC)."`
	Incident   []string      `name:"incident" sep:"none" placeholder:"kind=K,provider=P,start=T,length=D,strength=S" help:"Scenario: an incident (repeatable). kind: decline_spike, expired_token_storm, provider_outage, rate_limit_storm, auth_failure, new_code; start: RFC 3339 or +offset from the scenario's start (+50h); optional code=, subcode=, status=."`
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kong.Parse(&c, kong.Name("loggen"), kong.Description("Write realistic integration log records as NDJSON (stdout) or to Kafka."))
	next, err := c.records(time.Now())
	if err == nil {
		next, err = c.styled(next)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loggen: %v\n", err)
		return 2
	}
	if len(c.KafkaBrokers) > 0 {
		err = produce(ctx, next, c.KafkaBrokers, c.KafkaTopic)
	} else {
		err = write(next)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loggen: %v\n", err)
		return 1
	}
	return 0
}

// styled writes each record next makes in --style.
func (c *cli) styled(next func(dst []byte) ([]byte, bool)) (func(dst []byte) ([]byte, bool), error) {
	if c.PerMessage < 1 || c.PerMessage > maxPerMessage {
		return nil, fmt.Errorf("--per-message must be in [1, %d], got %d", maxPerMessage, c.PerMessage)
	}
	if c.Style == "contract" && c.PerMessage == 1 {
		return next, nil
	}
	style, err := reshape.Lookup(c.Style)
	if err != nil {
		return nil, fmt.Errorf("--style: %w", err)
	}
	if strings.HasPrefix(style.Shape, "otlp_proto") && len(c.KafkaBrokers) == 0 {
		return nil, fmt.Errorf("--style %s writes binary protobuf messages: produce them with --kafka-brokers", c.Style)
	}
	if c.PerMessage > 1 {
		return c.batched(next, style)
	}
	var buf []byte
	return func(dst []byte) ([]byte, bool) {
		var ok bool
		if buf, ok = next(buf[:0]); !ok {
			return dst, false
		}
		call, err := reshape.Parse(buf)
		if err != nil {
			panic(fmt.Sprintf("loggen: a generated record does not parse: %v", err))
		}
		out, err := style.Write(call)
		if err != nil {
			panic(fmt.Sprintf("loggen: --style %s: %v", c.Style, err))
		}
		return append(dst, out...), true
	}, nil
}

// maxPerMessage bounds --per-message: 500 log records of ours make at
// most about half a MiB (all errors, OTLP JSON: 1,000 make 1.03 MB), well
// under the broker's default message.max.bytes and ingest's
// --max-record-bytes, both 1 MiB.
const maxPerMessage = 500

// batched writes up to --per-message records next makes as one message
// of an OpenTelemetry style.
func (c *cli) batched(next func(dst []byte) ([]byte, bool), style reshape.Style) (func(dst []byte) ([]byte, bool), error) {
	if style.WriteMany == nil {
		return nil, fmt.Errorf("--per-message: --style %s writes one record a message (only the OpenTelemetry styles carry many)", c.Style)
	}
	calls := make([]reshape.Call, 0, c.PerMessage)
	return func(dst []byte) ([]byte, bool) {
		calls = calls[:0]
		for len(calls) < c.PerMessage {
			// A fresh buffer a record: a Call may keep parts of it.
			rec, ok := next(nil)
			if !ok {
				break
			}
			call, err := reshape.Parse(rec)
			if err != nil {
				panic(fmt.Sprintf("loggen: a generated record does not parse: %v", err))
			}
			calls = append(calls, call)
		}
		if len(calls) == 0 {
			return dst, false
		}
		out, err := style.WriteMany(calls)
		if err != nil {
			panic(fmt.Sprintf("loggen: --style %s: %v", c.Style, err))
		}
		return append(dst, out...), true
	}, nil
}

// options checks the flags and returns the generator's options: without
// --start, the records end now, so that they fall in the default windows of
// `ingest status` and the reports, and within retention.
func (c *cli) options(now time.Time) (synth.Options, error) {
	if c.ErrorRate <= 0 || c.ErrorRate > 1 {
		return synth.Options{}, fmt.Errorf("--error-rate must be in (0, 1], got %v", c.ErrorRate)
	}
	if c.Count < 0 {
		return synth.Options{}, fmt.Errorf("--count must not be negative, got %d", c.Count)
	}
	if c.Step <= 0 {
		return synth.Options{}, fmt.Errorf("--step must be positive, got %s", c.Step)
	}
	start := c.Start
	if start.IsZero() {
		start = now.Add(-time.Duration(max(c.Count-1, 0)) * c.Step).UTC().Truncate(time.Millisecond)
	}
	return synth.Options{Seed: c.Seed, Start: start, Step: c.Step, ErrorRate: c.ErrorRate}, nil
}

// records returns the generator the flags ask for: next appends the next
// record to dst, or reports that there is none left.
func (c *cli) records(now time.Time) (next func(dst []byte) ([]byte, bool), err error) {
	if c.Scenario == "" && c.Duration == 0 {
		opts, err := c.options(now)
		if err != nil {
			return nil, err
		}
		g, left := synth.New(opts), c.Count
		return func(dst []byte) ([]byte, bool) {
			if left == 0 {
				return dst, false
			}
			left--
			return g.Next(dst), true
		}, nil
	}
	sc, err := c.scenario(now)
	if err != nil {
		return nil, err
	}
	st, err := sc.Stream()
	if err != nil {
		return nil, err
	}
	return func(dst []byte) ([]byte, bool) {
		out, _, ok := st.Next(dst)
		return out, ok
	}, nil
}

// scenario builds the scenario of --scenario, or of the scenario flags.
func (c *cli) scenario(now time.Time) (synth.Scenario, error) {
	if c.Scenario != "" {
		if c.Duration != 0 || len(c.Incident) > 0 {
			return synth.Scenario{}, fmt.Errorf("--scenario describes the whole scenario: drop --duration and --incident")
		}
		data, err := os.ReadFile(c.Scenario)
		if err != nil {
			return synth.Scenario{}, fmt.Errorf("--scenario: %w", err)
		}
		sc, err := synth.ParseScenario(data)
		if err != nil {
			return sc, fmt.Errorf("--scenario %s: %w", c.Scenario, err)
		}
		return sc, nil
	}
	if c.Duration < time.Minute {
		return synth.Scenario{}, fmt.Errorf("--duration must be at least 1m, got %s", c.Duration)
	}
	sc := synth.Scenario{
		Seed: c.Seed, Start: c.Start, Duration: c.Duration, Rate: c.Rate,
		Seasonality: synth.Seasonality{Daily: c.Daily, Weekend: c.Weekend, MondayRamp: c.MondayRamp},
	}
	if sc.Start.IsZero() {
		sc.Start = now.Add(-c.Duration).UTC().Truncate(time.Minute)
	}
	for _, spec := range c.Incident {
		in, err := parseIncident(spec, sc.Start)
		if err != nil {
			return sc, fmt.Errorf("--incident %q: %w", spec, err)
		}
		sc.Incidents = append(sc.Incidents, in)
	}
	// Stream checks the rest (rate, seasonality, providers, incidents)
	// and names what is wrong.
	if _, err := sc.Stream(); err != nil {
		return sc, err
	}
	return sc, nil
}

// parseIncident reads kind=K,provider=P,start=T,length=D,strength=S[,code=C,subcode=S,status=N];
// start is RFC 3339 or +offset from the scenario's start.
func parseIncident(spec string, start time.Time) (synth.Incident, error) {
	var in synth.Incident
	seen := map[string]bool{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" {
			return in, fmt.Errorf("%q: want key=value", kv)
		}
		if seen[k] {
			return in, fmt.Errorf("%s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "kind":
			in.Kind = synth.IncidentKind(v)
		case "provider":
			in.Provider = v
		case "start":
			if off, ok := strings.CutPrefix(v, "+"); ok {
				var d time.Duration
				d, err = time.ParseDuration(off)
				in.Start = start.Add(d)
			} else {
				in.Start, err = time.Parse(time.RFC3339, v)
			}
		case "length":
			in.Length, err = time.ParseDuration(v)
		case "strength":
			in.Strength, err = strconv.ParseFloat(v, 64)
		case "code":
			in.Code = v
		case "subcode":
			in.Subcode = v
		case "status":
			in.Status, err = strconv.Atoi(v)
		default:
			return in, fmt.Errorf("unknown key %q (kind, provider, start, length, strength, code, subcode, status)", k)
		}
		if err != nil {
			return in, fmt.Errorf("%s: %w", k, err)
		}
	}
	for _, k := range []string{"kind", "provider", "start", "length", "strength"} {
		if !seen[k] {
			return in, fmt.Errorf("%s is required", k)
		}
	}
	return in, nil
}

func write(next func([]byte) ([]byte, bool)) error {
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	var buf []byte
	for {
		var ok bool
		if buf, ok = next(buf[:0]); !ok {
			break
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Flush()
}

// produce writes the records to the topic, in batches, with all replicas'
// acknowledgement.
func produce(ctx context.Context, next func([]byte) ([]byte, bool), brokers []string, topic string) error {
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
	for more := true; more; {
		var rec []byte
		if rec, more = next(nil); more {
			msgs = append(msgs, kafka.Message{Value: rec})
		}
		if len(msgs) == chunk || (!more && len(msgs) > 0) {
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
