package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// Store is what the pipeline needs of Postgres.
type Store interface {
	WriteBatch(ctx context.Context, b *store.Batch) error
	Offsets(ctx context.Context, group, topic string) (map[int32]int64, error)
}

// ReasonStoreRejected marks a record whose data Postgres refused (a
// constraint, a value it cannot hold): it is kept as a dead letter, with
// the database's error as detail, so that its partition keeps moving.
const ReasonStoreRejected classify.Reason = "store_rejected"

// ErrUnwritable means a batch could be neither written nor set aside as
// dead letters: ingestion of its source cannot go on without losing data.
var ErrUnwritable = errors.New("batch can be neither written nor dead-lettered")

// maxRejectedPerBatch bounds the records of one batch that are dead-lettered
// because Postgres refused them: beyond it, the database rather than the
// records is likely at fault (a missing permission, a broken table), and
// ingestion stops with ErrUnwritable instead of dead-lettering everything.
const maxRejectedPerBatch = 10

// Backoff bounds of retries while Postgres is unavailable.
const (
	minRetryWait = 100 * time.Millisecond
	maxRetryWait = 5 * time.Second
)

// newBackoff is the wait between retries while Postgres is unavailable:
// exponential with jitter, capped.
func newBackoff() retry.Backoff {
	return retry.WithJitterPercent(25, retry.WithCappedDuration(maxRetryWait, retry.NewExponential(minRetryWait)))
}

// retryUnavailable calls f until it succeeds or fails with something other
// than store.ErrUnavailable, waiting with backoff between attempts, each
// counted in the postgres retries metric and logged with what, until ctx
// ends.
func retryUnavailable(ctx context.Context, m *Metrics, log *slog.Logger, what string, f func(context.Context) error) error {
	var last error
	inner := newBackoff()
	bo := retry.BackoffFunc(func() (time.Duration, bool) {
		d, stop := inner.Next()
		m.Retries.WithLabelValues("postgres").Inc()
		log.Warn(what+" failed; retrying", "err", last, "retry_in", d.Round(time.Millisecond).String())
		return d, stop
	})
	return retry.Do(ctx, bo, func(ctx context.Context) error {
		err := f(ctx)
		if errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
			last = err
			return retry.RetryableError(err)
		}
		return err
	})
}

// record is one record of a batch, kept until the batch is written so that
// a batch Postgres refuses can be rebuilt in parts.
type record struct {
	value  []byte
	offset int64
	// unusable, when set, says why the record could not even be read
	// (value then holds what is known of it).
	unusable error
}

// batcher builds the batches of one source and writes them, each with the
// offset it reaches, so that its records are stored exactly once.
//
// A batch that Postgres cannot take now (store.ErrUnavailable) is retried
// with backoff. A batch it refuses is split in halves, recursively, until
// the records it refuses are alone; each of those is kept as a dead letter
// (ReasonStoreRejected) and the others are stored. When even that is
// refused, or more than maxRejectedPerBatch records of a batch are, the
// error wraps ErrUnwritable. A fenced batch (store.ErrFenced) is returned
// as it is: the caller resumes from the stored offset.
type batcher struct {
	p   *pipeline
	src store.Source
	log *slog.Logger

	bb      *Builder
	recs    []record
	bytes   int          // of recs' values
	pending *store.Batch // taken from bb, not yet written

	// stored and deadLetters count the usable records and the dead
	// letters written.
	stored, deadLetters int64
}

// pipeline is what the batchers of a Consumer or a Replay share.
type pipeline struct {
	store      Store
	classifier Classifier
	builder    BuilderOptions // of the batches as records arrive
	rebuilder  BuilderOptions // of a refused batch's parts: its internal errors were reported already
	metrics    *Metrics
}

func newPipeline(st Store, c Classifier, opts BuilderOptions, m *Metrics, log *slog.Logger) *pipeline {
	p := &pipeline{store: st, classifier: c, builder: opts, rebuilder: opts, metrics: m}
	p.builder.InternalError = m.internalErrorReporter(log)
	p.rebuilder.InternalError = nil
	return p
}

func (p *pipeline) newBatcher(src store.Source, expected int64, log *slog.Logger) *batcher {
	return &batcher{p: p, src: src, log: log, bb: NewBuilder(p.classifier, src, expected, p.builder)}
}

// maxBatchBytes bounds the records one batch keeps: a batch is also full
// when they reach it.
const maxBatchBytes = 64 << 20

// add adds a record of the source at offset to the current batch.
func (b *batcher) add(value []byte, offset int64) {
	b.recs = append(b.recs, record{value: value, offset: offset})
	b.bytes += len(value)
	b.bb.Add(value, b.src.Topic, b.src.Partition, offset)
}

// addUnusable adds a record that could not be read (err says why; raw is
// what is known of it) as a dead letter.
func (b *batcher) addUnusable(err error, raw []byte, offset int64) {
	b.recs = append(b.recs, record{value: raw, offset: offset, unusable: err})
	b.bytes += len(raw)
	b.bb.AddUnusable(err, raw, b.src.Topic, b.src.Partition, offset)
}

// len is the number of records of the current batch.
func (b *batcher) len() int { return b.bb.Len() }

// full reports whether the current batch has batchSize records, or holds
// maxBatchBytes.
func (b *batcher) full(batchSize int) bool {
	return b.bb.Len() >= batchSize || b.bytes >= maxBatchBytes
}

// flush writes the current batch, ending at next (the offset to resume
// from), or the batch a failed flush left pending. It returns the batch
// written, nil when there was none.
func (b *batcher) flush(ctx context.Context, next int64) (*store.Batch, error) {
	if b.pending == nil {
		if b.bb.Len() == 0 {
			return nil, nil
		}
		b.pending = b.bb.Take(next)
	}
	batch := b.pending
	rejected := 0
	if err := b.write(ctx, batch, b.recs, &rejected); err != nil {
		return nil, err
	}
	b.pending = nil
	clear(b.recs)
	b.recs, b.bytes = b.recs[:0], 0
	return batch, nil
}

// write writes batch, made of recs; when Postgres refuses it, it writes
// recs in parts (see batcher).
func (b *batcher) write(ctx context.Context, batch *store.Batch, recs []record, rejected *int) error {
	err := b.writeOne(ctx, batch)
	if err == nil || errors.Is(err, store.ErrFenced) || ctx.Err() != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("%w: %w", ErrUnwritable, err)
	}
	if len(recs) == 1 {
		return b.reject(ctx, recs[0], batch, err, rejected)
	}
	b.log.Warn("postgres refused a batch; writing it in halves to isolate the records at fault",
		"err", err, "records", len(recs), "from_offset", recs[0].offset)
	mid := len(recs) / 2
	cut := recs[mid].offset
	if err := b.write(ctx, b.rebuild(recs[:mid], batch.ExpectedOffset, cut), recs[:mid], rejected); err != nil {
		return err
	}
	return b.write(ctx, b.rebuild(recs[mid:], cut, batch.NextOffset), recs[mid:], rejected)
}

// reject stores rec, which Postgres refused with cause in batch, as a dead
// letter in batch's place.
func (b *batcher) reject(ctx context.Context, rec record, batch *store.Batch, cause error, rejected *int) error {
	*rejected++
	if *rejected > maxRejectedPerBatch {
		return fmt.Errorf("%w: more than %d records of one batch refused, the last at offset %d: %w",
			ErrUnwritable, maxRejectedPerBatch, rec.offset, cause)
	}
	bb := NewBuilder(b.p.classifier, b.src, batch.ExpectedOffset, b.p.rebuilder)
	bb.AddUnusable(&classify.RecordError{Reason: ReasonStoreRejected, Detail: cause.Error()}, rec.value, b.src.Topic, b.src.Partition, rec.offset)
	err := b.writeOne(ctx, bb.Take(batch.NextOffset))
	if err == nil {
		b.log.Error("postgres refused a record; stored it as a dead letter", "offset", rec.offset, "err", cause)
		return nil
	}
	if errors.Is(err, store.ErrFenced) || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w: record at offset %d refused (%w), and its dead letter too: %w", ErrUnwritable, rec.offset, cause, err)
}

// rebuild builds the batch of recs, from expected to next.
func (b *batcher) rebuild(recs []record, expected, next int64) *store.Batch {
	bb := NewBuilder(b.p.classifier, b.src, expected, b.p.rebuilder)
	for _, r := range recs {
		if r.unusable != nil {
			bb.AddUnusable(r.unusable, r.value, b.src.Topic, b.src.Partition, r.offset)
		} else {
			bb.Add(r.value, b.src.Topic, b.src.Partition, r.offset)
		}
	}
	return bb.Take(next)
}

// writeOne writes batch, retrying while Postgres is unavailable until ctx
// ends, and counts it in the metrics once written.
func (b *batcher) writeOne(ctx context.Context, batch *store.Batch) error {
	log := b.log.With("records", len(batch.Events)+len(batch.DeadLetters), "next_offset", batch.NextOffset)
	err := retryUnavailable(ctx, b.p.metrics, log, "writing batch", func(ctx context.Context) error {
		start := time.Now()
		err := b.p.store.WriteBatch(ctx, batch)
		if err == nil {
			b.p.metrics.batchWritten(batch, time.Since(start))
			for _, q := range batch.Requests {
				b.stored += q.Requests
			}
			b.deadLetters += int64(len(batch.DeadLetters))
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrFenced):
		b.p.metrics.Fenced.Inc()
	case ctx.Err() != nil:
		return fmt.Errorf("write batch of %s/%d: %w", b.src.Topic, b.src.Partition, ctx.Err())
	}
	return err
}
