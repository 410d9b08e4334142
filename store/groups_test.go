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
