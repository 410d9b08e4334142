package alerting_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

// The benchmark database: 90 days of per-minute rollups (and the hourly
// ones derived from them, as migration 00005 does) at the scale of
// the report benchmark's 10 million error events (about 77 errors and
// 2,000 requests a minute, seasonal, five providers, three endpoints
// each), filled with COPY, with two incidents in the last week. The
// detectors read only rollups (and, for an alert's context, error groups
// and an index-bounded sample of events), so rollups are all it needs.
var bench struct {
	once  sync.Once
	admin string
	name  string
	url   string
	err   error
}

var (
	benchStart = time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC) // a Monday
	benchDays  = 90
	benchWeek  = benchStart.Add(time.Duration(benchDays-7) * 24 * time.Hour)
)

// benchDatabase returns the URL of the benchmark database, filling it the
// first time (about a minute).
func benchDatabase(b *testing.B) string {
	b.Helper()
	bench.once.Do(func() {
		bench.admin = pgtest.Server(b)
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		bench.name = "faultline_alertbench_" + hex.EncodeToString(rnd[:])
		bench.url, bench.err = fillBench(b, bench.admin, bench.name)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.url
}

// dropBenchDatabase drops the benchmark database, if one was made.
func dropBenchDatabase() {
	if bench.name == "" {
		return
	}
	if os.Getenv("ALERTBENCH_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "kept bench database", bench.name)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, bench.admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "drop bench database:", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{bench.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(os.Stderr, "drop bench database:", err)
	}
}

type benchKey struct {
	category, code, subcode string
	rate                    float64 // share of the provider's requests
}

var benchProviders = []struct {
	name  string
	share float64
	keys  []benchKey
}{
	{"finix", 0.35, []benchKey{{"decline", "DECLINED", "GENERIC_DECLINE", 0.012}, {"decline", "DECLINED", "INSUFFICIENT_FUNDS", 0.01},
		{"decline", "DECLINED", "EXPIRED_CARD", 0.008}, {"decline", "DECLINED", "CALL_ISSUER", 0.01},
		{"provider_error", "UPSTREAM_PROCESSOR_ERROR", "", 0.003}, {"provider_error", "SERVER_ERROR", "", 0.001}, {"timeout", "", "", 0.003},
		{"rate_limit", "TOO_MANY_REQUESTS", "", 0.002}, {"auth", "UNKNOWN", "", 0.001}, {"permission", "FORBIDDEN", "", 0.0005},
		{"validation", "INVALID_FIELD", "", 0.01}, {"not_found", "NOT_FOUND", "", 0.003}, {"conflict", "CONFLICT", "", 0.002}}},
	{"finterra", 0.30, []benchKey{{"auth_expired", "token_expired", "", 0.0005}, {"auth", "invalid_token", "", 0.0005},
		{"auth", "client_revoked", "", 0.0005}, {"permission", "insufficient_scope", "", 0.001}, {"provider_error", "internal_error", "", 0.003},
		{"provider_error", "", "", 0.001}, {"timeout", "", "", 0.003}, {"rate_limit", "rate_limit_exceeded", "", 0.002},
		{"validation", "invalid_request", "", 0.012}, {"not_found", "order_not_found", "", 0.004}, {"conflict", "order_already_paid", "", 0.004}}},
	{"paylera", 0.20, []benchKey{{"decline", "payment.declined", "", 0.01}, {"decline", "wallet.insufficient_funds", "", 0.01},
		{"auth_expired", "auth.expired_token", "", 0.0005}, {"auth", "auth.wrong_environment", "", 0.0005}, {"permission", "auth.scope_required", "", 0.0005},
		{"provider_error", "tax.engine_unavailable", "", 0.003}, {"timeout", "", "", 0.002}, {"rate_limit", "rate_limit.exceeded", "", 0.002},
		{"validation", "validation.failed", "", 0.008}, {"not_found", "not_found", "", 0.002}, {"conflict", "invoice.locked", "", 0.004}}},
	{"flexiti", 0.145, []benchKey{{"decline", "not_enough_credit", "", 0.015}, {"decline", "application_declined", "", 0.015},
		{"auth", "invalid_token", "", 0.001}, {"permission", "not_permitted", "", 0.001}, {"provider_error", "general_error", "", 0.002},
		{"provider_error", "", "", 0.002}, {"timeout", "", "", 0.004}, {"rate_limit", "", "", 0.001}, {"validation", "wrong_inputs", "", 0.01},
		{"not_found", "not_found", "", 0.003}, {"conflict", "auth_amount_exceeded", "", 0.003}}},
	{"cheers", 0.005, []benchKey{{"decline", "INSUFFICIENT_CREDIT", "", 0.02}, {"auth", "AUTHORIZATION", "", 0.002},
		{"provider_error", "", "", 0.005}, {"timeout", "", "", 0.003}, {"validation", "COULD_NOT_MAP_BIG_DECIMAL_TO_VAT_ENUM_VALUE", "", 0.01}}},
}

// benchIncidents add errors during the last week: a Finix decline spike
// and a Paylera rate-limit storm, so that the backtest opens and closes
// alerts and reads their context.
var benchIncidents = []struct {
	provider string
	key      benchKey
	start    time.Time
	length   time.Duration
}{
	{"finix", benchKey{"decline", "DECLINED", "INSUFFICIENT_FUNDS", 0.05}, benchWeek.Add(24*time.Hour + 14*time.Hour), 40 * time.Minute},
	{"paylera", benchKey{"rate_limit", "rate_limit.exceeded", "", 0.15}, benchWeek.Add(3*24*time.Hour + 10*time.Hour), 30 * time.Minute},
}

func fillBench(b *testing.B, admin, name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	began := time.Now()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	conn.Close(ctx)
	if err != nil {
		return "", err
	}
	url, err := withDatabase(admin, name)
	if err != nil {
		return "", err
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return "", err
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		return "", err
	}
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		return "", err
	}
	defer db.Close()

	rng := mrand.New(mrand.NewPCG(1, 2))
	minutes := benchDays * 24 * 60
	var reqRows, errRows [][]any
	var errors int64
	flush := func() error {
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"rollup_requests"}, []string{"minute", "provider", "endpoint", "requests", "errors"}, pgx.CopyFromRows(reqRows)); err != nil {
			return err
		}
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"rollup_errors"}, []string{"minute", "provider", "category", "code", "subcode", "count"}, pgx.CopyFromRows(errRows)); err != nil {
			return err
		}
		reqRows, errRows = reqRows[:0], errRows[:0]
		return nil
	}
	endpoints := []string{"/v1/a/{id}", "/v1/b/{id}/pay", "/v1/c"}
	for i := range minutes {
		t := benchStart.Add(time.Duration(i) * time.Minute)
		for _, p := range benchProviders {
			mean := 2000 * p.share * benchSeasonality(t)
			n := poissonDraw(rng, mean)
			var errs int64
			keys := p.keys
			for _, in := range benchIncidents {
				if in.provider == p.name && !t.Before(in.start) && t.Before(in.start.Add(in.length)) {
					keys = withIncident(keys, in.key)
				}
			}
			for _, k := range keys {
				c := poissonDraw(rng, float64(n)*k.rate)
				if c == 0 {
					continue
				}
				errs += c
				errRows = append(errRows, []any{t, p.name, k.category, k.code, k.subcode, c})
			}
			errors += errs
			for e, ep := range endpoints {
				share := n / 3
				if e == 0 {
					share += n % 3
				}
				reqRows = append(reqRows, []any{t, p.name, ep, share, errs / 3})
			}
		}
		if len(errRows) > 200000 {
			if err := flush(); err != nil {
				return "", err
			}
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	// Error groups: one per provider, code and endpoint, seen from the
	// start.
	var groups [][]any
	for _, p := range benchProviders {
		for _, k := range p.keys {
			for _, ep := range endpoints {
				fp := fmt.Sprintf("%s/%s/%s/%s/%s", p.name, k.category, k.code, k.subcode, ep)
				groups = append(groups, []any{fp, p.name, k.code, k.subcode, "POST", ep, k.category, benchStart, benchStart.Add(time.Duration(benchDays) * 24 * time.Hour), int64(1000)})
			}
		}
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"error_groups"}, []string{"fingerprint", "provider", "code", "subcode", "method", "endpoint", "category", "first_seen", "last_seen", "count"}, pgx.CopyFromRows(groups)); err != nil {
		return "", err
	}
	if err := fillHourly(ctx, db); err != nil {
		return "", err
	}
	if _, err := db.Exec(ctx, "VACUUM ANALYZE rollup_requests, rollup_errors, rollup_requests_hourly, rollup_errors_hourly, error_groups"); err != nil {
		return "", err
	}
	var reqN, errN, reqH, errH int64
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM rollup_requests), (SELECT count(*) FROM rollup_errors),
		(SELECT count(*) FROM rollup_requests_hourly), (SELECT count(*) FROM rollup_errors_hourly)`).Scan(&reqN, &errN, &reqH, &errH); err != nil {
		return "", err
	}
	b.Logf("bench database: %d days, %d errors, %d request rollup rows, %d error rollup rows (hourly: %d and %d), filled in %s",
		benchDays, errors, reqN, errN, reqH, errH, time.Since(began).Round(time.Second))
	return url, nil
}

// fillHourly derives the hourly rollups from the per-minute ones copied,
// as migration 00005 backfills them (ingestion writes both in one
// transaction; COPY into the per-minute tables bypasses it).
func fillHourly(ctx context.Context, db *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			SET LOCAL timezone = 'UTC';
			INSERT INTO rollup_requests_hourly (hour, provider, endpoint, requests, errors)
			SELECT date_trunc('hour', minute), provider, endpoint, sum(requests), sum(errors)
			FROM rollup_requests GROUP BY 1, 2, 3;
			INSERT INTO rollup_errors_hourly (hour, provider, category, code, subcode, count)
			SELECT date_trunc('hour', minute), provider, category, code, subcode, sum(count)
			FROM rollup_errors GROUP BY 1, 2, 3, 4, 5`)
		return err
	})
}

// withIncident returns keys with the incident's rate added to its key's.
func withIncident(keys []benchKey, in benchKey) []benchKey {
	out := append([]benchKey(nil), keys...)
	for i, k := range out {
		if k.category == in.category && k.code == in.code && k.subcode == in.subcode {
			out[i].rate += in.rate
			return out
		}
	}
	return append(out, in)
}

// benchSeasonality is the volume factor at t: night trough at 15%,
// weekends at half.
func benchSeasonality(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	v := 1 - 0.85*(0.5+0.5*math.Cos(2*math.Pi*(h-3)/24))
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v *= 0.5
	}
	return v * 1.6 // a mean of 1 over the week
}

func poissonDraw(rng *mrand.Rand, mean float64) int64 {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return max(0, int64(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// withDatabase is the admin URL (or keyword/value string) with another
// database.
func withDatabase(admin, name string) (string, error) {
	if !strings.HasPrefix(admin, "postgres://") && !strings.HasPrefix(admin, "postgresql://") {
		return admin + " dbname=" + name, nil
	}
	u, err := neturl.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

// readMinuteSpan reads, with two plain queries, the per-minute rollups of
// [from, to): the benchmarks' reference (ref_ms), as it was before
// evaluations read their baselines' hours from the hourly rollups.
func readMinuteSpan(ctx context.Context, db *pgxpool.Pool, from, to time.Time) error {
	var n, s int64
	if err := db.QueryRow(ctx, "SELECT count(*), coalesce(sum(requests), 0)::bigint FROM rollup_requests WHERE minute >= $1 AND minute < $2", from, to).Scan(&n, &s); err != nil {
		return err
	}
	return db.QueryRow(ctx, "SELECT count(*), coalesce(sum(count), 0)::bigint FROM rollup_errors WHERE minute >= $1 AND minute < $2", from, to).Scan(&n, &s)
}

// readPlan reads, with plain queries in one round trip, the rollups an
// evaluation of [from, to) reads (read_ms): the per-minute ones of its
// plan's Minutes, the hourly ones of its Hours.
func readPlan(ctx context.Context, db *pgxpool.Pool, from, to time.Time) error {
	p, err := detect.DefaultConfig().Plan(from, to)
	if err != nil {
		return err
	}
	var q pgx.Batch
	q.Queue("SELECT count(*), coalesce(sum(requests), 0)::bigint FROM rollup_requests WHERE minute >= $1 AND minute < $2", p.Minutes.From, p.Minutes.To)
	q.Queue("SELECT count(*), coalesce(sum(count), 0)::bigint FROM rollup_errors WHERE minute >= $1 AND minute < $2", p.Minutes.From, p.Minutes.To)
	for _, h := range p.Hours {
		q.Queue("SELECT count(*), coalesce(sum(requests), 0)::bigint FROM rollup_requests_hourly WHERE hour >= $1 AND hour < $2", h.From, h.To)
		q.Queue("SELECT count(*), coalesce(sum(count), 0)::bigint FROM rollup_errors_hourly WHERE hour >= $1 AND hour < $2", h.From, h.To)
	}
	return db.SendBatch(ctx, &q).Close()
}

// reportRefs reports the references of n evaluations that took ms each:
// ref_ms and x_ref (a plain read of the per-minute rollups of the span),
// read_ms and x_read (a plain read of the rows the evaluations read).
func reportRefs(b *testing.B, ms float64, ref, read time.Duration) {
	refMS := float64(ref.Microseconds()) / 1000 / float64(b.N)
	readMS := float64(read.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(refMS, "ref_ms")
	b.ReportMetric(ms/refMS, "x_ref")
	b.ReportMetric(readMS, "read_ms")
	b.ReportMetric(ms/readMS, "x_read")
}

// BenchmarkBacktestWeek evaluates every minute of the last week of the
// 90 days (a dry run: what would have paged us), baselines from the three
// weeks before included. Reported: ms per backtest, the references (a
// plain read of the span's per-minute rollups from 22 days before the
// week; a plain read of what the backtest reads: the week's minutes and
// the baselines' hours) and the ratios.
func BenchmarkBacktestWeek(b *testing.B) {
	url := benchDatabase(b)
	ctx := testCtx(b, 10*time.Minute)
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ev := alerting.NewEvaluator(st, nil, nil)
	from, to := benchWeek, benchWeek.Add(7*24*time.Hour)
	var alerts int
	var ref, read time.Duration
	b.ResetTimer()
	for b.Loop() {
		res, err := ev.Evaluate(ctx, from, to, true)
		if err != nil {
			b.Fatal(err)
		}
		alerts = len(res.Alerts)
		b.StopTimer()
		began := time.Now()
		if err := readMinuteSpan(ctx, db, from.Add(-22*24*time.Hour), to); err != nil {
			b.Fatal(err)
		}
		ref += time.Since(began)
		began = time.Now()
		if err := readPlan(ctx, db, from, to); err != nil {
			b.Fatal(err)
		}
		read += time.Since(began)
		b.StartTimer()
	}
	ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, "ms/backtest")
	reportRefs(b, ms, ref, read)
	b.ReportMetric(float64(alerts), "alerts")
}

// BenchmarkEvaluateMinute evaluates one minute and stores what it finds,
// as `report alerts` run every minute does (its 15-minute window is 15 of
// these evaluations' reading at once), at minutes spread over the last
// week. Reported: ms per evaluation, the references (a plain read of the
// minute's hour of per-minute rollups; a plain read of what the
// evaluation reads: its minutes and its baselines' hours) and the ratios.
func BenchmarkEvaluateMinute(b *testing.B) {
	url := benchDatabase(b)
	ctx := testCtx(b, 10*time.Minute)
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ev := alerting.NewEvaluator(st, nil, nil)
	var ref, read time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		at := benchWeek.Add(time.Duration(i*97%(7*24*60)) * time.Minute)
		if _, err := ev.Evaluate(ctx, at, at.Add(time.Minute), false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		began := time.Now()
		if err := readMinuteSpan(ctx, db, at.Add(-time.Hour), at.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		ref += time.Since(began)
		began = time.Now()
		if err := readPlan(ctx, db, at, at.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		read += time.Since(began)
		b.StartTimer()
	}
	ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(ms, "ms/minute")
	reportRefs(b, ms, ref, read)
}
