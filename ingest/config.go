package ingest

import (
	"fmt"
	"log/slog"
	"strings"
)

// pipelineParts are the parts of a consumer's or a replay's configuration
// that feed the pipeline, checked and resolved the same way for both.
type pipelineParts struct {
	store      Store
	classifier Classifier
	batchSize  *int
	builder    BuilderOptions
	logger     **slog.Logger
	metrics    **Metrics
}

// problems lists what no default can stand for.
func (p pipelineParts) problems() []string {
	var problems []string
	if p.store == nil {
		problems = append(problems, "no Store")
	}
	if p.classifier == nil {
		problems = append(problems, "no Classifier")
	}
	if *p.batchSize < 0 {
		problems = append(problems, fmt.Sprintf("negative BatchSize %d", *p.batchSize))
	}
	if err := p.builder.check(); err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// resolve sets the defaults of what was left zero.
func (p pipelineParts) resolve() {
	if *p.batchSize == 0 {
		*p.batchSize = DefaultBatchSize
	}
	if *p.logger == nil {
		*p.logger = slog.New(slog.DiscardHandler)
	}
	if *p.metrics == nil {
		*p.metrics = NewMetrics(nil, nil)
	}
}

// check refuses options no default can stand for.
func (o BuilderOptions) check() error {
	var problems []string
	if o.Keep < 0 {
		problems = append(problems, fmt.Sprintf("negative Keep %s", o.Keep))
	}
	if len(problems) > 0 {
		return fmt.Errorf("builder options: %s", join(problems))
	}
	return nil
}

func join(problems []string) string { return strings.Join(problems, ", ") }
