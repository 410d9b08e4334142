package alerting_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

// TestScenarioBacktest ingests three weeks of seasonal traffic with an
// incident of every kind and decoys (testdata/scenario.yaml) through the
// real pipeline, evaluates every minute of the three weeks, and checks
// that each incident is one alert detected within 10 minutes of its
// start, with its context, and that nothing else fires. It then evaluates
// again, whole and in the 15-minute pieces cron would, and finds the same
// alerts stored, none doubled.
func TestScenarioBacktest(t *testing.T) {
	s := readScenario(t, "scenario.yaml")
	st, db, _ := migrated(t)
	began := time.Now()
	stored := ingestScenario(t, st, s)
	t.Logf("ingested %d records in %s", stored, time.Since(began).Round(time.Millisecond))
	ctx := testCtx(t, 5*time.Minute)
	analyze(t, db)

	ev := alerting.NewEvaluator(st, nil, nil)
	end := s.Start.Add(s.Duration)
	began = time.Now()
	res, err := ev.Evaluate(ctx, s.Start, end, false)
	require.NoError(t, err)
	t.Logf("evaluated %d minutes in %s", int(end.Sub(s.Start)/time.Minute), time.Since(began).Round(time.Millisecond))

	matched := map[int64]bool{}
	var report strings.Builder
	for _, in := range s.Incidents {
		var found []store.Alert
		for _, a := range res.Alerts {
			if string(a.Rule) == string(in.Kind) && a.Provider == in.Provider &&
				(in.Kind != synth.NewCode || a.Subject == in.Code) &&
				a.StartsAt.Before(in.End().Add(30*time.Minute)) && !a.EndsAt.IsZero() && a.EndsAt.After(in.Start.Add(-10*time.Minute)) {
				found = append(found, a)
			}
		}
		require.Len(t, found, 1, "incident %s at %s from %s: one alert", in.Kind, in.Provider, in.Start)
		a := found[0]
		matched[a.ID] = true
		fmt.Fprintf(&report, "%-20s %-9s start %s  alert start %s (%+.0fm)  detected %s (+%.0fm)  ended %s (incident %s)\n",
			in.Kind, in.Provider, in.Start.Format("01-02 15:04"), a.StartsAt.Format("15:04"), a.StartsAt.Sub(in.Start).Minutes(),
			a.DetectedAt.Format("15:04"), a.DetectedAt.Sub(in.Start).Minutes(), a.EndsAt.Format("15:04"), in.End().Format("15:04"))
		require.Positive(t, a.DetectedAt.Sub(in.Start), "detected after it started")
		require.LessOrEqual(t, a.DetectedAt.Sub(in.Start), 10*time.Minute, "%s at %s detected within 10 minutes", in.Kind, in.Provider)
		require.WithinDuration(t, in.Start, a.StartsAt, 5*time.Minute, "start")
		require.WithinDuration(t, in.End(), a.EndsAt, 10*time.Minute, "end")
		require.NotZero(t, a.ID)

		// What on-call needs.
		c := a.Context
		require.NotEmpty(t, c.TopCodes, "%s", a.Summary)
		require.NotEmpty(t, c.TopEndpoints)
		require.Positive(t, c.TenantsAffected)
		require.NotEmpty(t, c.SampleCorrelationID)
		var n int
		require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events
			WHERE correlation_id = $1 AND provider = $2 AND ts >= $3 AND ts < $4`,
			c.SampleCorrelationID, a.Provider, c.From, c.To).Scan(&n))
		require.Equal(t, 1, n, "the sample id finds its event with report lookup")
		require.Contains(t, a.Summary, a.Provider)
		if in.Kind == synth.NewCode {
			require.Equal(t, in.Code, a.Code)
			require.Equal(t, "conflict", string(a.Category))
		}
	}
	t.Logf("incidents and their alerts:\n%s", report.String())
	for _, a := range res.Alerts {
		require.True(t, matched[a.ID], "nothing else fires: %s %s %s at %s: %s", a.Rule, a.Provider, a.Subject, a.StartsAt, a.Summary)
	}
	require.Len(t, res.Alerts, len(s.Incidents))
	rows := func() (n int) {
		require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM alerts").Scan(&n))
		return n
	}
	require.Equal(t, len(s.Incidents), rows())

	// The same window again: the same rows, updated in place.
	again, err := ev.Evaluate(ctx, s.Start, end, false)
	require.NoError(t, err)
	require.Equal(t, len(s.Incidents), rows())
	for i := range again.Alerts {
		require.Equal(t, res.Alerts[i].ID, again.Alerts[i].ID)
	}

	// Cron: every few minutes, the last 15 minutes, around the decline
	// spike.
	in := s.Incidents[0]
	for to := in.Start.Add(-20 * time.Minute); to.Before(in.End().Add(40 * time.Minute)); to = to.Add(3 * time.Minute) {
		_, err := ev.Evaluate(ctx, to.Add(-15*time.Minute), to, false)
		require.NoError(t, err)
	}
	require.Equal(t, len(s.Incidents), rows(), "re-evaluating in pieces doubles nothing")

	// The weekly report lists the alerts of a week.
	week := time.Date(2026, 10, 19, 0, 0, 0, 0, time.UTC)
	listed, err := st.ListAlerts(ctx, week, week.Add(7*24*time.Hour))
	require.NoError(t, err)
	var inWeek int
	for _, in := range s.Incidents {
		if !in.Start.Before(week) && in.Start.Before(week.Add(7*24*time.Hour)) {
			inWeek++
		}
	}
	require.Len(t, listed, inWeek)
}
