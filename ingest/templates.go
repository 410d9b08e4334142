package ingest

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/store"
)

// DefaultTemplatesEvery is how often a process learns endpoint templates,
// loads the ones learned (by any replica) into its classifier, and folds
// stored literal endpoints into them: a rule reaches every replica within
// this period (and the pass's own time).
const DefaultTemplatesEvery = 30 * time.Second

// TemplateStore is what endpoint templates need of Postgres.
type TemplateStore interface {
	LearnTemplates(ctx context.Context, learn func([]endpoints.Observation, []endpoints.Learned) []endpoints.Learned) (added int, ran bool, err error)
	TemplateRules(ctx context.Context) ([]store.LearnedTemplate, error)
	StoredEndpoints(ctx context.Context) ([]endpoints.Observation, error)
	FoldEndpoints(ctx context.Context, moves []endpoints.Move) (store.Folded, error)
}

// TemplatesConfig configures a Templater. Zero values take the defaults.
type TemplatesConfig struct {
	Store      TemplateStore        // required
	Classifier *classify.Classifier // required: the one the pipeline classifies with
	Every      time.Duration        // DefaultTemplatesEvery
	Threshold  int                  // distinct values that make a parameter: endpoints.DefaultThreshold
	Logger     *slog.Logger         // nil: discarded
	Metrics    *TemplateMetrics     // nil: not registered anywhere
}

// Templater keeps a classifier's learned endpoint templates current, the
// same on every replica: each pass learns from the endpoints stored by all
// of them (one process at a time), loads the rules stored in Postgres into
// the classifier (swapped atomically: records being classified finish
// with the templates they started with), and, on the process that learned,
// folds the rows stored under literal endpoints into their templates.
type Templater struct {
	cfg    TemplatesConfig
	loaded []classify.Rule // the rules in the classifier
	kick   chan struct{}
	// fresh counts the endpoints stored for the first time since the last
	// pass; kickAt of them are evidence enough for a pass.
	fresh  atomic.Int64
	kickAt int64
}

// minPassPause is the shortest time between two passes that Kick asks for:
// a new id shape is learned within it (and a pass's own time) of its
// evidence arriving, not at the next Every.
const minPassPause = 250 * time.Millisecond

// WithDefaults returns a copy of c whose zero fields hold their defaults:
// DefaultTemplatesEvery, endpoints.DefaultThreshold, a Logger that
// discards and Metrics registered nowhere.
func (c TemplatesConfig) WithDefaults() TemplatesConfig {
	if c.Every == 0 {
		c.Every = DefaultTemplatesEvery
	}
	if c.Threshold == 0 {
		c.Threshold = endpoints.DefaultThreshold
	}
	if c.Logger == nil {
		c.Logger = discard
	}
	if c.Metrics == nil {
		c.Metrics = NewTemplateMetrics(nil, nil)
	}
	return c
}

func (c TemplatesConfig) validate() error {
	var problems []string
	if c.Store == nil {
		problems = append(problems, "no Store")
	}
	if c.Classifier == nil {
		problems = append(problems, "no Classifier")
	}
	if c.Every < 0 {
		problems = append(problems, fmt.Sprintf("negative Every %s", c.Every))
	}
	if c.Threshold < 0 {
		problems = append(problems, fmt.Sprintf("negative Threshold %d", c.Threshold))
	}
	if c.Threshold == 1 {
		problems = append(problems, "a Threshold of 1 makes every position a parameter")
	}
	return configError("templates", problems)
}

// NewTemplater resolves cfg's defaults (TemplatesConfig.WithDefaults) and
// checks the result; cfg is not modified.
func NewTemplater(cfg TemplatesConfig) (*Templater, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// A position becomes a parameter with a quarter of the threshold of
	// distinct values at the least (beside ids): fewer new endpoints cannot
	// make a rule.
	return &Templater{cfg: cfg, kick: make(chan struct{}, 1), kickAt: int64(max(cfg.Threshold/4, 1))}, nil
}

// Kick tells the Templater that n endpoints were stored for the first time:
// once enough have been since the last pass to be the evidence of a
// template, Run makes a pass soon (within minPassPause of the last one)
// rather than at the next Every. It never blocks.
func (t *Templater) Kick(n int) {
	if t.fresh.Add(int64(n)) < t.kickAt {
		return
	}
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// Pass is what one pass did.
type Pass struct {
	Learned   bool // this process learned (no other was learning)
	Added     int  // rules learned
	Rules     int  // rules in the classifier
	Folded    store.Folded
	Conflicts int // stored endpoints left where they are: their methods' templates disagree
}

// Refresh loads the rules stored in Postgres into the classifier, when they
// changed.
func (t *Templater) Refresh(ctx context.Context) error {
	stored, err := t.cfg.Store.TemplateRules(ctx)
	if err != nil {
		return err
	}
	rules := make([]classify.Rule, len(stored))
	for i, r := range stored {
		rules[i] = r.Rule
	}
	slices.SortFunc(rules, func(a, b classify.Rule) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Pattern, b.Pattern))
	})
	if !slices.Equal(rules, t.loaded) || t.cfg.Classifier.Templates() == nil {
		tpl, err := classify.NewTemplates(rules)
		if err != nil {
			return fmt.Errorf("stored endpoint templates: %w", err)
		}
		t.cfg.Classifier.SetTemplates(tpl)
		t.loaded = rules
		t.cfg.Metrics.Rules.Set(float64(len(rules)))
	}
	t.cfg.Metrics.Refreshed.SetToCurrentTime()
	return nil
}

// Pass learns, refreshes and (having learned) folds, once.
func (t *Templater) Pass(ctx context.Context) (Pass, error) {
	var p Pass
	added, ran, err := t.cfg.Store.LearnTemplates(ctx, func(stored []endpoints.Observation, known []endpoints.Learned) []endpoints.Learned {
		return endpoints.Learn(stored, known, t.cfg.Threshold)
	})
	if err != nil {
		return p, err
	}
	p.Learned, p.Added = ran, added
	if err := t.Refresh(ctx); err != nil {
		return p, err
	}
	p.Rules = len(t.loaded)
	if !ran {
		return p, nil
	}
	stored, err := t.cfg.Store.StoredEndpoints(ctx)
	if err != nil {
		return p, err
	}
	var moves []endpoints.Move
	moves, p.Conflicts = endpoints.Plan(stored, t.cfg.Classifier.Endpoint)
	p.Folded, err = t.cfg.Store.FoldEndpoints(ctx, moves)
	t.cfg.Metrics.Folded.Add(float64(p.Folded.Endpoints))
	return p, err
}

// Run makes a pass every Every, and soon after a Kick, until ctx ends. A
// pass that fails is logged and counted; the next one tries again.
func (t *Templater) Run(ctx context.Context) {
	tick := time.NewTicker(t.cfg.Every)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-t.kick:
			if wait := minPassPause - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		last = time.Now()
		t.fresh.Store(0)
		p, err := t.Pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			t.cfg.Metrics.Failures.Inc()
			t.cfg.Logger.Warn("endpoint templates pass failed; trying again later", "err", err)
		case p.Added > 0 || p.Folded.Endpoints > 0:
			t.cfg.Logger.Info("endpoint templates", "learned", p.Added, "rules", p.Rules, "endpoints_folded", p.Folded.Endpoints,
				"requests_moved", p.Folded.Requests, "groups_moved", p.Folded.Groups, "events_moved", p.Folded.Events)
		}
	}
}

// TemplateMetrics are the Prometheus metrics of endpoint templates and of
// the bound on distinct endpoints.
type TemplateMetrics struct {
	// Overflow counts calls stored under {other}: their provider had
	// reached its bound of distinct endpoints (by provider).
	Overflow  *prometheus.CounterVec
	Rules     prometheus.Gauge   // learned rules in the classifier
	Refreshed prometheus.Gauge   // when the rules were last loaded from Postgres
	Folded    prometheus.Counter // stored endpoints folded into their template
	Failures  prometheus.Counter // passes that failed

	providers  map[string]bool
	overflowed atomic.Int64
}

// NewTemplateMetrics builds the metrics and registers them with reg (nil:
// not registered). providers are the catalogs' (others count as "other").
func NewTemplateMetrics(reg prometheus.Registerer, providers []string) *TemplateMetrics {
	m := &TemplateMetrics{
		Overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_endpoint_overflow_total", Help: "Calls stored under the endpoint {other} because their provider had reached its bound of distinct endpoints (--max-endpoints), by provider.",
		}, []string{"provider"}),
		Rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_endpoint_templates", Help: "Learned endpoint templates in use by this process.",
		}),
		Refreshed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "faultline_endpoint_templates_refreshed_timestamp_seconds", Help: "When this process last loaded the learned endpoint templates from Postgres (Unix seconds).",
		}),
		Folded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_endpoints_folded_total", Help: "Stored literal endpoints whose rollups, error groups and events were folded into their template.",
		}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_endpoint_template_failures_total", Help: "Passes that failed to learn, load or fold endpoint templates (retried at the next pass).",
		}),
		providers: map[string]bool{},
	}
	m.Overflow.WithLabelValues(otherProvider)
	for _, p := range providers {
		m.providers[p] = true
		m.Overflow.WithLabelValues(p)
	}
	if reg != nil {
		reg.MustRegister(m.Overflow, m.Rules, m.Refreshed, m.Folded, m.Failures)
	}
	return m
}

// CountOverflow counts calls of provider stored under {other}: the store's
// overflow hook (store.WithEndpointLimit).
func (m *TemplateMetrics) CountOverflow(provider string, calls int64) {
	if !m.providers[provider] {
		provider = otherProvider
	}
	m.Overflow.WithLabelValues(provider).Add(float64(calls))
	m.overflowed.Add(calls)
}

// Overflowed is how many calls were counted under {other} in all.
func (m *TemplateMetrics) Overflowed() int64 { return m.overflowed.Load() }
