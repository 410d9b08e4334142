package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// TestAlertHistory stores 40 alerts of two providers and rules over 40
// hours, some firing, some suppressed: each filter selects what it says,
// firing ones first then newest first, and pages of 6 list every alert
// once.
func TestAlertHistory(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	var all []store.Alert
	for i := range 40 {
		a := alertAt(base.Add(time.Duration(i) * time.Hour))
		a.Subject = fmt.Sprint(i) // one incident each
		if i%2 == 1 {
			a.Provider = "paylera"
		}
		if i%3 == 0 {
			a.Rule, a.Severity = "provider_outage", "critical"
		}
		if i%5 != 0 { // every fifth fires on
			a.EndsAt, a.ResolvedAt = a.StartsAt.Add(20*time.Minute), a.StartsAt.Add(21*time.Minute)
		}
		if i%7 == 0 {
			a.PagedAt = time.Time{}
			a.Suppression = detect.Suppression{Reason: detect.Recurring, Detail: "every week"}
		}
		require.NoError(t, save(t, st, &a))
		all = append(all, a)
	}
	list := func(f store.AlertFilter) []int64 {
		t.Helper()
		f.Limit = 6
		var ids []int64
		for range 20 {
			p, err := st.ListAlertHistory(ctx, f)
			require.NoError(t, err)
			for _, a := range p.Alerts {
				ids = append(ids, a.ID)
			}
			if !p.More {
				return ids
			}
			last := p.Alerts[len(p.Alerts)-1]
			f.AfterID, f.AfterStartsAt, f.AfterFiring = last.ID, last.StartsAt, last.Firing()
		}
		t.Fatal("too many pages")
		return nil
	}
	want := func(keep func(a *store.Alert) bool, from, to time.Time) []int64 {
		var firing, others []int64
		for i := len(all) - 1; i >= 0; i-- { // newest first
			a := &all[i]
			if !keep(a) || !a.StartsAt.Before(to) || !a.Firing() && a.EndsAt.Before(from) {
				continue
			}
			if a.Firing() {
				firing = append(firing, a.ID)
			} else {
				others = append(others, a.ID)
			}
		}
		return append(firing, others...)
	}
	from, to := base, base.Add(48*time.Hour)
	for _, tc := range []struct {
		name string
		f    store.AlertFilter
		keep func(a *store.Alert) bool
	}{
		{"everything", store.AlertFilter{}, func(*store.Alert) bool { return true }},
		{"a provider", store.AlertFilter{Provider: "paylera"}, func(a *store.Alert) bool { return a.Provider == "paylera" }},
		{"a rule", store.AlertFilter{Rule: "provider_outage"}, func(a *store.Alert) bool { return a.Rule == "provider_outage" }},
		{"a severity", store.AlertFilter{Severity: "warning"}, func(a *store.Alert) bool { return a.Severity == "warning" }},
		{"firing", store.AlertFilter{Status: "firing"}, func(a *store.Alert) bool { return a.Firing() }},
		{"resolved", store.AlertFilter{Status: "resolved"}, func(a *store.Alert) bool { return !a.Firing() }},
		{"suppressed", store.AlertFilter{Status: "suppressed"}, func(a *store.Alert) bool { return a.Suppression.Reason != "" }},
		{"paged", store.AlertFilter{Status: "paged", Provider: "finix"}, func(a *store.Alert) bool { return a.Paging() && a.Provider == "finix" }},
	} {
		f := tc.f
		f.From, f.To = from, to
		got := list(f)
		require.Equal(t, want(tc.keep, from, to), got, tc.name)
		require.NotEmpty(t, got, tc.name)
	}
	// A window of the past: the alerts overlapping it, and the firing
	// ones that started before its end.
	f := store.AlertFilter{From: base.Add(10 * time.Hour), To: base.Add(12*time.Hour + 30*time.Minute)}
	require.Equal(t, want(func(*store.Alert) bool { return true }, f.From, f.To), list(f))

	_, err := st.ListAlertHistory(ctx, store.AlertFilter{From: from, To: to, Limit: 5, Status: "snoozed"})
	require.ErrorContains(t, err, `status "snoozed"`)
	_, err = st.ListAlertHistory(ctx, store.AlertFilter{From: to, To: from, Limit: 5})
	require.ErrorContains(t, err, "empty window")
}
