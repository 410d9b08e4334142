package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/store"
)

// thresholdFlag is the evidence that makes a path position a parameter.
type thresholdFlag struct {
	TemplateThreshold int `name:"template-threshold" env:"TEMPLATE_THRESHOLD" default:"${template_threshold}" help:"Distinct values that make a position of a provider's paths (per method and segment count) a parameter of a learned endpoint template; a quarter of it beside ids the heuristics found."`
}

func (f *thresholdFlag) check() error {
	if f.TemplateThreshold < 2 {
		return cli.Usagef("--template-threshold must be at least 2, got %d", f.TemplateThreshold)
	}
	return nil
}

// templateFlags are the endpoint templates' and the endpoint bound's flags
// of run and replay.
type templateFlags struct {
	thresholdFlag
	MaxEndpoints   int           `name:"max-endpoints" env:"MAX_ENDPOINTS" default:"${max_endpoints}" help:"Most distinct endpoints of one provider in the rollups; calls of further endpoints are stored under {other} and counted in faultline_endpoint_overflow_total."`
	TemplatesEvery time.Duration `name:"templates-every" env:"TEMPLATES_EVERY" default:"${templates_every}" help:"How often endpoint templates are learned, loaded from Postgres (as every replica learned them) and folded into the stored rows."`
}

func (f *templateFlags) check() error {
	if f.MaxEndpoints <= 0 {
		return cli.Usagef("--max-endpoints must be positive, got %d", f.MaxEndpoints)
	}
	if err := positive(durationFlag{"--templates-every", f.TemplatesEvery}); err != nil {
		return err
	}
	return f.thresholdFlag.check()
}

// templater returns the Templater of the pipeline's classifier, with the
// rules stored in Postgres loaded.
func (f *templateFlags) templater(ctx context.Context, st *store.Store, cls *classify.Classifier, m *ingest.TemplateMetrics, log *slog.Logger) (*ingest.Templater, error) {
	t, err := ingest.NewTemplater(ingest.TemplatesConfig{
		Store: st, Classifier: cls, Every: f.TemplatesEvery, Threshold: f.TemplateThreshold, Logger: log, Metrics: m,
	})
	if err != nil {
		return nil, err
	}
	if err := t.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("load endpoint templates: %w", err)
	}
	return t, nil
}

type templatesCmd struct {
	storedFlags
	thresholdFlag
}

func (cmd *templatesCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := cmd.thresholdFlag.check(); err != nil {
		return err
	}
	cls, st, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := ingest.NewTemplater(ingest.TemplatesConfig{Store: st, Classifier: cls, Threshold: cmd.TemplateThreshold, Logger: log})
	if err != nil {
		return err
	}
	p, err := t.Pass(ctx)
	if err != nil {
		return err
	}
	if !p.Learned {
		fmt.Println("another process is learning endpoint templates now: nothing done; run again")
		return nil
	}
	fmt.Printf("%s learned (%d in all); %s folded: %d calls, %s and %s moved under their template\n",
		plural(p.Added, "template", "templates"), p.Rules, plural(p.Folded.Endpoints, "stored endpoint", "stored endpoints"),
		p.Folded.Requests, plural(p.Folded.Groups, "error group", "error groups"), plural(p.Folded.Events, "event", "events"))
	if p.Conflicts > 0 {
		fmt.Printf("%s left as they are: their methods' templates disagree\n", plural(p.Conflicts, "endpoint", "endpoints"))
	}
	if p.Folded.GroupsLeft > 0 {
		fmt.Printf("%s without a code left as they are: their events are gone (retention)\n", plural(p.Folded.GroupsLeft, "error group", "error groups"))
	}
	return nil
}
