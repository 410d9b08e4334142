package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/synth"
)

// idTraffic is n records of synth.IDShapes ending now, and their calls.
func idTraffic(n int, seed uint64) ([][]byte, []synth.Call) {
	g := synth.NewIDShapes(synth.Options{Seed: seed, ErrorRate: 0.1, Step: 20 * time.Millisecond,
		Start: time.Now().UTC().Add(-time.Duration(n) * 20 * time.Millisecond).Add(-time.Minute)})
	recs := make([][]byte, n)
	calls := make([]synth.Call, n)
	for i := range calls {
		calls[i] = g.Next()
		recs[i] = calls[i].Record
	}
	return recs, calls
}

// templated is what storing id traffic must give when every endpoint takes
// its true template: the distinct endpoints of each provider, and the
// error groups (fingerprint and count), computed independently of the
// pipeline by classifying each record and putting its true endpoint in.
type templated struct {
	Endpoints map[string][]string // provider → sorted endpoints
	Groups    map[string]int64
	Requests  int64
}

func expectTemplated(t *testing.T, calls []synth.Call) templated {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{Hosts: synth.IDShapesHosts()})
	require.NoError(t, err)
	want := templated{Endpoints: map[string][]string{}, Groups: map[string]int64{}}
	seen := map[string]bool{}
	for _, call := range calls {
		ev, err := c.Classify(call.Record)
		require.NoError(t, err)
		require.Equal(t, call.Provider, ev.Provider)
		want.Requests++
		if k := ev.Provider + " " + call.Endpoint; !seen[k] {
			seen[k] = true
			want.Endpoints[ev.Provider] = append(want.Endpoints[ev.Provider], call.Endpoint)
		}
		if ev.IsError {
			ev.Endpoint = call.Endpoint
			want.Groups[classify.Fingerprint(&ev)]++
		}
	}
	for _, eps := range want.Endpoints {
		sort.Strings(eps)
	}
	return want
}

// storedTemplated reads what is stored in the form of templated.
func storedTemplated(t *testing.T, db *pgxpool.Pool) templated {
	t.Helper()
	ctx := context.Background()
	got := templated{Endpoints: map[string][]string{}, Groups: map[string]int64{}}
	rows, err := db.Query(ctx, `SELECT DISTINCT provider, endpoint FROM rollup_requests ORDER BY 1, 2`)
	require.NoError(t, err)
	for rows.Next() {
		var p, e string
		require.NoError(t, rows.Scan(&p, &e))
		got.Endpoints[p] = append(got.Endpoints[p], e)
	}
	require.NoError(t, rows.Err())
	rows, err = db.Query(ctx, `SELECT fingerprint, count FROM error_groups`)
	require.NoError(t, err)
	for rows.Next() {
		var f string
		var n int64
		require.NoError(t, rows.Scan(&f, &n))
		got.Groups[f] = n
	}
	require.NoError(t, rows.Err())
	require.NoError(t, db.QueryRow(ctx, `SELECT coalesce(sum(requests), 0)::bigint FROM rollup_requests`).Scan(&got.Requests))
	return got
}

// requireTemplated checks the stored endpoints and error groups against the
// true templates, and that the hourly rollups and the events agree.
func requireTemplated(t *testing.T, db *pgxpool.Pool, want templated) {
	t.Helper()
	got := storedTemplated(t, db)
	require.Equal(t, want.Requests, got.Requests)
	for p, eps := range want.Endpoints {
		require.Equal(t, eps, got.Endpoints[p], "distinct endpoints of %s", p)
	}
	require.Len(t, got.Endpoints, len(want.Endpoints))
	require.Equal(t, want.Groups, got.Groups, "error groups")
	ctx := context.Background()
	var hourly, orphans int64
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM (SELECT DISTINCT provider, endpoint FROM rollup_requests_hourly
		EXCEPT SELECT DISTINCT provider, endpoint FROM rollup_requests) x`).Scan(&hourly))
	require.Zero(t, hourly, "the hourly rollups hold the same endpoints")
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events e LEFT JOIN error_groups g ON g.fingerprint = e.fingerprint
		WHERE g.fingerprint IS NULL OR g.endpoint <> e.endpoint`).Scan(&orphans))
	require.Zero(t, orphans, "every event in the group of its endpoint")
}

// TestEndpointTemplatesReplay replays id traffic in volume: after
// `ingest replay`, the stored endpoints and error groups of every provider
// are the true templates', words kept. `ingest templates` then changes
// nothing, and `report endpoints` lists the learned templates with their
// counts.
func TestEndpointTemplatesReplay(t *testing.T) {
	recs, calls := idTraffic(100000, 11)
	want := expectTemplated(t, calls)
	dbURL, out := replayInto(t, recs, "--templates-every", "1s", "--max-endpoints", "20000")
	t.Logf("%s", out)
	require.Contains(t, out, "100000 records stored")
	require.NotContains(t, out, "{other}")
	db, err := pgxpoolNew(dbURL)
	require.NoError(t, err)
	defer db.Close()
	requireTemplated(t, db, want)

	// Idempotent: a pass finds nothing to learn or fold.
	pass, err := exec.Command(ingestBin, "templates", "--database-url", dbURL, "--host", synth.IDShapesHost).CombinedOutput()
	require.NoError(t, err, "%s", pass)
	require.Contains(t, string(pass), "0 templates learned")
	require.Contains(t, string(pass), "0 stored endpoints folded")
	requireTemplated(t, db, want)

	// report endpoints lists every stored endpoint with its source, and
	// the learned templates with their evidence and calls.
	reportBin := buildAlertsReport(t)
	code, stdout, stderr := runAlertsReport(t, reportBin, "endpoints", "--database-url", dbURL, "--json", "--limit", "0")
	require.Zero(t, code, stderr)
	var rep struct {
		Providers []struct {
			Provider  string `json:"provider"`
			Distinct  int    `json:"distinct"`
			Endpoints []struct {
				Endpoint string   `json:"endpoint"`
				Source   string   `json:"source"`
				Methods  []string `json:"methods"`
				Requests int64    `json:"requests"`
			} `json:"endpoints"`
		} `json:"providers"`
		Templates []struct {
			Provider, Method, Endpoint string
			Values                     int   `json:"values"`
			Requests                   int64 `json:"requests"`
		} `json:"templates"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	declared := map[string]bool{}
	for _, e := range synth.IDShapesEndpoints() {
		declared[e.Provider+" "+e.Endpoint] = e.Declared
	}
	var total int64
	for _, p := range rep.Providers {
		require.Equal(t, len(want.Endpoints[p.Provider]), p.Distinct, p.Provider)
		for _, e := range p.Endpoints {
			total += e.Requests
			if declared[p.Provider+" "+e.Endpoint] {
				require.Equal(t, "declared", e.Source, "%s %s", p.Provider, e.Endpoint)
			} else {
				require.Contains(t, []string{"learned", "heuristic", "literal"}, e.Source, "%s %s", p.Provider, e.Endpoint)
			}
			require.NotEmpty(t, e.Methods)
		}
	}
	require.Equal(t, want.Requests, total)
	require.NotEmpty(t, rep.Templates)
	for _, l := range rep.Templates {
		require.GreaterOrEqual(t, l.Values, 50, "%+v", l)
		require.Greater(t, l.Requests, int64(0), "%+v", l)
	}
	code, stdout, _ = runAlertsReport(t, reportBin, "endpoints", "--database-url", dbURL, "--provider", "cheers")
	require.Zero(t, code)
	require.Contains(t, stdout, "/loyalty/v2/vouchers/{id}/status")
	require.Contains(t, stdout, "Learned templates: 4")
}

// TestEndpointBoundReplay replays the same traffic with a bound of 5
// endpoints per provider: no provider has more, the rest is under {other},
// and every call is counted once.
func TestEndpointBoundReplay(t *testing.T) {
	recs, calls := idTraffic(20000, 12)
	want := expectTemplated(t, calls)
	dbURL, out := replayInto(t, recs, "--max-endpoints", "5")
	require.Contains(t, out, "calls stored under {other}")
	db, err := pgxpoolNew(dbURL)
	require.NoError(t, err)
	defer db.Close()
	got := storedTemplated(t, db)
	require.Equal(t, want.Requests, got.Requests)
	for p, eps := range got.Endpoints {
		n := len(eps)
		if eps[0] == "{other}" || eps[len(eps)-1] == "{other}" {
			n--
		}
		require.LessOrEqual(t, n, 5, "%s: %v", p, eps)
	}
	require.Contains(t, got.Endpoints["finterra"], "{other}", "finterra has 6 endpoints")
}

// TestEndpointTemplatesTwoReplicas consumes id traffic with two `ingest run`
// replicas: rules learned by either reach both, and the stored endpoints
// and error groups converge to the true templates.
func TestEndpointTemplatesTwoReplicas(t *testing.T) {
	e := newEnv(t, 4, "")
	recs, calls := idTraffic(100000, 13)
	want := expectTemplated(t, calls)
	e.broker.Produce(t, e.topic, recs)
	args := []string{"--host", synth.IDShapesHost, "--templates-every", "1s", "--max-endpoints", "20000"}
	a := e.ingest(args...)
	b := e.ingest(args...)
	e.waitCaughtUp(120*time.Second, a, b)

	// Every rule is in both replicas' classifiers within a pass or two, and
	// the stored rows converge.
	var rules float64
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT count(*) FROM endpoint_templates`).Scan(&rules))
	require.Greater(t, rules, 3.0)
	for _, p := range []*proc{a, b} {
		p.waitMetric(t, 30*time.Second, "faultline_endpoint_templates", func(v float64) bool { return v == rules })
	}
	testwait.Within(60*time.Second, func() bool { // then requireTemplated says what differs
		got := storedTemplated(t, e.db)
		same := got.Requests == want.Requests && len(got.Endpoints) == len(want.Endpoints) && len(got.Groups) == len(want.Groups)
		for p, eps := range want.Endpoints {
			same = same && strings.Join(eps, " ") == strings.Join(got.Endpoints[p], " ")
		}
		return same
	})
	requireTemplated(t, e.db, want)
	require.Zero(t, a.metric(t, `faultline_endpoint_overflow_total{provider="paylera"}`))
	a.stop(t)
	b.stop(t)
}

// replayInto replays recs with `ingest replay` (and args) into a new
// database, and returns its URL and replay's output.
func replayInto(t *testing.T, recs [][]byte, args ...string) (string, string) {
	t.Helper()
	dbURL := newDatabase(t)
	out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "%s", out)
	file := filepath.Join(t.TempDir(), "calls.ndjson")
	require.NoError(t, os.WriteFile(file, append(joinLines(recs), '\n'), 0o644))
	args = append([]string{"replay", "--database-url", dbURL, "--host", synth.IDShapesHost}, args...)
	out, err = exec.Command(ingestBin, append(args, file)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dbURL, string(out)
}

func joinLines(recs [][]byte) []byte {
	var out []byte
	for i, r := range recs {
		if i > 0 {
			out = append(out, '\n')
		}
		out = append(out, r...)
	}
	return out
}
