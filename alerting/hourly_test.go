package alerting_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

// hourCounter hands rollups to Counts and counts the hourly rows.
type hourCounter struct {
	*detect.Counts
	rows int
}

func (h *hourCounter) AddHourlyRequests(hour time.Time, provider string, n int64) {
	h.rows++
	h.Counts.AddHourlyRequests(hour, provider, n)
}

func (h *hourCounter) AddHourlyErrors(hour time.Time, provider string, category classify.Category, code, subcode string, n int64) {
	h.rows++
	h.Counts.AddHourlyErrors(hour, provider, category, code, subcode, n)
}

// TestHourlyAndMinuteRollupsGiveTheSameAlerts: evaluations read the hours
// of their baselines (the week before each hour evaluated, the same hour
// of earlier weeks) from the hourly rollups and their windows from the
// per-minute ones. Over four weeks stored by the store's writer (which
// writes both), reading the hours that way finds the same alerts as
// summing every hour from the per-minute rollups: a backtest of a week, of
// a day, fifteen minutes across an hour and single minutes.
func TestHourlyAndMinuteRollupsGiveTheSameAlerts(t *testing.T) {
	day := func(d int, h, m int) time.Time {
		return time.Date(2026, 10, 5+d, h, m, 0, 0, time.UTC)
	}
	s := synth.Scenario{Seed: 17, Start: day(0, 0, 0), Duration: 29 * 24 * time.Hour, Rate: 200,
		Seasonality: synth.Seasonality{Daily: 0.85, Weekend: 0.5},
		Incidents: []synth.Incident{
			{Kind: synth.DeclineSpike, Provider: "finix", Start: day(21, 14, 7), Length: 40 * time.Minute, Strength: 0.08,
				Code: "DECLINED", Subcode: "GENERIC_DECLINE"}, // in the baselines of day 28
			{Kind: synth.DeclineSpike, Provider: "finix", Start: day(28, 14, 20), Length: 30 * time.Minute, Strength: 0.08,
				Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS"},
			{Kind: synth.RateLimitStorm, Provider: "paylera", Start: day(28, 9, 55), Length: 20 * time.Minute, Strength: 0.2},
			{Kind: synth.NewCode, Provider: "paylera", Start: day(28, 16, 0), Length: 20 * time.Minute, Strength: 0.05, Code: "invoice.frozen"},
		}}
	st, db, _ := migrated(t)
	writeRollups(t, st, s)
	analyze(t, db)
	ctx := testCtx(t, 5*time.Minute)

	cfg := detect.DefaultConfig()
	windows := []struct {
		name     string
		from, to time.Time
	}{
		{"a week", day(22, 0, 0), day(29, 0, 0)},
		{"a day", day(28, 0, 0), day(29, 0, 0)},
		{"fifteen minutes across an hour", day(28, 9, 52), day(28, 10, 7)},
		{"the last minute of an hour", day(28, 14, 59), day(28, 15, 0)},
		{"the first minute of an hour", day(28, 15, 0), day(28, 15, 1)},
	}
	var alerts int
	for _, w := range windows {
		t.Run(w.name, func(t *testing.T) {
			p, err := cfg.Plan(w.from, w.to)
			require.NoError(t, err)
			require.NotEmpty(t, p.Hours)
			state := detect.State{HistoryStart: s.Start}
			require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error {
				seen, err := r.CodesFirstSeenSince(ctx, p.CodesSince)
				for _, c := range seen {
					state.FirstSeen = append(state.FirstSeen, detect.CodeSeen{Provider: c.Provider, Code: c.Code, FirstSeen: c.FirstSeen})
				}
				return err
			}))
			var codes []store.ProviderCode
			for _, pc := range state.FollowedCodes() {
				codes = append(codes, store.ProviderCode{Provider: pc.Provider, Code: pc.Code})
			}

			// The hours of p.Hours from the hourly rollups, as alerting
			// reads them.
			hourly := &hourCounter{Counts: detect.NewCounts(p)}
			q := store.RollupQuery{Minutes: store.TimeRange{From: p.Minutes.From, To: p.Minutes.To},
				Categories: p.Categories, Detailed: p.Detailed, Codes: codes}
			for _, h := range p.Hours {
				q.Hours = append(q.Hours, store.TimeRange{From: h.From, To: h.To})
			}
			require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error { return r.ReadRollups(ctx, q, hourly) }))
			require.Positive(t, hourly.rows, "hours read from the hourly rollups")

			// The same hours summed from the per-minute rollups: counts
			// whose minutes start with the plan's first hour, filled with
			// the minutes of each range of hours and of the window.
			pm := p
			pm.Minutes.From, pm.Hours = p.Hours[0].From, nil
			minutely := &hourCounter{Counts: detect.NewCounts(pm)}
			require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error {
				for _, h := range append(p.Hours, p.Minutes) {
					mq := store.RollupQuery{Minutes: store.TimeRange{From: h.From, To: h.To}, Categories: p.Categories, Codes: codes}
					if err := r.ReadRollups(ctx, mq, minutely); err != nil {
						return err
					}
				}
				return nil
			}))
			require.Zero(t, minutely.rows)

			a, b := detect.Evaluate(cfg, p, hourly.Counts, state), detect.Evaluate(cfg, pm, minutely.Counts, state)
			require.Equal(t, a, b, "the same alerts")
			t.Logf("%d ranges of hours, %d alerts: the same", len(p.Hours), len(a))
			alerts += len(a)
		})
	}
	require.Positive(t, alerts, "alerts compared")
}
