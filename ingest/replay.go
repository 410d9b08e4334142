package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline-dev/faultline/ndjson"
	"github.com/faultline-dev/faultline/store"
)

// ReplayGroup is the consumer group under which replayed files record their
// progress.
const ReplayGroup = "replay"

// ReplayStore is what a Replay needs of Postgres.
type ReplayStore interface {
	Store
	GroupOffsets(ctx context.Context, group string) (map[string]map[int32]int64, error)
}

// ReplayConfig configures a Replay. Zero values take the defaults.
type ReplayConfig struct {
	Store      ReplayStore // required
	Classifier Classifier  // required
	Builder    BuilderOptions
	BatchSize  int // DefaultBatchSize
	// MaxRecordBytes bounds one line (classify.DefaultMaxRecordBytes).
	MaxRecordBytes int
	Logger         *slog.Logger // nil: discarded
	Metrics        *Metrics     // nil: not registered anywhere
	// Progress, when set, is called after each batch with the bytes read so
	// far and the file's size.
	Progress func(done, total int64)
}

// Replay loads NDJSON files through the same pipeline as the consumer, for
// backfills, exactly once.
//
// A file's progress (its lines are its offsets) is stored with its data
// under a source named after its content: "file:<sha256>:<size>", the
// SHA-256 of its bytes and their number. Replaying the same file again
// changes nothing, and an interrupted replay resumes where it stopped. A
// file that grew since it was replayed (a log still being written) is
// recognised by its first bytes: when the bytes a stored source names are
// the start of the file, the lines they hold in full are already stored
// and the replay resumes at the first new one (recording its progress
// under the grown file's own name). A line whose content goes beyond those
// bytes (a last line that was still being written) is stored again; one
// whose content ended there (only its line ending is new) is not. Any other
// file, even one sharing its first lines with another, is different; so is
// a file that is only the start of one replayed before (an older snapshot
// replayed after a newer one): its lines are stored again.
type Replay struct {
	cfg  ReplayConfig // defaults resolved
	pipe *pipeline
}

// NewReplay resolves cfg's defaults (ReplayConfig.WithDefaults) and checks
// the result; cfg is not modified.
func NewReplay(cfg ReplayConfig) (*Replay, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Replay{
		cfg:  cfg,
		pipe: newPipeline(cfg.Store, cfg.Classifier, cfg.Builder, cfg.Metrics, cfg.Logger),
	}, nil
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
	f, err := os.Open(path)
	if err != nil {
		return ReplayStats{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ReplayStats{}, err
	}
	plan, err := r.plan(ctx, f)
	if err != nil {
		return ReplayStats{}, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ReplayStats{}, err
	}
	return r.replay(ctx, f, fi.Size(), plan)
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

// replayPlan says where a replay records its progress and where it starts.
type replayPlan struct {
	source   string // file:<sha256>:<size> of the whole file
	expected int64  // the stored offset of source, or store.NoOffset
	resume   int64  // the first line to store
	from     string // the source that says lines before resume are stored
}

// storedFile is a replayed file's stored progress.
type storedFile struct {
	source   string
	hash     string // of the file's first size bytes
	size     int64  // -1: unknown (a source named before sizes were)
	progress int64  // lines stored
}

// parseSource reads a replay source name: file:<sha256>:<size>, or
// file:<sha256> (the whole file, of unknown size).
func parseSource(name string, progress int64) (storedFile, bool) {
	rest, ok := strings.CutPrefix(name, "file:")
	if !ok {
		return storedFile{}, false
	}
	h, sz, sized := strings.Cut(rest, ":")
	if _, err := hex.DecodeString(h); err != nil || len(h) != 2*sha256.Size {
		return storedFile{}, false
	}
	size := int64(-1)
	if sized {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil || n <= 0 {
			return storedFile{}, false
		}
		size = n
	}
	return storedFile{source: name, hash: h, size: size, progress: progress}, true
}

// plan reads the file once: its hash names its source, and the hashes of its
// first bytes tell whether a stored source holds its start.
func (r *Replay) plan(ctx context.Context, f io.Reader) (replayPlan, error) {
	stored, err := r.cfg.Store.GroupOffsets(ctx, ReplayGroup)
	if err != nil {
		return replayPlan{}, fmt.Errorf("read replay progress: %w", err)
	}
	var known []storedFile
	for name, parts := range stored {
		if sf, ok := parseSource(name, parts[0]); ok {
			known = append(known, sf)
		}
	}
	var cuts []int64
	for _, sf := range known {
		if sf.size > 0 {
			cuts = append(cuts, sf.size)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	// One pass: hash the bytes, noting the hash at each cut, and count,
	// for each cut, the lines whose content ends within it.
	ph := &prefixHasher{r: f, h: sha256.New(), cuts: cuts, sums: map[int64]string{}}
	rd := ndjson.NewReader(ph, r.cfg.MaxRecordBytes)
	within := make(map[int64]int64, len(cuts))
	var lines int64
	next := 0
	for {
		if err := ctx.Err(); err != nil {
			return replayPlan{}, err
		}
		_, _, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, ndjson.ErrLineTooLong) && !errors.Is(err, ndjson.ErrBareCR) {
			return replayPlan{}, err
		}
		for ; next < len(cuts) && cuts[next] < rd.End(); next++ {
			within[cuts[next]] = lines
		}
		lines++
	}
	for ; next < len(cuts); next++ {
		within[cuts[next]] = lines
	}
	sum, size := hex.EncodeToString(ph.h.Sum(nil)), ph.n

	plan := replayPlan{source: "file:" + sum + ":" + strconv.FormatInt(size, 10), expected: store.NoOffset}
	for _, sf := range known {
		resume := int64(-1)
		switch {
		case sf.source == plan.source:
			plan.expected = sf.progress
			resume = sf.progress
		case sf.size < 0 && sf.hash == sum: // the same file, named without its size
			resume = sf.progress
		case sf.size > 0 && sf.size <= size && ph.sums[sf.size] == sf.hash:
			resume = min(sf.progress, within[sf.size])
		}
		if resume > plan.resume {
			plan.resume, plan.from = resume, sf.source
		}
	}
	return plan, nil
}

// prefixHasher hashes what is read through it, and notes the hash of the
// first n bytes for each n of cuts (ascending, positive).
type prefixHasher struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	cuts []int64
	sums map[int64]string
}

func (p *prefixHasher) Read(b []byte) (int, error) {
	if len(p.cuts) > 0 && int64(len(b)) > p.cuts[0]-p.n {
		b = b[:p.cuts[0]-p.n] // stop at the next cut
	}
	k, err := p.r.Read(b)
	p.h.Write(b[:k])
	p.n += int64(k)
	for len(p.cuts) > 0 && p.cuts[0] == p.n {
		p.sums[p.n] = hex.EncodeToString(p.h.Sum(nil))
		p.cuts = p.cuts[1:]
	}
	return k, err
}

func (r *Replay) replay(ctx context.Context, in io.Reader, size int64, plan replayPlan) (ReplayStats, error) {
	var st ReplayStats
	src := store.Source{Group: ReplayGroup, Topic: plan.source, Partition: 0}
	log := r.cfg.Logger.With("source", plan.source)
	if plan.resume > 0 {
		log.Info("resuming a file replayed before", "first_line", plan.resume+1, "stored_under", plan.from)
	}
	bt := r.pipe.newBatcher(src, plan.expected, log)
	counter := &countingReader{r: in}
	rd := ndjson.NewReader(counter, r.cfg.MaxRecordBytes)
	flush := func(next int64) error {
		if _, err := bt.flush(ctx, next); err != nil {
			if errors.Is(err, ErrUnwritable) {
				r.cfg.Metrics.Unwritable.Inc()
			}
			return err
		}
		if r.cfg.Progress != nil {
			r.cfg.Progress(counter.n, size)
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		line, n, err := rd.Next()
		if err == io.EOF {
			break
		}
		offset := int64(n - 1) // a line's offset is its index
		st.Lines++
		if offset < plan.resume {
			st.Skipped++
			continue
		}
		r.cfg.Metrics.Consumed.Inc()
		switch {
		case errors.Is(err, ndjson.ErrLineTooLong):
			bt.addUnusable(ndjson.ReadError(err), nil, offset)
		case errors.Is(err, ndjson.ErrBareCR):
			bt.addUnusable(ndjson.ReadError(err), slices.Clone(line), offset)
		case err != nil:
			return st, err
		default:
			bt.add(slices.Clone(line), offset)
		}
		if bt.full(r.cfg.BatchSize) {
			if err := flush(offset + 1); err != nil {
				return st, err
			}
		}
	}
	if err := flush(st.Lines); err != nil {
		return st, err
	}
	st.Stored, st.DeadLetters = bt.stored, bt.deadLetters
	if r.cfg.Progress != nil {
		r.cfg.Progress(counter.n, size)
	}
	return st, nil
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
