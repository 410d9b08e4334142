package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline-dev/faultline/kafkasource"
	"github.com/faultline-dev/faultline/store"
)

// Defaults of ConsumerConfig and ReplayConfig.
const (
	DefaultBatchSize    = 5000
	DefaultBatchWait    = 500 * time.Millisecond
	DefaultDrainTimeout = 15 * time.Second
)

// ConsumerConfig configures a Consumer. Zero values take the defaults.
type ConsumerConfig struct {
	Store      Store      // required
	Classifier Classifier // required
	Kafka      kafkasource.Config
	Builder    BuilderOptions
	// BatchSize is the most records in one batch (DefaultBatchSize);
	// BatchWait the longest a record waits for its batch to be written
	// (DefaultBatchWait).
	BatchSize int
	BatchWait time.Duration
	// DrainTimeout bounds writing the batch in flight at shutdown
	// (DefaultDrainTimeout).
	DrainTimeout time.Duration
	Logger       *slog.Logger // nil: discarded
	Metrics      *Metrics     // nil: not registered anywhere
}

// Consumer stores a Kafka topic, consumed as a member of a consumer group,
// effectively exactly once: each partition resumes from the offset stored in
// Postgres with the data it produced, each batch is one transaction with its
// offset, fenced on the offset the partition's reader was positioned at, and
// Kafka's committed offset follows the database for lag monitoring only.
type Consumer struct {
	cfg    ConsumerConfig // defaults resolved
	pipe   *pipeline
	member *kafkasource.Member
}

// NewConsumer resolves cfg's defaults (ConsumerConfig.WithDefaults) and
// checks the result, with the Kafka settings (kafkasource.New); cfg is not
// modified.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Every retry of the group is counted, besides what the caller's hook
	// does.
	retries, onRetry := cfg.Metrics.Retries.WithLabelValues("kafka"), cfg.Kafka.OnRetry
	cfg.Kafka.OnRetry = func() {
		retries.Inc()
		if onRetry != nil {
			onRetry()
		}
	}
	member, err := kafkasource.New(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	return &Consumer{
		cfg:    cfg,
		member: member,
		pipe:   newPipeline(cfg.Store, cfg.Classifier, cfg.Builder, cfg.Metrics, cfg.Logger),
	}, nil
}

// Run consumes until ctx is cancelled, then writes the batches in flight,
// leaves the group and returns nil. It returns an error wrapping
// ErrUnwritable when a batch can be neither written nor dead-lettered:
// the process should exit and be restarted, and an alert fire
// (faultline_unwritable_batches_total).
func (c *Consumer) Run(ctx context.Context) error {
	return c.member.Run(ctx, c.startOffset, c.consume)
}

// startOffset returns where a partition resumes: its stored next offset, or
// kafka.FirstOffset when none is stored. It is read once per partition and
// generation; the handler fences its writes on it (Partition.Start).
func (c *Consumer) startOffset(ctx context.Context, partition int32) (int64, error) {
	var offs map[int32]int64
	log := c.cfg.Logger.With("partition", partition)
	err := retryUnavailable(ctx, c.cfg.Metrics, log, "reading stored offsets", func(ctx context.Context) error {
		var err error
		offs, err = c.cfg.Store.Offsets(ctx, c.cfg.Kafka.Group, c.cfg.Kafka.Topic)
		return err
	})
	if err != nil {
		return 0, err
	}
	if o, ok := offs[partition]; ok {
		return o, nil
	}
	return kafka.FirstOffset, nil
}

// consume stores one assigned partition until the generation ends.
func (c *Consumer) consume(ctx context.Context, p *kafkasource.Partition) error {
	// The fence expects exactly the offset the reader was positioned at.
	expected := p.Start()
	if expected == kafka.FirstOffset {
		expected = store.NoOffset
	}
	src := store.Source{Group: c.cfg.Kafka.Group, Topic: c.cfg.Kafka.Topic, Partition: p.ID()}
	log := c.cfg.Logger.With("topic", src.Topic, "partition", src.Partition)
	bt := c.pipe.newBatcher(src, expected, log)
	log.Info("partition assigned", "resume_from", expected)
	c.cfg.Metrics.Assigned.Inc()
	defer c.cfg.Metrics.Assigned.Dec()
	defer c.cfg.Metrics.dropLag(p.ID())
	next := expected // the offset after the last record fetched

	flush := func(ctx context.Context) error {
		b, err := bt.flush(ctx, next)
		if err != nil || b == nil {
			return err
		}
		if err := p.Commit(ctx, b.NextOffset); err != nil && ctx.Err() == nil {
			log.Warn("committing offset to Kafka failed (lag monitoring only)", "err", err, "offset", b.NextOffset)
		}
		c.cfg.Metrics.setLag(p.ID(), p.Lag())
		return nil
	}
	drain := func() error {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.DrainTimeout)
		defer cancel()
		if err := flush(dctx); err != nil {
			return c.failed(fmt.Errorf("drain partition %d: %w", src.Partition, err), log)
		}
		log.Info("partition released", "stored_offset", next)
		return nil
	}
	// written decides what a failed flush means: at shutdown the batch is
	// retried within the drain timeout; a fenced partition ends this
	// member's generation so that it resumes from the stored offset; an
	// unwritable batch stops the consumer.
	written := func(err error) error {
		if err == nil {
			return nil
		}
		if ctx.Err() != nil && !errors.Is(err, store.ErrFenced) && !errors.Is(err, ErrUnwritable) {
			return drain()
		}
		return c.failed(err, log)
	}

	var dl batchDeadline
	defer dl.end()
	for {
		fetchCtx := ctx
		if bt.len() > 0 {
			fetchCtx = dl.of(ctx, bt.bb.Started().Add(c.cfg.BatchWait))
		}
		m, err := p.Fetch(fetchCtx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return drain()
		case errors.Is(err, context.DeadlineExceeded):
			dl.end()
			if err := written(flush(ctx)); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("fetch partition %d: %w", src.Partition, err)
		}
		c.cfg.Metrics.Consumed.Inc()
		bt.add(m.Value, m.Offset)
		next = m.Offset + 1
		if bt.full(c.cfg.BatchSize) {
			dl.end()
			if err := written(flush(ctx)); err != nil {
				return err
			}
		}
	}
}

// failed returns err for kafkasource, counting, logging and making
// kafkasource stop for an unwritable batch.
func (c *Consumer) failed(err error, log *slog.Logger) error {
	if !errors.Is(err, ErrUnwritable) {
		return err
	}
	c.cfg.Metrics.Unwritable.Inc()
	log.Error("a batch can be neither written nor dead-lettered; stopping ingestion (nothing of it is stored, the partition resumes there after a restart)", "err", err)
	return kafkasource.Stop(err)
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
