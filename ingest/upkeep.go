package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"
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
	Every  time.Duration
	Logger *slog.Logger     // nil: discarded
	Now    func() time.Time // nil: time.Now
}

// Upkeep creates events partitions ahead of time and applies retention:
// events partitions older than Keep are dropped whole, with the dead letters
// of that age, and rollup rows older than RollupKeep deleted.
type Upkeep struct {
	cfg UpkeepConfig // defaults resolved
}

// WithDefaults returns a copy of c whose zero fields hold their defaults:
// DefaultUpkeepEvery, a Logger that discards, time.Now.
func (c UpkeepConfig) WithDefaults() UpkeepConfig {
	if c.Every == 0 {
		c.Every = DefaultUpkeepEvery
	}
	if c.Logger == nil {
		c.Logger = discard
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

// Once does one round: it creates the partitions of the days around now
// and applies retention. The store logs the partitions it creates and
// drops.
func (u *Upkeep) Once(ctx context.Context) error {
	now := u.cfg.Now()
	if err := u.cfg.Store.EnsurePartitions(ctx, now.Add(-partitionsBehind), now.Add(partitionsAhead)); err != nil {
		return fmt.Errorf("create partitions ahead: %w", err)
	}
	_, deleted, err := u.cfg.Store.ApplyRetention(ctx, now, u.cfg.Keep, u.cfg.RollupKeep)
	if err != nil {
		return fmt.Errorf("apply retention: %w", err)
	}
	if deleted > 0 {
		u.cfg.Logger.Info("old rollup rows deleted", "rows", deleted)
	}
	return nil
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
