package store_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// TestReadProviderWindow stores random events of two providers over three
// days and compares every window read (per minute, per hour with cut
// edges: the spans report.ReadProviderWindow asks ReadProviderRollups
// for) with the test's own count of the events.
func TestReadProviderWindow(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(1, 2))
	start := base.Truncate(24 * time.Hour)
	var evs []store.Event
	codes := []string{"DECLINED", "DECLINED", "DECLINED", "EXPIRED", "LIMIT"}
	for i := range 3000 {
		provider := "finix"
		if i%3 == 0 {
			provider = "paylera"
		}
		ts := start.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		e := event(ts, provider, codes[rng.IntN(len(codes))], i)
		e.Subcode = "" // batchOf rolls errors up by code only
		if e.Code == "LIMIT" {
			e.Category = "rate_limit"
		}
		evs = append(evs, e)
	}
	require.NoError(t, st.WriteBatch(ctx, batchOf(src(0), store.NoOffset, int64(len(evs)), evs)))

	for _, tc := range []struct {
		name     string
		from, to time.Time
		minutely bool
	}{
		{"an hour", start.Add(30*time.Hour + 7*time.Minute), start.Add(31*time.Hour + 7*time.Minute), true},
		{"six hours, the longest read per minute", start.Add(10 * time.Hour), start.Add(16 * time.Hour), true},
		{"a day with cut edges", start.Add(5*time.Hour + 13*time.Minute), start.Add(29*time.Hour + 51*time.Minute), false},
		{"everything and more", start.Add(-48 * time.Hour), start.Add(96 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := report.ReadProviderWindow(ctx, st, report.ProviderWindowOptions{Provider: "finix", From: tc.from, To: tc.to, TopN: 2})
			require.NoError(t, err)
			require.Equal(t, tc.minutely, w.Minutely)
			var n int64
			byCat, byCode := map[string]int64{}, map[string]int64{}
			bucket := time.Hour
			if tc.minutely {
				bucket = time.Minute
			}
			series := map[time.Time]int64{}
			for _, e := range evs {
				if e.Provider != "finix" || e.TS.Before(tc.from) || !e.TS.Before(tc.to) {
					continue
				}
				n++
				byCat[string(e.Category)]++
				byCode[e.Code+"/"+e.Subcode]++
				series[e.TS.Truncate(bucket)]++
			}
			require.Positive(t, n)
			require.Equal(t, n, w.Requests, "each test event is a request")
			require.Equal(t, n, w.Errors)
			require.Equal(t, byCat, w.ByCategory)
			require.Len(t, w.TopCodes, 2, "TopN")
			require.GreaterOrEqual(t, w.TopCodes[0].Count, w.TopCodes[1].Count)
			for _, c := range w.TopCodes {
				require.Equal(t, byCode[c.Code+"/"+c.Subcode], c.Count, c.Code)
			}
			require.Equal(t, "DECLINED", w.TopCodes[0].Code)
			got := map[time.Time]int64{}
			for i, p := range w.Series {
				require.Equal(t, p.Requests, p.Errors)
				got[p.Start] = p.Requests
				if i > 0 {
					require.True(t, w.Series[i-1].Start.Before(p.Start), "in time order")
				}
			}
			require.Equal(t, series, got)
		})
	}

	t.Run("an empty window is an error", func(t *testing.T) {
		_, err := report.ReadProviderWindow(ctx, st, report.ProviderWindowOptions{Provider: "finix", From: start, To: start.Add(30 * time.Second)})
		require.ErrorContains(t, err, "empty window")
	})
	t.Run("a provider without traffic", func(t *testing.T) {
		w, err := report.ReadProviderWindow(ctx, st, report.ProviderWindowOptions{Provider: "cheers", From: start, To: start.Add(72 * time.Hour)})
		require.NoError(t, err)
		require.Zero(t, w.Requests)
		require.Empty(t, w.Series)
		require.Empty(t, w.TopCodes)
	})
}

func TestGetAlert(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	a := store.Alert{Rule: "new_code", Provider: "finix", Subject: "X", Code: "X", Severity: "info",
		StartsAt: base, DetectedAt: base, LastEvaluated: base, Summary: "finix: X",
		Context: store.AlertContext{SampleCorrelationID: "req_1", TenantsAffected: 2}}
	require.NoError(t, st.RunAlerts(ctx, true, func(r *store.AlertRun) error { return r.SaveAlert(ctx, &a, time.Minute) }))
	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)
	require.Equal(t, "finix: X", got.Summary)
	require.Equal(t, "req_1", got.Context.SampleCorrelationID)
	require.True(t, got.Firing())
	_, err = st.GetAlert(ctx, a.ID+1)
	require.ErrorIs(t, err, store.ErrNoAlert)
}
