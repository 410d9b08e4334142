package alerting

import (
	"context"
	"time"
)

// WatchOptions shape Watch.
type WatchOptions struct {
	// From starts the first evaluation (a catch-up); zero: Lookback ago.
	From time.Time
	// Lookback is how far back each evaluation reaches (default 15m): the
	// minutes evaluated before are evaluated again, so that data that
	// arrived late counts.
	Lookback time.Duration
	// Settle is how long after a minute ends it is evaluated (default
	// 10s), for ingestion to store it.
	Settle time.Duration
	DryRun bool
}

// Watch evaluates now and then every minute until ctx is done, calling
// fn with each result. An evaluation or fn that fails is logged and the
// next minute tried again: a database that is away for a while delays
// alerts, it does not stop them. Watch returns nil once ctx is done.
func (e *Evaluator) Watch(ctx context.Context, o WatchOptions, fn func(context.Context, Result) error) error {
	if o.Lookback <= 0 {
		o.Lookback = 15 * time.Minute
	}
	if o.Settle <= 0 {
		o.Settle = 10 * time.Second
	}
	from := o.From
	for {
		to := e.now().Truncate(time.Minute)
		if from.IsZero() || to.Sub(from) < o.Lookback {
			from = to.Add(-o.Lookback)
		}
		if res, err := e.Evaluate(ctx, from, to, o.DryRun); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			e.log.ErrorContext(ctx, "alerts evaluation failed; trying again next minute", "err", err)
		} else if err := fn(ctx, res); err != nil {
			e.log.ErrorContext(ctx, "alerts not delivered; trying again next minute", "err", err)
		}
		from = time.Time{}
		next := to.Add(time.Minute + o.Settle)
		select {
		case <-ctx.Done():
			return nil
		case <-e.after(next.Sub(e.now())):
		}
	}
}
