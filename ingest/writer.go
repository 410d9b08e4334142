package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/faultline-dev/faultline/store"
)

// Store is what the pipeline needs of Postgres.
type Store interface {
	WriteBatch(ctx context.Context, b *store.Batch) error
	Offsets(ctx context.Context, group, topic string) (map[int32]int64, error)
}

// Backoff is a capped exponential backoff with jitter.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns the delay before the next attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = 5 * time.Second
	}
	d := lo << min(b.attempt, 16)
	if d > hi || d <= 0 {
		d = hi
	}
	b.attempt++
	return d/2 + rand.N(d/2+1)
}

// Reset starts over from Min.
func (b *Backoff) Reset() { b.attempt = 0 }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writeBatch writes b, retrying with capped exponential backoff while
// Postgres is unavailable (or fails otherwise) until ctx ends. A fenced
// batch is not retried. Nothing is lost on failure: the offsets stay where
// the last written batch left them.
func writeBatch(ctx context.Context, st Store, b *store.Batch, m *Metrics, log *slog.Logger) error {
	bo := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		start := time.Now()
		err := st.WriteBatch(ctx, b)
		if err == nil {
			m.batchWritten(b, time.Since(start))
			return nil
		}
		if errors.Is(err, store.ErrFenced) {
			m.Fenced.Inc()
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("write batch of %s/%d: %w", b.Source.Topic, b.Source.Partition, ctx.Err())
		}
		d := bo.Next()
		m.Retries.WithLabelValues("postgres").Inc()
		log.Warn("writing batch failed; retrying", "err", err, "topic", b.Source.Topic, "partition", b.Source.Partition,
			"records", len(b.Events)+len(b.DeadLetters), "retry_in", d.Round(time.Millisecond).String(), "unavailable", errors.Is(err, store.ErrUnavailable))
		if err := sleep(ctx, d); err != nil {
			return fmt.Errorf("write batch of %s/%d: %w", b.Source.Topic, b.Source.Partition, err)
		}
	}
}
