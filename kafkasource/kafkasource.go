// Package kafkasource consumes one Kafka topic as a member of a consumer group
// for a consumer that stores its own offsets.
//
// faultline stores the data it derives from a record and the offset of that
// record in one Postgres transaction, which makes ingestion effectively
// exactly once. Such a consumer must resume every partition it is assigned
// from the offset stored with its data, never from Kafka's committed offset,
// and must commit to Kafka only after its database commit (Kafka's committed
// offset then serves lag monitoring and nothing else). kafka-go's Reader with
// a GroupID cannot do that, so Run uses kafka-go's lower-level ConsumerGroup
// for membership and one partition Reader (no GroupID) per assigned
// partition, positioned with SetOffset and read with FetchMessage: nothing is
// ever committed automatically.
//
// # Lifecycle
//
// New checks a Config and resolves its defaults; Member.Run joins the group
// and, for every generation, starts one Handler per assigned partition, each
// on its own goroutine, after asking StartOffset where that partition
// resumes. The Handler reads that offset back from Partition.Start: a
// partition's stored offset is read once per generation, and the Handler's
// writes can be fenced on exactly the offset its reader was positioned at. A generation ends when the group rebalances
// (a member joins, leaves or dies, or partitions are added), when this member
// loses contact with the group coordinator, when any Handler of this member
// returns, or at shutdown. When it ends, every Handler's context is
// cancelled; the member rejoins the group only after all its Handlers have
// returned, so a partition is never read by two Handlers of one process and,
// as long as Handlers return within the group's rebalance timeout, never by
// two members at once. A Handler that overruns the rebalance timeout is
// removed from the group by the coordinator and its partitions are given to
// others while it still runs: the store must fence such writers (faultline's
// store does: a batch whose expected stored offset has moved on fails with
// store.ErrFenced, which the Handler returns).
//
// When its context is cancelled a Handler should finish writing the batch it
// holds with a fresh, short context (context.WithTimeout of
// context.WithoutCancel(ctx)), optionally Commit the new offset to Kafka with
// that context, and return. Its Partition stays usable until it returns:
// during shutdown the group has not been left yet, so that last Commit is
// accepted.
//
// At shutdown (Run's context cancelled) Run ends the current generation,
// waits for the Handlers, closes their readers and leaves the group, so that
// the other members take over its partitions at once instead of after the
// session timeout. A member that dies without leaving (SIGKILL, a lost
// machine) keeps its partitions until the coordinator has not heard from it
// for the session timeout (Config.SessionTimeout, 30s by default).
//
// Errors from the brokers and the group (no broker reachable, coordinator
// moving, membership lost) are logged and retried with capped exponential
// backoff for as long as Run's context lives; they never end Run. A Handler
// error (for example a write fenced because another member took over the
// partition) ends this member's generation: it is logged, and the member
// rejoins after a backoff and resumes from StartOffset. A Handler error
// wrapped with Stop is one no rejoin can cure: Run ends the generation,
// leaves the group and returns it, so that the process exits and is
// restarted (and an alert fires) instead of failing silently forever.
package kafkasource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/sethvargo/go-retry"
)

// StartOffset says where an assigned partition resumes: the next offset to
// read as stored with the data, or kafka.FirstOffset when nothing is stored
// for the partition. An error ends the generation like a Handler error.
type StartOffset func(ctx context.Context, partition int32) (int64, error)

// Handler consumes one assigned partition until ctx ends (the generation
// ended: a rebalance, a lost session, or shutdown) or it fails. It should
// return only then: returning nil before ctx ends ends the generation too,
// and is treated as a failure. On cancellation it should finish the batch it
// is writing with a fresh short context and return (see the package
// documentation); an error it returns after ctx ended that is not ctx's own
// is logged as a failure.
type Handler func(ctx context.Context, p *Partition) error

// Partition is one partition assigned to this member, for the lifetime of a
// generation. Its methods may be called from the Handler's goroutine only
// (Lag from any goroutine).
type Partition struct {
	id    int32
	topic string
	start int64
	r     *kafka.Reader
	gen   *kafka.Generation
}

// ID is the partition number.
func (p *Partition) ID() int32 { return p.id }

// Start is the offset StartOffset returned for this partition in this
// generation, where its reader was positioned: an offset, or
// kafka.FirstOffset. A Handler that fences its writes on the stored offset
// must expect exactly this one, not read the stored offset again: a write
// that lands between two reads would otherwise pass the fence.
func (p *Partition) Start() int64 { return p.start }

// Fetch returns the next record of the partition, waiting for one until ctx
// ends. It never commits anything. A Fetch cut short by ctx (for example a
// deadline to flush a partial batch) loses nothing: the next Fetch returns
// the record that would have come.
func (p *Partition) Fetch(ctx context.Context) (kafka.Message, error) {
	return p.r.FetchMessage(ctx)
}

// Commit records next (the offset after the last record stored) as the
// group's committed offset in Kafka. Call it only after the data is durably
// stored: it serves lag monitoring, never resumption. It fails once the
// generation is over on the broker (after a rebalance) or after the Handler
// returned; such an error is harmless and should be logged, not returned.
func (p *Partition) Commit(ctx context.Context, next int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		// CommitOffsets uses the generation's coordinator connection,
		// whose requests time out on their own (5s).
		done <- p.gen.CommitOffsets(map[string]map[int]int64{p.topic: {int(p.id): next}})
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("commit offset %d of partition %d: %w", next, p.id, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Lag is how many records of the partition follow the last one fetched,
// according to the high watermark of the last fetch response: best effort,
// 0 before the first record.
func (p *Partition) Lag() int64 {
	if l := p.r.Lag(); l > 0 {
		return l
	}
	return 0
}

// Bounds of Run's backoff between retries.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Member is a member of a consumer group, configured once by New.
type Member struct {
	cfg Config // defaults resolved
	log *slog.Logger
}

// New resolves cfg's defaults (Config.WithDefaults), validates the result
// (Config.Validate) and returns a Member; cfg is not modified. The error
// names the fields at fault.
func New(cfg Config) (*Member, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Member{cfg: cfg, log: cfg.Logger.With("topic", cfg.Topic, "group", cfg.Group)}, nil
}

// Stop wraps a Handler's error that no rejoin can cure (data that can be
// neither written nor set aside): Run ends the generation, leaves the group
// and returns the error.
func Stop(err error) error { return &stopError{err} }

type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// Run consumes the topic as a member of the group until ctx is cancelled,
// running handle for each partition assigned to it in each generation,
// resuming at start(partition). When ctx is cancelled, Run ends the
// generation, waits for the handlers to return (they see their ctx
// cancelled), closes their readers, leaves the group and returns nil.
// Broker, group and handler errors are logged and retried with backoff; Run
// returns an error only when a handler's error is wrapped with Stop, or
// when start or handle is nil.
func (mb *Member) Run(ctx context.Context, start StartOffset, handle Handler) error {
	if start == nil || handle == nil {
		return errors.New("kafkasource: Run needs a StartOffset and a Handler")
	}
	cfg, log := mb.cfg, mb.log
	dialer := cfg.dialer()
	// After a failed attempt kafka-go's group waits JoinGroupBackoff, tries
	// again and holds the result until Next is called: Run's own backoff
	// between calls to Next paces the attempts.
	group, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    cfg.Group,
		Brokers:               cfg.Brokers,
		Dialer:                dialer,
		Topics:                []string{cfg.Topic},
		SessionTimeout:        cfg.SessionTimeout,
		HeartbeatInterval:     cfg.HeartbeatInterval,
		RebalanceTimeout:      cfg.RebalanceTimeout,
		JoinGroupBackoff:      minBackoff,
		WatchPartitionChanges: false, // see watchPartitions
		Logger:                kafkaLogger(log, slog.LevelDebug),
		ErrorLogger:           kafkaLogger(log, slog.LevelDebug), // surfaced by Next, logged below
	})
	if err != nil {
		return fmt.Errorf("kafkasource: %w", err)
	}
	tr := cfg.transport()
	// kafka-go's Transport answers metadata requests from a cache: keep it
	// no older than the watch interval.
	watchEvery := partitionWatchInterval
	tr.MetadataTTL = watchEvery
	defer tr.CloseIdleConnections()
	m := &member{
		cfg: cfg, log: log, dialer: dialer, group: group, start: start, handle: handle,
		client:     &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: 10 * time.Second},
		watchEvery: watchEvery,
	}
	log.Info("joining consumer group", "brokers", cfg.Brokers)
	stopErr := m.loop(ctx)

	// Closing the group ends the current generation (the handlers see
	// their ctx cancelled), waits for the handlers, then leaves the group.
	// Leaving can take long if the member is in the middle of joining (up
	// to the rebalance timeout) or the coordinator is unreachable: once the
	// handlers are done, give up after leaveTimeout and let the session
	// expire instead.
	t0 := time.Now()
	closed := make(chan struct{})
	go func() {
		_ = group.Close()
		close(closed)
	}()
	m.handlers.Wait()
	select {
	case <-closed:
		if m.joined {
			log.Info("left consumer group", "took", time.Since(t0).Round(time.Millisecond).String())
		} else {
			log.Info("stopped before joining the consumer group")
		}
	case <-time.After(leaveTimeout):
		log.Warn("leaving the consumer group is taking too long; giving up, the session will expire", "waited", time.Since(t0).Round(time.Millisecond).String())
	}
	return stopErr
}

// leaveTimeout bounds how long Run waits, once the handlers have returned,
// for the member to leave the group.
const leaveTimeout = 10 * time.Second

func (cfg *Config) transport() *kafka.Transport {
	return &kafka.Transport{TLS: cfg.TLS, SASL: cfg.SASL, DialTimeout: 10 * time.Second}
}

func (cfg *Config) dialer() *kafka.Dialer {
	return &kafka.Dialer{
		Timeout:       10 * time.Second,
		DualStack:     true,
		TLS:           cfg.TLS,
		SASLMechanism: cfg.SASL,
	}
}

// kafkaLogger adapts kafka-go's printf logging to log at level.
func kafkaLogger(log *slog.Logger, level slog.Level) kafka.Logger {
	return kafka.LoggerFunc(func(format string, args ...any) {
		if log.Enabled(context.Background(), level) {
			log.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "kafka-go")
		}
	})
}

// member is one Run.
type member struct {
	cfg    Config
	log    *slog.Logger
	dialer *kafka.Dialer
	group  *kafka.ConsumerGroup
	start  StartOffset
	handle Handler
	// client and watchEvery serve watchPartitions.
	client     *kafka.Client
	watchEvery time.Duration

	// handlers counts every handler goroutine, including those kafka-go
	// does not wait for (started on a generation that already ended).
	handlers sync.WaitGroup
	// joined says whether a generation ever started.
	joined bool
}

// loop runs generation after generation until ctx ends, or until a handler
// fails with an error wrapped by Stop, which it returns.
func (m *member) loop(ctx context.Context) error {
	bo := m.backoff()
	failures := 0
	retry := func(msg string, args ...any) bool {
		failures++
		d, _ := bo.Next()
		m.cfg.OnRetry()
		m.log.Warn(msg, append(args, "failures", failures, "retry_in", d.Round(time.Millisecond).String())...)
		return sleep(ctx, d)
	}
	for {
		gen, err := m.group.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kafka.RebalanceInProgress):
			// Another member joined between our join and sync: rejoin
			// at once, the coordinator paces this.
			m.log.Debug("rebalance in progress; rejoining")
			continue
		case err != nil:
			if !retry("consumer group unavailable; retrying", "err", err) {
				return nil
			}
			continue
		}
		m.joined = true
		failed, stop := m.generation(ctx, gen)
		if stop != nil {
			return stop
		}
		if !failed {
			failures = 0
			bo = m.backoff()
			continue
		}
		if !retry("rejoining after backoff") {
			return nil
		}
	}
}

// backoff is the wait between retries: exponential from minBackoff, with
// jitter, capped below the rebalance timeout (a generation handed out
// while we sleep must still be picked up in time to rejoin).
func (m *member) backoff() retry.Backoff {
	ceiling := max(minBackoff, min(maxBackoff, m.cfg.RebalanceTimeout/2))
	return retry.WithJitterPercent(25, retry.WithCappedDuration(ceiling, retry.NewExponential(minBackoff)))
}

// generation runs the handlers of one generation and returns when it has
// ended and they have returned, or when ctx ends (Run then closes the group,
// which ends the generation and waits for them). It reports whether a
// handler failed, and the first failure wrapped with Stop.
func (m *member) generation(ctx context.Context, gen *kafka.Generation) (failed bool, stop error) {
	assigned := gen.Assignments[m.cfg.Topic]
	ids := make([]int32, 0, len(assigned))
	for _, a := range assigned {
		ids = append(ids, int32(a.ID))
	}
	slices.Sort(ids)
	log := m.log.With("generation", gen.ID)
	log.Info("generation started", "member_id", gen.MemberID, "partitions", ids)
	t0 := time.Now()

	// A watcher that returns only when the generation ends: Start's
	// functions end the generation when they return.
	ended := make(chan struct{})
	gen.Start(func(gctx context.Context) {
		<-gctx.Done()
		close(ended)
	})
	gen.Start(func(gctx context.Context) { m.watchPartitions(gctx, log) })
	var wg sync.WaitGroup
	var nfailed atomic.Int32
	var stopped atomic.Pointer[error]
	for _, id := range ids {
		wg.Add(1)
		m.handlers.Add(1)
		gen.Start(func(gctx context.Context) {
			defer m.handlers.Done()
			defer wg.Done()
			err := m.partition(ctx, gctx, gen, id, log)
			if err == nil {
				return
			}
			nfailed.Add(1)
			var se *stopError
			if errors.As(err, &se) {
				err = fmt.Errorf("partition %d: %w", id, se.err)
				stopped.CompareAndSwap(nil, &err)
				log.Error("partition handler failed for good; leaving the group", "partition", id, "err", se.err)
				return
			}
			log.Error("partition handler failed; ending this member's generation", "partition", id, "err", err)
		})
	}
	select {
	case <-ended:
	case <-ctx.Done():
		return false, nil
	}
	wg.Wait()
	log.Info("generation ended", "lasted", time.Since(t0).Round(time.Millisecond).String(), "failed_handlers", nfailed.Load())
	if p := stopped.Load(); p != nil {
		return true, *p
	}
	return nfailed.Load() > 0, nil
}

// partitionWatchInterval is how often watchPartitions asks for the
// topic's partition count.
var partitionWatchInterval = 5 * time.Second

// watchPartitions returns, ending the generation, when the topic's number of
// partitions changes (partitions added, or the topic created after the
// member joined), so that the group rebalances over the new partitions.
//
// kafka-go's own watcher (WatchPartitionChanges) cannot be used: when the
// topic does not exist it ends every generation at once, and the member
// rejoins at once, thousands of times a second, each time rebalancing the
// whole group.
func (m *member) watchPartitions(ctx context.Context, log *slog.Logger) {
	count := func() (int, bool) {
		md, err := m.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{m.cfg.Topic}})
		if err != nil {
			if ctx.Err() == nil {
				log.Debug("reading the topic's partitions failed", "err", err)
			}
			return 0, false
		}
		for _, t := range md.Topics {
			if t.Name == m.cfg.Topic {
				if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
					return 0, true
				}
				return len(t.Partitions), t.Error == nil
			}
		}
		return 0, true
	}
	known, ok := -1, false
	for known < 0 {
		if known, ok = count(); !ok {
			known = -1
			if !sleep(ctx, m.watchEvery) {
				return
			}
		}
	}
	if known == 0 {
		log.Warn("topic not found; waiting for it to be created")
	}
	t := time.NewTicker(m.watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, ok := count(); ok && n != known {
			log.Info("topic's partitions changed; rebalancing", "was", known, "now", n)
			return
		}
	}
}

// partition runs the handler of one partition. The handler's context keeps
// runCtx's values but is cancelled only when the generation ends: at
// shutdown Run closes the group, which ends the generation, so that the
// handlers stop before the group is left, never after.
func (m *member) partition(runCtx, gctx context.Context, gen *kafka.Generation, id int32, log *slog.Logger) error {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(runCtx))
	defer cancel(nil)
	stop := context.AfterFunc(gctx, func() { cancel(kafka.ErrGenerationEnded) })
	defer stop()
	if ctx.Err() != nil {
		return nil // handed a generation that had already ended
	}

	offset, err := m.start(ctx, id)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("start offset: %w", err)
	}
	if offset < 0 && offset != kafka.FirstOffset {
		return fmt.Errorf("start offset: %d is neither an offset nor kafka.FirstOffset", offset)
	}
	conns := new(connSet)
	dialer := *m.dialer
	dialer.DialFunc = conns.dial
	var closing atomic.Bool
	errLog := kafkaLogger(log.With("partition", id), slog.LevelWarn)
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:   m.cfg.Brokers,
		Topic:     m.cfg.Topic,
		Partition: int(id),
		Dialer:    &dialer,
		MinBytes:  m.cfg.MinBytes,
		MaxBytes:  m.cfg.MaxBytes,
		MaxWait:   m.cfg.MaxWait,
		Logger:    kafkaLogger(log, slog.LevelDebug),
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			if !closing.Load() { // closing the connections below makes noise
				errLog.Printf(format, args...)
			}
		}),
	})
	defer func() {
		closing.Store(true)
		conns.closeAll() // ends the fetch in flight at once; see connSet
		r.Close()
	}()
	if err := r.SetOffset(offset); err != nil {
		return fmt.Errorf("set offset %d: %w", offset, err)
	}
	log.Debug("partition assigned", "partition", id, "offset", offset)

	err = m.handle(ctx, &Partition{id: id, topic: m.cfg.Topic, start: offset, r: r, gen: gen})
	switch {
	case ctx.Err() == nil && err == nil:
		return errors.New("handler returned before its context ended")
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		return nil
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
