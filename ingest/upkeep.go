package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UpkeepStore is what partition upkeep and retention need of Postgres.
type UpkeepStore interface {
	EnsurePartitions(ctx context.Context, from, to time.Time) error
	ApplyRetention(ctx context.Context, now time.Time, keepEvents, keepRollups time.Duration) (droppedPartitions []string, deletedRollupRows int64, err error)
}

// Upkeep defaults and bounds.
const (
	DefaultUpkeepEvery = time.Hour
	// Upkeep creates the events partitions of the days from
	// partitionsBehind before now to partitionsAhead after it, so that
	// batches seldom have to create one.
	partitionsBehind = 24 * time.Hour
	partitionsAhead  = 72 * time.Hour
)

// UpkeepConfig configures an Upkeep. Zero values take the defaults.
type UpkeepConfig struct {
	Store UpkeepStore // required
	// Keep is how long events (and dead letters) are kept, RollupKeep how
	// long rollups are; zero keeps them forever.
	Keep, RollupKeep time.Duration
	// Every is the time between two rounds (DefaultUpkeepEvery).
	Every   time.Duration
	Logger  *slog.Logger     // nil: discarded
	Metrics *UpkeepMetrics   // nil: not registered anywhere
	Now     func() time.Time // nil: time.Now
}

// Upkeep creates events partitions ahead of time and applies retention:
// events partitions older than Keep are dropped whole, with the dead letters
// of that age, and rollup rows older than RollupKeep deleted.
type Upkeep struct {
	cfg UpkeepConfig // defaults resolved
}

// WithDefaults returns a copy of c whose zero fields hold their defaults:
// DefaultUpkeepEvery, a Logger that discards, Metrics registered nowhere,
// time.Now.
func (c UpkeepConfig) WithDefaults() UpkeepConfig {
	if c.Every == 0 {
		c.Every = DefaultUpkeepEvery
	}
	if c.Logger == nil {
		c.Logger = discard
	}
	if c.Metrics == nil {
		c.Metrics = NewUpkeepMetrics(nil)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c UpkeepConfig) validate() error {
	var problems []string
	if c.Store == nil {
		problems = append(problems, "no Store")
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"Keep", c.Keep}, {"RollupKeep", c.RollupKeep}, {"Every", c.Every}} {
		if d.d < 0 {
			problems = append(problems, fmt.Sprintf("negative %s %s", d.name, d.d))
		}
	}
	return configError("upkeep", problems)
}

// NewUpkeep resolves cfg's defaults (UpkeepConfig.WithDefaults) and checks
// the result; cfg is not modified.
func NewUpkeep(cfg UpkeepConfig) (*Upkeep, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Upkeep{cfg: cfg}, nil
}

// Upkeep's tasks, the task label of its metrics.
const (
	taskPartitions = "partitions" // create the events partitions ahead
	taskRetention  = "retention"  // drop old partitions, delete old rollups
)

// Once does one round: it creates the partitions of the days around now
// and applies retention, each task whatever the other did (a failure to
// create partitions must not also stop retention, and the disk filling).
// Each task's failure is counted and its success timed in the metrics; the
// store logs the partitions it creates and drops.
func (u *Upkeep) Once(ctx context.Context) error {
	now := u.cfg.Now()
	perr := u.cfg.Store.EnsurePartitions(ctx, now.Add(-partitionsBehind), now.Add(partitionsAhead))
	u.cfg.Metrics.done(ctx, taskPartitions, now, perr)
	if perr != nil {
		perr = fmt.Errorf("create partitions ahead: %w", perr)
	}
	_, deleted, rerr := u.cfg.Store.ApplyRetention(ctx, now, u.cfg.Keep, u.cfg.RollupKeep)
	u.cfg.Metrics.done(ctx, taskRetention, now, rerr)
	if rerr != nil {
		rerr = fmt.Errorf("apply retention: %w", rerr)
	}
	if deleted > 0 {
		u.cfg.Logger.Info("old rollup rows deleted", "rows", deleted)
	}
	return errors.Join(perr, rerr)
}

// Run does a round at once and then every Every until ctx ends. A round
// that fails is logged; the next one tries again.
func (u *Upkeep) Run(ctx context.Context) {
	t := time.NewTicker(u.cfg.Every)
	defer t.Stop()
	for {
		if err := u.Once(ctx); err != nil && ctx.Err() == nil {
			u.cfg.Logger.Warn("partition upkeep failed; trying again later", "err", err, "next_in", u.cfg.Every.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// UpkeepMetrics watch upkeep, by task (partitions, retention): a retention
// that keeps failing fills the disk, partitions that are not created ahead
// make every batch create its own.
type UpkeepMetrics struct {
	Failures    *prometheus.CounterVec // rounds in which the task failed
	LastSuccess *prometheus.GaugeVec   // when the task last succeeded (Unix seconds)
}

// NewUpkeepMetrics builds the metrics and registers them with reg (nil: not
// registered).
func NewUpkeepMetrics(reg prometheus.Registerer) *UpkeepMetrics {
	m := &UpkeepMetrics{
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "faultline_upkeep_failures_total", Help: "Rounds of partition upkeep in which a task failed (retried at the next round), by task: partitions (created ahead), retention (old partitions dropped, old rollups deleted).",
		}, []string{"task"}),
		LastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "faultline_upkeep_last_success_timestamp_seconds", Help: "When this process last did an upkeep task successfully (Unix seconds), by task: partitions, retention.",
		}, []string{"task"}),
	}
	for _, task := range []string{taskPartitions, taskRetention} {
		m.Failures.WithLabelValues(task)
	}
	if reg != nil {
		reg.MustRegister(m.Failures, m.LastSuccess)
	}
	return m
}

// done records the outcome of a task done at now; a task cut short by
// the end of ctx (shutdown) did not fail.
func (m *UpkeepMetrics) done(ctx context.Context, task string, now time.Time, err error) {
	if err != nil {
		if ctx.Err() == nil {
			m.Failures.WithLabelValues(task).Inc()
		}
		return
	}
	m.LastSuccess.WithLabelValues(task).Set(float64(now.UnixNano()) / 1e9)
}
