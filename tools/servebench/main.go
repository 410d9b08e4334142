// Command servebench measures a running `report serve` under load: it
// starts nothing itself. N clients send, for a duration, a mix of the
// console's pages: lookups of random ids that exist (sampled from the
// database's event_ids) and of unknown ids, searches of a tenant over a
// day and a week, the error groups of a week and a group's page, the
// alerts page and its history of a month, alert details (each with its
// incident escalation), weekly reports of the last weeks with traffic,
// and provider pages over windows from an hour to 90 days ending at the
// last stored minute. It
// prints, per page, the number of requests, errors, and the p50, p90, p99
// and maximum latency seen by the clients and measured by the server (its
// Server-Timing header).
//
//	go run ./cmd/report serve --database-url "$DB" --htpasswd FILE &
//	SERVEBENCH_PASSWORD=… go run ./tools/servebench --url http://127.0.0.1:8080 \
//	    --user support --database-url "$DB" --clients 8 --duration 60s
//
// The database is read (read-only) to pick ids, alerts, weeks and windows
// that exist; the SQL here is the benchmark's own, like reportbench's.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline-dev/faultline/report"
)

func main() { os.Exit(run()) }

type cli struct {
	URL         string        `name:"url" default:"http://127.0.0.1:8080" help:"The running console."`
	User        string        `name:"user" required:"" help:"Basic auth user."`
	Password    string        `name:"password" env:"SERVEBENCH_PASSWORD" required:"" help:"Basic auth password (prefer the variable)."`
	DatabaseURL string        `name:"database-url" env:"DATABASE_URL" required:"" help:"The console's database, read to pick ids, alerts, weeks and windows."`
	Clients     int           `name:"clients" default:"8" help:"Concurrent clients."`
	Duration    time.Duration `name:"duration" default:"60s" help:"How long to measure."`
	Warmup      time.Duration `name:"warmup" default:"5s" help:"Load before measuring, not counted."`
	IDs         int           `name:"ids" default:"2000" help:"Existing ids sampled for lookups."`
	Weeks       int           `name:"weeks" default:"4" help:"Weekly reports of this many last weeks with traffic."`
	Seed        uint64        `name:"seed" default:"1" help:"Seed of the request mix."`
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var c cli
	kctx := kong.Parse(&c, kong.Name("servebench"),
		kong.Description("Load a running report serve with N clients and print per-page latency percentiles, client side and server side."),
		kong.BindTo(ctx, (*context.Context)(nil)))
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "servebench: %v\n", err)
		return 1
	}
	return 0
}

// target is one kind of request: the page it measures and how to make a
// path for it.
type target struct {
	page   string
	weight int
	path   func(r *rand.Rand) string
	ok     func(status int) bool
}

func (c *cli) Run(ctx context.Context) error {
	if c.Clients <= 0 || c.Duration <= 0 {
		return errors.New("--clients and --duration must be positive")
	}
	targets, describe, err := c.targets(ctx)
	if err != nil {
		return err
	}
	fmt.Println(describe)
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: c.Clients, MaxConnsPerHost: c.Clients},
	}
	base := strings.TrimRight(c.URL, "/")
	// One request first: credentials and URL are right.
	if _, err := c.get(ctx, client, base+"/"); err != nil {
		return err
	}
	total := 0
	for _, t := range targets {
		total += t.weight
	}
	var (
		mu      sync.Mutex
		results = map[string]*pageResult{}
	)
	measureFrom := time.Now().Add(c.Warmup)
	deadline := measureFrom.Add(c.Duration)
	var wg sync.WaitGroup
	for i := range c.Clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(c.Seed, uint64(i)))
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := r.IntN(total)
				var t *target
				for j := range targets {
					if n < targets[j].weight {
						t = &targets[j]
						break
					}
					n -= targets[j].weight
				}
				path := t.path(r)
				start := time.Now()
				res, err := c.get(ctx, client, base+path)
				elapsed := time.Since(start)
				if start.Before(measureFrom) || ctx.Err() != nil {
					continue
				}
				mu.Lock()
				pr := results[t.page]
				if pr == nil {
					pr = &pageResult{}
					results[t.page] = pr
				}
				if err != nil || !t.ok(res.status) {
					pr.errors++
					if pr.firstError == "" {
						pr.firstError = fmt.Sprintf("%s: status %d %v", path, res.status, err)
					}
				} else {
					pr.client = append(pr.client, elapsed)
					pr.server = append(pr.server, res.server)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	c.print(targets, results)
	return nil
}

type response struct {
	status int
	server time.Duration // from Server-Timing
}

func (c *cli) get(ctx context.Context, client *http.Client, u string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return response{}, err
	}
	req.SetBasicAuth(c.User, c.Password)
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return response{status: resp.StatusCode}, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return response{status: resp.StatusCode}, errors.New("401: check --user and --password")
	}
	res := response{status: resp.StatusCode, server: -1}
	// Server-Timing: app;dur=12.34
	if _, dur, ok := strings.Cut(resp.Header.Get("Server-Timing"), "dur="); ok {
		if ms, err := strconv.ParseFloat(strings.TrimSpace(strings.SplitN(dur, ",", 2)[0]), 64); err == nil {
			res.server = time.Duration(ms * float64(time.Millisecond))
		}
	}
	if res.server < 0 {
		return res, errors.New("no Server-Timing header")
	}
	return res, nil
}

type pageResult struct {
	client, server []time.Duration
	errors         int
	firstError     string
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d))*p+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

func (c *cli) print(targets []target, results map[string]*pageResult) {
	fmt.Printf("\n%d clients, %s measured after %s of warm-up; latencies in ms (client: request to last byte; server: Server-Timing)\n\n", c.Clients, c.Duration, c.Warmup)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "page\trequests\terrors\tclient p50\tp90\tp99\tmax\tserver p50\tp90\tp99\tmax\t")
	var pages []string
	for _, t := range targets {
		if !slices.Contains(pages, t.page) {
			pages = append(pages, t.page)
		}
	}
	var firstErrors []string
	for _, p := range pages {
		r := results[p]
		if r == nil {
			continue
		}
		slices.Sort(r.client)
		slices.Sort(r.server)
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p, len(r.client)+r.errors, r.errors,
			ms(percentile(r.client, .5)), ms(percentile(r.client, .9)), ms(percentile(r.client, .99)), ms(percentile(r.client, 1)),
			ms(percentile(r.server, .5)), ms(percentile(r.server, .9)), ms(percentile(r.server, .99)), ms(percentile(r.server, 1)))
		if r.firstError != "" {
			firstErrors = append(firstErrors, p+": "+r.firstError)
		}
	}
	w.Flush()
	for _, e := range firstErrors {
		fmt.Println("first error of", e)
	}
}

// targets reads what exists in the database and returns the request mix.
func (c *cli) targets(ctx context.Context) ([]target, string, error) {
	cfg, err := pgxpool.ParseConfig(c.DatabaseURL)
	if err != nil {
		return nil, "", fmt.Errorf("--database-url: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	defer pool.Close()

	var events int64
	var last time.Time
	if err := pool.QueryRow(ctx, `SELECT coalesce((SELECT sum(count) FROM error_groups), 0)::bigint,
		coalesce((SELECT max(hour) FROM rollup_requests_hourly), now())`).Scan(&events, &last); err != nil {
		return nil, "", fmt.Errorf("reading the database: %w", err)
	}
	last = last.UTC().Add(time.Hour).Truncate(time.Hour)
	var ids []string
	for _, pct := range []float64{0.05, 1, 10, 100} { // sample a bigger share until there are enough
		rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT id FROM event_ids TABLESAMPLE SYSTEM (%g) LIMIT $1`, pct), c.IDs)
		if err != nil {
			return nil, "", fmt.Errorf("sampling ids: %w", err)
		}
		ids = ids[:0]
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, "", err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return nil, "", err
		}
		if len(ids) >= c.IDs {
			break
		}
	}
	if len(ids) == 0 {
		return nil, "", errors.New("the database holds no event ids to look up")
	}
	var alerts []int64
	rows, err := pool.Query(ctx, `SELECT id FROM alerts ORDER BY starts_at DESC LIMIT 200`)
	if err != nil {
		return nil, "", fmt.Errorf("reading alerts: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, "", err
		}
		alerts = append(alerts, id)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var providers []string
	rows, err = pool.Query(ctx, `SELECT DISTINCT provider FROM error_groups ORDER BY 1`)
	if err != nil {
		return nil, "", fmt.Errorf("reading providers: %w", err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, "", err
		}
		providers = append(providers, p)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	// The tenants of the last stored day, the groups, for search and
	// groups pages.
	var tenants, fingerprints []string
	rows, err = pool.Query(ctx, `SELECT DISTINCT tenant FROM events WHERE ts >= $1 AND ts < $2 AND tenant <> '' ORDER BY 1 LIMIT 50`,
		last.Add(-24*time.Hour), last)
	if err != nil {
		return nil, "", fmt.Errorf("reading tenants: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, "", err
		}
		tenants = append(tenants, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	rows, err = pool.Query(ctx, `SELECT fingerprint FROM error_groups ORDER BY 1`)
	if err != nil {
		return nil, "", fmt.Errorf("reading groups: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, "", err
		}
		fingerprints = append(fingerprints, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var weeks []string
	w := report.WeekOf(last.Add(-time.Hour))
	for range c.Weeks {
		w = w.Previous()
		weeks = append(weeks, w.String())
	}
	windows := []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 90 * 24 * time.Hour}

	pick := func(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }
	okOnly := func(status int) bool { return status == http.StatusOK }
	targets := []target{
		{page: "lookup", weight: 35, ok: okOnly, path: func(r *rand.Rand) string {
			return "/lookup?id=" + url.QueryEscape(pick(r, ids))
		}},
		{page: "lookup unknown", weight: 5, ok: func(s int) bool { return s == http.StatusNotFound }, path: func(r *rand.Rand) string {
			return "/lookup?id=unknown-" + strconv.FormatUint(r.Uint64(), 36)
		}},
		{page: "alerts", weight: 10, ok: okOnly, path: func(*rand.Rand) string { return "/alerts" }},
		{page: "weekly", weight: 15, ok: okOnly, path: func(r *rand.Rand) string { return "/weekly?week=" + pick(r, weeks) }},
	}
	for _, win := range windows {
		name := "provider " + shortDuration(win)
		targets = append(targets, target{page: name, weight: 5, ok: okOnly, path: func(r *rand.Rand) string {
			// Windows end at a minute of the last stored hour, as a
			// link shared a little while ago would.
			to := last.Add(-time.Duration(r.IntN(60)) * time.Minute)
			return "/provider/" + pick(r, providers) + "?from=" + to.Add(-win).Format(time.RFC3339) + "&to=" + to.Format(time.RFC3339)
		}})
	}
	if len(alerts) > 0 {
		// An alert's page holds its incident escalation.
		targets = append(targets, target{page: "alert + escalation", weight: 5, ok: okOnly, path: func(r *rand.Rand) string {
			return "/alerts/" + strconv.FormatInt(alerts[r.IntN(len(alerts))], 10)
		}})
	}
	// Windows ending at a random minute (hour, for groups) of the last
	// stored day.
	window := func(r *rand.Rand, length time.Duration, step time.Duration) string {
		to := last.Add(-time.Duration(r.IntN(int(24*time.Hour/step))) * step)
		return "from=" + to.Add(-length).Format(time.RFC3339) + "&to=" + to.Format(time.RFC3339)
	}
	if len(tenants) > 0 {
		for _, win := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
			targets = append(targets, target{page: "search tenant " + shortDuration(win), weight: 5, ok: okOnly, path: func(r *rand.Rand) string {
				return "/search?tenant=" + url.QueryEscape(pick(r, tenants)) + "&" + window(r, win, time.Minute)
			}})
		}
		targets = append(targets, target{page: "search tenant+category 7d", weight: 3, ok: okOnly, path: func(r *rand.Rand) string {
			return "/search?tenant=" + url.QueryEscape(pick(r, tenants)) + "&category=" + pick(r, []string{"decline", "auth_expired", "provider_error", "validation"}) +
				"&" + window(r, 7*24*time.Hour, time.Minute)
		}})
	}
	targets = append(targets,
		target{page: "groups 7d", weight: 5, ok: okOnly, path: func(r *rand.Rand) string { return "/groups?" + window(r, 7*24*time.Hour, time.Hour) }},
		target{page: "alerts history 30d", weight: 3, ok: okOnly, path: func(r *rand.Rand) string {
			return "/alerts?" + window(r, 30*24*time.Hour, time.Hour) + "&provider=" + pick(r, providers)
		}})
	if len(fingerprints) > 0 {
		targets = append(targets, target{page: "group 7d", weight: 3, ok: okOnly, path: func(r *rand.Rand) string {
			return "/groups/" + pick(r, fingerprints) + "?" + window(r, 7*24*time.Hour, time.Hour)
		}})
	}
	slices.SortStableFunc(targets, func(a, b target) int { return cmp.Compare(pageOrder(a.page), pageOrder(b.page)) })
	describe := fmt.Sprintf("database: %d error events, rollups up to %s; %d ids sampled, %d alerts, %d tenants, %d groups, providers %s, weeks %s",
		events, last.Format(time.RFC3339), len(ids), len(alerts), len(tenants), len(fingerprints), strings.Join(providers, ","), strings.Join(weeks, ","))
	return targets, describe, nil
}

func pageOrder(p string) int {
	for i, prefix := range []string{"lookup", "search", "groups", "group ", "alerts", "alert ", "weekly", "provider"} {
		if strings.HasPrefix(p, prefix) {
			return i
		}
	}
	return 99
}

func shortDuration(d time.Duration) string {
	if d >= 24*time.Hour {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return strconv.Itoa(int(d/time.Hour)) + "h"
}
