package kafkasource_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkasource"
	"github.com/faultline-dev/faultline/kafkatest"
)

// The crash test runs a group member in a child process (this test binary)
// and kills it with SIGKILL; these variables tell the child what to run.
const (
	childBrokers = "KAFKASOURCE_CHILD_BROKERS"
	childTopic   = "KAFKASOURCE_CHILD_TOPIC"
	childGroup   = "KAFKASOURCE_CHILD_GROUP"
)

func TestMain(m *testing.M) {
	if os.Getenv(childBrokers) != "" {
		os.Exit(childMember())
	}
	os.Exit(m.Run())
}

// childMember is a group member that reports on stdout the partitions it
// owns ("own N" when a handler starts, "drop N" when it returns).
func childMember() int {
	cfg := fastConfig(strings.Split(os.Getenv(childBrokers), ","), os.Getenv(childTopic), os.Getenv(childGroup))
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	m, err := kafkasource.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = m.Run(context.Background(), firstOffset, func(ctx context.Context, p *kafkasource.Partition) error {
		say("own %d", p.ID())
		defer say("drop %d", p.ID())
		for {
			if _, err := p.Fetch(ctx); err != nil {
				return err
			}
		}
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fastConfig is a member configuration for tests: short sessions, so that a
// dead member is noticed in about a second.
func fastConfig(brokers []string, topic, group string) kafkasource.Config {
	return kafkasource.Config{
		Brokers: brokers, Topic: topic, Group: group,
		SessionTimeout:    time.Second,
		HeartbeatInterval: 200 * time.Millisecond,
		RebalanceTimeout:  2 * time.Second,
	}
}

func firstOffset(context.Context, int32) (int64, error) { return kafka.FirstOffset, nil }

// testLog collects a member's log; it is printed if the test fails (or
// always with KAFKASOURCE_TEST_LOG=1).
func testLog(t testing.TB, name string) (*slog.Logger, *syncBuffer) {
	buf := new(syncBuffer)
	var w io.Writer = buf
	if os.Getenv("KAFKASOURCE_TEST_LOG") != "" {
		w = io.MultiWriter(buf, os.Stderr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})).With("member", name), buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// goroutines returns the stacks of every goroutine but those of the broker
// (kfake) and this one.
func goroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var keep []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "franz-go/pkg/kfake") && !strings.Contains(g, "goroutines()") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}

func values(n int, format string) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = fmt.Appendf(nil, format, i)
	}
	return vs
}

// running is one Run in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func startRun(t testing.TB, cfg kafkasource.Config, start kafkasource.StartOffset, handle kafkasource.Handler) *running {
	m, err := kafkasource.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx, start, handle) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the Run and returns how long it took to return.
func (r *running) stop(t testing.TB) time.Duration {
	t.Helper()
	t0 := time.Now()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
			require.NoError(t, err, "Run must return nil after its context is cancelled")
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Run did not return within 20s of cancellation")
	}
	return time.Since(t0)
}

// newClient is a kafka-go Client of b with its own Transport, closed at the
// end of the test.
func newClient(t testing.TB, b *kafkatest.Broker) *kafka.Client {
	tr := &kafka.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafka.Client{Addr: kafka.TCP(b.Addrs()...), Transport: tr, Timeout: 10 * time.Second}
}

// consumed records what handlers saw, across members.
type consumed struct {
	mu        sync.Mutex
	offsets   map[int32][]int64 // every offset fetched, per partition
	values    map[string]int
	owner     map[int32]string // member whose handler runs for the partition
	overlaps  []string
	handlers  map[string]int // handler runs that ended, per member
	sawCancel map[string]int // of those, the ones whose ctx was cancelled
	lastLag   map[int32]int64
}

func newConsumed() *consumed {
	return &consumed{
		offsets: map[int32][]int64{}, values: map[string]int{}, owner: map[int32]string{},
		handlers: map[string]int{}, sawCancel: map[string]int{}, lastLag: map[int32]int64{},
	}
}

// handler consumes a partition as member name, recording everything.
func (c *consumed) handler(name string) kafkasource.Handler {
	return func(ctx context.Context, p *kafkasource.Partition) error {
		c.mu.Lock()
		if o := c.owner[p.ID()]; o != "" && o != name {
			c.overlaps = append(c.overlaps, fmt.Sprintf("partition %d: %s started while %s still ran", p.ID(), name, o))
		}
		c.owner[p.ID()] = name
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.owner[p.ID()] == name {
				delete(c.owner, p.ID())
			}
			c.handlers[name]++
			if ctx.Err() != nil {
				c.sawCancel[name]++
			}
		}()
		for {
			m, err := p.Fetch(ctx)
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.offsets[p.ID()] = append(c.offsets[p.ID()], m.Offset)
			c.values[string(m.Value)]++
			c.lastLag[p.ID()] = p.Lag()
			c.mu.Unlock()
		}
	}
}

func (c *consumed) owned(name string) []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []int32
	for p, o := range c.owner {
		if o == name {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// reached reports whether every partition's last fetched offset is hw-1.
func (c *consumed) reached(hw map[int32]int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, h := range hw {
		seen := c.offsets[p]
		if len(seen) == 0 || seen[len(seen)-1] != h-1 {
			return false
		}
	}
	return true
}

func TestRunConsumesEveryRecordOnceFromStartOffsets(t *testing.T) {
	const topic = "integration-logs"
	b := kafkatest.Start(t, kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(400, "rec-%03d"))
	hw := b.HighWatermarks(t, topic)
	require.Equal(t, map[int32]int64{0: 100, 1: 100, 2: 100, 3: 100}, hw)

	starts := map[int32]int64{0: kafka.FirstOffset, 1: 0, 2: 10, 3: 99}
	var startCalls sync.Map
	start := func(_ context.Context, p int32) (int64, error) {
		n, _ := startCalls.LoadOrStore(p, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		return starts[p], nil
	}
	c := newConsumed()
	consume := c.handler("a")
	var badStart sync.Map
	handle := func(ctx context.Context, p *kafkasource.Partition) error {
		if p.Start() != starts[p.ID()] {
			badStart.Store(p.ID(), p.Start())
		}
		return consume(ctx, p)
	}
	log, _ := testLog(t, "a")
	cfg := fastConfig(b.Addrs(), topic, "g-consume")
	cfg.Logger = log
	r := startRun(t, cfg, start, handle)

	took := testwait.Until(t, 15*time.Second, "every record", func() bool { return c.reached(hw) })
	t.Logf("consumed in %s", took.Round(time.Millisecond))
	// The partitions are idle, so each reader has a fetch held by the
	// broker for MaxWait (10s): shutdown must not wait for it. Once Run
	// has returned no handler runs: anything delivered twice shows below.
	stopped := r.stop(t)
	t.Logf("Run returned %s after cancellation", stopped.Round(time.Millisecond))
	assert.Less(t, stopped, 3*time.Second, "shutdown must not wait for fetches held by the broker")
	if !testwait.Within(5*time.Second, func() bool { return !strings.Contains(goroutines(), "segmentio/kafka-go") }) {
		t.Fatalf("kafka-go goroutines remain after Run returned:\n%s", goroutines())
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for p, h := range hw {
		from := starts[p]
		if from == kafka.FirstOffset {
			from = 0
		}
		want := make([]int64, 0, h-from)
		for o := from; o < h; o++ {
			want = append(want, o)
		}
		assert.Equal(t, want, c.offsets[p], "partition %d: every offset from %d, once, in order", p, from)
		assert.Zero(t, c.lastLag[p], "partition %d: lag after the last record", p)
		total += len(want)
		n, _ := startCalls.Load(p)
		assert.Equal(t, int32(1), n.(*atomic.Int32).Load(), "StartOffset calls for partition %d", p)
	}
	badStart.Range(func(p, got any) bool {
		t.Errorf("partition %v: Partition.Start() = %v, StartOffset returned %d", p, got, starts[p.(int32)])
		return true
	})
	assert.Len(t, c.values, total)
	for v, n := range c.values {
		assert.Equal(t, 1, n, "value %s", v)
	}
	assert.Equal(t, 4, c.handlers["a"])
	assert.Equal(t, 4, c.sawCancel["a"], "every handler returned because its ctx was cancelled")
}

func TestCommitShowsInGroupOffsets(t *testing.T) {
	const topic, group = "logs", "g-commit"
	b := kafkatest.Start(t, kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(200, "v%d"))
	hw := b.HighWatermarks(t, topic)

	var mu sync.Mutex
	finalCommit := map[int32]error{}
	var escaped *kafkasource.Partition
	handle := func(ctx context.Context, p *kafkasource.Partition) error {
		mu.Lock()
		escaped = p
		mu.Unlock()
		var next int64
		for next < hw[p.ID()] && ctx.Err() == nil {
			m, err := p.Fetch(ctx)
			if err != nil {
				break
			}
			next = m.Offset + 1
			if next%10 == 0 || next == hw[p.ID()] {
				if err := p.Commit(ctx, next); err != nil && ctx.Err() == nil {
					return err
				}
			}
		}
		<-ctx.Done()
		// What a handler does at shutdown: commit with a fresh context
		// after the last write. The group has not been left yet.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := p.Commit(cctx, next)
		mu.Lock()
		finalCommit[p.ID()] = err
		mu.Unlock()
		return nil
	}
	log, _ := testLog(t, "a")
	cfg := fastConfig(b.Addrs(), topic, group)
	cfg.Logger = log
	r := startRun(t, cfg, firstOffset, handle)

	client := newClient(t, b)
	committed := func() (map[int32]int64, error) {
		resp, err := client.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{
			GroupID: group, Topics: map[string][]int{topic: {0, 1, 2, 3}},
		})
		if err == nil {
			err = resp.Error
		}
		if err != nil {
			return nil, err
		}
		out := map[int32]int64{}
		for _, p := range resp.Topics[topic] {
			if p.Error != nil {
				return nil, p.Error
			}
			out[int32(p.Partition)] = p.CommittedOffset
		}
		return out, nil
	}
	// The group exists once a handler runs; until then the broker answers
	// GroupIDNotFound.
	testwait.Until(t, 15*time.Second, "a partition handler", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return escaped != nil
	})
	testwait.Until(t, 15*time.Second, "committed offsets at the high watermarks", func() bool {
		got, err := committed()
		if errors.Is(err, kafka.GroupIdNotFound) || errors.Is(err, kafka.GroupCoordinatorNotAvailable) {
			return false
		}
		require.NoError(t, err)
		for p, h := range hw {
			if got[p] != h {
				return false
			}
		}
		return true
	})
	r.stop(t)
	got, err := committed()
	require.NoError(t, err)
	assert.Equal(t, hw, got, "committed offsets after the member left")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, finalCommit, 4)
	for p, err := range finalCommit {
		assert.NoError(t, err, "final commit of partition %d during shutdown", p)
	}
	// A Partition used after its handler returned fails cleanly.
	assert.Error(t, escaped.Commit(context.Background(), 1))
	_, err = escaped.Fetch(context.Background())
	assert.Error(t, err)
}

func TestTwoMembersSplitPartitionsAndHandOverOnLeave(t *testing.T) {
	const topic, group = "logs", "g-two"
	b := kafkatest.Start(t, kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(400, "v%d"))

	// A long session: handing over within it shows that the leaving member
	// left the group rather than being timed out.
	cfg := func(name string) kafkasource.Config {
		c := fastConfig(b.Addrs(), topic, group)
		c.SessionTimeout = 6 * time.Second
		c.RebalanceTimeout = 3 * time.Second
		c.Logger, _ = testLog(t, name)
		return c
	}
	c := newConsumed()
	a := startRun(t, cfg("a"), firstOffset, c.handler("a"))
	testwait.Until(t, 10*time.Second, "a to own all partitions", func() bool { return len(c.owned("a")) == 4 })

	startRun(t, cfg("b"), firstOffset, c.handler("b"))
	took := testwait.Until(t, 10*time.Second, "a and b to split the partitions", func() bool {
		pa, pb := c.owned("a"), c.owned("b")
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 4
	})
	pa, pb := c.owned("a"), c.owned("b")
	t.Logf("split in %s: a %v, b %v", took.Round(time.Millisecond), pa, pb)
	for _, p := range pa {
		assert.NotContains(t, pb, p)
	}

	t0 := time.Now()
	stopped := a.stop(t)
	testwait.Until(t, 10*time.Second, "b to own all partitions", func() bool { return len(c.owned("b")) == 4 })
	t.Logf("a's Run returned in %s; b owned every partition %s after a's cancellation", stopped.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	assert.Less(t, time.Since(t0), 4*time.Second, "b must take over well within the 6s session timeout")

	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Empty(t, c.overlaps, "a partition was consumed by two members at once")
	assert.Positive(t, c.handlers["a"])
	assert.Equal(t, c.handlers["a"], c.sawCancel["a"], "every handler of a returned because its ctx was cancelled")
}

func TestCrashedMemberLosesPartitionsAfterSessionTimeout(t *testing.T) {
	const topic, group = "logs", "g-crash"
	b := kafkatest.Start(t, kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(400, "v%d"))
	hw := b.HighWatermarks(t, topic)

	// The child: a member in another process, reporting what it owns.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childBrokers+"="+strings.Join(b.Addrs(), ","), childTopic+"="+topic, childGroup+"="+group)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	})
	var mu sync.Mutex
	childOwns := map[int32]bool{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			verb, num, _ := strings.Cut(sc.Text(), " ")
			p, err := strconv.Atoi(num)
			if err != nil {
				continue
			}
			mu.Lock()
			childOwns[int32(p)] = verb == "own"
			mu.Unlock()
		}
	}()
	childOwned := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, own := range childOwns {
			if own {
				n++
			}
		}
		return n
	}
	testwait.Until(t, 15*time.Second, "the child to own all partitions", func() bool { return childOwned() == 4 })

	c := newConsumed()
	cfg := fastConfig(b.Addrs(), topic, group)
	cfg.Logger, _ = testLog(t, "survivor")
	startRun(t, cfg, firstOffset, c.handler("survivor"))
	testwait.Until(t, 10*time.Second, "the survivor and the child to split the partitions", func() bool {
		n := len(c.owned("survivor"))
		return n > 0 && n+childOwned() == 4
	})
	t.Logf("survivor owns %v", c.owned("survivor"))

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	took := testwait.Until(t, 15*time.Second, "the survivor to own all partitions", func() bool { return len(c.owned("survivor")) == 4 })
	t.Logf("the survivor owned every partition %s after SIGKILL (session timeout 1s)", took.Round(time.Millisecond))
	// The dead member keeps its partitions until its session expires (1s
	// after its last heartbeat, at most 200ms before the kill).
	assert.GreaterOrEqual(t, took, 700*time.Millisecond)
	assert.Less(t, took, 8*time.Second)
	testwait.Until(t, 15*time.Second, "the survivor to consume every partition", func() bool { return c.reached(hw) })
}

func TestRunRetriesUntilABrokerAppears(t *testing.T) {
	const topic = "logs"
	port := kafkatest.FreePort(t)
	c := newConsumed()
	log, buf := testLog(t, "a")
	cfg := fastConfig([]string{fmt.Sprintf("127.0.0.1:%d", port)}, topic, "g-retry")
	cfg.Logger = log
	var mu sync.Mutex
	var retries []time.Time
	cfg.OnRetry = func() {
		mu.Lock()
		defer mu.Unlock()
		retries = append(retries, time.Now())
	}
	startRun(t, cfg, firstOffset, c.handler("a"))

	testwait.Until(t, 10*time.Second, "four retries without a broker", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(retries) >= 4
	})
	mu.Lock()
	spread := retries[3].Sub(retries[0])
	mu.Unlock()
	t.Logf("retries 1 to 4 took %s", spread.Round(time.Millisecond))
	// Waits of about 100, 200 and 400ms, each within ±25%: backing off.
	assert.GreaterOrEqual(t, spread, 525*time.Millisecond, "Run must back off")
	assert.GreaterOrEqual(t, strings.Count(buf.String(), "consumer group unavailable"), 4, "each retry is logged")

	t0 := time.Now()
	b := kafkatest.Start(t, kafkatest.Port(port), kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(40, "v%d"))
	hw := b.HighWatermarks(t, topic)
	testwait.Until(t, 20*time.Second, "every record", func() bool { return c.reached(hw) })
	t.Logf("consumed everything %s after the broker started", time.Since(t0).Round(time.Millisecond))
}

func TestRunStopsPromptlyWhileBrokerUnreachable(t *testing.T) {
	cfg := fastConfig([]string{fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))}, "logs", "g-stop")
	var buf *syncBuffer
	cfg.Logger, buf = testLog(t, "a")
	var retried atomic.Int32
	cfg.OnRetry = func() { retried.Add(1) }
	r := startRun(t, cfg, firstOffset, newConsumed().handler("a"))
	testwait.Until(t, 10*time.Second, "a retry", func() bool { return retried.Load() > 0 })
	assert.Less(t, r.stop(t), time.Second)
	assert.NotContains(t, buf.String(), "left consumer group", "it never joined")
	assert.Contains(t, buf.String(), "stopped before joining the consumer group")
}

// TestStopErrorEndsRun: a handler error wrapped with Stop ends Run, which
// leaves the group and returns it, instead of rejoining forever.
func TestStopErrorEndsRun(t *testing.T) {
	const topic = "logs"
	b := kafkatest.Start(t, kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(40, "v%d"))
	errPoison := errors.New("a record neither Postgres nor the dead-letter table accepts")
	c := newConsumed()
	consume := c.handler("a")
	handle := func(ctx context.Context, p *kafkasource.Partition) error {
		if p.ID() == 2 {
			if _, err := p.Fetch(ctx); err != nil {
				return err
			}
			return kafkasource.Stop(fmt.Errorf("write batch: %w", errPoison))
		}
		return consume(ctx, p)
	}
	log, buf := testLog(t, "a")
	cfg := fastConfig(b.Addrs(), topic, "g-stop-error")
	cfg.Logger = log
	m, err := kafkasource.New(cfg)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background(), firstOffset, handle) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, errPoison)
		assert.Contains(t, err.Error(), "partition 2")
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after a Stop error")
	}
	assert.Contains(t, buf.String(), "left consumer group")
	assert.Equal(t, 1, strings.Count(buf.String(), "generation started"), "no rejoin after a Stop error")
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Equal(t, 3, c.handlers["a"])
	assert.Equal(t, 3, c.sawCancel["a"], "the other handlers were cancelled")
}

func TestHandlerErrorEndsGenerationAndMemberRejoins(t *testing.T) {
	const topic = "logs"
	b := kafkatest.Start(t, kafkatest.Topic(topic, 4))
	b.Produce(t, topic, values(80, "v%d"))
	hw := b.HighWatermarks(t, topic)

	errFenced := errors.New("fenced: another member stored a later offset")
	var starts [4]atomic.Int32
	start := func(_ context.Context, p int32) (int64, error) {
		starts[p].Add(1)
		return kafka.FirstOffset, nil
	}
	c := newConsumed()
	consume := c.handler("a")
	var failed atomic.Bool
	handle := func(ctx context.Context, p *kafkasource.Partition) error {
		if p.ID() == 1 && !failed.Swap(true) {
			if _, err := p.Fetch(ctx); err != nil {
				return err
			}
			return fmt.Errorf("store batch: %w", errFenced)
		}
		return consume(ctx, p)
	}
	log, buf := testLog(t, "a")
	cfg := fastConfig(b.Addrs(), topic, "g-error")
	cfg.Logger = log
	startRun(t, cfg, start, handle)
	testwait.Until(t, 15*time.Second, "every record after the rejoin", func() bool { return c.reached(hw) })
	for p := range starts {
		assert.Equal(t, int32(2), starts[p].Load(), "partition %d started in two generations", p)
	}
	assert.Contains(t, buf.String(), errFenced.Error())
}

func TestTopicCreatedLaterAndPartitionsAdded(t *testing.T) {
	t.Cleanup(kafkasource.SetPartitionWatchInterval(200 * time.Millisecond))
	const topic = "logs"
	b := kafkatest.Start(t)
	var metadataRequests atomic.Int32
	b.Cluster().ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		metadataRequests.Add(1)
		return nil, nil, false // only counted: the broker answers
	})
	c := newConsumed()
	log, buf := testLog(t, "a")
	cfg := fastConfig(b.Addrs(), topic, "g-later")
	cfg.Logger = log
	startRun(t, cfg, firstOffset, c.handler("a"))
	testwait.Until(t, 5*time.Second, "the warning about the missing topic", func() bool {
		return strings.Contains(buf.String(), "topic not found")
	})
	// The member keeps watching for the topic: several metadata polls
	// later, still one generation.
	polled := metadataRequests.Load()
	testwait.Until(t, 10*time.Second, "three more metadata requests", func() bool { return metadataRequests.Load() >= polled+3 })
	assert.Equal(t, 1, strings.Count(buf.String(), "generation started"), "a missing topic must not churn generations")

	b.CreateTopic(t, topic, 2)
	b.Produce(t, topic, values(20, "v%d"))
	testwait.Until(t, 10*time.Second, "the records of the new topic", func() bool { return c.reached(b.HighWatermarks(t, topic)) })
	assert.Equal(t, []int32{0, 1}, c.owned("a"))

	client := newClient(t, b)
	resp, err := client.CreatePartitions(context.Background(), &kafka.CreatePartitionsRequest{
		Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 4}},
	})
	require.NoError(t, err)
	require.NoError(t, resp.Errors[topic])
	b.Produce(t, topic, values(40, "w%d"))
	hw := b.HighWatermarks(t, topic)
	require.Len(t, hw, 4)
	testwait.Until(t, 10*time.Second, "the records of the added partitions", func() bool { return c.reached(hw) })
	assert.Equal(t, []int32{0, 1, 2, 3}, c.owned("a"))
}

func TestHighWatermarks(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Topic("logs", 3))
	b.Produce(t, "logs", values(31, "v%d"))
	hw, err := kafkasource.HighWatermarks(context.Background(), kafkasource.Config{Brokers: b.Addrs(), Topic: "logs"})
	require.NoError(t, err)
	assert.Equal(t, map[int32]int64{0: 11, 1: 10, 2: 10}, hw)
	assert.Equal(t, b.HighWatermarks(t, "logs"), hw)

	_, err = kafkasource.HighWatermarks(context.Background(), kafkasource.Config{Brokers: b.Addrs(), Topic: "missing"})
	assert.Error(t, err)
}

func TestSASLAgainstBroker(t *testing.T) {
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.Ports(0), kfake.EnableSASL(),
				kfake.Superuser(strings.ToUpper(mech), "faultline", "s3cret"), kfake.SeedTopics(2, "logs"))
			require.NoError(t, err)
			t.Cleanup(c.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			good, err := kafkasource.NewSASL(mech, "faultline", "s3cret")
			require.NoError(t, err)
			hw, err := kafkasource.HighWatermarks(ctx, kafkasource.Config{Brokers: c.ListenAddrs(), Topic: "logs", SASL: good})
			require.NoError(t, err)
			assert.Equal(t, map[int32]int64{0: 0, 1: 0}, hw)

			bad, err := kafkasource.NewSASL(mech, "faultline", "wrong")
			require.NoError(t, err)
			_, err = kafkasource.HighWatermarks(ctx, kafkasource.Config{Brokers: c.ListenAddrs(), Topic: "logs", SASL: bad})
			assert.Error(t, err)
		})
	}
	_, err := kafkasource.NewSASL("GSSAPI", "u", "p")
	assert.ErrorContains(t, err, `"GSSAPI"`)
	_, err = kafkasource.NewSASL("plain", "", "p")
	assert.ErrorContains(t, err, "SASLUser is required")
	m, err := kafkasource.NewSASL("SCRAM-SHA-512", "u", "p")
	require.NoError(t, err)
	assert.Equal(t, "SCRAM-SHA-512", m.Name())
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  kafkasource.Config
		want string
	}{
		"no brokers":                  {kafkasource.Config{Topic: "t", Group: "g"}, "Brokers is required"},
		"no topic":                    {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Group: "g"}, "Topic is required"},
		"no group":                    {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t"}, "Group is required"},
		"heartbeat ≥ session":         {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g", SessionTimeout: time.Second, HeartbeatInterval: time.Second}, "HeartbeatInterval"},
		"default heartbeat ≥ session": {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g", SessionTimeout: 2 * time.Second}, "HeartbeatInterval (3s) must be shorter than SessionTimeout (2s)"},
		"negative session":            {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g", SessionTimeout: -time.Second}, "SessionTimeout must be positive, got -1s"},
		"broker without a port":       {kafkasource.Config{Brokers: []string{"127.0.0.1:1", "localhost"}, Topic: "t", Group: "g"}, `Brokers must be host:port, got "localhost"`},
		"min bytes over max bytes":    {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g", MinBytes: 10, MaxBytes: 5}, "MinBytes (10) must not be more than MaxBytes (5)"},
		"negative max wait":           {kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g", MaxWait: -time.Second}, "MaxWait must not be negative, got -1s"},
	} {
		_, err := kafkasource.New(tc.cfg)
		assert.ErrorContains(t, err, tc.want, name)
	}
	// Validate checks a config as given: a zero timeout is refused there,
	// while New gives it its default. Every problem is listed, and a
	// command names them after its flags.
	err := kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g"}.Validate()
	var bad *kafkasource.ConfigError
	require.ErrorAs(t, err, &bad)
	assert.Len(t, bad.Problems, 3)
	assert.Equal(t, "--session must be positive, got 0s; --heartbeat must be positive, got 0s; --rebalance must be positive, got 0s",
		bad.Describe(func(f string) string {
			return map[string]string{"SessionTimeout": "--session", "HeartbeatInterval": "--heartbeat", "RebalanceTimeout": "--rebalance"}[f]
		}))
	require.NoError(t, kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g"}.WithDefaults().Validate())

	cfg := kafkasource.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Group: "g"}
	m, err := kafkasource.New(cfg)
	require.NoError(t, err)
	assert.Zero(t, cfg.SessionTimeout, "New does not modify its argument")
	handle := func(ctx context.Context, _ *kafkasource.Partition) error { <-ctx.Done(); return nil }
	assert.Error(t, m.Run(context.Background(), nil, handle))
}

// BenchmarkConsume measures Run+Fetch: 200k records of 600 bytes on 4
// partitions, consumed from the first offset by one member.
func BenchmarkConsume(b *testing.B) {
	const topic, n, size = "logs", 200_000, 600
	br := kafkatest.Start(b, kafkatest.Topic(topic, 4))
	vs := make([][]byte, n)
	for i := range vs {
		v := bytes.Repeat([]byte{'x'}, size)
		copy(v, strconv.Itoa(i))
		vs[i] = v
	}
	t0 := time.Now()
	br.Produce(b, topic, vs)
	b.Logf("produced %d records of %d B in %s", n, size, time.Since(t0).Round(time.Millisecond))

	iter := 0
	var elapsed time.Duration
	for b.Loop() {
		iter++
		var count atomic.Int64
		done := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		m, err := kafkasource.New(fastConfig(br.Addrs(), topic, fmt.Sprintf("bench-%d", iter)))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		go func() {
			defer close(done)
			_ = m.Run(ctx, firstOffset, func(ctx context.Context, p *kafkasource.Partition) error {
				for {
					if _, err := p.Fetch(ctx); err != nil {
						return err
					}
					if count.Add(1) == n {
						cancel()
					}
				}
			})
		}()
		<-ctx.Done()
		elapsed += time.Since(t0)
		<-done
		if got := count.Load(); got != n {
			b.Fatalf("consumed %d records, want %d", got, n)
		}
	}
	b.ReportMetric(float64(iter*n)/elapsed.Seconds(), "records/s")
}
