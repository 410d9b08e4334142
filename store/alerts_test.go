package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// alertAt is a decline alert of finix that started at start.
func alertAt(start time.Time) store.Alert {
	return store.Alert{
		Rule: "decline_spike", Provider: "finix", Category: "decline", Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS",
		Severity: "warning", Series: `["DECLINED","INSUFFICIENT_FUNDS"]`, Expected: 0.01, CloseBelow: 0.02,
		Observed: 0.06, ObservedCount: 21, ObservedRequests: 350,
		StartsAt: start, DetectedAt: start.Add(5 * time.Minute), LastEvaluated: start.Add(5 * time.Minute),
		PagedAt: start.Add(5 * time.Minute), Summary: "finix decline rate", Context: store.AlertContext{TopCodes: []store.CodeCount{{Code: "DECLINED", Count: 21}}},
	}
}

func save(t *testing.T, st *store.Store, a *store.Alert) error {
	t.Helper()
	return st.RunAlerts(testCtx(t), true, func(r *store.AlertRun) error { return r.SaveAlert(testCtx(t), a, time.Minute) })
}

// TestSaveAlertContinuesTheIncident: saving the same incident again, by
// id or derived anew with a start a little off, updates its row; the
// category, code and thresholds it opened with stay; a firing row of the
// same rule, provider and subject cannot be doubled; a later incident is a
// row of its own.
func TestSaveAlertContinuesTheIncident(t *testing.T) {
	st, db := migrated(t)
	a := alertAt(base)
	require.NoError(t, save(t, st, &a))
	require.NotZero(t, a.ID)
	id := a.ID

	b := alertAt(base.Add(time.Minute)) // derived again, a minute later start
	b.Code, b.Expected = "OTHER", 0.5
	b.LastEvaluated, b.Observed = base.Add(20*time.Minute), 0.09
	require.NoError(t, save(t, st, &b))
	require.Equal(t, id, b.ID)
	require.Equal(t, "DECLINED", b.Code, "what identifies the incident stays")
	require.Equal(t, 0.01, b.Expected)
	require.Equal(t, base, b.StartsAt, "the earlier start stays")

	b.EndsAt, b.ResolvedAt = base.Add(40*time.Minute), base.Add(50*time.Minute)
	require.NoError(t, save(t, st, &b))
	require.Equal(t, id, b.ID)

	later := alertAt(base.Add(3 * time.Hour))
	require.NoError(t, save(t, st, &later))
	require.NotEqual(t, id, later.ID)

	// A second firing row for the same key is refused by the index.
	var n int
	require.NoError(t, db.QueryRow(testCtx(t), "SELECT count(*) FROM alerts").Scan(&n))
	require.Equal(t, 2, n)
	_, err := db.Exec(testCtx(t), `INSERT INTO alerts (rule, provider, subject, severity, expected, close_below, observed, starts_at, detected_at, last_evaluated, paged_at)
		VALUES ('decline_spike', 'finix', '', 'warning', 0, 0, 0, now(), now(), now(), now())`)
	require.ErrorContains(t, err, "alerts_one_open_idx")

	// Read-only runs cannot save.
	err = st.RunAlerts(testCtx(t), false, func(r *store.AlertRun) error { return r.SaveAlert(testCtx(t), &later, 0) })
	require.ErrorIs(t, err, store.ErrReadOnly)
}

// TestSavedAlertsKeepEveryField: what the detectors find is what the store
// gives back, every field of detect.Alert (the store's Alert); a page sent
// is never taken back, a suppression's end can be learned later, and new
// codes' alerts are found by provider and code.
func TestSavedAlertsKeepEveryField(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	parent := alertAt(base)
	require.NoError(t, save(t, st, &parent))
	a := store.Alert{
		Rule: detect.NewCode, Provider: "finix", Subject: "key_version_mismatch", Category: classify.Auth,
		Code: "key_version_mismatch", Severity: "critical", Series: "key_version_mismatch",
		Expected: 0.001, Level: 0.2, CloseBelow: 0.05, Evidence: 23.5,
		Observed: 0.3, ObservedCount: 30, ObservedRequests: 100, ObservedWindow: 7 * time.Minute,
		StartsAt: base.Add(time.Minute), EndsAt: base.Add(20 * time.Minute), DetectedAt: base.Add(2 * time.Minute),
		ResolvedAt: base.Add(50 * time.Minute), LastEvaluated: base.Add(50 * time.Minute),
		Suppression: detect.Suppression{Reason: detect.Joined, Until: base.Add(45 * time.Minute), Detail: "part of decline_spike finix"},
		ParentID:    parent.ID, Summary: "finix returns a code never seen before",
		Context: store.AlertContext{From: base, To: base.Add(time.Hour), TopCodes: []store.CodeCount{{Code: "key_version_mismatch", Count: 30}},
			TopEndpoints: []store.EndpointCount{{Method: "POST", Endpoint: "/transfers", Count: 30}}, TenantsAffected: 2,
			SampleCorrelationID: "abc", SampledEvents: 30,
			Joined: []detect.JoinedAlert{{Rule: detect.AuthFailure, Category: classify.Auth, Severity: "critical",
				DetectedAt: base.Add(3 * time.Minute), Summary: "finix auth failures"}}},
	}
	require.NoError(t, save(t, st, &a))
	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	got.Context.From, got.Context.To = got.Context.From.UTC(), got.Context.To.UTC()
	got.Context.Joined[0].DetectedAt = got.Context.Joined[0].DetectedAt.UTC()
	a.UpdatedAt = got.UpdatedAt
	require.Equal(t, a, got)

	// A later evaluation pages it (it outlasted its parent): kept; one that
	// would not page it again cannot take it back.
	a.PagedAt = base.Add(46 * time.Minute)
	require.NoError(t, save(t, st, &a))
	a.PagedAt = time.Time{}
	require.NoError(t, save(t, st, &a))
	require.Equal(t, base.Add(46*time.Minute), a.PagedAt)

	var found []store.Alert
	require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error {
		found, err = r.CodeAlerts(ctx, []store.ProviderCode{{Provider: "finix", Code: "key_version_mismatch"}, {Provider: "paylera", Code: "x"}})
		return err
	}))
	require.Len(t, found, 1)
	require.Equal(t, a.ID, found[0].ID)

	// An alert that pages has a page time; one suppressed needs a reason.
	_, err = db.Exec(ctx, `INSERT INTO alerts (rule, provider, severity, expected, close_below, observed, starts_at, detected_at, last_evaluated)
		VALUES ('auth_failure', 'finix', 'warning', 0, 0, 0, now(), now(), now())`)
	require.ErrorContains(t, err, "alerts_paged_check")
}

// TestAlertsAsOfAMinute: an evaluation starting with a minute finds open
// the alerts opened before it and not closed before it; closed ones by the
// minute that closed them; ListAlerts those overlapping a window.
func TestAlertsAsOfAMinute(t *testing.T) {
	st, _ := migrated(t)
	a := alertAt(base) // detected base+5m
	a.EndsAt, a.ResolvedAt = base.Add(30*time.Minute), base.Add(40*time.Minute)
	require.NoError(t, save(t, st, &a))
	firing := alertAt(base.Add(2 * time.Hour))
	firing.Rule = "provider_outage"
	require.NoError(t, save(t, st, &firing))

	ctx := testCtx(t)
	openAt := func(at time.Time) (out []string) {
		require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error {
			open, err := r.OpenAlertsAt(ctx, at)
			for _, o := range open {
				out = append(out, string(o.Rule))
			}
			return err
		}))
		return out
	}
	require.Empty(t, openAt(base.Add(4*time.Minute)), "not yet detected")
	require.Equal(t, []string{"decline_spike"}, openAt(base.Add(5*time.Minute)))
	require.Equal(t, []string{"decline_spike"}, openAt(base.Add(39*time.Minute)), "the minute that closes it is evaluated again")
	require.Empty(t, openAt(base.Add(40*time.Minute)))
	require.Equal(t, []string{"provider_outage"}, openAt(base.Add(3*time.Hour)))

	require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error {
		closed, err := r.ClosedAlerts(ctx, base, base.Add(40*time.Minute))
		require.Len(t, closed, 1)
		return err
	}))

	list, err := st.ListAlerts(ctx, base.Add(31*time.Minute), base.Add(2*time.Hour))
	require.NoError(t, err)
	require.Empty(t, list, "ended before, starts at the window's end")
	list, err = st.ListAlerts(ctx, base.Add(30*time.Minute), base.Add(2*time.Hour+time.Second))
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, a.ID, list[0].ID)
	require.Equal(t, a.Context.TopCodes, list[0].Context.TopCodes)
	list, err = st.ListAlerts(ctx, base.Add(30*24*time.Hour), base.Add(31*24*time.Hour))
	require.NoError(t, err)
	require.Len(t, list, 1, "a firing alert belongs to every window after its start")
}

// TestAlertContextReadsTheWindowThroughTheIndex: the context of an
// incident counts codes, endpoints and tenants of its window only, takes
// the latest correlation id, bounds the events it reads, and its events
// query is planned on the (fingerprint, ts) index of the window's
// partitions only.
func TestAlertContextReadsTheWindowThroughTheIndex(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var evs []store.Event
	for i := range 60 { // one a minute over an hour, in the window
		e := event(day.Add(10*time.Hour+time.Duration(i)*time.Minute), "finix", "DECLINED", i)
		e.Tenant = fmt.Sprintf("tenant-%d", i%7)
		if i%3 == 0 {
			e.Endpoint = "/transfers"
			e.Fingerprint += "/t"
		}
		evs = append(evs, e)
	}
	for i := range 20 { // outside the window, the day before
		e := event(day.Add(-12*time.Hour+time.Duration(i)*time.Minute), "finix", "DECLINED", 100+i)
		e.Tenant = "elsewhere"
		evs = append(evs, e)
	}
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, int64(len(evs)), evs)))
	_, err := db.Exec(ctx, "ANALYZE")
	require.NoError(t, err)

	q := store.ContextQuery{Provider: "finix", Categories: []string{"decline"}, From: day.Add(10 * time.Hour), To: day.Add(11 * time.Hour)}
	var c store.AlertContext
	require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) (err error) {
		c, err = r.AlertContext(ctx, q)
		return err
	}))
	require.Equal(t, []store.CodeCount{{Code: "DECLINED", Count: 60}}, c.TopCodes)
	require.Equal(t, 7, c.TenantsAffected)
	require.Equal(t, "req_finix_59", c.SampleCorrelationID, "the latest")
	require.Equal(t, 60, c.SampledEvents)
	require.False(t, c.Sampled)
	require.Equal(t, []store.EndpointCount{{Method: "POST", Endpoint: "/v1/orders/{id}/payments", Count: 40}, {Method: "POST", Endpoint: "/transfers", Count: 20}}, c.TopEndpoints)

	q.MaxEvents = 10
	require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) (err error) {
		c, err = r.AlertContext(ctx, q)
		return err
	}))
	require.True(t, c.Sampled)
	require.Equal(t, 10, c.SampledEvents)

	// The plan: only the window's partition, through the index.
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET enable_seqscan = off")
	require.NoError(t, err)
	var plan strings.Builder
	rows, err := conn.Query(ctx, "EXPLAIN "+store.ContextEventsQuery,
		[]string{evs[0].Fingerprint, evs[0].Fingerprint + "/t"}, q.From, q.To, 5000)
	require.NoError(t, err)
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	require.Contains(t, plan.String(), "events_p20261102_fingerprint_ts_idx", plan.String())
	require.NotContains(t, plan.String(), "events_p20261101", "other days' partitions are pruned")
	require.NotContains(t, plan.String(), "Seq Scan")
}
