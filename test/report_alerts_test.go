package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/amtest"
	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkatest"
	"github.com/faultline-dev/faultline/synth"
)

// buildAlertsReport builds cmd/report into the test's directory and returns
// the binary's path.
func buildAlertsReport(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "report")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", bin, "./cmd/report")
	build.Dir = filepath.Join(filepath.Dir(file), "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build report: %s", out)
	return bin
}

// runAlertsReport runs report and returns its exit code, stdout and stderr.
func runAlertsReport(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "ALERTMANAGER_URL=", "FAULTLINE_ALERTS_CONFIG=")
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

// replayAlertsScenario writes the scenario's records to a file and loads it with
// `ingest replay` into a migrated database.
func replayAlertsScenario(t *testing.T, db string, s synth.Scenario) {
	t.Helper()
	out, err := exec.Command(ingestBin, "migrate", "--database-url", db).CombinedOutput()
	require.NoError(t, err, "migrate: %s", out)
	path := filepath.Join(t.TempDir(), "traffic.ndjson")
	f, err := os.Create(path)
	require.NoError(t, err)
	st, err := s.Stream()
	require.NoError(t, err)
	w := bufio.NewWriter(f)
	_, err = st.WriteTo(w)
	require.NoError(t, err)
	require.NoError(t, w.Flush())
	require.NoError(t, f.Close())
	out, err = exec.Command(ingestBin, "replay", "--database-url", db, "--keep", "36500d", path).CombinedOutput()
	require.NoError(t, err, "replay: %s", out)
	pool, err := pgxpool.New(context.Background(), db)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(context.Background(), "ANALYZE") // as autovacuum would after a bulk load
	require.NoError(t, err)
}

// alertsTwoDays is two days of traffic with a Finix outage on the second
// afternoon.
var alertsTwoDays = synth.Scenario{
	Seed: 11, Start: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), Duration: 48 * time.Hour, Rate: 150,
	Seasonality: synth.Seasonality{Daily: 0.85},
	Incidents: []synth.Incident{{Kind: synth.ProviderOutage, Provider: "finix",
		Start: time.Date(2026, 10, 6, 14, 0, 0, 0, time.UTC), Length: 30 * time.Minute, Strength: 0.3}},
}

// TestReportAlertsBacktest loads two days through `ingest replay` and runs
// `report alerts` over them: a backtest with --json finds the outage with
// what on-call needs, stores it, and finds it again (the same id) when run
// again; --dry-run stores nothing; the text names it; a quiet window says
// so.
func TestReportAlertsBacktest(t *testing.T) {
	bin := buildAlertsReport(t)
	db := newDatabase(t)
	replayAlertsScenario(t, db, alertsTwoDays)
	in := alertsTwoDays.Incidents[0]
	window := []string{"alerts", "--database-url", db, "--from", "2026-10-06T00:00:00Z", "--to", "2026-10-07T00:00:00Z"}

	code, out, stderr := runAlertsReport(t, bin, append(window, "--dry-run", "--json")...)
	require.Equal(t, 0, code, stderr)
	var dry []alerting.JSONAlert
	require.NoError(t, json.Unmarshal([]byte(out), &dry), out)
	require.Len(t, dry, 1)
	require.Zero(t, dry[0].ID, "a dry run stores nothing")

	code, out, stderr = runAlertsReport(t, bin, append(window, "--json")...)
	require.Equal(t, 0, code, stderr)
	var got []alerting.JSONAlert
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got, 1)
	a := got[0]
	require.NotZero(t, a.ID)
	require.Equal(t, "provider_outage", a.Rule)
	require.Equal(t, "ProviderOutage", a.AlertName)
	require.Equal(t, "finix", a.Provider)
	require.Equal(t, "critical", a.Severity)
	require.Equal(t, "resolved", a.Status)
	require.WithinDuration(t, in.Start, a.StartsAt, 3*time.Minute)
	require.NotNil(t, a.EndsAt)
	require.WithinDuration(t, in.End(), *a.EndsAt, 5*time.Minute)
	require.Greater(t, a.Observed, 10*a.Expected)
	require.NotEmpty(t, a.Context.SampleCorrelationID)
	require.NotEmpty(t, a.Context.TopCodes)
	require.Positive(t, a.Context.TenantsAffected)
	require.Contains(t, a.RunbookURL, "#provider_outage")
	for k, v := range map[string]string{"alertname": "ProviderOutage", "provider": "finix", "severity": "critical"} {
		require.Equal(t, v, a.Labels[k])
	}

	// Run again, and as cron would, over part of the same window.
	code, out, stderr = runAlertsReport(t, bin, append(window, "--json")...)
	require.Equal(t, 0, code, stderr)
	var again []alerting.JSONAlert
	require.NoError(t, json.Unmarshal([]byte(out), &again))
	require.Len(t, again, 1)
	require.Equal(t, a.ID, again[0].ID)
	code, out, stderr = runAlertsReport(t, bin, "alerts", "--database-url", db, "--to", in.Start.Add(10*time.Minute).Format(time.RFC3339))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "FIRING")
	require.Contains(t, out, "provider_outage finix")
	require.Contains(t, out, "sample: report lookup ")
	pool, err := pgxpool.New(context.Background(), db)
	require.NoError(t, err)
	defer pool.Close()
	var rows int
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT count(*) FROM alerts").Scan(&rows))
	require.Equal(t, 1, rows)

	code, out, stderr = runAlertsReport(t, bin, append(window, "--dry-run")...)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "RESOLVED  critical provider_outage finix")

	code, out, _ = runAlertsReport(t, bin, "alerts", "--database-url", db, "--from", "2026-10-06T03:00:00Z", "--to", "2026-10-06T03:15:00Z")
	require.Equal(t, 0, code)
	require.Equal(t, "no alerts from 2026-10-06 03:00 UTC to 2026-10-06 03:15 UTC\n", out)
	code, out, _ = runAlertsReport(t, bin, "alerts", "--database-url", db, "--from", "2026-10-06T03:00:00Z", "--to", "2026-10-06T03:15:00Z", "--json")
	require.Equal(t, 0, code)
	require.Equal(t, "[]\n", out)
}

func TestReportAlertsErrorsNameTheFlag(t *testing.T) {
	bin := buildAlertsReport(t)
	bad := filepath.Join(t.TempDir(), "alerts.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("rules:\n  decline_spike:\n    min_cnt: 3\n"), 0o600))
	db := "postgres://127.0.0.1:1/x"
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bad from", []string{"alerts", "--database-url", db, "--from", "yesterday"}, 2, []string{"--from", "RFC 3339"}},
		{"from after to", []string{"alerts", "--database-url", db, "--from", "2026-10-06T03:00:00Z", "--to", "2026-10-06T02:00:00Z"}, 2, []string{"--from", "before --to"}},
		{"watch with to", []string{"alerts", "--database-url", db, "--watch", "--to", "2026-10-06T02:00:00Z"}, 2, []string{"--watch", "--to"}},
		{"dry run with alertmanager", []string{"alerts", "--database-url", db, "--dry-run", "--alertmanager-url", "http://127.0.0.1:9093"}, 2, []string{"--dry-run", "--alertmanager-url"}},
		{"bad alertmanager url", []string{"alerts", "--database-url", db, "--alertmanager-url", "alertmanager:9093"}, 2, []string{"--alertmanager-url"}},
		{"unknown config key", []string{"alerts", "--database-url", db, "--config", bad}, 2, []string{"--config", bad, "line 3", "rules.decline_spike.min_cnt"}},
		{"missing config", []string{"alerts", "--database-url", db, "--config", "/does/not/exist.yaml"}, 2, []string{"--config", "/does/not/exist.yaml"}},
		{"no database", []string{"alerts"}, 2, []string{"--database-url"}},
		{"unknown flag", []string{"alerts", "--bogus"}, 2, []string{"--bogus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAlertsReport(t, bin, tt.args...)
			require.Equal(t, tt.code, code, "stderr: %s", stderr)
			for _, w := range tt.want {
				require.Contains(t, stderr, w)
			}
		})
	}

	// A database without the alerts table: migrate first.
	empty := newDatabase(t)
	code, _, stderr := runAlertsReport(t, bin, "alerts", "--database-url", empty)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "ingest migrate")

	code, out, _ := runAlertsReport(t, bin, "alerts", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Usage: report alerts")
}

// alertsLive is a day of traffic up to the current minute with a Flexiti
// outage that began 12 minutes ago and is still on.
func alertsLive(now time.Time) synth.Scenario {
	now = now.UTC().Truncate(time.Minute)
	return synth.Scenario{
		Seed: 5, Start: now.Add(-26 * time.Hour), Duration: 26 * time.Hour, Rate: 150,
		Seasonality: synth.Seasonality{Daily: 0.5},
		Incidents: []synth.Incident{{Kind: synth.ProviderOutage, Provider: "flexiti",
			Start: now.Add(-12 * time.Minute), Length: time.Hour, Strength: 0.4}},
	}
}

// TestReportAlertsPostsToAlertmanager runs `report alerts` against live
// traffic with an outage under way and a real Alertmanager: the alert
// appears in its API v2 with its labels. Then `report alerts --watch`
// evaluates and sends again until SIGTERM, and exits 0.
func TestReportAlertsPostsToAlertmanager(t *testing.T) {
	bin := buildAlertsReport(t)
	am := amtest.Start(t)
	db := newDatabase(t)
	replayAlertsScenario(t, db, alertsLive(time.Now()))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	code, out, stderr := runAlertsReport(t, bin, "alerts", "--database-url", db, "--alertmanager-url", am.URL, "--json",
		"--console-url", "https://faultline.example.com/")
	require.Equal(t, 0, code, stderr)
	var got []alerting.JSONAlert
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got, 1, out)
	require.Equal(t, "firing", got[0].Status)
	require.Contains(t, stderr, `"msg":"alerts sent to alertmanager","alerts":1`)
	listed, err := am.Alerts(ctx)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	l := listed[0].Labels
	require.Equal(t, "ProviderOutage", l["alertname"])
	require.Equal(t, "flexiti", l["provider"])
	require.Equal(t, "critical", l["severity"])
	require.Contains(t, []string{"provider_error", "timeout"}, l["category"])
	require.Equal(t, got[0].Summary, listed[0].Annotations["summary"])
	require.NotZero(t, got[0].ID)
	link := fmt.Sprintf("https://faultline.example.com/alerts/%d#escalation", got[0].ID)
	require.Equal(t, link, listed[0].Annotations["escalation_url"], "the alert links to its incident's escalation in the console")
	require.Equal(t, link, listed[0].GeneratorURL.String())
	firstEnd := time.Time(*listed[0].EndsAt)

	// --watch: evaluates at once, sends, serves its metrics, and stops
	// cleanly on SIGTERM.
	addr := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	cmd := exec.Command(bin, "alerts", "--database-url", db, "--alertmanager-url", am.URL, "--watch", "--http-addr", addr)
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "ALERTMANAGER_URL=")
	logFile, err := os.CreateTemp(t.TempDir(), "alerts-*.log")
	require.NoError(t, err)
	defer logFile.Close()
	logs := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	cmd.Stderr = logFile
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	get := func(path string) (int, string, error) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	posted := regexp.MustCompile(`(?m)^faultline_alertmanager_posts_total\{outcome="ok"\} [1-9]`)
	testwait.UntilNil(t, time.Minute, "a post to Alertmanager", func() error {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("watch exited early (%v): %s", err, logs())
		default:
		}
		_, metrics, err := get("/metrics")
		if err == nil && !posted.MatchString(metrics) {
			err = errors.New("none in /metrics yet")
		}
		return err
	})
	listed, err = am.Alerts(ctx)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	require.False(t, time.Time(*listed[0].EndsAt).Before(firstEnd), "re-sent, its end moved on")

	// Its metrics say so: an evaluation, its success, a post.
	code, body, err := get("/healthz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	_, metrics, err := get("/metrics")
	require.NoError(t, err)
	for _, re := range []string{
		`(?m)^faultline_alert_evaluations_total\{outcome="ok"\} [1-9]`,
		`(?m)^faultline_alert_evaluations_total\{outcome="error"\} 0$`,
		`(?m)^faultline_alert_last_success_timestamp_seconds [1-9]`,
		`(?m)^faultline_alertmanager_posts_total\{outcome="ok"\} [1-9]`,
		`(?m)^faultline_alerts_firing\{severity="critical",state="sent"\} 1$`,
	} {
		require.Regexp(t, re, metrics)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit 0 on SIGTERM: %s", logs())
	case <-ctx.Done():
		t.Fatal("watch did not stop on SIGTERM")
	}
	require.Contains(t, stdout.String(), "FIRING", "printed (all its output read once it exited)")
	require.Contains(t, logs(), `"msg":"alerts sent to alertmanager"`, "each post is logged")
}
