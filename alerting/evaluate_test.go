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
