package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/kafkasource"
	"github.com/faultline-dev/faultline/store"
)

// kafkaFlags are the Kafka connection flags shared by run and status.
type kafkaFlags struct {
	Brokers           []string      `name:"kafka-brokers" env:"KAFKA_BROKERS" sep:"," help:"Kafka bootstrap brokers, host:port, comma separated."`
	Topic             string        `name:"kafka-topic" env:"KAFKA_TOPIC" default:"integration-logs" help:"Topic of integration log records."`
	Group             string        `name:"kafka-group" env:"KAFKA_GROUP" default:"faultline-ingest" help:"Consumer group."`
	TLS               bool          `name:"kafka-tls" env:"KAFKA_TLS" help:"Connect to Kafka over TLS."`
	TLSCA             string        `name:"kafka-tls-ca" env:"KAFKA_TLS_CA" type:"existingfile" help:"PEM file of CA certificates for Kafka TLS (default: system roots)."`
	TLSCert           string        `name:"kafka-tls-cert" env:"KAFKA_TLS_CERT" type:"existingfile" help:"PEM client certificate for Kafka mutual TLS."`
	TLSKey            string        `name:"kafka-tls-key" env:"KAFKA_TLS_KEY" type:"existingfile" help:"PEM client key for Kafka mutual TLS."`
	SASLMechanism     string        `name:"kafka-sasl-mechanism" env:"KAFKA_SASL_MECHANISM" default:"none" enum:"none,plain,scram-sha-256,scram-sha-512" help:"SASL mechanism (${enum})."`
	SASLUser          string        `name:"kafka-sasl-user" env:"KAFKA_SASL_USER" help:"SASL user name."`
	SASLPassword      string        `name:"kafka-sasl-password" env:"KAFKA_SASL_PASSWORD" help:"SASL password (prefer the environment variable)."`
	SessionTimeout    time.Duration `name:"kafka-session-timeout" env:"KAFKA_SESSION_TIMEOUT" default:"${kafka_session_timeout}" help:"Consumer group session timeout: how long a crashed member keeps its partitions."`
	HeartbeatInterval time.Duration `name:"kafka-heartbeat-interval" env:"KAFKA_HEARTBEAT_INTERVAL" default:"${kafka_heartbeat_interval}" help:"Consumer group heartbeat interval."`
	RebalanceTimeout  time.Duration `name:"kafka-rebalance-timeout" env:"KAFKA_REBALANCE_TIMEOUT" default:"${kafka_rebalance_timeout}" help:"Consumer group rebalance timeout."`
}

// kafkaFlagNames are the flags of kafkasource's Config fields (and of
// NewSASL's arguments), for its errors.
var kafkaFlagNames = map[string]string{
	"Brokers":           "--kafka-brokers",
	"Topic":             "--kafka-topic",
	"Group":             "--kafka-group",
	"SessionTimeout":    "--kafka-session-timeout",
	"HeartbeatInterval": "--kafka-heartbeat-interval",
	"RebalanceTimeout":  "--kafka-rebalance-timeout",
	"SASLMechanism":     "--kafka-sasl-mechanism",
	"SASLUser":          "--kafka-sasl-user",
}

// config returns the kafkasource configuration of the flags, validated
// by kafkasource; its errors name the flags.
func (f *kafkaFlags) config() (kafkasource.Config, error) {
	cfg := kafkasource.Config{
		Brokers: f.Brokers, Topic: f.Topic, Group: f.Group,
		SessionTimeout: f.SessionTimeout, HeartbeatInterval: f.HeartbeatInterval, RebalanceTimeout: f.RebalanceTimeout,
	}
	if err := cfg.Validate(); err != nil {
		return cfg, kafkaUsage(err)
	}
	if f.TLS || f.TLSCA != "" || f.TLSCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.TLSCA != "" {
			pem, err := os.ReadFile(f.TLSCA)
			if err != nil {
				return cfg, fmt.Errorf("--kafka-tls-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return cfg, cli.Usagef("--kafka-tls-ca %s: no PEM certificates", f.TLSCA)
			}
		}
		if (f.TLSCert == "") != (f.TLSKey == "") {
			return cfg, cli.Usagef("--kafka-tls-cert and --kafka-tls-key go together")
		}
		if f.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey)
			if err != nil {
				return cfg, fmt.Errorf("--kafka-tls-cert/--kafka-tls-key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		cfg.TLS = tc
	}
	if f.SASLMechanism != "none" {
		m, err := kafkasource.NewSASL(f.SASLMechanism, f.SASLUser, f.SASLPassword)
		if err != nil {
			return cfg, kafkaUsage(err)
		}
		cfg.SASL = m
	}
	return cfg, nil
}

// kafkaUsage turns kafkasource's configuration error into a usage error
// naming the flags.
func kafkaUsage(err error) error {
	var bad *kafkasource.ConfigError
	if !errors.As(err, &bad) {
		return err
	}
	return cli.UsageError{Err: errors.New(bad.Describe(func(field string) string {
		if flag, ok := kafkaFlagNames[field]; ok {
			return flag
		}
		return field
	}))}
}

// durationFlag is a duration flag's name and value.
type durationFlag struct {
	name string
	d    time.Duration
}

// positive refuses a duration flag that is zero or negative, naming it.
func positive(flags ...durationFlag) error {
	for _, f := range flags {
		if f.d <= 0 {
			return cli.Usagef("%s must be positive, got %s", f.name, f.d)
		}
	}
	return nil
}

// retention is a duration that also accepts days ("90d").
type retention time.Duration

// Decode implements kong.MapperValue.
func (r *retention) Decode(ctx *kong.DecodeContext) error {
	var s string
	if err := ctx.Scan.PopValueInto("duration", &s); err != nil {
		return err
	}
	d, err := parseRetention(s)
	if err != nil {
		return err
	}
	*r = retention(d)
	return nil
}

func parseRetention(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: want a positive number of days like 90d, or a duration like 36h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a positive number of days like 90d, or a duration like 36h", s)
	}
	return d, nil
}

// storedFlags are what the commands that work on what is stored
// (reclassify, templates) share: the database, with a current schema, and
// the classifier.
type storedFlags struct {
	cli.Database
	catalogFlags
}

// open builds the classifier and opens the database, refusing a schema
// that is not current.
func (f *storedFlags) open(ctx context.Context, log *slog.Logger) (*classify.Classifier, *store.Store, error) {
	cls, err := f.classifier(0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.OpenCurrent(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	return cls, st, nil
}

// pipelineFlags are what run and replay share: where to store, how to
// classify, how to batch and what to keep.
type pipelineFlags struct {
	cli.Database
	catalogFlags
	templateFlags
	Migrate      bool      `help:"Apply pending migrations first (otherwise a schema that is behind is refused)."`
	BatchSize    int       `name:"batch-size" env:"BATCH_SIZE" default:"${batch_size}" help:"Most records in one batch (one transaction)."`
	Keep         retention `name:"keep" env:"FAULTLINE_KEEP" default:"90d" help:"Keep events this long (90d, 36h): older partitions are dropped, older records are dead letters."`
	MaxBodyBytes int       `name:"max-body-bytes" default:"${max_body_bytes}" help:"Bound of a stored response body, applied after redaction."`
}

// pipeline is what run and replay work with: the classifier, the database
// with a current schema, and the Templater that keeps the classifier's
// endpoint templates current.
type pipeline struct {
	cls       *classify.Classifier
	st        *store.Store
	templates *ingest.TemplateMetrics
	templater *ingest.Templater
}

// openPipeline opens the pipeline of the flags, its template metrics
// registered with reg (nil: nowhere). The caller closes its store.
func (f *pipelineFlags) openPipeline(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (*pipeline, error) {
	p := &pipeline{}
	// The store reports endpoint overflow and new endpoints to what is
	// built next, before the first batch is written.
	cls, st, err := f.open(ctx, log, func(provider string, n int64) { p.templates.CountOverflow(provider, n) }, func(n int) { p.templater.Kick(n) })
	if err != nil {
		return nil, err
	}
	p.cls, p.st = cls, st
	p.templates = ingest.NewTemplateMetrics(reg, cls.Catalogs().Providers())
	if p.templater, err = f.templater(ctx, st, cls, p.templates, log); err != nil {
		st.Close()
		return nil, err
	}
	return p, nil
}

// open checks the flags, builds the classifier and opens the database with
// a current schema: migrated first with --migrate, refused (naming
// `ingest migrate`) when behind.
//
// overflow counts the calls stored under {other} (store.WithEndpointLimit);
// newEndpoints is told of endpoints stored for the first time.
func (f *pipelineFlags) open(ctx context.Context, log *slog.Logger, overflow func(provider string, calls int64), newEndpoints func(int)) (*classify.Classifier, *store.Store, error) {
	if f.BatchSize <= 0 {
		return nil, nil, cli.Usagef("--batch-size must be positive, got %d", f.BatchSize)
	}
	if f.MaxBodyBytes <= 0 {
		return nil, nil, cli.Usagef("--max-body-bytes must be positive, got %d", f.MaxBodyBytes)
	}
	if err := f.templateFlags.check(); err != nil {
		return nil, nil, err
	}
	cls, err := f.classifier(f.MaxBodyBytes)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Database.Open(ctx, log, store.WithEndpointLimit(f.MaxEndpoints, overflow), store.WithNewEndpoints(newEndpoints))
	if err != nil {
		return nil, nil, err
	}
	if f.Migrate {
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		if errors.Is(err, store.ErrSchemaBehind) {
			return nil, nil, fmt.Errorf("%w (or start with --migrate)", err)
		}
		return nil, nil, err
	}
	return cls, st, nil
}

func (f *pipelineFlags) builderOptions() ingest.BuilderOptions {
	return ingest.BuilderOptions{Keep: time.Duration(f.Keep)}
}
