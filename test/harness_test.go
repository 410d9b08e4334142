// Package test holds faultline's end-to-end tests: the real `ingest`
// binary as subprocesses, a Kafka broker speaking the real protocol on
// loopback (kfake, through kafka-go), and a real Postgres.
package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
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

// proc is a running `ingest run`.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
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
		"--batch-size", "2000", "--batch-wait", "100ms", "--http-addr", "",
		"--max-record-bytes", "65536",
	}, extra...)
	p := &proc{cmd: ingestCommand(args...), done: make(chan error, 1)}
	p.start(e.t)
	return p
}

func ingestCommand(args ...string) *exec.Cmd { return exec.Command(ingestBin, args...) }

// start starts the process, collecting its output, and kills it at the end
// of the test if it still runs (showing its logs if the test failed).
func (p *proc) start(t *testing.T) {
	t.Helper()
	p.cmd.Stdout, p.cmd.Stderr = p, p
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
	})
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

// waitLog waits until the process has logged what (a substring of its
// JSON log, `"msg":"..."` for a message) at least n times.
func (p *proc) waitLog(t *testing.T, timeout time.Duration, what string, n int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(p.logs(), what) < n {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("ingest exited (%v) before logging %s; logs:\n%s", err, what, tail(p.logs(), 4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not log %s %d times within %s; logs:\n%s", what, n, timeout, tail(p.logs(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric reads one sample of the process's /metrics (it must run with
// --http-addr 127.0.0.1:0), such as `faultline_retries_total{dependency="kafka"}`;
// -1 when absent.
func (p *proc) metric(t *testing.T, sample string) float64 {
	t.Helper()
	for _, line := range strings.Split(httpGet(t, "http://"+p.httpAddr(t)+"/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, line)
			return f
		}
	}
	return -1
}

// waitMetric waits until cond holds for the sample's value.
func (p *proc) waitMetric(t *testing.T, timeout time.Duration, sample string, cond func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(p.metric(t, sample)) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after %s; logs:\n%s", sample, p.metric(t, sample), timeout, tail(p.logs(), 4000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStored waits until more than n records are stored.
func (e *env) waitStored(timeout time.Duration, n int64, p *proc) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for sumOffsets(e.storedOffsets()) <= n {
		if time.Now().After(deadline) {
			e.t.Fatalf("no more than %d records stored after %s; logs:\n%s", n, timeout, tail(p.logs(), 3000))
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	deadline := time.Now().Add(timeout)
	for {
		got := e.storedOffsets()
		done := true
		for p, hw := range want {
			if hw > 0 && got[p] != hw {
				done = false
			}
		}
		if done {
			return
		}
		for _, p := range procs {
			select {
			case err := <-p.done:
				p.done <- err
				e.t.Fatalf("ingest exited early (%v); logs:\n%s", err, tail(p.logs(), 4000))
			default:
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not caught up after %s: stored %v, high watermarks %v", timeout, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
