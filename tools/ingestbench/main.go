// Command ingestbench measures ingestion end to end on this machine and
// prints ratios against references measured in the same run:
//
//	(a) kcat consuming the topic to /dev/null
//	(b) `ingest run` from its first stored record until caught up
//	(c) psql \copy of the event rows (d) stored, and of their ids
//	    (event_ids), into a fresh database; (c0) of the event rows alone
//	(d) `ingest run` over records that are all errors, and (d0) the same
//	    into a database without the search indexes (migration 00013)
//	    and the naive way: one INSERT per event row (d) stored
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

	"github.com/faultline-dev/faultline/store"
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

	b, err := c.ingestRun(ctx, addr, "logs", "b", nil)
	if err != nil {
		return err
	}
	b.drop()
	b.name = "(b) ingest run, realistic mix (7% errors)"
	results = append(results, b.result)

	// (d0) the same without the search indexes (migration 00013), first:
	// what they cost ingest, in the same run.
	d0, err := c.ingestRun(ctx, addr, "errors", "d0", withoutSearchIndexes)
	if err != nil {
		return err
	}
	d0.drop()
	d0.name = "(d0) ingest run, all errors, no search indexes"

	// (d) keeps its database: its event rows are what (c) and the naive
	// way load.
	d, err := c.ingestRun(ctx, addr, "errors", "d", nil)
	if err != nil {
		return err
	}
	defer d.drop()
	d.name = "(d) ingest run, all errors"

	cres, c0, err := c.psqlCopy(ctx, work, d.dbURL)
	if err != nil {
		return err
	}
	results = append(results, c0, cres, d0.result, d.result)

	naive, err := c.naive(ctx, d.dbURL)
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
	fmt.Printf("d/c (all-error ingest vs \\copy) %.2f   (d/c0, against the event rows alone: %.2f)\n", d.rate()/cres.rate(), d.rate()/c0.rate())
	fmt.Printf("d/d0 (search indexes' cost)    %.2f   (the events (tenant|service|provider, ts, id) indexes of migration 00013)\n", d.rate()/d0.rate())
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

// withoutSearchIndexes drops the search indexes of migration 00013 from a
// database: the schema before them, for (d0).
func withoutSearchIndexes(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `DROP INDEX events_tenant_ts_idx, events_service_ts_idx, events_provider_ts_idx`)
	return err
}

// ingestRun is a measured `ingest run` and the database it stored into,
// which drop removes.
type ingestRun struct {
	result
	dbURL string
	drop  func()
}

// ingestRun times `ingest run` from its first stored record until it has
// stored the whole topic, and reads its peak RSS. The caller drops the
// database.
func (c *cli) ingestRun(ctx context.Context, addr, topic, name string, prepare func(context.Context, *pgx.Conn) error) (_ ingestRun, err error) {
	dbURL, drop, err := c.database(ctx, name)
	if err != nil {
		return ingestRun{}, err
	}
	defer func() {
		if err != nil {
			drop()
		}
	}()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return ingestRun{}, err
	}
	defer conn.Close(ctx)
	if prepare != nil {
		if err := prepare(ctx, conn); err != nil {
			return ingestRun{}, err
		}
	}
	group := "bench-" + name
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "ingest"), "run", "--kafka-brokers", addr, "--kafka-topic", topic,
		"--kafka-group", group, "--database-url", dbURL, "--http-addr", "", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return ingestRun{}, err
	}
	defer stopProcess(cmd)
	var t0 time.Time
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var stored int64
		if err := conn.QueryRow(ctx, `SELECT coalesce(sum(next_offset), 0)::bigint FROM consumer_offsets WHERE group_id = $1`, group).Scan(&stored); err != nil {
			return ingestRun{}, err
		}
		if stored > 0 && t0.IsZero() {
			t0 = time.Now()
		}
		if stored >= int64(c.Records) {
			break
		}
		if time.Now().After(deadline) {
			return ingestRun{}, fmt.Errorf("ingest of %s not caught up after 10 minutes (%d of %d)", topic, stored, c.Records)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(t0)
	rss := peakRSS(cmd.Process.Pid)
	return ingestRun{result: result{records: c.Records, took: took, rssKB: rss}, dbURL: dbURL, drop: drop}, nil
}

// psqlCopy dumps the event rows stored in the database at from, and their
// ids (event_ids), as CSV (psql \copy ... TO), and times psql \copy of
// them into a fresh database: the same rows, loaded the fastest way
// Postgres offers. c0 loads the event rows alone; c loads them and their
// ids, the table that lookups by id read (the id indexes that events
// carried before lived in c0's own figure).
func (c *cli) psqlCopy(ctx context.Context, work, from string) (cres, c0 result, err error) {
	first, last, n, err := eventRange(ctx, from)
	if err != nil {
		return cres, c0, err
	}
	eventsCSV, idsCSV := filepath.Join(work, "events.csv"), filepath.Join(work, "event_ids.csv")
	if err := psql(ctx, from, fmt.Sprintf(`\copy (SELECT * FROM events) TO '%s' WITH (FORMAT csv)`, eventsCSV)); err != nil {
		return cres, c0, err
	}
	if err := psql(ctx, from, fmt.Sprintf(`\copy (SELECT * FROM event_ids) TO '%s' WITH (FORMAT csv)`, idsCSV)); err != nil {
		return cres, c0, err
	}
	load := func(name string, withIDs bool) (result, error) {
		dbURL, drop, err := c.database(ctx, "c")
		if err != nil {
			return result{}, err
		}
		defer drop()
		st, err := store.Open(ctx, dbURL)
		if err != nil {
			return result{}, err
		}
		err = st.EnsurePartitions(ctx, first, last)
		st.Close()
		if err != nil {
			return result{}, err
		}
		t0 := time.Now()
		if err := psql(ctx, dbURL, fmt.Sprintf(`\copy events FROM '%s' WITH (FORMAT csv)`, eventsCSV)); err != nil {
			return result{}, err
		}
		if withIDs {
			if err := psql(ctx, dbURL, fmt.Sprintf(`\copy event_ids FROM '%s' WITH (FORMAT csv)`, idsCSV)); err != nil {
				return result{}, err
			}
		}
		return result{name: name, records: n, took: time.Since(t0)}, nil
	}
	if c0, err = load("(c0) psql \\copy of the event rows", false); err != nil {
		return cres, c0, err
	}
	cres, err = load("(c) psql \\copy of the event rows and ids", true)
	return cres, c0, err
}

func psql(ctx context.Context, dbURL, command string) error {
	out, err := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", dbURL, "-c", command).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql %s: %v: %s", command, err, out)
	}
	return nil
}

// eventRange returns the first and last ts of the events stored at dbURL
// and how many there are.
func eventRange(ctx context.Context, dbURL string) (first, last time.Time, n int, err error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return first, last, 0, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, "SELECT min(ts), max(ts), count(*) FROM events").Scan(&first, &last, &n)
	if err == nil && n == 0 {
		err = errors.New("no events stored")
	}
	return first, last, n, err
}

// naive inserts the first c.Naive event rows stored at from into a fresh
// database the naive way: one INSERT statement, and so one transaction,
// per row.
func (c *cli) naive(ctx context.Context, from string) (result, error) {
	dbURL, drop, err := c.database(ctx, "naive")
	if err != nil {
		return result{}, err
	}
	defer drop()
	first, last, _, err := eventRange(ctx, from)
	if err != nil {
		return result{}, err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	err = st.EnsurePartitions(ctx, first, last)
	st.Close()
	if err != nil {
		return result{}, err
	}
	src, err := pgx.Connect(ctx, from)
	if err != nil {
		return result{}, err
	}
	defer src.Close(ctx)
	rows, err := src.Query(ctx, "SELECT * FROM events ORDER BY id LIMIT $1", c.Naive)
	if err != nil {
		return result{}, err
	}
	var values [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return result{}, err
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		return result{}, err
	}
	if len(values) == 0 {
		return result{}, errors.New("no events to insert")
	}
	params := make([]string, len(values[0]))
	for i := range params {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	insert := "INSERT INTO events VALUES (" + strings.Join(params, ", ") + ")"
	dst, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return result{}, err
	}
	defer dst.Close(ctx)
	t0 := time.Now()
	for _, v := range values {
		if _, err := dst.Exec(ctx, insert, v...); err != nil {
			return result{}, fmt.Errorf("insert: %w", err)
		}
	}
	return result{name: "naive: one INSERT per event", records: len(values), took: time.Since(t0)}, nil
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
