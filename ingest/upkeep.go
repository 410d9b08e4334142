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

// NewUpkeep checks cfg and resolves its defaults; cfg is not modified.
func NewUpkeep(cfg UpkeepConfig) (*Upkeep, error) {
	var problems []string
	if cfg.Store == nil {
		problems = append(problems, "no Store")
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"Keep", cfg.Keep}, {"RollupKeep", cfg.RollupKeep}, {"Every", cfg.Every}} {
		if d.d < 0 {
			problems = append(problems, fmt.Sprintf("negative %s %s", d.name, d.d))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("ingest: bad upkeep config: %s", join(problems))
	}
	if cfg.Every == 0 {
		cfg.Every = DefaultUpkeepEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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
