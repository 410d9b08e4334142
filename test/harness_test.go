// Package test holds faultline's end-to-end tests: the real `ingest`
// binary as subprocesses, a Kafka broker speaking the real protocol on
// loopback (kfake, through kafka-go), and a real Postgres.
package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkatest"
	"github.com/faultline-dev/faultline/pgtest"
)

var ingestBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultline-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ingestBin = filepath.Join(dir, "ingest")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", ingestBin, "./cmd/ingest")
	build.Dir = filepath.Join(filepath.Dir(file), "..")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ingest:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one end-to-end setup: a broker with a topic, an empty database.
type env struct {
	t      *testing.T
	broker *kafkatest.Broker
	topic  string
	group  string
	dbURL  string
	db     *pgxpool.Pool
}

func newEnv(t *testing.T, partitions int, dbURL string) *env {
	t.Helper()
	return newEnvOn(t, kafkatest.Start(t), partitions, dbURL)
}

// newEnvOn is newEnv with a broker of the test's own.
func newEnvOn(t *testing.T, broker *kafkatest.Broker, partitions int, dbURL string) *env {
	t.Helper()
	if dbURL == "" {
		dbURL = pgtest.New(t)
	}
	e := &env{t: t, topic: "integration-logs", group: "faultline-e2e", dbURL: dbURL, broker: broker}
	e.broker.CreateTopic(t, e.topic, partitions)
	out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "migrate: %s", out)
	e.db, err = pgxpool.New(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(e.db.Close)
	return e
}

// proc is a running `ingest run`. It writes its log to a file itself, so
// that what it logged before a metric changed is in the file once the
// metric is read; its HTTP listener (/metrics, /healthz, /readyz) is on
// addr.
type proc struct {
	cmd  *exec.Cmd
	addr string // host:port
	out  *os.File
	done chan error
}

// logs is what the process has logged so far.
func (p *proc) logs() string {
	b, err := os.ReadFile(p.out.Name())
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// ingest starts `ingest run` against the env, with short group timeouts so
// that a killed member's partitions move in seconds.
func (e *env) ingest(extra ...string) *proc {
	e.t.Helper()
	args := append([]string{"run",
		"--kafka-brokers", strings.Join(e.broker.Addrs(), ","),
		"--kafka-topic", e.topic, "--kafka-group", e.group,
		"--database-url", e.dbURL,
		"--kafka-session-timeout", "2s", "--kafka-heartbeat-interval", "300ms", "--kafka-rebalance-timeout", "3s",
		"--batch-size", "2000", "--batch-wait", "100ms",
		"--max-record-bytes", "65536",
	}, extra...)
	p := newProc(e.t, args...)
	p.start(e.t)
	return p
}

// newProc is `ingest run` with args and an HTTP listener on a free port.
func newProc(t *testing.T, args ...string) *proc {
	addr := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	return &proc{cmd: ingestCommand(append(args, "--http-addr", addr)...), addr: addr, done: make(chan error, 1)}
}

func ingestCommand(args ...string) *exec.Cmd { return exec.Command(ingestBin, args...) }

// start starts the process, its output to a file, and kills it at the end
// of the test if it still runs (showing its logs if the test failed).
func (p *proc) start(t *testing.T) {
	t.Helper()
	var err error
	p.out, err = os.CreateTemp(t.TempDir(), "ingest-*.log")
	require.NoError(t, err)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("ingest pid %d logs (tail):\n%s", p.cmd.Process.Pid, tail(p.logs(), 4000))
		}
		p.out.Close()
	})
}

// requireRunning fails t when the process has exited.
func (p *proc) requireRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		t.Fatalf("ingest exited early (%v); logs:\n%s", err, tail(p.logs(), 4000))
	default:
	}
}

func newDatabase(t *testing.T) string { return pgtest.New(t) }

// stop sends SIGTERM and expects a clean exit 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		require.NoError(t, err, "ingest run must exit 0 on SIGTERM; logs:\n%s", tail(p.logs(), 4000))
	case <-time.After(30 * time.Second):
		t.Fatalf("ingest run did not stop within 30s of SIGTERM; logs:\n%s", tail(p.logs(), 4000))
	}
}

// scrape reads one sample of the process's /metrics, such as
// `faultline_retries_total{dependency="kafka"}`: -1 when absent, an error
// when the process does not answer (yet).
func (p *proc) scrape(sample string) (float64, error) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: %s", resp.Status)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return -1, nil
}

// metric is one sample of the process's /metrics (-1 when absent); the
// process must answer.
func (p *proc) metric(t *testing.T, sample string) float64 {
	t.Helper()
	v, err := p.scrape(sample)
	require.NoError(t, err)
	return v
}

// waitMetric waits until cond holds for the sample's value.
func (p *proc) waitMetric(t *testing.T, timeout time.Duration, sample string, cond func(float64) bool) {
	t.Helper()
	testwait.UntilNil(t, timeout, sample, func() error {
		p.requireRunning(t)
		v, err := p.scrape(sample)
		if err == nil && !cond(v) {
			err = fmt.Errorf("%v", v)
		}
		return err
	})
}

// waitReady waits until the process answers /readyz: its consumer runs
// and Postgres answers with the right schema.
func (p *proc) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	testwait.UntilNil(t, timeout, "/readyz", func() error {
		p.requireRunning(t)
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", resp.Status, body)
		}
		return nil
	})
}

// waitStored waits until more than n records are stored.
func (e *env) waitStored(timeout time.Duration, n int64, p *proc) {
	e.t.Helper()
	testwait.UntilNil(e.t, timeout, fmt.Sprintf("more than %d records stored", n), func() error {
		p.requireRunning(e.t)
		if got := sumOffsets(e.storedOffsets()); got <= n {
			return fmt.Errorf("%d stored", got)
		}
		return nil
	})
}

// kill sends SIGKILL.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Kill())
	<-p.done
}

// storedOffsets reads the offsets the consumer group stored in Postgres.
func (e *env) storedOffsets() map[int32]int64 {
	rows, err := e.db.Query(context.Background(),
		`SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2`, e.group, e.topic)
	require.NoError(e.t, err)
	defer rows.Close()
	got := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		require.NoError(e.t, rows.Scan(&p, &o))
		got[p] = o
	}
	require.NoError(e.t, rows.Err())
	return got
}

// waitCaughtUp waits until the stored offsets reach the topic's high
// watermarks.
func (e *env) waitCaughtUp(timeout time.Duration, procs ...*proc) {
	e.t.Helper()
	want := e.broker.HighWatermarks(e.t, e.topic)
	testwait.UntilNil(e.t, timeout, "the stored offsets to reach the high watermarks", func() error {
		for _, p := range procs {
			p.requireRunning(e.t)
		}
		got := e.storedOffsets()
		for p, hw := range want {
			if hw > 0 && got[p] != hw {
				return fmt.Errorf("stored %v, high watermarks %v", got, want)
			}
		}
		return nil
	})
}

// snapshot is the stored state that must not depend on how the run went.
type snapshot struct {
	Events, DistinctEventSources, DeadLetters int64
	Requests                                  map[string]int64 // provider → requests
	Errors                                    map[string]int64 // provider/category/code → errors
	RequestErrors                             map[string]int64 // provider → errors (request rollup)
	Groups                                    map[string]int64 // fingerprint → count
	DeadLetterReasons                         map[string]int64
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	ctx := context.Background()
	s := snapshot{Requests: map[string]int64{}, Errors: map[string]int64{}, RequestErrors: map[string]int64{}, Groups: map[string]int64{}, DeadLetterReasons: map[string]int64{}}
	require.NoError(e.t, e.db.QueryRow(ctx, `SELECT count(*), count(DISTINCT (src_topic, src_partition, src_offset)) FROM events`).Scan(&s.Events, &s.DistinctEventSources))
	require.NoError(e.t, e.db.QueryRow(ctx, `SELECT count(*) FROM dead_letters`).Scan(&s.DeadLetters))
	e.collect(`SELECT provider, sum(requests)::bigint FROM rollup_requests GROUP BY 1`, s.Requests)
	e.collect(`SELECT provider, sum(errors)::bigint FROM rollup_requests GROUP BY 1`, s.RequestErrors)
	e.collect(`SELECT provider || '/' || category || '/' || code, sum(count)::bigint FROM rollup_errors GROUP BY 1`, s.Errors)
	e.collect(`SELECT fingerprint, count FROM error_groups`, s.Groups)
	e.collect(`SELECT reason, count(*) FROM dead_letters GROUP BY 1`, s.DeadLetterReasons)
	return s
}

func (e *env) collect(query string, into map[string]int64) {
	rows, err := e.db.Query(context.Background(), query)
	require.NoError(e.t, err)
	defer rows.Close()
	for rows.Next() {
		var k string
		var v int64
		require.NoError(e.t, rows.Scan(&k, &v))
		into[k] = v
	}
	require.NoError(e.t, rows.Err())
}

// expect computes, independently of the pipeline, what storing records must
// produce: classify each one and count.
func expect(t *testing.T, records [][]byte, maxRecordBytes int) snapshot {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{MaxRecordBytes: maxRecordBytes})
	require.NoError(t, err)
	s := snapshot{Requests: map[string]int64{}, Errors: map[string]int64{}, RequestErrors: map[string]int64{}, Groups: map[string]int64{}, DeadLetterReasons: map[string]int64{}}
	for _, r := range records {
		ev, err := c.Classify(r)
		if err != nil {
			s.DeadLetters++
			s.DeadLetterReasons[string(classify.ReasonOf(err))]++
			continue
		}
		s.Requests[ev.Provider]++
		if !ev.IsError {
			continue
		}
		s.Events++
		s.RequestErrors[ev.Provider]++
		s.Errors[ev.Provider+"/"+string(ev.Category)+"/"+ev.Code]++
		s.Groups[ev.Fingerprint]++
	}
	s.DistinctEventSources = s.Events
	return s
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func pgxpoolNew(url string) (*pgxpool.Pool, error) {
	return pgxpool.New(context.Background(), url)
}
