package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

var reportBin string

// TestMain builds the report binary: the tests run it as users do.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultline-report-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	reportBin = filepath.Join(dir, "report")
	build := exec.Command("go", "build", "-o", reportBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build report:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// runReport runs the binary and returns its exit code, stdout and stderr.
func runReport(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runReportEnv(t, nil, args...)
}

// runReportEnv runs the binary with env added to the environment.
func runReportEnv(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(reportBin, args...)
	cmd.Env = append(append(os.Environ(), "DATABASE_URL=", "FAULTLINE_TZ="), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errOut.String()
}

var records = []string{
	`{"ts":"2026-11-10T09:00:00Z","service":"checkout","env":"prod","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_01J2ZK/payments","status":401,"response_body":"{\"error\":\"token_expired\",\"message\":\"JWT exp claim has passed\",\"request_id\":\"req_01j2abc\"}","trace_id":"trace-aaa"}`,
	`{"ts":"2026-11-10T09:00:01Z","service":"checkout","env":"prod","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_01J2ZK/payments","status":201,"trace_id":"trace-aaa"}`,
	`{"ts":"2026-11-11T10:00:00Z","service":"billing","env":"prod","tenant":"globex","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/authorizations","status":402,"response_body":{"total":1,"_embedded":{"errors":[{"logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","code":"DECLINED","failure_code":"INSUFFICIENT_FUNDS","message":"Authorization AUabc was declined","authorization":"AUabc"}]}},"trace_id":"trace-bbb"}`,
	`{"ts":"2026-11-12T11:00:00Z","service":"loyalty-sync","env":"prod","tenant":"hooli","method":"POST","url":"https://api.cheers.com/loyalty/v2/transactions/1/preview","status":400,"response_headers":{"X-Request-Id":"chr-0001"},"response_body":{"errorModel":{"errorCode":"INSUFFICIENT_CREDIT","message":"\u001b[31mnot enough\u001b[0m","descriptors":[]}},"trace_id":"trace-ccc"}`,
}

// loaded returns the URL of a database holding the records, stored
// through the pipeline.
func loaded(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.New(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	cls, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "records.ndjson")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(records, "\n")+"\n"), 0o600))
	r, err := ingest.NewReplay(ingest.ReplayConfig{Store: st, Classifier: cls, Builder: ingest.BuilderOptions{Now: func() time.Time {
		return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	}}})
	require.NoError(t, err)
	stats, err := r.File(ctx, path)
	require.NoError(t, err)
	require.EqualValues(t, len(records), stats.Stored)
	require.NoError(t, st.RunAlerts(ctx, true, func(run *store.AlertRun) error {
		start := time.Date(2026, 11, 11, 10, 0, 0, 0, time.UTC)
		return run.SaveAlert(ctx, &store.Alert{
			Rule: "new_code", Provider: "finix", Subject: "DECLINED", Category: "decline", Code: "DECLINED",
			Severity: "info", StartsAt: start, DetectedAt: start, LastEvaluated: start,
			Summary: "finix: a code never seen before",
		}, time.Minute)
	}))
	return url
}

func TestUsageErrorsExit2(t *testing.T) {
	db := "postgres://postgres@127.0.0.1:1/x?sslmode=disable"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"weekly", "--bogus"}, "--bogus"},
		{"no database", []string{"weekly"}, "--database-url"},
		{"lookup without id", []string{"lookup", "--database-url", db}, "<id>"},
		{"bad time zone", []string{"weekly", "--database-url", db, "--tz", "Mars/Olympus"}, "--tz"},
		{"local time zone", []string{"lookup", "x", "--database-url", db, "--tz", "Local"}, "--tz"},
		{"bad week", []string{"weekly", "--database-url", db, "--week", "2026-46"}, "2026-W46"},
		{"week 53 of a 52-week year", []string{"weekly", "--database-url", db, "--week", "2025-W53"}, "no week 53"},
		{"bad format", []string{"weekly", "--database-url", db, "--format", "pdf"}, "--format"},
		{"bad from", []string{"lookup", "x", "--database-url", db, "--from", "yesterday"}, "--from"},
		{"from after to", []string{"trends", "--database-url", db, "--from", "2026-11-02T00:00:00Z", "--to", "2026-11-01T00:00:00Z"}, "--from"},
		{"zero limit", []string{"lookup", "x", "--database-url", db, "--limit", "0"}, "--limit"},
		{"search without a scope", []string{"search", "--database-url", db, "--code", "DECLINED"}, "a tenant, a service or a provider"},
		{"search over 32 days", []string{"search", "--database-url", db, "--tenant", "acme", "--from", "2026-10-01T00:00:00Z", "--to", "2026-11-02T00:00:00Z"}, "longer than 31 days"},
		{"search with a bad cursor", []string{"search", "--database-url", db, "--tenant", "acme", "--after", "AAAA"}, "cursor"},
		{"search a status that is none", []string{"search", "--database-url", db, "--tenant", "acme", "--status", "1000"}, "status"},
		{"search a bad time", []string{"search", "--database-url", db, "--tenant", "acme", "--to", "noon"}, "--to"},
		{"search a zero limit", []string{"search", "--database-url", db, "--tenant", "acme", "--limit", "0"}, "--limit"},
		{"groups sorted by size", []string{"groups", "--database-url", db, "--sort", "size"}, "--sort"},
		{"groups over 91 days", []string{"groups", "--database-url", db, "--from", "2026-08-01T00:00:00Z", "--to", "2026-11-01T00:00:00Z"}, "longer than 90 days"},
		{"groups a negative limit", []string{"groups", "--database-url", db, "--limit", "-1"}, "--limit"},
		{"history of an unknown rule", []string{"history", "--database-url", db, "--rule", "outage"}, "unknown rule"},
		{"history of a status that is none", []string{"history", "--database-url", db, "--status", "snoozed"}, "status"},
		{"history of a severity that is none", []string{"history", "--database-url", db, "--severity", "page"}, "severity"},
		{"escalate without an alert", []string{"escalate", "--database-url", db}, "<alert-id>"},
		{"escalate an alert that is no number", []string{"escalate", "--database-url", db, "finix-7"}, "alert id"},
		{"escalate alert zero", []string{"escalate", "--database-url", db, "0"}, "alert id"},
		{"alerts with a console that is no URL", []string{"alerts", "--database-url", db, "--console-url", "faultline.example.com"}, "--console-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runReport(t, tc.args...)
			require.Equal(t, 2, code, "stderr: %s", stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, cmd := range []string{"lookup", "trends", "weekly", "search", "groups", "history", "escalate"} {
		code, out, _ := runReport(t, cmd, "--help")
		require.Equal(t, 0, code, cmd)
		require.Contains(t, out, "Usage: report "+cmd)
		require.Contains(t, out, "--database-url")
	}
}

func TestLookupCommand(t *testing.T) {
	db := loaded(t)

	t.Run("found", func(t *testing.T) {
		code, out, stderr := runReport(t, "lookup", "--database-url", db, "--tz", "America/Toronto", "req_01j2abc")
		require.Equal(t, 0, code, stderr)
		for _, want := range []string{
			`1 event found for "req_01j2abc", searched in every stored event.`,
			"matched    req_01j2abc as correlation_id\n",
			"time       2026-11-10 09:00:00.000 UTC\n",
			"           2026-11-10 04:00:00.000 EST (-05:00), America/Toronto\n",
			"error      token_expired\n",
			"category   auth_expired; not retryable; documented\n",
			"cause      JWT exp claim has passed.\n",
			"remedy     Re-mint a token.\n",
			"escalation: paste to finterra support\n  request_id: req_01j2abc\n  time: 2026-11-10T09:00:00.000Z\n  endpoint: POST /pos/v1/orders/{id}/payments\n  status: 401\n  code: token_expired\n",
			"finterra asks: Send the request_id to Finterra partner support",
		} {
			require.Contains(t, out, want)
		}
		for _, line := range strings.Split(out, "\n") {
			require.LessOrEqual(t, len([]rune(line)), 80, "%q", line)
		}
	})

	t.Run("terminal escapes are not printed", func(t *testing.T) {
		code, out, stderr := runReport(t, "lookup", "--database-url", db, "chr-0001")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "request id (response header): chr-0001")
		require.NotContains(t, out, "\x1b")
	})

	t.Run("several ids, json", func(t *testing.T) {
		code, out, stderr := runReport(t, "lookup", "--database-url", db, "--json", "trace-aaa", "AUabc")
		require.Equal(t, 0, code, stderr)
		var res struct {
			Events []struct {
				Time      time.Time `json:"time"`
				Provider  string    `json:"provider"`
				MatchedBy []struct {
					ID, As string
				} `json:"matched_by"`
				Escalation struct {
					IDs []struct{ Name, Value string } `json:"ids"`
				} `json:"escalation"`
			} `json:"events"`
			Unmatched []string `json:"unmatched"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res))
		require.Len(t, res.Events, 2)
		require.Equal(t, "finix", res.Events[0].Provider, "newest first")
		require.Equal(t, "reference", res.Events[0].MatchedBy[0].As)
		require.Equal(t, []struct{ Name, Value string }{{"logref", "d4ee0b6cdb67686f0c1ec0780e5b4296"}, {"authorization", "AUabc"}}, res.Events[0].Escalation.IDs)
		require.Equal(t, "finterra", res.Events[1].Provider)
		require.Empty(t, res.Unmatched)
	})

	t.Run("no match exits 1 naming the ids and the window", func(t *testing.T) {
		code, out, stderr := runReport(t, "lookup", "--database-url", db, "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-08T00:00:00Z", "req_01j2abc", "nope")
		require.Equal(t, 1, code)
		require.Equal(t, `No event found for "req_01j2abc", "nope", searched from 2026-11-01T00:00:00Z to 2026-11-08T00:00:00Z.`,
			strings.Join(strings.Fields(out), " "))
		require.Contains(t, stderr, `no event found for 2 of 2 ids ("req_01j2abc", "nope"), searched from 2026-11-01T00:00:00Z to 2026-11-08T00:00:00Z`)
	})

	t.Run("one of two ids unknown exits 1", func(t *testing.T) {
		code, out, stderr := runReport(t, "lookup", "--database-url", db, "--json", "req_01j2abc", "nope")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, `("nope")`)
		var res struct {
			Events    []any    `json:"events"`
			Unmatched []string `json:"unmatched"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res))
		require.Len(t, res.Events, 1)
		require.Equal(t, []string{"nope"}, res.Unmatched)
	})

	t.Run("an id too long to be stored is a usage error", func(t *testing.T) {
		code, _, stderr := runReport(t, "lookup", "--database-url", db, strings.Repeat("x", 600))
		require.Equal(t, 2, code)
		require.Contains(t, stderr, "not an id that can be stored")
	})
}

func TestWeeklyCommand(t *testing.T) {
	db := loaded(t)

	t.Run("a week without traffic says so", func(t *testing.T) {
		code, out, stderr := runReport(t, "weekly", "--database-url", db, "--week", "2026-W40")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "**No traffic was recorded in 2026-W40**")
	})

	t.Run("markdown", func(t *testing.T) {
		code, out, stderr := runReport(t, "weekly", "--database-url", db, "--week", "2026-W46")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "# Weekly error report 2026-W46\n")
		require.Contains(t, out, "| finterra | 2 | 1 | 50.00% | no traffic before |")
		require.Contains(t, out, "| `DECLINED/INSUFFICIENT_FUNDS` | decline | 1 | new |")
		require.Contains(t, out, "**Alerts this week (1):**\n\n- info new_code finix `DECLINED`: finix: a code never seen before (Wed 11 10:00, still firing)\n")
		require.NotContains(t, out, "\x1b")
	})

	t.Run("json", func(t *testing.T) {
		code, out, stderr := runReport(t, "weekly", "--database-url", db, "--week", "2026-W46", "--format", "json")
		require.Equal(t, 0, code, stderr)
		var rep struct {
			Week      string `json:"week"`
			Providers []struct {
				Provider   string           `json:"provider"`
				Requests   int64            `json:"requests"`
				Errors     int64            `json:"errors"`
				ErrorRate  float64          `json:"error_rate"`
				ByCategory map[string]int64 `json:"by_category"`
				TopCodes   []struct {
					Code  string `json:"code"`
					Count int64  `json:"count"`
				} `json:"top_codes"`
				NewCodes []struct {
					Code string `json:"code"`
				} `json:"new_codes"`
			} `json:"providers"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.Equal(t, "2026-W46", rep.Week)
		require.Len(t, rep.Providers, 3)
		cheers, finix, finterra := rep.Providers[0], rep.Providers[1], rep.Providers[2]
		require.Equal(t, "cheers", cheers.Provider, "recognised by its host")
		require.Equal(t, map[string]int64{"decline": 1}, finix.ByCategory)
		require.Equal(t, int64(2), finterra.Requests)
		require.Equal(t, int64(1), finterra.Errors)
		require.InDelta(t, 0.5, finterra.ErrorRate, 1e-12)
		require.Equal(t, "token_expired", finterra.TopCodes[0].Code)
		require.Equal(t, "token_expired", finterra.NewCodes[0].Code)
	})

	t.Run("csv and html to files", func(t *testing.T) {
		dir := t.TempDir()
		for _, format := range []string{"csv", "html"} {
			path := filepath.Join(dir, "weekly."+format)
			code, out, stderr := runReport(t, "weekly", "--database-url", db, "--week", "2026-W46", "--format", format, "-o", path)
			require.Equal(t, 0, code, stderr)
			require.Empty(t, out)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			if format == "csv" {
				rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				require.NoError(t, err)
				require.Contains(t, rows, []string{"2026-W46", "finterra", "requests", "", "", "", "", "", "2", "0"})
			} else {
				require.Contains(t, string(data), `<svg class="chart" id="chart-0-requests"`)
			}
		}
	})
}

func TestTrendsCommand(t *testing.T) {
	db := loaded(t)
	code, out, stderr := runReport(t, "trends", "--database-url", db, "--from", "2026-11-09T00:00:00Z", "--to", "2026-11-16T00:00:00Z", "--json")
	require.Equal(t, 0, code, stderr)
	var tr struct {
		Movers []struct {
			Provider string  `json:"provider"`
			Code     string  `json:"code"`
			Count    int64   `json:"count"`
			Score    float64 `json:"score"`
			New      bool    `json:"new"`
		} `json:"movers"`
		NewCodes []struct {
			Code string `json:"code"`
		} `json:"new_codes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &tr))
	require.Len(t, tr.Movers, 3)
	require.Len(t, tr.NewCodes, 3)
	for _, m := range tr.Movers {
		require.True(t, m.New)
		require.EqualValues(t, 1, m.Count)
		require.Positive(t, m.Score)
	}
	code, out, stderr = runReport(t, "trends", "--database-url", db, "--from", "2026-11-09T00:00:00Z", "--to", "2026-11-16T00:00:00Z")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "Movers, most significant first")
}

func TestRefusesASchemaThatIsBehind(t *testing.T) {
	db := pgtest.New(t)
	code, _, stderr := runReport(t, "weekly", "--database-url", db, "--week", "2026-W46")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "ingest migrate")
}

// TestSearchGroupsHistoryEscalate runs the commands that go beyond one id
// over the loaded records: their text, and their JSON as the issue says.
func TestSearchGroupsHistoryEscalate(t *testing.T) {
	db := loaded(t)
	from, to := "--from=2026-11-10T00:00:00Z", "--to=2026-11-13T00:00:00Z"

	t.Run("search, a page at a time", func(t *testing.T) {
		code, out, stderr := runReport(t, "search", "--database-url", db, "--service", "checkout", "--provider", "finterra", from, to, "--json")
		require.Equal(t, 0, code, stderr)
		var res struct {
			Events []map[string]any `json:"events"`
			Next   *string          `json:"next"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res))
		require.Len(t, res.Events, 1)
		require.Nil(t, res.Next)
		e := res.Events[0]
		require.Equal(t, "finterra", e["provider"])
		require.Equal(t, "acme-foods", e["tenant"])
		require.Equal(t, "checkout", e["service"])
		require.Equal(t, "2026-11-10T09:00:00Z", e["ts"])
		require.Equal(t, "token_expired", e["code"])
		require.Equal(t, "req_01j2abc", e["correlation_id"])

		code, out, stderr = runReport(t, "search", "--database-url", db, "--tenant", "hooli", from, to)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "1 event from 2026-11-10T00:00:00Z to 2026-11-13T00:00:00Z, newest first.")
		require.Contains(t, out, "report lookup chr-0001")
		require.NotContains(t, out, "\x1b", "terminal escapes are not printed")
	})

	t.Run("groups", func(t *testing.T) {
		code, out, stderr := runReport(t, "groups", "--database-url", db, from, to, "--json")
		require.Equal(t, 0, code, stderr)
		var g struct {
			Groups []map[string]any `json:"groups"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &g))
		require.Len(t, g.Groups, 3)
		for _, k := range []string{"provider", "code", "subcode", "method", "endpoint", "category", "count", "first_seen", "last_seen", "new", "regressed"} {
			require.Contains(t, g.Groups[0], k)
		}
		byCode := map[string]map[string]any{}
		for _, x := range g.Groups {
			byCode[x["code"].(string)] = x
		}
		finix := byCode["DECLINED"]
		require.Equal(t, "finix", finix["provider"])
		require.Equal(t, "INSUFFICIENT_FUNDS", finix["subcode"])
		require.Equal(t, "POST", finix["method"])
		require.Equal(t, "/authorizations", finix["endpoint"])
		require.EqualValues(t, 1, finix["count"])
		require.Equal(t, true, finix["new"])
		require.Equal(t, false, finix["regressed"])
		require.Equal(t, "2026-11-11T10:00:00Z", finix["first_seen"])

		code, out, stderr = runReport(t, "groups", "--database-url", db, from, to, "--provider", "cheers")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "1 error group seen from 2026-11-10T00:00:00Z to 2026-11-13T00:00:00Z, by count.")
		require.Contains(t, out, "cheers INSUFFICIENT_CREDIT")
		for _, line := range strings.Split(out, "\n") {
			require.LessOrEqual(t, len([]rune(line)), 80, "%q", line)
		}
	})

	t.Run("history and escalate", func(t *testing.T) {
		code, out, stderr := runReport(t, "history", "--database-url", db, "--from=2026-11-01T00:00:00Z", "--to=2026-11-20T00:00:00Z", "--json")
		require.Equal(t, 0, code, stderr)
		var h struct {
			Alerts []struct {
				ID     int64  `json:"id"`
				Rule   string `json:"rule"`
				Status string `json:"status"`
			} `json:"alerts"`
			Next *string `json:"next"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &h))
		require.Len(t, h.Alerts, 1)
		require.Equal(t, "new_code", h.Alerts[0].Rule)
		require.Equal(t, "firing", h.Alerts[0].Status)
		require.Positive(t, h.Alerts[0].ID)
		require.Nil(t, h.Next)
		id := fmt.Sprint(h.Alerts[0].ID)

		code, out, stderr = runReport(t, "escalate", "--database-url", db, id, "--json")
		require.Equal(t, 0, code, stderr)
		var x struct {
			Alert struct {
				ID int64 `json:"id"`
			} `json:"alert"`
			Samples []map[string]any `json:"samples"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &x))
		require.Equal(t, h.Alerts[0].ID, x.Alert.ID)
		require.Len(t, x.Samples, 1, "the one event of the alert's code in its window")
		for _, k := range []string{"id", "ts", "status", "code", "endpoint"} {
			require.Contains(t, x.Samples[0], k)
		}
		require.Equal(t, "d4ee0b6cdb67686f0c1ec0780e5b4296", x.Samples[0]["id"])

		code, out, stderr = runReport(t, "escalate", "--database-url", db, id)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "escalation: paste to finix support (an incident, not one request)\n")
		require.Contains(t, out, "    d4ee0b6cdb67686f0c1ec0780e5b4296  2026-11-11T10:00:00.000Z  402\n")

		code, _, stderr = runReport(t, "escalate", "--database-url", db, "999")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "no alert 999 is stored")
	})
}
