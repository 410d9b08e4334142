package ingest

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/faultline-dev/faultline/classify"
)

// Each configuration of this package is resolved the same way, once, by
// its constructor: WithDefaults returns a new value whose zero fields hold
// their defaults (the caller's is never modified), and validate refuses
// what no default can stand for, naming the fields.

// discard is the logger of a configuration without one.
var discard = slog.New(slog.DiscardHandler)

// WithDefaults returns a copy of c whose zero fields hold their defaults:
// DefaultBatchSize, DefaultBatchWait, DefaultDrainTimeout, a Logger that
// discards (also Kafka's, unless it has its own) and Metrics registered
// nowhere.
func (c ConsumerConfig) WithDefaults() ConsumerConfig {
	c.BatchSize, c.Logger, c.Metrics = pipelineDefaults(c.BatchSize, c.Logger, c.Metrics)
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Kafka.Logger == nil {
		c.Kafka.Logger = c.Logger
	}
	return c
}

func (c ConsumerConfig) validate() error {
	problems := pipelineProblems(c.Store, c.Classifier, c.BatchSize, c.Builder)
	if c.BatchWait < 0 {
		problems = append(problems, fmt.Sprintf("negative BatchWait %s", c.BatchWait))
	}
	if c.DrainTimeout < 0 {
		problems = append(problems, fmt.Sprintf("negative DrainTimeout %s", c.DrainTimeout))
	}
	return configError("consumer", problems)
}

// WithDefaults returns a copy of c whose zero fields hold their defaults:
// DefaultBatchSize, classify.DefaultMaxRecordBytes, a Logger that discards
// and Metrics registered nowhere.
func (c ReplayConfig) WithDefaults() ReplayConfig {
	c.BatchSize, c.Logger, c.Metrics = pipelineDefaults(c.BatchSize, c.Logger, c.Metrics)
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = classify.DefaultMaxRecordBytes
	}
	return c
}

func (c ReplayConfig) validate() error {
	problems := pipelineProblems(c.Store, c.Classifier, c.BatchSize, c.Builder)
	if c.MaxRecordBytes < 0 {
		problems = append(problems, fmt.Sprintf("negative MaxRecordBytes %d", c.MaxRecordBytes))
	}
	return configError("replay", problems)
}

// pipelineDefaults are the defaults of what a consumer's and a replay's
// configurations share.
func pipelineDefaults(batchSize int, log *slog.Logger, m *Metrics) (int, *slog.Logger, *Metrics) {
	if batchSize == 0 {
		batchSize = DefaultBatchSize
	}
	if log == nil {
		log = discard
	}
	if m == nil {
		m = NewMetrics(nil, nil)
	}
	return batchSize, log, m
}

// pipelineProblems lists what no default can stand for in what a
// consumer's and a replay's configurations share.
func pipelineProblems(st Store, c Classifier, batchSize int, b BuilderOptions) []string {
	var problems []string
	if st == nil {
		problems = append(problems, "no Store")
	}
	if c == nil {
		problems = append(problems, "no Classifier")
	}
	if batchSize < 0 {
		problems = append(problems, fmt.Sprintf("negative BatchSize %d", batchSize))
	}
	if b.Keep < 0 {
		problems = append(problems, fmt.Sprintf("negative Builder.Keep %s", b.Keep))
	}
	return problems
}

// configError is the error of a configuration's problems, or nil.
func configError(what string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("ingest: bad %s config: %s", what, strings.Join(problems, ", "))
}
