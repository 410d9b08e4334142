package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ndjson"
	"github.com/faultline-dev/faultline/store"
)

// ReplayGroup is the consumer group under which replayed files record their
// progress.
const ReplayGroup = "replay"

// Replay loads NDJSON files through the same pipeline as the consumer, for
// backfills. A file's progress is stored with its data under a source named
// after the file's content (its SHA-256), so replaying the same file again
// changes nothing, and an interrupted replay resumes where it stopped.
type Replay struct {
	Store      Store
	Classifier *classify.Classifier
	Builder    BuilderOptions
	BatchSize  int // default 5,000
	// MaxRecordBytes bounds one line (default classify.DefaultMaxRecordBytes).
	MaxRecordBytes int
	Logger         *slog.Logger
	Metrics        *Metrics
	// Progress, when set, is called after each batch with the bytes read so
	// far and the file's size.
	Progress func(done, total int64)
}

// ReplayStats counts what a replay did.
type ReplayStats struct {
	Lines       int64 // lines in the file
	Skipped     int64 // lines already stored by an earlier replay
	Stored      int64 // usable records stored now
	DeadLetters int64 // unusable records stored now
}

// File replays one NDJSON file.
func (r *Replay) File(ctx context.Context, path string) (ReplayStats, error) {
	var st ReplayStats
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return st, err
	}
	return r.replay(ctx, f, fi.Size(), "file:"+hex.EncodeToString(h.Sum(nil)))
}

func (r *Replay) defaults() {
	if r.BatchSize <= 0 {
		r.BatchSize = 5000
	}
	if r.MaxRecordBytes <= 0 {
		r.MaxRecordBytes = classify.DefaultMaxRecordBytes
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Metrics == nil {
		r.Metrics = NewMetrics(nil, nil)
	}
}

func (r *Replay) replay(ctx context.Context, in io.Reader, size int64, topic string) (ReplayStats, error) {
	r.defaults()
	var st ReplayStats
	offs, err := r.Store.Offsets(ctx, ReplayGroup, topic)
	if err != nil {
		return st, fmt.Errorf("read replay progress: %w", err)
	}
	expected, ok := offs[0]
	if !ok {
		expected = store.NoOffset
	}
	src := store.Source{Group: ReplayGroup, Topic: topic, Partition: 0}
	bb := NewBuilder(r.Classifier, src, expected, r.Builder)
	log := r.Logger.With("source", topic)
	counter := &countingReader{r: in}
	rd := ndjson.NewReader(counter, r.MaxRecordBytes)
	flush := func(next int64) error {
		if bb.Len() == 0 {
			return nil
		}
		b := bb.Take(next)
		if err := writeBatch(ctx, r.Store, b, r.Metrics, log); err != nil {
			return err
		}
		st.DeadLetters += int64(len(b.DeadLetters))
		for _, q := range b.Requests {
			st.Stored += q.Requests
		}
		if r.Progress != nil {
			r.Progress(counter.n, size)
		}
		return nil
	}
	for {
		line, n, err := rd.Next()
		if err == io.EOF {
			break
		}
		offset := int64(n - 1) // a line's offset is its index
		st.Lines++
		if expected != store.NoOffset && offset < expected {
			st.Skipped++
			continue
		}
		r.Metrics.Consumed.Inc()
		switch {
		case errors.Is(err, ndjson.ErrLineTooLong):
			bb.AddUnusable(&classify.RecordError{Reason: classify.ReasonOversized, Detail: err.Error()}, nil, topic, 0, offset)
		case err != nil:
			return st, err
		default:
			bb.Add(line, topic, 0, offset)
		}
		if bb.Len() >= r.BatchSize {
			if err := flush(offset + 1); err != nil {
				return st, err
			}
		}
	}
	if err := flush(st.Lines); err != nil {
		return st, err
	}
	if r.Progress != nil {
		r.Progress(counter.n, size)
	}
	return st, nil
}

// Reader replays NDJSON from a stream of unknown content (stdin): it is
// spooled to a temporary file first, so that its content names its source.
func (r *Replay) Reader(ctx context.Context, in io.Reader) (ReplayStats, error) {
	tmp, err := os.CreateTemp("", "faultline-replay-*.ndjson")
	if err != nil {
		return ReplayStats{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, in); err != nil {
		return ReplayStats{}, fmt.Errorf("spool stdin: %w", err)
	}
	return r.File(ctx, tmp.Name())
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
