package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// rollupRecorder keeps what ReadRollups hands it, summed by key.
type rollupRecorder struct {
	requests, errors, hourlyRequests, hourlyErrors map[string]int64
}

func newRollupRecorder() *rollupRecorder {
	return &rollupRecorder{map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}}
}

func rollupKey(t time.Time, parts ...string) string {
	k := t.UTC().Format("15:04")
	for _, p := range parts {
		k += " " + p
	}
	return k
}

func (r *rollupRecorder) AddRequests(t time.Time, provider string, n int64) {
	r.requests[rollupKey(t, provider)] += n
}

func (r *rollupRecorder) AddErrors(t time.Time, provider string, c classify.Category, code, subcode string, n int64) {
	r.errors[rollupKey(t, provider, string(c), code, subcode)] += n
}

func (r *rollupRecorder) AddHourlyRequests(t time.Time, provider string, n int64) {
	r.hourlyRequests[rollupKey(t, provider)] += n
}

func (r *rollupRecorder) AddHourlyErrors(t time.Time, provider string, c classify.Category, code, subcode string, n int64) {
	r.hourlyErrors[rollupKey(t, provider, string(c), code, subcode)] += n
}

// TestReadRollupsReadsHoursFromTheHourlyRollups: the hours of a query come
// from the hourly rollups that the writer keeps with the per-minute ones
// (they are read even once the per-minute rows are gone), summed over
// endpoints, only for the categories asked, with codes for the detailed
// ones only; its minutes come from the per-minute rollups, the errors of
// the categories and of the provider codes asked; hours that are not
// whole are refused.
func TestReadRollupsReadsHoursFromTheHourlyRollups(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	h0 := base.Add(-3 * time.Hour) // 07:00
	b := &store.Batch{Source: src(0), ExpectedOffset: store.NoOffset, NextOffset: 1}
	for _, m := range []time.Duration{0, 10 * time.Minute, 59 * time.Minute, 60 * time.Minute, 3*time.Hour + 5*time.Minute} {
		at := h0.Add(m)
		b.Requests = append(b.Requests,
			store.RequestRollup{Minute: at, Provider: "finix", Endpoint: "/a", Requests: 10, Errors: 3},
			store.RequestRollup{Minute: at, Provider: "finix", Endpoint: "/b", Requests: 5})
		b.Errors = append(b.Errors,
			store.ErrorRollup{Minute: at, Provider: "finix", Category: classify.Decline, Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS", Count: 1},
			store.ErrorRollup{Minute: at, Provider: "finix", Category: classify.Timeout, Code: "T1", Count: 1},
			store.ErrorRollup{Minute: at, Provider: "finix", Category: classify.Timeout, Code: "T2", Count: 1},
			store.ErrorRollup{Minute: at, Provider: "finix", Category: classify.Validation, Code: "INVALID", Count: 1})
	}
	b.Errors = append(b.Errors, store.ErrorRollup{Minute: base.Add(5 * time.Minute), Provider: "paylera", Category: classify.Validation, Code: "INVALID", Count: 1})
	require.NoError(t, st.WriteBatch(ctx, b))
	// The per-minute rows of the hours go: what is read of them comes
	// from the hourly rollups.
	for _, table := range []string{"rollup_requests", "rollup_errors"} {
		_, err := db.Exec(ctx, "DELETE FROM "+table+" WHERE minute < $1", base)
		require.NoError(t, err)
	}

	q := store.RollupQuery{
		Minutes:    store.TimeRange{From: base, To: base.Add(time.Hour)},
		Hours:      []store.TimeRange{{From: h0, To: h0.Add(2 * time.Hour)}},
		Categories: []string{"decline", "timeout"}, Detailed: []string{"decline"},
		Codes: []store.ProviderCode{{Provider: "finix", Code: "INVALID"}},
	}
	got := newRollupRecorder()
	require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error { return r.ReadRollups(ctx, q, got) }))
	require.Equal(t, map[string]int64{"07:00 finix": 45, "08:00 finix": 15}, got.hourlyRequests)
	require.Equal(t, map[string]int64{
		"07:00 finix decline DECLINED INSUFFICIENT_FUNDS": 3, "07:00 finix timeout  ": 6,
		"08:00 finix decline DECLINED INSUFFICIENT_FUNDS": 1, "08:00 finix timeout  ": 2,
	}, got.hourlyErrors)
	require.Equal(t, map[string]int64{"10:05 finix": 15}, got.requests)
	require.Equal(t, map[string]int64{
		"10:05 finix decline DECLINED INSUFFICIENT_FUNDS": 1, "10:05 finix timeout T1 ": 1,
		"10:05 finix timeout T2 ": 1, "10:05 finix validation INVALID ": 1,
	}, got.errors)

	for _, hours := range []store.TimeRange{
		{From: h0.Add(30 * time.Minute), To: h0.Add(2 * time.Hour)},
		{From: h0, To: h0.Add(90 * time.Minute)},
		{From: h0, To: h0},
	} {
		q.Hours = []store.TimeRange{hours}
		err := st.RunAlerts(ctx, false, func(r *store.AlertRun) error { return r.ReadRollups(ctx, q, newRollupRecorder()) })
		require.ErrorContains(t, err, "not whole hours")
	}
}
