package alerting

import (
	"context"
	"time"
)

// DefaultLookback is how far back an evaluation every minute reaches, by
// default (`report alerts` from cron, and Watch): the minutes evaluated
// before are evaluated again, so that data that arrived late counts.
const DefaultLookback = 15 * time.Minute

// WatchOptions shape Watch.
type WatchOptions struct {
	// From starts the first evaluation (a catch-up); zero: Lookback ago.
	From time.Time
	// Lookback is how far back each evaluation reaches (default
	// DefaultLookback).
	Lookback time.Duration
	// Settle is how long after a minute ends it is evaluated (default
	// 10s), for ingestion to store it.
	Settle time.Duration
	DryRun bool
	// Metrics records every evaluation (default: none).
	Metrics *Metrics
}

// Watch evaluates now and then every minute until ctx is done, calling
// fn with each result. An evaluation or fn that fails is logged and the
// next minute tried again: a database that is away for a while delays
// alerts, it does not stop them. Watch returns nil once ctx is done.
func (e *Evaluator) Watch(ctx context.Context, o WatchOptions, fn func(context.Context, Result) error) error {
	if o.Lookback <= 0 {
		o.Lookback = DefaultLookback
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
		began := e.now()
		res, err := e.Evaluate(ctx, from, to, o.DryRun)
		if ctx.Err() == nil {
			end := e.now()
			o.Metrics.evaluated(res, err, end.Sub(began), end)
		}
		if err != nil {
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
