package alerting_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

// rendezvous holds each evaluation, once inside its transaction, until
// the other evaluator's is too (or a while has passed): without the
// advisory lock, both would then decide and store at the same time.
type rendezvous struct {
	alerting.Store
	inside *atomic.Int32
	both   chan struct{}
}

func (r rendezvous) RunAlerts(ctx context.Context, write bool, fn func(*store.AlertRun) error) error {
	return r.Store.RunAlerts(ctx, write, func(run *store.AlertRun) error {
		if r.inside.Add(1) == 2 {
			close(r.both)
		}
		select {
		case <-r.both:
		case <-time.After(300 * time.Millisecond):
		}
		return fn(run)
	})
}

// TestTwoEvaluatorsNeverDoubleAnAlert runs two evaluators, each with its
// own connection pool, over the same minutes at the same time, as two
// replicas of `report alerts --watch` (or cron overlapping a backtest)
// would: first both at once on the window where the incident opens, then
// every minute like cron. The advisory lock makes them take turns, and the
// second continues what the first stored: one incident, one row, no error.
func TestTwoEvaluatorsNeverDoubleAnAlert(t *testing.T) {
	s := readScenario(t, "short.yaml")
	st, db, url := migrated(t)
	ingestScenario(t, st, s)
	analyze(t, db)
	ctx := testCtx(t, 2*time.Minute)
	other, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(other.Close)
	in := s.Incidents[0]

	both := func(eval func(ev *alerting.Evaluator) error, meet bool) {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		inside, met := &atomic.Int32{}, make(chan struct{})
		for _, stx := range []*store.Store{st, other} {
			var s alerting.Store = stx
			if meet {
				s = rendezvous{Store: stx, inside: inside, both: met}
			}
			ev := alerting.NewEvaluator(s, nil, nil)
			wg.Go(func() { errs <- eval(ev) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	for range 3 {
		both(func(ev *alerting.Evaluator) error {
			_, err := ev.Evaluate(ctx, in.Start.Add(-15*time.Minute), in.Start.Add(15*time.Minute), false)
			return err
		}, true)
	}
	both(func(ev *alerting.Evaluator) error {
		// Every minute, the last 15 minutes, like cron.
		for to := in.Start.Add(-5 * time.Minute); to.Before(in.End().Add(30 * time.Minute)); to = to.Add(time.Minute) {
			if _, err := ev.Evaluate(ctx, to.Add(-15*time.Minute), to, false); err != nil {
				return err
			}
		}
		return nil
	}, false)
	alerts, err := st.ListAlerts(ctx, s.Start, s.Start.Add(s.Duration))
	require.NoError(t, err)
	require.Len(t, alerts, 1, "%+v", alerts)
	a := alerts[0]
	require.Equal(t, detect.ProviderOutage, a.Rule)
	require.Equal(t, "finix", a.Provider)
	require.False(t, a.Firing(), "over and resolved")
	require.WithinDuration(t, in.Start, a.StartsAt, 3*time.Minute)
	require.WithinDuration(t, in.End(), a.EndsAt, 5*time.Minute)
}

// TestDryRunStoresNothing evaluates the incident's window without
// storing: the alert is found, with its context, and the table stays
// empty; evaluated for real afterwards, the same alert is stored.
func TestDryRunStoresNothing(t *testing.T) {
	s := readScenario(t, "short.yaml")
	st, db, _ := migrated(t)
	ingestScenario(t, st, s)
	analyze(t, db)
	ctx := testCtx(t, time.Minute)
	in := s.Incidents[0]
	ev := alerting.NewEvaluator(st, nil, nil)
	dry, err := ev.Evaluate(ctx, in.Start.Add(-time.Hour), in.End().Add(time.Hour), true)
	require.NoError(t, err)
	require.False(t, dry.Stored)
	require.Len(t, dry.Alerts, 1)
	require.Zero(t, dry.Alerts[0].ID)
	require.NotEmpty(t, dry.Alerts[0].Context.SampleCorrelationID)
	var n int
	require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM alerts").Scan(&n))
	require.Zero(t, n)

	wet, err := ev.Evaluate(ctx, in.Start.Add(-time.Hour), in.End().Add(time.Hour), false)
	require.NoError(t, err)
	require.Len(t, wet.Alerts, 1)
	require.NotZero(t, wet.Alerts[0].ID)
	dry.Alerts[0].ID, dry.Alerts[0].UpdatedAt = wet.Alerts[0].ID, wet.Alerts[0].UpdatedAt
	require.Equal(t, dry.Alerts[0], wet.Alerts[0])
}

// TestEvaluatingAMinuteIsOneAlertContinued: evaluating minute by minute
// (the smallest window) opens the alert once and continues it; the firing
// alert is listed with no end until the minute that closes it.
func TestEvaluatingAMinuteIsOneAlertContinued(t *testing.T) {
	s := readScenario(t, "short.yaml")
	st, db, _ := migrated(t)
	ingestScenario(t, st, s)
	analyze(t, db)
	ctx := testCtx(t, time.Minute)
	in := s.Incidents[0]
	ev := alerting.NewEvaluator(st, nil, nil)
	var id int64
	var closedAt time.Time
	for m := in.Start.Add(-10 * time.Minute); m.Before(in.End().Add(30 * time.Minute)); m = m.Add(time.Minute) {
		res, err := ev.Evaluate(ctx, m, m.Add(time.Minute), false)
		require.NoError(t, err)
		for _, a := range res.Alerts {
			if id == 0 {
				id = a.ID
			}
			require.Equal(t, id, a.ID, "continued, not opened again")
			if a.Firing() {
				require.Equal(t, m.Add(time.Minute), a.LastEvaluated)
			} else if closedAt.IsZero() {
				closedAt = a.ResolvedAt
			}
		}
	}
	require.NotZero(t, id)
	require.False(t, closedAt.IsZero())
	var n int
	require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM alerts").Scan(&n))
	require.Equal(t, 1, n)
}

// TestNewCodeAlertsOnceAcrossEvaluations: a code never seen before alerts
// with its first sighting and never again: not when it comes back the
// same day (within novelty) or the next week, whether evaluated every
// 15 minutes like cron, in one backtest, or by a fresh evaluator (a
// restart); a backtest of its first day finds the same stored alert.
func TestNewCodeAlertsOnceAcrossEvaluations(t *testing.T) {
	day := func(d, h, m int) time.Time { return time.Date(2026, 10, 5+d, h, m, 0, 0, time.UTC) }
	s := synth.Scenario{Seed: 23, Start: day(0, 0, 0), Duration: 16 * 24 * time.Hour, Rate: 100,
		Seasonality: synth.Seasonality{Daily: 0.8},
		Incidents: []synth.Incident{
			{Kind: synth.NewCode, Provider: "paylera", Start: day(8, 10, 0), Length: 20 * time.Minute, Strength: 0.05, Code: "payout.frozen"},
			{Kind: synth.NewCode, Provider: "paylera", Start: day(8, 16, 0), Length: 20 * time.Minute, Strength: 0.05, Code: "payout.frozen"},
			{Kind: synth.NewCode, Provider: "paylera", Start: day(15, 10, 0), Length: 20 * time.Minute, Strength: 0.05, Code: "payout.frozen"},
		}}
	st, db, _ := migrated(t)
	writeRollups(t, st, s)
	analyze(t, db)
	ctx := testCtx(t, 5*time.Minute)
	count := func() (n int) {
		require.NoError(t, db.QueryRow(ctx, "SELECT count(*) FROM alerts WHERE rule = 'new_code'").Scan(&n))
		return n
	}
	ev := alerting.NewEvaluator(st, nil, nil)
	for end := day(8, 9, 45); end.Before(day(8, 17, 0)); end = end.Add(15 * time.Minute) {
		_, err := ev.Evaluate(ctx, end.Add(-alerting.DefaultLookback), end, false)
		require.NoError(t, err)
	}
	require.Equal(t, 1, count(), "once, not again that afternoon")
	var first int64
	require.NoError(t, db.QueryRow(ctx, "SELECT id FROM alerts WHERE rule = 'new_code'").Scan(&first))

	restarted := alerting.NewEvaluator(st, nil, nil)
	res, err := restarted.Evaluate(ctx, day(8, 17, 0), day(16, 0, 0), false)
	require.NoError(t, err)
	require.Empty(t, res.Alerts, "nor the week after")
	res, err = restarted.Evaluate(ctx, day(8, 0, 0), day(9, 0, 0), false)
	require.NoError(t, err)
	require.Len(t, res.Alerts, 1)
	require.Equal(t, first, res.Alerts[0].ID, "a backtest of its day finds the same alert")
	require.Equal(t, 1, count())
}
