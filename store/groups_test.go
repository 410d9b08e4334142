package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/store"
)

// Each group's hourly counts follow its events: written with the batch
// (several batches into one hour add up), moved when reclassification
// changes an event's fingerprint, and kept by rollup retention, not by
// the events'.
func TestGroupHoursFollowTheEvents(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	start := base.Truncate(time.Hour).Add(-30 * time.Minute) // across an hour's edge
	for i := range 3 {
		evs := events(start.Add(time.Duration(i)*17*time.Minute), "finix", 100*i, 40)
		for j := range evs {
			if j%4 == 0 {
				evs[j].Code = "LIMIT"
				evs[j].Fingerprint = "finix/LIMIT"
			}
		}
		require.NoError(t, st.WriteBatch(ctx, batchOf(src(int32(i)), store.NoOffset, 40, evs)))
	}
	require.Equal(t, 4, requireGroupHoursMatchEvents(t, db), "two groups, two hours")

	// Reclassification moves a third of the events to a new group.
	res, err := st.ReclassifyEvents(ctx, start, start.Add(3*time.Hour), func(e *store.StoredError) bool {
		if e.ID%3 == 0 {
			e.Fingerprint = "finix/DECLINED/other"
			return true
		}
		return false
	})
	require.NoError(t, err)
	require.Positive(t, res.Changed)
	require.Equal(t, 6, requireGroupHoursMatchEvents(t, db), "three groups, two hours")
	// Again: nothing changes.
	_, err = st.ReclassifyEvents(ctx, start, start.Add(3*time.Hour), func(e *store.StoredError) bool {
		if e.ID%3 == 0 {
			e.Fingerprint = "finix/DECLINED/other"
			return true
		}
		return false
	})
	require.NoError(t, err)
	require.Equal(t, 6, requireGroupHoursMatchEvents(t, db))

	// Rollup retention deletes the hours it keeps no more; events
	// retention leaves them.
	_, _, err = st.ApplyRetention(ctx, start.Add(24*time.Hour), 0, 23*time.Hour+30*time.Minute)
	require.NoError(t, err)
	var hours []time.Time
	rows, err := db.Query(ctx, `SELECT DISTINCT hour FROM rollup_groups_hourly ORDER BY 1`)
	require.NoError(t, err)
	for rows.Next() {
		var h time.Time
		require.NoError(t, rows.Scan(&h))
		hours = append(hours, h.UTC())
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []time.Time{start.Add(30 * time.Minute)}, hours, "the first hour ends before the cutoff: gone")
}

// TestReadGroups: a group's hours, the last hour it had events before a
// given one, its sample's status when it has no code, its latest events
// with the tenants and services among them, and one event by its key.
func TestReadGroups(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	day := base.Truncate(24 * time.Hour)
	var evs []store.Event
	// A coded group on days 0 and 9, a codeless one (a 503) on day 9.
	for i, ts := range []time.Time{day.Add(time.Hour), day.Add(2 * time.Hour), day.Add(9*24*time.Hour + 3*time.Hour),
		day.Add(9*24*time.Hour + 3*time.Hour + time.Minute), day.Add(9*24*time.Hour + 5*time.Hour)} {
		e := event(ts, "finix", "DECLINED", i)
		e.Tenant = []string{"acme", "globex"}[i%2]
		evs = append(evs, e)
	}
	for i := range 3 {
		e := event(day.Add(9*24*time.Hour+time.Duration(i)*time.Hour), "finix", "", 10+i)
		e.Status, e.Category, e.Fingerprint, e.Subcode = 503, "provider_error", "finix/503", ""
		evs = append(evs, e)
	}
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, int64(len(evs)), evs)))

	from, to := day.Add(9*24*time.Hour), day.Add(10*24*time.Hour)
	hours, err := st.ReadGroupHours(ctx, from, to, "")
	require.NoError(t, err)
	got := map[string]int64{}
	for _, h := range hours {
		got[h.Fingerprint+" "+h.Hour.Format("15")] += h.Count
	}
	fp := evs[0].Fingerprint
	require.Equal(t, map[string]int64{fp + " 03": 2, fp + " 05": 1, "finix/503 00": 1, "finix/503 01": 1, "finix/503 02": 1}, got)
	one, err := st.ReadGroupHours(ctx, from, to, "finix/503")
	require.NoError(t, err)
	require.Len(t, one, 3)
	_, err = st.ReadGroupHours(ctx, from.Add(time.Minute), to, "")
	require.ErrorContains(t, err, "whole hours")

	groups, err := st.ReadGroups(ctx, store.GroupsQuery{Fingerprints: []string{fp, "finix/503", "nope"},
		Back: []time.Time{from.Add(3 * time.Hour), from, {}}})
	require.NoError(t, err)
	require.Len(t, groups, 2, "an unknown fingerprint is no group")
	byFP := map[string]store.Group{}
	for _, g := range groups {
		byFP[g.Fingerprint] = g
	}
	require.Equal(t, day.Add(2*time.Hour), byFP[fp].LastBefore, "seen last in the hour of 02:00 on day 0")
	require.EqualValues(t, 5, byFP[fp].Total)
	require.Zero(t, byFP[fp].SampleStatus, "a coded group's status is not read")
	require.True(t, byFP["finix/503"].LastBefore.IsZero(), "nothing before")
	require.Equal(t, 503, byFP["finix/503"].SampleStatus)
	filtered, err := st.ReadGroups(ctx, store.GroupsQuery{Fingerprints: []string{fp, "finix/503"}, Back: []time.Time{{}, {}}, Category: "provider_error"})
	require.NoError(t, err)
	require.Len(t, filtered, 1)
	require.Equal(t, "finix/503", filtered[0].Fingerprint)
	_, err = st.GetGroup(ctx, "nope", time.Time{})
	require.ErrorIs(t, err, store.ErrNoGroup)

	ge, err := st.ReadGroupEvents(ctx, fp, day, to, 2, 10)
	require.NoError(t, err)
	require.Len(t, ge.Events, 2)
	require.Equal(t, evs[4].TS, ge.Events[0].TS, "newest first")
	require.Equal(t, 5, ge.Read)
	require.False(t, ge.Sampled)
	require.Equal(t, map[string]int64{"acme": 3, "globex": 2}, ge.Tenants)
	ge, err = st.ReadGroupEvents(ctx, fp, day, to, 2, 3)
	require.NoError(t, err)
	require.True(t, ge.Sampled, "more events than read")

	e, err := st.ReadEvent(ctx, ge.Events[0].ID, ge.Events[0].TS)
	require.NoError(t, err)
	require.Equal(t, evs[4].CorrelationID, e.CorrelationID)
	require.Contains(t, e.Body, "DECLINED")
	require.EqualValues(t, 5, e.GroupCount)
	_, err = st.ReadEvent(ctx, ge.Events[0].ID, ge.Events[0].TS.Add(time.Second))
	require.ErrorIs(t, err, store.ErrNotStored)
}

// TestReadIncident: the errors and requests of an incident's window are
// counted exactly; the window is cut in strata of equal length, each with
// its latest events, newest first, that belong to it and to the incident.
func TestReadIncident(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	start := base.Truncate(time.Hour)
	var evs []store.Event
	for i := range 300 {
		e := event(start.Add(time.Duration(i)*12*time.Second), "finix", "DECLINED", i) // an hour
		if i%3 == 0 {
			e.Code, e.Fingerprint = "LIMIT", "finix/LIMIT"
			e.Category = "rate_limit"
		}
		evs = append(evs, e)
	}
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, int64(len(evs)), evs)))
	from, to := start.Add(10*time.Minute), start.Add(40*time.Minute)
	inc, err := st.ReadIncident(ctx, store.IncidentQuery{Provider: "finix", Categories: []string{"decline"},
		From: from, To: to, Strata: 6, PerStratum: 4})
	require.NoError(t, err)
	var declines, requests int64
	for _, e := range evs {
		if !e.TS.Before(from) && e.TS.Before(to) {
			requests++ // each test event is a request
			if e.Code == "DECLINED" {
				declines++
			}
		}
	}
	require.Equal(t, declines, inc.Errors)
	require.Equal(t, requests, inc.Requests)
	require.Equal(t, []store.CodeCount{{Code: "DECLINED", Count: declines}}, inc.Codes)
	require.Len(t, inc.Strata, 6)
	for i, s := range inc.Strata {
		require.Equal(t, from.Add(time.Duration(i)*5*time.Minute), s.From)
		require.Equal(t, s.From.Add(5*time.Minute), s.To)
		require.Len(t, s.Events, 4)
		require.True(t, s.Full, "25 events a stratum, 4 read")
		for j, e := range s.Events {
			require.Equal(t, "DECLINED", e.Code)
			require.False(t, e.TS.Before(s.From) || !e.TS.Before(s.To), "in its stratum")
			if j > 0 {
				require.True(t, e.TS.Before(s.Events[j-1].TS), "newest first")
			}
		}
	}
	one, err := st.ReadIncident(ctx, store.IncidentQuery{Provider: "finix", Categories: []string{"rate_limit"}, Code: "LIMIT",
		From: from, To: from.Add(3 * time.Second), Strata: 15, PerStratum: 10})
	require.NoError(t, err)
	require.Len(t, one.Strata, 3, "slices of a second at least")
	_, err = st.ReadIncident(ctx, store.IncidentQuery{Provider: "finix", From: to, To: from, Strata: 6, PerStratum: 4})
	require.Error(t, err)
}
