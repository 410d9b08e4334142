package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

type loadCmd struct {
	DatabaseURL string `name:"database-url" env:"REPORTBENCH_DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/faultline_reportbench?sslmode=disable" help:"Database to fill (created if missing)."`
	Events      int    `default:"10000000" help:"Error events in all."`
	Days        int    `default:"90" help:"Daily partitions they spread over."`
	End         string `default:"2026-11-23" help:"The day after the last day loaded (YYYY-MM-DD, UTC)."`
	Seed        uint64 `default:"1" help:"Random seed: the same flags give the same data."`
	Workers     int    `default:"2" help:"Days loaded at once."`
	Chunk       int    `default:"25000" help:"Events per transaction."`
}

// source names the load in consumer_offsets: a partition per day, whose
// offset counts the day's events stored. Its topic carries the flags, so
// that another load into the same database is refused.
func (c *loadCmd) source() string {
	return fmt.Sprintf("reportbench:v1:events=%d:days=%d:end=%s:seed=%d", c.Events, c.Days, c.End, c.Seed)
}

func (c *loadCmd) Run(ctx context.Context) error {
	end, err := time.Parse(time.DateOnly, c.End)
	if err != nil {
		return fmt.Errorf("--end %q: want YYYY-MM-DD", c.End)
	}
	if c.Events <= 0 || c.Days <= 0 || c.Workers <= 0 || c.Chunk <= 0 {
		return errors.New("--events, --days, --workers and --chunk must be positive")
	}
	if err := ensureDatabase(ctx, c.DatabaseURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, withPoolSize(c.DatabaseURL, c.Workers+2))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	if err := c.refuseOtherLoads(ctx); err != nil {
		return err
	}
	topic := c.source()
	done, err := st.Offsets(ctx, "reportbench", topic)
	if err != nil {
		return err
	}
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		return err
	}
	first := end.AddDate(0, 0, -c.Days)
	fmt.Printf("loading %d error events over %d days, %s to %s, into %s\n",
		c.Events, c.Days, first.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly), safeURL(c.DatabaseURL))

	start := time.Now()
	var stored atomic.Int64
	days := make(chan int)
	errs := make(chan error, c.Workers)
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cls, err := classify.New(cats, classify.Options{})
			if err != nil {
				errs <- err
				return
			}
			for d := range days {
				n, err := c.loadDay(ctx, st, cls, topic, first, d, done[int32(d)])
				if errors.Is(err, store.ErrFenced) {
					// Another load stored part of the day since we read
					// the offsets (a killed run's last commit): resume
					// from what is stored now.
					var now map[int32]int64
					if now, err = st.Offsets(ctx, "reportbench", topic); err == nil {
						n, err = c.loadDay(ctx, st, cls, topic, first, d, now[int32(d)])
					}
				}
				if err != nil {
					errs <- fmt.Errorf("day %d: %w", d, err)
					return
				}
				total := stored.Add(n)
				if n > 0 {
					el := time.Since(start)
					fmt.Printf("  %s: %d events (%d so far, %.0f events/s)\n",
						first.AddDate(0, 0, d).Format(time.DateOnly), n, total, float64(total)/el.Seconds())
				}
			}
		}()
	}
	var loopErr error
feed:
	for d := range c.Days {
		select {
		case days <- d:
		case loopErr = <-errs:
			break feed
		case <-ctx.Done():
			loopErr = ctx.Err()
			break feed
		}
	}
	close(days)
	wg.Wait()
	close(errs)
	if loopErr == nil {
		loopErr = <-errs
	}
	if loopErr != nil {
		return loopErr
	}
	if stored.Load() == 0 {
		fmt.Println("loaded already: nothing to store")
		return summarise(ctx, c.DatabaseURL)
	}
	fmt.Printf("stored %d events in %s (%.0f events/s); vacuum and analyze…\n",
		stored.Load(), time.Since(start).Round(time.Second), float64(stored.Load())/time.Since(start).Seconds())
	vstart := time.Now()
	if err := vacuum(ctx, c.DatabaseURL); err != nil {
		return err
	}
	fmt.Printf("vacuumed in %s; total load %s\n", time.Since(vstart).Round(time.Second), time.Since(start).Round(time.Second))
	return summarise(ctx, c.DatabaseURL)
}

// perDay is how many events day d holds: the total spread evenly, the
// remainder on the first days.
func (c *loadCmd) perDay(d int) int {
	n := c.Events / c.Days
	if d < c.Events%c.Days {
		n++
	}
	return n
}

// loadDay stores day d's events from where its stored offset says, in
// chunks, and returns how many it stored now.
// stored is the day's stored offset (0: none).
func (c *loadCmd) loadDay(ctx context.Context, st *store.Store, cls *classify.Classifier, topic string, first time.Time, d int, stored int64) (int64, error) {
	n := c.perDay(d)
	expected := stored
	if stored == 0 {
		expected = store.NoOffset
	}
	if expected >= int64(n) {
		return 0, nil
	}
	day := first.AddDate(0, 0, d)
	step := 24 * time.Hour / time.Duration(n)
	g := synth.New(synth.Options{Seed: c.Seed<<20 | uint64(d), Start: day.Add(step / 2), Step: step, ErrorRate: 1})
	now := first.AddDate(0, 0, c.Days+1)
	bb := ingest.NewBuilder(cls, store.Source{Group: "reportbench", Topic: topic, Partition: int32(d)}, expected,
		ingest.BuilderOptions{Now: func() time.Time { return now }})
	var line []byte
	var storedNow int64
	for i := range n {
		line = g.Next(line[:0])
		if int64(i) < expected {
			continue // stored by an earlier run
		}
		bb.Add(line, topic, int32(d), int64(i))
		if bb.Len() == c.Chunk || i == n-1 {
			b := bb.Take(int64(i + 1))
			if len(b.DeadLetters) > 0 {
				return storedNow, fmt.Errorf("%d records unusable, first: %s", len(b.DeadLetters), b.DeadLetters[0].Detail)
			}
			asTransfers(b)
			scaleRequests(b, c.Seed)
			if err := st.WriteBatch(ctx, b); err != nil {
				return storedNow, err
			}
			storedNow += int64(len(b.Events))
		}
	}
	return storedNow, nil
}

// asTransfers makes the Finix declines on POST /transfers carry a transfer
// id (TR…) instead of an authorization id, in the body as in the
// references, so that lookups by transfer id can be measured too (synth
// only writes authorizations).
func asTransfers(b *store.Batch) {
	for i := range b.Events {
		e := &b.Events[i]
		if e.Provider != "finix" || e.Endpoint != "/transfers" {
			continue
		}
		for j, r := range e.References {
			if tr, ok := strings.CutPrefix(r, "AU"); ok {
				e.References[j] = "TR" + tr
				e.Body = strings.ReplaceAll(e.Body, `"authorization":"`, `"transfer":"`)
			}
		}
	}
}

// scaleRequests turns the batch's request counts (all errors) into the
// traffic of an error rate near 7%: successes are not stored as events,
// only counted. Each minute, provider and endpoint has its own whole
// multiplier, 12 to 16, so that the counts do not depend on how the day
// was cut into transactions (a resumed load stores the same numbers).
func scaleRequests(b *store.Batch, seed uint64) {
	for i := range b.Requests {
		r := &b.Requests[i]
		h := fnv.New64a()
		fmt.Fprintf(h, "%d|%d|%s|%s", seed, r.Minute.Unix(), r.Provider, r.Endpoint)
		r.Requests = r.Errors * int64(12+h.Sum64()%5)
	}
}

// refuseOtherLoads fails when the database holds a load made with other
// flags: mixing two would measure neither.
func (c *loadCmd) refuseOtherLoads(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.DatabaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var other string
	err = conn.QueryRow(ctx, `SELECT topic FROM consumer_offsets WHERE group_id = 'reportbench' AND topic <> $1 LIMIT 1`, c.source()).Scan(&other)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("the database holds another load (%s): use a fresh database for %s", other, c.source())
}

// ensureDatabase creates the database of url when it does not exist, from
// the server's postgres database.
func ensureDatabase(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return err
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	fmt.Printf("created database %s\n", name)
	return nil
}

// vacuum sets the visibility maps (index-only scans of event_ids) and the
// planner's statistics, as autovacuum would in time.
func vacuum(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"VACUUM (ANALYZE) event_ids",
		"VACUUM (ANALYZE) rollup_errors",
		"VACUUM (ANALYZE) rollup_requests",
		"VACUUM (ANALYZE) rollup_errors_hourly",
		"VACUUM (ANALYZE) rollup_requests_hourly",
		"VACUUM (ANALYZE) error_groups",
		"ANALYZE events",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// summarise prints what the database holds.
func summarise(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var events, partitions, ids, errRows, reqRows, groups int64
	var size string
	err = conn.QueryRow(ctx, `SELECT
		(SELECT coalesce(sum(count), 0)::bigint FROM error_groups),
		(SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass),
		(SELECT reltuples::bigint FROM pg_class WHERE relname = 'event_ids'),
		(SELECT count(*) FROM rollup_errors),
		(SELECT count(*) FROM rollup_requests),
		(SELECT count(*) FROM error_groups),
		pg_size_pretty(pg_database_size(current_database()))`).Scan(&events, &partitions, &ids, &errRows, &reqRows, &groups, &size)
	if err != nil {
		return err
	}
	fmt.Printf("database: %d events in %d partitions, ~%d ids, %d error rollup rows, %d request rollup rows, %d error groups, %s\n",
		events, partitions, ids, errRows, reqRows, groups, size)
	return nil
}

// withPoolSize sets pool_max_conns in a postgres:// URL, unless it is set.
func withPoolSize(raw string, n int) string {
	u, err := url.Parse(raw)
	if err != nil || u.Query().Has("pool_max_conns") {
		return raw
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}

func safeURL(raw string) string {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}
