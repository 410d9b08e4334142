package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

type measureCmd struct {
	DatabaseURL string `name:"database-url" env:"REPORTBENCH_DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/faultline_reportbench?sslmode=disable" help:"A database filled by reportbench load."`
	Bin         string `default:"bin" help:"Directory of the report binary."`
	Week        string `default:"2026-W46" help:"The week of report weekly and report trends."`
	Lookups     int    `default:"1000" help:"Random ids looked up of each kind."`
	Runs        int    `default:"5" help:"Runs of report weekly and report trends."`
	Seed        uint64 `default:"2" help:"Random seed of the ids picked."`
	Only        string `default:"all" enum:"all,beyond" help:"What to measure: all, or beyond (search, error groups and incident escalations only)."`
}

// idKind is a kind of id support may quote, and how to sample it from
// stored events (the benchmark's own query).
type idKind struct {
	name   string
	sample string // selects one text column: ids of that kind
}

var idKinds = []idKind{
	{"finterra request_id", `correlation_id FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'finterra' AND code <> ''`},
	{"finix logref", `correlation_id FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'finix' AND code <> ''`},
	{"paylera trace_id", `correlation_id FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'paylera' AND code <> ''`},
	{"cheers header id", `correlation_id FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'cheers' AND correlation_id IS NOT NULL`},
	{"flexiti header id", `correlation_id FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'flexiti' AND correlation_id IS NOT NULL`},
	{"our trace_id", `trace_id FROM events TABLESAMPLE SYSTEM (%g) WHERE trace_id IS NOT NULL`},
	{"finix authorization", `refs[1] FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'finix' AND refs[1] LIKE 'AU%%'`},
	{"finix transfer", `refs[1] FROM events TABLESAMPLE SYSTEM (%g) WHERE provider = 'finix' AND refs[1] LIKE 'TR%%'`},
}

func (c *measureCmd) Run(ctx context.Context) error {
	week, err := report.ParseWeek(c.Week)
	if err != nil {
		return err
	}
	bin := filepath.Join(c.Bin, "report")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: build it first (make build): %w", bin, err)
	}
	pool, err := pgxpool.New(ctx, c.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	var events, partitions int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT coalesce(sum(count), 0)::bigint FROM error_groups),
		(SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass)`).Scan(&events, &partitions); err != nil {
		return fmt.Errorf("is the database loaded (reportbench load)? %w", err)
	}
	fmt.Printf("database %s: %d events in %d daily partitions\n\n", safeURL(c.DatabaseURL), events, partitions)

	st, err := store.Open(ctx, c.DatabaseURL, store.ReadOnly())
	if err != nil {
		return err
	}
	defer st.Close()
	if c.Only == "beyond" {
		return c.measureBeyond(ctx, st, pool)
	}
	from, to := week.Start(time.UTC), week.End(time.UTC)

	// weekly and trends, end to end through the binary, then in process.
	fmt.Printf("== report weekly and trends over %s (goal: under 1 s)\n", week)
	for _, cmd := range []struct {
		name string
		args []string
	}{
		{"report weekly --format html", []string{"weekly", "--week", week.String(), "--format", "html", "-o", os.DevNull}},
		{"report weekly --format md", []string{"weekly", "--week", week.String(), "-o", os.DevNull}},
		{"report trends --json", []string{"trends", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--json", "-o", os.DevNull}},
	} {
		var runs []time.Duration
		for range c.Runs {
			start := time.Now()
			out, err := exec.CommandContext(ctx, bin, append(cmd.args, "--database-url", c.DatabaseURL)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s: %v: %s", cmd.name, err, out)
			}
			runs = append(runs, time.Since(start))
		}
		fmt.Printf("  %-28s process, %d runs: %s  median %s  max %s\n", cmd.name, len(runs), durations(runs), ms(median(runs)), ms(slices.Max(runs)))
	}
	var weekly, trends []time.Duration
	for range c.Runs {
		start := time.Now()
		if _, err := report.BuildWeekly(ctx, st, report.WeeklyOptions{Week: week}); err != nil {
			return err
		}
		weekly = append(weekly, time.Since(start))
		start = time.Now()
		if _, err := report.BuildTrends(ctx, st, report.TrendsOptions{From: from, To: to, Limit: 20}); err != nil {
			return err
		}
		trends = append(trends, time.Since(start))
	}
	fmt.Printf("  %-28s in process: median %s  max %s\n", "BuildWeekly", ms(median(weekly)), ms(slices.Max(weekly)))
	fmt.Printf("  %-28s in process: median %s  max %s\n", "BuildTrends", ms(median(trends)), ms(slices.Max(trends)))

	// Lookups.
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed))
	samples := map[string][]string{}
	for _, k := range idKinds {
		ids, err := sampleIDs(ctx, pool, k, c.Lookups, rng)
		if err != nil {
			return fmt.Errorf("sample %s: %w", k.name, err)
		}
		samples[k.name] = ids
	}
	unknown := make([]string, c.Lookups)
	for i := range unknown {
		unknown[i] = fmt.Sprintf("req_unknown_%016x", rng.Uint64())
	}
	samples["unknown id"] = unknown
	var kinds []string
	for _, k := range idKinds {
		kinds = append(kinds, k.name)
	}
	kinds = append(kinds, "unknown id")

	fmt.Printf("\n== report lookup of %d random ids of each kind (goal: p99 under 10 ms)\n", c.Lookups)
	fmt.Printf("  (a) report.Lookup: event_ids primary key, then the event in its one partition, with its group\n")
	fmt.Printf("  (b) reference: one query probing the id indexes of all %d events partitions (keys only)\n", partitions)
	fmt.Printf("  %-22s %28s   %28s   %s\n", "", "(a) p50     p90     p99     max", "(b) p50     p90     p99     max", "p99 b/a")
	probe := `SELECT id, ts FROM events WHERE correlation_id = $1 OR trace_id = $1 OR refs @> ARRAY[$1]::text[] ORDER BY ts DESC LIMIT 101`
	if err := referenceIndexes(ctx, pool); err != nil {
		return err
	}
	var allA, allB []time.Duration
	for _, kind := range kinds {
		ids := samples[kind]
		var a, b []time.Duration
		missed := 0
		for _, id := range ids {
			start := time.Now()
			res, err := report.Lookup(ctx, st, report.LookupOptions{IDs: []string{id}})
			if err != nil {
				return fmt.Errorf("lookup %q: %w", id, err)
			}
			a = append(a, time.Since(start))
			if len(res.Events) == 0 {
				missed++
			}
		}
		for _, id := range ids {
			start := time.Now()
			rows, err := pool.Query(ctx, probe, id)
			if err != nil {
				return err
			}
			_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) { return struct{}{}, nil })
			if err != nil {
				return err
			}
			b = append(b, time.Since(start))
		}
		if kind != "unknown id" && missed > 0 {
			return fmt.Errorf("%s: %d of %d ids found no event", kind, missed, len(ids))
		}
		if kind == "unknown id" && missed != len(ids) {
			return fmt.Errorf("unknown ids found events")
		}
		allA, allB = append(allA, a...), append(allB, b...)
		fmt.Printf("  %-22s %s   %s   %.1fx  (%d ids)\n", kind, quantiles(a), quantiles(b),
			float64(quantile(b, 0.99))/float64(quantile(a, 0.99)), len(ids))
	}
	fmt.Printf("  %-22s %s   %s   %.1fx\n", "all", quantiles(allA), quantiles(allB),
		float64(quantile(allB, 0.99))/float64(quantile(allA, 0.99)))

	beyond, err := c.beyondOneID(ctx, st, pool)
	if err != nil {
		return err
	}
	return c.explain(ctx, pool, week, samples, probe, beyond)
}

// beyondQueries are what the reports beyond one id are measured and
// explained over: searches of tenants, a week of error groups, alerts.
type beyondQueries struct {
	searches []report.SearchOptions
	names    []string
	groups   report.GroupsOptions
	alerts   []int64
}

// beyondOneID times search, error groups and incident escalations in
// process, and returns the queries explain checks.
func (c *measureCmd) beyondOneID(ctx context.Context, st *store.Store, pool *pgxpool.Pool) (*beyondQueries, error) {
	var last time.Time
	if err := pool.QueryRow(ctx, `SELECT max(hour) FROM rollup_groups_hourly`).Scan(&last); err != nil {
		return nil, fmt.Errorf("is the schema migrated (rollup_groups_hourly)? %w", err)
	}
	last = last.UTC().Add(time.Hour)
	rows, err := pool.Query(ctx, `SELECT DISTINCT tenant FROM events WHERE ts >= $1 AND ts < $2 AND tenant <> '' ORDER BY 1`, last.Add(-24*time.Hour), last)
	if err != nil {
		return nil, err
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tenants) == 0 {
		return nil, fmt.Errorf("no tenants in the last day: %v", err)
	}
	rows, err = pool.Query(ctx, `SELECT id FROM alerts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	alerts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	var rare string
	if err := pool.QueryRow(ctx, `SELECT code FROM error_groups WHERE code <> '' GROUP BY code ORDER BY sum(count), code LIMIT 1`).Scan(&rare); err != nil {
		return nil, err
	}
	q := &beyondQueries{groups: report.GroupsOptions{From: last.Add(-7 * 24 * time.Hour), To: last, Now: last}, alerts: alerts}
	fmt.Printf("\n== beyond one id, in process (no console cache); data up to %s, %d tenants, %d alerts\n", last.Format(time.RFC3339), len(tenants), len(alerts))
	rng := rand.New(rand.NewPCG(c.Seed, 3))
	for _, tc := range []struct {
		name   string
		length time.Duration
		o      report.SearchOptions
	}{
		{"search a tenant, 24 h", 24 * time.Hour, report.SearchOptions{}},
		{"search a tenant, 7 d", 7 * 24 * time.Hour, report.SearchOptions{}},
		{"  and a category, 7 d", 7 * 24 * time.Hour, report.SearchOptions{Category: "decline"}},
		{"  and the rarest code, 7 d", 7 * 24 * time.Hour, report.SearchOptions{Code: rare}},
		{"search a provider, 31 d", 31 * 24 * time.Hour, report.SearchOptions{Provider: "finix"}},
	} {
		var d []time.Duration
		for i := range 200 {
			o := tc.o
			if o.Provider == "" {
				o.Tenant = tenants[rng.IntN(len(tenants))]
			}
			o.To = last.Add(-time.Duration(rng.IntN(24*60)) * time.Minute)
			o.From = o.To.Add(-tc.length)
			start := time.Now()
			res, err := report.Search(ctx, st, o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", tc.name, err)
			}
			d = append(d, time.Since(start))
			if i == 0 {
				q.searches, q.names = append(q.searches, o), append(q.names, fmt.Sprintf("%s (%d events)", strings.TrimSpace(tc.name), len(res.Events)))
			}
		}
		fmt.Printf("  %-30s 200 runs: p50 %s  p99 %s  max %s (goal: p99 under 50 ms over HTTP)\n", tc.name, ms(quantile(d, .5)), ms(quantile(d, .99)), ms(slices.Max(d)))
	}
	var d []time.Duration
	var n int
	for range 20 {
		start := time.Now()
		g, err := report.ListGroups(ctx, st, q.groups)
		if err != nil {
			return nil, err
		}
		d = append(d, time.Since(start))
		n = len(g.Groups)
	}
	fmt.Printf("  %-30s 20 runs: p50 %s  max %s (%d groups; the console keeps settled days: goal p99 under 100 ms)\n", "error groups, 7 d, uncached", ms(quantile(d, .5)), ms(slices.Max(d)), n)
	d = d[:0]
	for _, id := range alerts {
		start := time.Now()
		if _, err := report.Escalate(ctx, st, id, report.EscalateOptions{}); err != nil {
			return nil, err
		}
		d = append(d, time.Since(start))
	}
	if len(d) > 0 {
		fmt.Printf("  %-30s %d alerts: p50 %s  max %s (goal: under 200 ms)\n", "incident escalation", len(d), ms(quantile(d, .5)), ms(slices.Max(d)))
	}
	return q, nil
}

// sampleIDs picks n distinct random ids of a kind: it samples 2% of the events' pages, more when that is too few.
func sampleIDs(ctx context.Context, pool *pgxpool.Pool, k idKind, n int, rng *rand.Rand) ([]string, error) {
	var ids []string
	for _, percent := range []float64{2, 20, 100} {
		rows, err := pool.Query(ctx, "SELECT DISTINCT "+fmt.Sprintf(k.sample, percent))
		if err != nil {
			return nil, err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, err
		}
		if len(ids) >= n {
			break
		}
	}
	if len(ids) < n {
		return nil, fmt.Errorf("only %d ids stored", len(ids))
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids[:n], nil
}

// planCatcher is a slog handler that keeps the plans auto_explain sends as
// notices (the store logs notices at debug level).
type planCatcher struct {
	mu    sync.Mutex
	plans []string
}

func (p *planCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (p *planCatcher) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *planCatcher) WithGroup(string) slog.Handler            { return p }
func (p *planCatcher) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "postgres notice" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "message" && strings.Contains(a.Value.String(), "plan:") {
			p.mu.Lock()
			p.plans = append(p.plans, a.Value.String())
			p.mu.Unlock()
		}
		return true
	})
	return nil
}

func (p *planCatcher) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.plans
	p.plans = nil
	return out
}

// explain runs each report once on a store whose sessions load
// auto_explain, prints every plan, and checks that none scans events.
func (c *measureCmd) explain(ctx context.Context, pool *pgxpool.Pool, week report.Week, samples map[string][]string, probe string, beyond *beyondQueries) error {
	st, catcher, err := c.explainingStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	fmt.Printf("\n== EXPLAIN (auto_explain, ANALYZE) of every statement the reports run\n")
	pc := &planCheck{}
	check := pc.check
	from, to := week.Start(time.UTC), week.End(time.UTC)
	if _, err := report.BuildWeekly(ctx, st, report.WeeklyOptions{Week: week}); err != nil {
		return err
	}
	plans := catcher.take()
	check("report weekly "+week.String(), plans)
	for _, p := range plans {
		if strings.Contains(p, " events") || strings.Contains(p, "events_p") {
			pc.bad = append(pc.bad, "weekly reads events")
		}
	}
	if _, err := report.BuildTrends(ctx, st, report.TrendsOptions{From: from, To: to}); err != nil {
		return err
	}
	plans = catcher.take()
	check("report trends "+week.String(), plans)
	for _, p := range plans {
		if strings.Contains(p, " events") || strings.Contains(p, "events_p") {
			pc.bad = append(pc.bad, "trends reads events")
		}
	}
	for _, kind := range []string{"finix logref", "our trace_id", "finix transfer"} {
		if _, err := report.Lookup(ctx, st, report.LookupOptions{IDs: samples[kind][:1]}); err != nil {
			return err
		}
		check("report lookup, "+kind, catcher.take())
	}

	more := explainBeyond(ctx, st, catcher, beyond, check)
	pc.bad = append(pc.bad, more...)

	// The reference probe, for comparison: one index probe per id index
	// per partition.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, TIMING OFF, BUFFERS) "+probe, samples["finix logref"][0])
	if err != nil {
		return err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	text := strings.Join(lines, "\n")
	parts := map[string]bool{}
	for _, m := range partitionName.FindAllString(text, -1) {
		parts[m] = true
	}
	fmt.Printf("\n-- reference probe of every partition (excerpt: %d index scans over %d partitions)\n",
		strings.Count(text, "Index Scan"), len(parts))
	for i, l := range lines {
		if i < 12 || i >= len(lines)-4 {
			fmt.Println("    " + l)
		} else if i == 12 {
			fmt.Println("    …")
		}
	}

	if len(pc.bad) > 0 {
		return errors.New("plans scan events:\n" + strings.Join(pc.bad, "\n"))
	}
	fmt.Printf("\nno statement of weekly or trends reads events; lookups read events by primary key in one partition only;\n" +
		"no search, groups or escalation statement scans a partition sequentially: OK\n")
	return nil
}

// explainingStore opens a store whose sessions load auto_explain, and the
// handler that catches the plans it logs.
func (c *measureCmd) explainingStore(ctx context.Context) (*store.Store, *planCatcher, error) {
	u, err := url.Parse(c.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	q := u.Query()
	q.Set("options", "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 "+
		"-c auto_explain.log_level=notice -c auto_explain.log_analyze=on -c auto_explain.log_timing=off "+
		"-c auto_explain.log_buffers=on")
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx does not read + as a space
	catcher := &planCatcher{}
	st, err := store.Open(ctx, u.String(), store.ReadOnly(), store.WithLogger(slog.New(catcher)))
	if err != nil {
		return nil, nil, fmt.Errorf("open with auto_explain: %w", err)
	}
	catcher.take()
	return st, catcher, nil
}

// measureBeyond is `measure --only beyond`: search, groups and
// escalations, timed and explained.
func (c *measureCmd) measureBeyond(ctx context.Context, st *store.Store, pool *pgxpool.Pool) error {
	beyond, err := c.beyondOneID(ctx, st, pool)
	if err != nil {
		return err
	}
	est, catcher, err := c.explainingStore(ctx)
	if err != nil {
		return err
	}
	defer est.Close()
	fmt.Printf("\n== EXPLAIN (auto_explain, ANALYZE) of every statement search, groups and escalate run\n")
	var pc planCheck
	more := explainBeyond(ctx, est, catcher, beyond, pc.check)
	bad := append(pc.bad, more...)
	if len(bad) > 0 {
		return errors.New("plans scan events:\n" + strings.Join(bad, "\n"))
	}
	fmt.Printf("\nno search, groups or escalation statement scans a partition sequentially: OK\n")
	return nil
}

// explainBeyond checks the plans of search, groups and escalations: no
// partition of events read sequentially.
func explainBeyond(ctx context.Context, st *store.Store, catcher *planCatcher, beyond *beyondQueries, check func(string, []string)) (bad []string) {
	// Beyond one id: searches read each partition through an index (the
	// scope's, or a code's groups'), newest partition first; groups read
	// no events but a group's sample statuses; escalations read the
	// incident's strata through indexes.
	for i, o := range beyond.searches {
		if _, err := report.Search(ctx, st, o); err != nil {
			return append(bad, err.Error())
		}
		plans := catcher.take()
		check("report search, "+beyond.names[i], plans)
		for _, p := range plans {
			if strings.Contains(p, "events_p") && !strings.Contains(p, "Index") {
				bad = append(bad, "search reads events without an index")
			}
		}
	}
	if _, err := report.ListGroups(ctx, st, beyond.groups); err != nil {
		return append(bad, err.Error())
	}
	check("report groups, 7 days", catcher.take())
	for _, id := range beyond.alerts[:min(len(beyond.alerts), 3)] {
		if _, err := report.Escalate(ctx, st, id, report.EscalateOptions{}); err != nil {
			return append(bad, err.Error())
		}
		check(fmt.Sprintf("report escalate %d", id), catcher.take())
	}

	return bad
}

// planCheck prints plans and keeps the lines of those that scan a
// partition of events sequentially.
type planCheck struct{ bad []string }

func (pc *planCheck) check(what string, plans []string) {
	fmt.Printf("\n-- %s: %d statements\n", what, len(plans))
	for _, p := range plans {
		fmt.Println(compactPlan(p))
		for _, line := range strings.Split(p, "\n") {
			if strings.Contains(line, "Seq Scan on events") {
				pc.bad = append(pc.bad, what+": "+strings.TrimSpace(line))
			}
		}
	}
}

var partitionName = regexp.MustCompile(`on events_p[0-9]{8}`)

// compactPlan is an auto_explain notice as the statement's first line and
// its plan without the buffer counts.
func compactPlan(notice string) string {
	var b strings.Builder
	_, rest, _ := strings.Cut(notice, "plan:")
	inQuery := false
	for _, line := range strings.Split(strings.TrimSpace(rest), "\n") {
		switch {
		case strings.HasPrefix(line, "Query Text:"):
			inQuery = true
			if q := strings.TrimSpace(strings.TrimPrefix(line, "Query Text:")); q != "" {
				b.WriteString("    statement: " + cutLine(q) + "\n")
				inQuery = false
			}
		case inQuery && strings.HasPrefix(line, "\t"):
			if q := strings.TrimSpace(line); q != "" && !strings.Contains(b.String(), "statement:") {
				b.WriteString("    statement: " + cutLine(q) + "\n")
			}
		case strings.Contains(line, "Buffers:"):
		default:
			inQuery = false
			b.WriteString("      " + line + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func cutLine(s string) string {
	if len(s) > 100 {
		return s[:100] + " …"
	}
	return s
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func quantiles(d []time.Duration) string {
	return fmt.Sprintf("%7s %7s %7s %7s", ms(quantile(d, 0.5)), ms(quantile(d, 0.9)), ms(quantile(d, 0.99)), ms(slices.Max(d)))
}

func median(d []time.Duration) time.Duration { return quantile(d, 0.5) }

func ms(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func durations(d []time.Duration) string {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = ms(x)
	}
	return strings.Join(s, " ")
}

// referenceIndexes gives the reference probe the per-partition id indexes
// it reads: the schema has none since event_ids replaced them (migration
// 00008). They are the benchmark's own, built once on its database (a few
// minutes at 10 million events) and kept.
func referenceIndexes(ctx context.Context, pool *pgxpool.Pool) error {
	for _, stmt := range []string{
		"CREATE INDEX IF NOT EXISTS reportbench_events_correlation_id ON events (correlation_id) WHERE correlation_id IS NOT NULL",
		"CREATE INDEX IF NOT EXISTS reportbench_events_trace_id ON events (trace_id) WHERE trace_id IS NOT NULL",
		"CREATE INDEX IF NOT EXISTS reportbench_events_refs ON events USING gin (refs) WHERE refs IS NOT NULL",
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("reference indexes: %w", err)
		}
	}
	return nil
}
