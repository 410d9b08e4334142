// Command ingestbench measures ingestion end to end on this machine and
// prints ratios against references measured in the same run:
//
//	(a) kcat consuming the topic to /dev/null
//	(b) `ingest run` from its first stored record until caught up
//	(c) psql \copy of the equivalent event rows into the events table
//	(d) `ingest run` over records that are all errors
//	    and the naive way: one INSERT per event
//
// It starts a kfake broker (bin/fakekafka), produces with bin/loggen, and
// uses the Postgres server of DATABASE_URL (default 127.0.0.1:5432), in
// fresh databases it drops afterwards. Run it through `make bench`.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/jackc/pgx/v5"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func main() { os.Exit(run()) }

type cli struct {
	Records     int    `default:"1000000" help:"Records per topic."`
	Partitions  int    `default:"4" help:"Partitions per topic."`
	Naive       int    `default:"3000" help:"Events inserted the naive way (one INSERT each)."`
	Bin         string `default:"bin" help:"Directory of the ingest, fakekafka and loggen binaries."`
	DatabaseURL string `name:"database-url" env:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/test?sslmode=disable" help:"Admin URL of the Postgres server; databases are created beside it."`
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kong.Parse(&c, kong.Name("ingestbench"))
	if err := c.bench(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ingestbench: %v\n", err)
		return 1
	}
	return 0
}

type result struct {
	name    string
	records int
	took    time.Duration
	rssKB   int64
}

func (r result) rate() float64 { return float64(r.records) / r.took.Seconds() }

func (c *cli) bench(ctx context.Context) error {
	work, err := os.MkdirTemp("", "ingestbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	start := time.Now().UTC().Add(-4 * time.Hour).Truncate(time.Second)

	broker, addr, err := c.startBroker(ctx)
	if err != nil {
		return err
	}
	defer stopProcess(broker)
	fmt.Printf("broker %s; producing %d records to each of two topics…\n", addr, c.Records)
	for _, t := range []struct {
		topic string
		rate  string
	}{{"logs", "0.07"}, {"errors", "1"}} {
		cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "loggen"), "-n", strconv.Itoa(c.Records), "--seed", "11",
			"--start", start.Format(time.RFC3339), "--step", "5ms", "--error-rate", t.rate,
			"--kafka-brokers", addr, "--kafka-topic", t.topic)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("produce %s: %v: %s", t.topic, err, out)
		}
	}

	var results []result
	a, err := c.kcat(ctx, addr, "logs")
	if err != nil {
		return err
	}
	results = append(results, a)

	b, err := c.ingestRun(ctx, addr, "logs", "b")
	if err != nil {
		return err
	}
	b.name = "(b) ingest run, realistic mix (7% errors)"
	results = append(results, b)

	cres, err := c.psqlCopy(ctx, work, start)
	if err != nil {
		return err
	}
	results = append(results, cres)

	d, err := c.ingestRun(ctx, addr, "errors", "d")
	if err != nil {
		return err
	}
	d.name = "(d) ingest run, all errors"
	results = append(results, d)

	naive, err := c.naive(ctx, start)
	if err != nil {
		return err
	}
	results = append(results, naive)

	fmt.Println()
	fmt.Printf("%-46s %10s %10s %12s %12s\n", "measurement", "records", "seconds", "records/s", "peak RSS")
	for _, r := range results {
		rss := "-"
		if r.rssKB > 0 {
			rss = fmt.Sprintf("%d MB", r.rssKB/1024)
		}
		fmt.Printf("%-46s %10d %10.2f %12.0f %12s\n", r.name, r.records, r.took.Seconds(), r.rate(), rss)
	}
	fmt.Println()
	fmt.Printf("b/a (ingest vs kcat)           %.2f\n", b.rate()/a.rate())
	fmt.Printf("d/c (all-error ingest vs \\copy) %.2f\n", d.rate()/cres.rate())
	fmt.Printf("d/naive                        %.1fx\n", d.rate()/naive.rate())
	fmt.Printf("goals: (b) >= 150000 records/s: %v; d/c >= 0.6: %v; peak RSS <= 250 MB: %v\n",
		b.rate() >= 150000, d.rate()/cres.rate() >= 0.6, max(b.rssKB, d.rssKB) <= 250*1024)
	return nil
}

func (c *cli) startBroker(ctx context.Context) (*exec.Cmd, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	p := strconv.Itoa(c.Partitions)
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "fakekafka"), "--listen", addr, "--topic", "logs:"+p, "--topic", "errors:"+p)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		stopProcess(cmd)
		return nil, "", fmt.Errorf("fakekafka did not start: %q %v", line, err)
	}
	go io.Copy(io.Discard, out)
	return cmd, addr, nil
}

// kcat consumes the topic to nowhere with a real third-party client.
func (c *cli) kcat(ctx context.Context, addr, topic string) (result, error) {
	cmd := exec.CommandContext(ctx, "kcat", "-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("kcat: %w (install the kcat package)", err)
	}
	n, err := countLines(out)
	if err != nil {
		return result{}, err
	}
	if err := cmd.Wait(); err != nil {
		return result{}, fmt.Errorf("kcat: %w", err)
	}
	took := time.Since(t0)
	if n != c.Records {
		return result{}, fmt.Errorf("kcat read %d records, want %d", n, c.Records)
	}
	return result{name: "(a) kcat -C to /dev/null", records: n, took: took}, nil
}

func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// database creates a fresh database and returns its URL and a drop func.
func (c *cli) database(ctx context.Context, name string) (string, func(), error) {
	admin, err := pgx.Connect(ctx, c.DatabaseURL)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close(ctx)
	db := "faultline_bench_" + name
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + db
	drop := func() {
		ctx := context.Background()
		if a, err := pgx.Connect(ctx, c.DatabaseURL); err == nil {
			_, _ = a.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			a.Close(ctx)
		}
	}
	st, err := store.Open(ctx, u.String())
	if err != nil {
		drop()
		return "", nil, err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		drop()
		return "", nil, err
	}
	return u.String(), drop, nil
}

// ingestRun times `ingest run` from its first stored record until it has
// stored the whole topic, and reads its peak RSS.
func (c *cli) ingestRun(ctx context.Context, addr, topic, name string) (result, error) {
	dbURL, drop, err := c.database(ctx, name)
	if err != nil {
		return result{}, err
	}
	defer drop()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	defer conn.Close(ctx)
	group := "bench-" + name
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "ingest"), "run", "--kafka-brokers", addr, "--kafka-topic", topic,
		"--kafka-group", group, "--database-url", dbURL, "--http-addr", "", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer stopProcess(cmd)
	var t0 time.Time
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var stored int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE group_id = $1`, group).Scan(&stored); err != nil {
			return result{}, err
		}
		if stored > 0 && t0.IsZero() {
			t0 = time.Now()
		}
		if stored >= int64(c.Records) {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("ingest of %s not caught up after 10 minutes (%d of %d)", topic, stored, c.Records)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(t0)
	rss := peakRSS(cmd.Process.Pid)
	return result{records: c.Records, took: took, rssKB: rss}, nil
}

// psqlCopy writes the event rows ingest would store for the all-error
// records as CSV, and times psql \copy of them into a fresh events table.
func (c *cli) psqlCopy(ctx context.Context, work string, start time.Time) (result, error) {
	dbURL, drop, err := c.database(ctx, "c")
	if err != nil {
		return result{}, err
	}
	defer drop()
	events, err := errorEvents(c.Records, start)
	if err != nil {
		return result{}, err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	err = st.EnsurePartitions(ctx, events[0].TS, events[len(events)-1].TS)
	st.Close()
	if err != nil {
		return result{}, err
	}
	csvPath := filepath.Join(work, "events.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		return result{}, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := store.WriteEventsCSV(w, events); err != nil {
		return result{}, err
	}
	if err := w.Flush(); err != nil {
		return result{}, err
	}
	f.Close()
	copyCmd := fmt.Sprintf(`\copy events(%s) FROM '%s' WITH (FORMAT csv)`, strings.Join(store.CopyColumns(), ", "), csvPath)
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dbURL, "-c", copyCmd).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("psql \\copy: %v: %s", err, out)
	}
	return result{name: "(c) psql \\copy of the event rows", records: len(events), took: time.Since(t0)}, nil
}

// errorEvents classifies and redacts the all-error records exactly as ingest
// does.
func errorEvents(n int, start time.Time) ([]store.Event, error) {
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		return nil, err
	}
	cls, err := classify.New(cats, classify.Options{})
	if err != nil {
		return nil, err
	}
	g := synth.New(synth.Options{Seed: 11, Start: start, Step: 5 * time.Millisecond, ErrorRate: 1})
	bb := ingest.NewBuilder(cls, store.Source{Group: "bench", Topic: "errors"}, store.NoOffset, ingest.BuilderOptions{})
	var events []store.Event
	var buf []byte
	for i := 0; i < n; i++ {
		buf = g.Next(buf[:0])
		bb.Add(buf, "errors", int32(i%4), int64(i))
		if bb.Len() == 10000 || i == n-1 {
			events = append(events, bb.Take(int64(i+1)).Events...)
		}
	}
	if len(events) == 0 {
		return nil, errors.New("no events")
	}
	return events, nil
}

func (c *cli) naive(ctx context.Context, start time.Time) (result, error) {
	dbURL, drop, err := c.database(ctx, "naive")
	if err != nil {
		return result{}, err
	}
	defer drop()
	events, err := errorEvents(c.Naive, start)
	if err != nil {
		return result{}, err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	if err := st.EnsurePartitions(ctx, events[0].TS, events[len(events)-1].TS); err != nil {
		return result{}, err
	}
	t0 := time.Now()
	if err := st.InsertEventsOneByOne(ctx, events); err != nil {
		return result{}, err
	}
	return result{name: "naive: one INSERT per event", records: len(events), took: time.Since(t0)}, nil
}

// peakRSS reads a process's peak resident set (VmHWM) in KiB.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func stopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
