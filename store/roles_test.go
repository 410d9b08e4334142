package store_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

// loginAs creates a login user, member of the group role, for the test's
// duration, and returns url with that user.
func loginAs(t *testing.T, admin, dbURL, group string) string {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	user := group + "_test_" + hex.EncodeToString(rnd[:])
	db := rawPool(t, admin)
	_, err := db.Exec(testCtx(t), "CREATE ROLE "+pgx.Identifier{user}.Sanitize()+" LOGIN IN ROLE "+pgx.Identifier{group}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = db.Exec(testCtx(t), "DROP ROLE IF EXISTS "+pgx.Identifier{user}.Sanitize()) })
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	u.User = url.User(user)
	return u.String()
}

// TestLeastPrivilege: the writer role does everything ingestion does
// (partitions ahead, batches, retention, reclassification) and cannot drop
// or truncate a table or delete events; the reader role reads and cannot
// write anything.
func TestLeastPrivilege(t *testing.T) {
	dbURL := pgtest.New(t)
	owner := open(t, dbURL)
	_, err := owner.Migrate(testCtx(t))
	require.NoError(t, err)
	ctx := testCtx(t)

	writerURL := loginAs(t, dbURL, dbURL, "faultline_writer")
	w := open(t, writerURL)
	require.NoError(t, w.CheckSchema(ctx))
	now := time.Now().UTC()
	require.NoError(t, w.EnsurePartitions(ctx, now.Add(-48*time.Hour), now.Add(72*time.Hour)), "partitions ahead")
	old := now.Add(-10 * 24 * time.Hour)
	b := batchOf(src(0), store.NoOffset, 2, append(events(old, "finix", 0, 1), events(now, "finix", 1, 1)...))
	require.NoError(t, w.WriteBatch(ctx, b), "a batch, with a partition for an old day")
	_, err = w.ReclassifyEvents(ctx, now.Add(-time.Hour), now.Add(time.Hour), func(e *store.StoredError) bool {
		e.Category = "provider_error"
		return true
	})
	require.NoError(t, err, "reclassification")
	eb := batchOf(src(1), store.NoOffset, 1, events(now, "finix", 7, 1))
	eb.Endpoints = []store.EndpointName{{Provider: "finix", Method: "POST", Endpoint: "/v1/orders/{id}/payments"}}
	require.NoError(t, w.WriteBatch(ctx, eb), "a batch registering its endpoints")
	_, ran, err := w.LearnTemplates(ctx, func([]endpoints.Observation, []endpoints.Learned) []endpoints.Learned {
		return []endpoints.Learned{{Rule: classify.Rule{Provider: "finix", Method: "POST", Pattern: "/v1/*/{id}/payments"}, Values: 200}}
	})
	require.NoError(t, err, "learning endpoint templates")
	require.True(t, ran)
	folded, err := w.FoldEndpoints(ctx, []endpoints.Move{{Provider: "finix", From: "/v1/orders/{id}/payments", To: "/v1/{id}/{id}/payments"}})
	require.NoError(t, err, "folding endpoints")
	require.Equal(t, int64(1), folded.Endpoints)
	dropped, _, err := w.ApplyRetention(ctx, now, 5*24*time.Hour, 5*24*time.Hour)
	require.NoError(t, err, "retention")
	require.NotEmpty(t, dropped, "the old day's partition was dropped by the writer")

	wdb := rawPool(t, writerURL)
	for _, stmt := range []string{
		"DROP TABLE events",
		"DROP TABLE " + pgx.Identifier{"events_p" + now.Format("20060102")}.Sanitize(),
		"DROP TABLE consumer_offsets",
		"TRUNCATE rollup_errors",
		"DELETE FROM events",
		"ALTER TABLE events ADD COLUMN x int",
		"CREATE TABLE sneaky (x int)",
		"DELETE FROM consumer_offsets",
	} {
		_, err := wdb.Exec(ctx, stmt)
		require.Error(t, err, "the writer may not: %s", stmt)
		require.Contains(t, err.Error(), "42501", "refused for lack of privilege: %s", stmt)
	}

	readerURL := loginAs(t, dbURL, dbURL, "faultline_reader")
	rdb := rawPool(t, readerURL)
	r, err := store.Open(ctx, readerURL, store.ReadOnly())
	require.NoError(t, err)
	defer r.Close()
	uses, err := r.EndpointUsage(ctx, now.Add(-time.Hour), now.Add(time.Hour))
	require.NoError(t, err, "report endpoints reads")
	require.NotEmpty(t, uses)
	rules, err := r.TemplateRules(ctx)
	require.NoError(t, err)
	require.Len(t, rules, 1)
	// The reads of search, groups, alert history and escalations.
	page, err := r.SearchEvents(ctx, store.SearchQuery{Tenant: "merchant-7", Code: "DECLINED", From: now.Add(-time.Hour), To: now.Add(time.Hour), Limit: 10})
	require.NoError(t, err, "search")
	require.Len(t, page.Events, 2)
	hours, err := r.ReadGroupHours(ctx, now.Truncate(time.Hour).Add(-time.Hour), now.Truncate(time.Hour).Add(time.Hour), "")
	require.NoError(t, err, "group hours")
	require.NotEmpty(t, hours)
	groups, err := r.ReadGroups(ctx, store.GroupsQuery{Fingerprints: []string{hours[0].Fingerprint}, Back: []time.Time{now}})
	require.NoError(t, err, "groups")
	require.Len(t, groups, 1)
	_, err = r.ReadGroupEvents(ctx, hours[0].Fingerprint, now.Add(-time.Hour), now.Add(time.Hour), 5, 50)
	require.NoError(t, err, "a group's events")
	_, err = r.ListAlertHistory(ctx, store.AlertFilter{From: now.Add(-time.Hour), To: now, Limit: 5})
	require.NoError(t, err, "alert history")
	_, err = r.ReadIncident(ctx, store.IncidentQuery{Provider: "finix", Categories: []string{"decline"}, From: now.Add(-time.Hour), To: now.Add(time.Hour), Strata: 3, PerStratum: 5})
	require.NoError(t, err, "an incident")
	var n int
	require.NoError(t, rdb.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&n))
	require.Equal(t, 2, n, "today's two events; the old day's went with retention")
	require.NoError(t, rdb.QueryRow(ctx, "SELECT count(*) FROM rollup_errors JOIN error_groups USING (provider)").Scan(&n))
	for _, stmt := range []string{
		"INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ('g', 't', 0, 1)",
		"UPDATE events SET category = 'x'",
		"DELETE FROM dead_letters",
		"UPDATE rollup_errors SET count = 0",
		"UPDATE rollup_groups_hourly SET count = 0",
		"DROP INDEX events_tenant_ts_idx",
		"DROP TABLE events",
		"SELECT faultline_drop_event_partitions_before(now())",
		"SELECT faultline_create_event_partitions(ARRAY['2030-01-01'::date])",
	} {
		_, err := rdb.Exec(ctx, stmt)
		require.Error(t, err, "the reader may not: %s", stmt)
		require.Contains(t, err.Error(), "42501", "refused for lack of privilege: %s", stmt)
	}
}

// TestAlerterRole: the alerter role (report alerts) reads the rollups,
// groups and events an evaluation reads and stores alerts, under the
// advisory lock, and writes nothing else; the reader lists alerts and
// cannot store one.
func TestAlerterRole(t *testing.T) {
	dbURL := pgtest.New(t)
	owner := open(t, dbURL)
	_, err := owner.Migrate(testCtx(t))
	require.NoError(t, err)
	ctx := testCtx(t)
	require.NoError(t, owner.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 3, events(base, "finix", 0, 3))))

	al := open(t, loginAs(t, dbURL, dbURL, "faultline_alerter"))
	require.NoError(t, al.CheckSchema(ctx))
	a := alertAt(base)
	require.NoError(t, al.RunAlerts(ctx, true, func(r *store.AlertRun) error {
		q := store.RollupQuery{Minutes: store.TimeRange{From: base, To: base.Add(time.Hour)},
			Hours: []store.TimeRange{{From: base.Add(-2 * time.Hour), To: base}}, Categories: []string{"decline"}, Detailed: []string{"decline"}}
		if err := r.ReadRollups(ctx, q, &countingSink{}); err != nil {
			return err
		}
		if _, err := r.AlertContext(ctx, store.ContextQuery{Provider: "finix", Categories: []string{"decline"}, From: base, To: base.Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := r.OpenAlertsAt(ctx, base); err != nil {
			return err
		}
		if _, err := r.CodeAlerts(ctx, []store.ProviderCode{{Provider: "finix", Code: "X"}}); err != nil {
			return err
		}
		if err := r.SaveAlert(ctx, &a, time.Minute); err != nil {
			return err
		}
		// One that joined it, suppressed.
		child := alertAt(base)
		child.Rule, child.Subject, child.ParentID, child.PagedAt = "new_code", "X", a.ID, time.Time{}
		child.Suppression = detect.Suppression{Reason: detect.Joined, Detail: "part of decline_spike finix"}
		return r.SaveAlert(ctx, &child, time.Minute)
	}))
	require.NotZero(t, a.ID)
	adb := rawPool(t, loginAs(t, dbURL, dbURL, "faultline_alerter"))
	for _, stmt := range []string{"UPDATE rollup_errors SET count = 0", "DELETE FROM alerts", "DROP TABLE alerts", "INSERT INTO dead_letters (reason) VALUES ('x')"} {
		_, err := adb.Exec(ctx, stmt)
		require.Error(t, err, "the alerter may not: %s", stmt)
		require.Contains(t, err.Error(), "42501", stmt)
	}

	rd := open(t, loginAs(t, dbURL, dbURL, "faultline_reader"))
	list, err := rd.ListAlerts(ctx, base, base.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, list, 2, "the weekly report reads the week's alerts")
	b := alertAt(base.Add(5 * time.Hour))
	err = rd.RunAlerts(ctx, true, func(r *store.AlertRun) error { return r.SaveAlert(ctx, &b, 0) })
	require.ErrorContains(t, err, "42501")
}

// countingSink counts what ReadRollups hands it.
type countingSink struct{ rows int }

func (s *countingSink) AddRequests(time.Time, string, int64) { s.rows++ }
func (s *countingSink) AddErrors(time.Time, string, classify.Category, string, string, int64) {
	s.rows++
}
func (s *countingSink) AddHourlyRequests(time.Time, string, int64) { s.rows++ }
func (s *countingSink) AddHourlyErrors(time.Time, string, classify.Category, string, string, int64) {
	s.rows++
}
