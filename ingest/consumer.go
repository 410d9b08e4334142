package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/kafkasource"
	"github.com/faultline-dev/faultline/store"
)

// Consumer stores a Kafka topic, consumed as a member of a consumer group,
// effectively exactly once: each partition resumes from the offset stored in
// Postgres with the data it produced, each batch is one transaction with its
// offset, and Kafka's committed offset follows the database for lag
// monitoring only.
type Consumer struct {
	Store      Store
	Classifier *classify.Classifier
	Kafka      kafkasource.Config
	Builder    BuilderOptions
	// BatchSize is the most records in one batch (default 5,000); BatchWait
	// the longest a record waits for its batch to be written (default 500ms).
	BatchSize int
	BatchWait time.Duration
	// DrainTimeout bounds writing the batch in flight at shutdown (default 15s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics
}

// Run consumes until ctx is cancelled, then writes the batches in flight,
// leaves the group and returns nil.
func (c *Consumer) Run(ctx context.Context) error {
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 500 * time.Millisecond
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil, nil)
	}
	return kafkasource.Run(ctx, c.Kafka, c.startOffset, c.consume)
}

// storedOffset returns the partition's stored next offset, or
// store.NoOffset, retrying while Postgres is unavailable.
func (c *Consumer) storedOffset(ctx context.Context, partition int32) (int64, error) {
	bo := Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		offs, err := c.Store.Offsets(ctx, c.Kafka.Group, c.Kafka.Topic)
		if err == nil {
			if o, ok := offs[partition]; ok {
				return o, nil
			}
			return store.NoOffset, nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		c.Metrics.Retries.WithLabelValues("postgres").Inc()
		d := bo.Next()
		c.Logger.Warn("reading stored offsets failed; retrying", "err", err, "partition", partition, "retry_in", d.String())
		if err := sleep(ctx, d); err != nil {
			return 0, err
		}
	}
}

func (c *Consumer) startOffset(ctx context.Context, partition int32) (int64, error) {
	o, err := c.storedOffset(ctx, partition)
	if err != nil {
		return 0, err
	}
	if o == store.NoOffset {
		return kafka.FirstOffset, nil
	}
	return o, nil
}

// consume stores one assigned partition until the generation ends.
func (c *Consumer) consume(ctx context.Context, p *kafkasource.Partition) error {
	expected, err := c.storedOffset(ctx, p.ID())
	if err != nil {
		return nil // the generation ended before we started
	}
	src := store.Source{Group: c.Kafka.Group, Topic: c.Kafka.Topic, Partition: p.ID()}
	bb := NewBuilder(c.Classifier, src, expected, c.Builder)
	log := c.Logger.With("topic", src.Topic, "partition", src.Partition)
	log.Info("partition assigned", "resume_from", expected)
	next := int64(-1)
	var pending *store.Batch // taken from the builder, not yet written

	flush := func(ctx context.Context) error {
		for pending != nil || bb.Len() > 0 {
			if pending == nil {
				pending = bb.Take(next)
			}
			if err := writeBatch(ctx, c.Store, pending, c.Metrics, log); err != nil {
				return err
			}
			if err := p.Commit(ctx, pending.NextOffset); err != nil && ctx.Err() == nil {
				log.Warn("committing offset to Kafka failed (lag monitoring only)", "err", err, "offset", pending.NextOffset)
			}
			pending = nil
			c.Metrics.setLag(p.ID(), p.Lag())
		}
		return nil
	}
	drain := func() error {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.DrainTimeout)
		defer cancel()
		if err := flush(dctx); err != nil {
			return fmt.Errorf("drain partition %d: %w", src.Partition, err)
		}
		log.Info("partition released", "stored_offset", next)
		return nil
	}

	var dl batchDeadline
	defer dl.end()
	for {
		fetchCtx := ctx
		if bb.Len() > 0 {
			fetchCtx = dl.of(ctx, bb.Started().Add(c.BatchWait))
		}
		m, err := p.Fetch(fetchCtx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return drain()
		case errors.Is(err, context.DeadlineExceeded):
			dl.end()
			if err := flush(ctx); err != nil {
				return c.writeFailed(ctx, err, drain)
			}
			continue
		default:
			return fmt.Errorf("fetch partition %d: %w", src.Partition, err)
		}
		c.Metrics.Consumed.Inc()
		bb.Add(m.Value, m.Topic, int32(m.Partition), m.Offset)
		next = m.Offset + 1
		if bb.Len() >= c.BatchSize {
			dl.end()
			if err := flush(ctx); err != nil {
				return c.writeFailed(ctx, err, drain)
			}
		}
	}
}

// batchDeadline gives the fetches of one batch one shared deadline (a
// context per fetch would cost a timer per record): the batch is written
// when it is full or when its first record has waited BatchWait.
type batchDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// of returns the batch's fetch context, creating it on the batch's first
// fetch.
func (d *batchDeadline) of(parent context.Context, at time.Time) context.Context {
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithDeadline(parent, at)
	}
	return d.ctx
}

// end releases the batch's deadline.
func (d *batchDeadline) end() {
	if d.cancel != nil {
		d.cancel()
	}
	d.ctx, d.cancel = nil, nil
}

// writeFailed decides what a failed flush means: at shutdown the batch is
// retried within the drain timeout; a fenced partition ends this member's
// generation so that it resumes from the stored offset.
func (c *Consumer) writeFailed(ctx context.Context, err error, drain func() error) error {
	if ctx.Err() != nil && !errors.Is(err, store.ErrFenced) {
		return drain()
	}
	return err
}
