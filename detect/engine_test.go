package detect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
)

// monday is the first minute of the simulated history.
var monday = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)

func at(day int, hour, minute int) time.Time {
	return monday.Add(time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// finix is a busy provider with declines spread over four failure codes
// and a little of every other kind of error; extra adds to its errors.
func finix(perMinute func(time.Time) float64, extra ...errorRate) traffic {
	errs := []errorRate{
		{classify.Decline, "DECLINED", "GENERIC_DECLINE", constant(0.012)},
		{classify.Decline, "DECLINED", "INSUFFICIENT_FUNDS", constant(0.01)},
		{classify.Decline, "DECLINED", "EXPIRED_CARD", constant(0.008)},
		{classify.Decline, "DECLINED", "CALL_ISSUER", constant(0.01)},
		{classify.ProviderError, "UPSTREAM_PROCESSOR_ERROR", "", constant(0.004)},
		{classify.Timeout, "", "", constant(0.003)},
		{classify.RateLimit, "TOO_MANY_REQUESTS", "", constant(0.002)},
		{classify.Auth, "UNKNOWN", "", constant(0.001)},
		{classify.AuthExpired, "token_expired", "", constant(0.0005)},
		{classify.Validation, "INVALID_FIELD", "", constant(0.01)},
	}
	return traffic{provider: "finix", perMinute: perMinute, errs: withExtra(errs, extra)}
}

// withExtra adds the extra error rates to errs; one of a key already listed
// replaces it.
func withExtra(errs, extra []errorRate) []errorRate {
	for _, x := range extra {
		replaced := false
		for i, e := range errs {
			if e.category == x.category && e.code == x.code && e.subcode == x.subcode {
				errs[i], replaced = x, true
			}
		}
		if !replaced {
			errs = append(errs, x)
		}
	}
	return errs
}

// weeks3 is the history every test has: three weeks of finix.
func weeks3(seed uint64, tr ...traffic) []minuteRow {
	return simulate(seed, monday, at(21, 0, 0), tr...)
}

// show logs what an evaluation found.
func show(t *testing.T, got []Alert) {
	t.Helper()
	for _, a := range got {
		t.Logf("%s %s from %s detected %s ended %s %s paged %v %s: %s", a.Rule, a.Provider, a.StartsAt.Format("01-02 15:04"),
			a.DetectedAt.Format("15:04"), a.EndsAt.Format("15:04"), a.Severity, a.Paging(), a.Suppression.Reason, summary(&a))
	}
}

// TestSteadyTrafficFiresNothing: two weeks of seasonal traffic at every
// volume from a request every few minutes at night to hundreds a minute
// open nothing, and nothing at a provider whose few calls fail often.
func TestSteadyTrafficFiresNothing(t *testing.T) {
	for _, peak := range []float64{2, 20, 200} {
		tiny := traffic{provider: "cheers", perMinute: constant(0.1), errs: []errorRate{
			{classify.Auth, "AUTHORIZATION", "", constant(0.2)},
			{classify.Decline, "INSUFFICIENT_CREDIT", "", constant(0.1)},
		}}
		rows := weeks3(uint64(peak), finix(seasonal(peak)), tiny)
		got := evaluate(t, DefaultConfig(), rows, at(7, 0, 0), at(21, 0, 0), State{})
		show(t, got)
		require.Empty(t, got, "peak %v a minute", peak)
	}
}

func TestDeclineSpikeIsOneIncidentWithStartAndEnd(t *testing.T) {
	start := at(16, 14, 7)
	spike := errorRate{classify.Decline, "DECLINED", "GENERIC_DECLINE", during(0.012, 0.10, start, 40*time.Minute)}
	rows := weeks3(2, finix(seasonal(80), spike))
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	show(t, got)
	require.Len(t, got, 1)
	a := got[0]
	require.Equal(t, DeclineSpike, a.Rule)
	require.Equal(t, "finix", a.Provider)
	require.Equal(t, classify.Decline, a.Category)
	require.Equal(t, "DECLINED", a.Code, "one code carries the spike")
	require.Equal(t, "GENERIC_DECLINE", a.Subcode)
	require.WithinDuration(t, start, a.StartsAt, 2*time.Minute)
	require.True(t, a.DetectedAt.After(start) && a.DetectedAt.Sub(start) <= 5*time.Minute, "detected %s", a.DetectedAt)
	require.WithinDuration(t, start.Add(40*time.Minute), a.EndsAt, 3*time.Minute)
	require.Equal(t, a.DetectedAt, a.PagedAt)
	resolve := DefaultConfig().Params(DeclineSpike, "finix").ResolveAfter
	require.GreaterOrEqual(t, a.ResolvedAt.Sub(a.EndsAt), resolve)
	require.LessOrEqual(t, a.ResolvedAt.Sub(a.EndsAt), resolve+5*time.Minute)
	require.Greater(t, a.Observed, 0.08)
	require.Greater(t, a.Observed/a.Expected, 2.0)
	require.GreaterOrEqual(t, a.Evidence, DefaultConfig().Params(DeclineSpike, "finix").Evidence)
	require.Equal(t, a.ObservedWindow, time.Duration(0)+a.ObservedWindow)
	require.Contains(t, summary(&a), "finix decline rate")
}

func TestSurgeWithUnchangedRatesFiresNothing(t *testing.T) {
	surge := at(17, 10, 0)
	volume := func(t time.Time) float64 {
		v := seasonal(80)(t)
		if !t.Before(surge) && t.Before(surge.Add(3*time.Hour)) {
			v *= 5
		}
		return v
	}
	rows := weeks3(3, finix(volume))
	require.Empty(t, evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{}))
}

// quiet is a provider with about one request a minute at night and twenty
// at the afternoon peak (seasonal(20)), with extra errors.
func quiet(name string, extra ...errorRate) traffic {
	return quietAt(name, 7, extra...)
}

// quietAt is quiet with peak requests a minute at the afternoon peak.
func quietAt(name string, peak float64, extra ...errorRate) traffic {
	errs := []errorRate{
		{classify.AuthExpired, "token_expired", "", constant(0.0005)},
		{classify.ProviderError, "internal_error", "", constant(0.004)},
		{classify.Timeout, "", "", constant(0.003)},
		{classify.Decline, "DECLINED", "", constant(0.01)},
		{classify.Validation, "invalid_request", "", constant(0.012)},
	}
	return traffic{provider: name, perMinute: seasonal(peak), errs: withExtra(errs, extra)}
}

// TestWorkedExamplesAtLowVolume are docs/alerts.md's examples: at about
// one request a minute at night, 20 of 25 calls failing with
// token_expired where there are normally none opens an alert within
// minutes; 3 errors of 20 calls at 3 a.m. against a 1% baseline open
// nothing, nor does a blip of 3 errors in 2 minutes against none.
func TestWorkedExamplesAtLowVolume(t *testing.T) {
	start := at(16, 3, 0)
	storm := errorRate{classify.AuthExpired, "token_expired", "", during(0.0005, 0.8, start, 25*time.Minute)}
	rows := weeks3(21, quiet("finterra", storm))
	var n, k int64
	for _, r := range rows {
		if !r.t.Before(start) && r.t.Before(start.Add(25*time.Minute)) {
			n += r.requests
			k += r.errs[key{"finterra", classify.AuthExpired, "token_expired", ""}]
		}
	}
	t.Logf("the storm: %d of %d calls", k, n)
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	show(t, got)
	require.Len(t, got, 1)
	require.Equal(t, ExpiredTokenStorm, got[0].Rule)
	require.LessOrEqual(t, got[0].DetectedAt.Sub(start), 10*time.Minute)
	require.WithinDuration(t, start.Add(25*time.Minute), got[0].EndsAt, 5*time.Minute)

	// 3 declines in 20 calls at 3 a.m. (1% normally): once a night, at
	// the same minutes, for a week.
	rows = weeks3(22, quiet("finterra"))
	for i := range rows {
		r := &rows[i]
		if r.t.Hour() == 3 && r.t.Minute() < 20 && r.t.After(at(14, 0, 0)) {
			r.requests = 1
			clear(r.errs)
			if r.t.Minute()%7 == 0 {
				r.errs[key{"finterra", classify.Decline, "DECLINED", ""}] = 1
			}
		}
		// A blip: 3 expired-token errors in two minutes, night and day.
		if r.t.Equal(at(17, 3, 30)) || r.t.Equal(at(18, 14, 30)) {
			r.errs[key{"finterra", classify.AuthExpired, "token_expired", ""}] += 2
			r.requests += 2
		}
		if r.t.Equal(at(17, 3, 31)) || r.t.Equal(at(18, 14, 31)) {
			r.errs[key{"finterra", classify.AuthExpired, "token_expired", ""}]++
			r.requests++
		}
	}
	got = evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	show(t, got)
	require.Empty(t, got)
}

func TestOneDeclineCodeOpensTheProviderAlert(t *testing.T) {
	// CALL_ISSUER goes from 1% to 6%: the decline rate from 4% to 9%,
	// just over twice its baseline.
	start := at(15, 13, 0)
	code := errorRate{classify.Decline, "DECLINED", "CALL_ISSUER", during(0.01, 0.05, start, 45*time.Minute)}
	rows := weeks3(6, finix(seasonal(150), code))
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	show(t, got)
	require.Len(t, got, 1)
	a := got[0]
	require.Equal(t, DeclineSpike, a.Rule)
	require.Equal(t, "", a.Subject)
	require.Equal(t, EncodeSeries("DECLINED", "CALL_ISSUER"), a.Series)
	require.Equal(t, "DECLINED", a.Code)
	require.Equal(t, "CALL_ISSUER", a.Subcode)
	require.InDelta(t, 0.01, a.Expected, 0.004)
	require.LessOrEqual(t, a.DetectedAt.Sub(start), 10*time.Minute)
	require.Contains(t, summary(&a), "DECLINED/CALL_ISSUER")
}

// TestNewCodePagesOnceEver: a code never seen before opens an alert with
// its first sighting, its severity set by its rate; once alerted it never
// alerts again, in the same evaluation or a later one, however often it
// comes back.
func TestNewCodePagesOnceEver(t *testing.T) {
	start := at(19, 11, 0)
	fresh := errorRate{classify.Conflict, "terminal_offline", "", func(t time.Time) float64 {
		switch {
		case !t.Before(start) && t.Before(start.Add(30*time.Minute)):
			return 0.03
		case !t.Before(at(20, 9, 0)) && t.Before(at(20, 10, 0)): // back the next morning
			return 0.05
		}
		return 0
	}}
	// A code seen once on day 1 (in the history's first week) is not new.
	early := errorRate{classify.Conflict, "order_locked", "", during(0, 0.5, at(1, 12, 0), time.Minute)}
	rows := weeks3(7, finix(seasonal(80), fresh, early))
	st := State{FirstSeen: firstSeen(rows)}
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), st)
	show(t, got)
	require.Len(t, got, 1)
	a := got[0]
	require.Equal(t, NewCode, a.Rule)
	require.Equal(t, "terminal_offline", a.Subject)
	require.Equal(t, "terminal_offline", a.Code)
	require.Equal(t, classify.Conflict, a.Category)
	require.LessOrEqual(t, a.DetectedAt.Sub(start), 2*time.Minute, "its first sighting")
	require.Equal(t, "warning", a.Severity, "3% of requests: between min_delta and critical_rate")
	require.True(t, a.Paging())
	require.False(t, a.Firing())
	require.WithinDuration(t, start.Add(30*time.Minute), a.EndsAt, 2*time.Minute)

	// Later evaluations know it alerted (the stored alert), however far
	// back: the code is not new any more.
	st.CodeAlerts = got
	require.Empty(t, evaluate(t, DefaultConfig(), rows, at(20, 0, 0), at(21, 0, 0), st))
	// Evaluating its own window again finds the same alert.
	again := evaluate(t, DefaultConfig(), rows, at(19, 0, 0), at(20, 0, 0), st)
	require.Len(t, again, 1)
	require.Equal(t, a.StartsAt, again[0].StartsAt)
}

func TestNewCodeSeverityFollowsItsRate(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		want string
	}{{0.0005, "info"}, {0.01, "warning"}, {0.3, "critical"}} {
		start := at(19, 15, 0)
		fresh := errorRate{classify.Conflict, "terminal_offline", "", during(0, tt.rate, start, 30*time.Minute)}
		rows := weeks3(8, finix(seasonal(400), fresh))
		got := evaluate(t, DefaultConfig(), rows, at(19, 0, 0), at(20, 0, 0), State{FirstSeen: firstSeen(rows)})
		show(t, got)
		require.Len(t, got, 1)
		require.Equal(t, tt.want, got[0].Severity, "%v of requests", tt.rate)
	}
}

// TestOneIncidentOnePage: auth failures after a deploy, all of them codes
// never seen before. The first alert to open pages; auth_failure and the
// other new code join it (suppressed, named in its context) instead of
// paging again, and it takes their severity.
func TestOneIncidentOnePage(t *testing.T) {
	start := at(19, 14, 0)
	revoked := errorRate{classify.Auth, "client_revoked", "", during(0, 0.1, start, 20*time.Minute)}
	fresh := errorRate{classify.Auth, "key_version_mismatch", "", during(0, 0.1, start, 20*time.Minute)}
	rows := weeks3(9, finix(seasonal(80), revoked, fresh))
	got := evaluate(t, DefaultConfig(), rows, at(19, 0, 0), at(20, 0, 0), State{FirstSeen: firstSeen(rows)})
	show(t, got)
	require.Len(t, got, 3, "auth_failure and two new codes")
	var parent *Alert
	for i := range got {
		if got[i].Paging() {
			require.Nil(t, parent, "one incident, one page")
			parent = &got[i]
		}
	}
	require.NotNil(t, parent)
	require.Equal(t, "critical", parent.Severity)
	require.Len(t, parent.Context.Joined, 2)
	rules := map[Rule]bool{parent.Rule: true}
	for _, a := range got {
		if &a == parent || a.Key() == parent.Key() {
			continue
		}
		require.Equal(t, Joined, a.Suppression.Reason)
		require.Equal(t, parent.Key(), a.Parent)
		require.Contains(t, a.Suppression.Detail, "part of "+string(parent.Rule))
		require.False(t, a.Paging(), "it did not outlast its parent")
		rules[a.Rule] = true
	}
	require.True(t, rules[AuthFailure] && rules[NewCode])
}

// weekly is an outage of flexiti-like traffic every Sunday from 02:00 to
// 02:30, for weeks weeks from day 6 (the first Sunday), and a longer one
// (an hour) the last week when long.
func weekly(weeks int, long bool) errorRate {
	return errorRate{classify.ProviderError, "", "", func(t time.Time) float64 {
		for w := range weeks {
			from := at(6+7*w, 2, 0)
			d := 30 * time.Minute
			if long && w == weeks-1 {
				d = time.Hour
			}
			if !t.Before(from) && t.Before(from.Add(d)) {
				return 0.6
			}
		}
		return 0.004
	}}
}

// TestWeeklyEventsAreLearned: a provider's outage every Sunday at 02:00
// pages the first two weeks; from the third, its alert is stored as
// suppressed (recurring) and not sent. The week it lasts twice as long, it
// pages once it outlasts the weeks before.
func TestWeeklyEventsAreLearned(t *testing.T) {
	rows := simulate(31, monday, at(35, 0, 0), quietAt("flexiti", 20, weekly(4, true)))
	cfg := DefaultConfig()
	var st State
	var all []Alert
	// Week by week, as alerting carries what each week left.
	for w := 0; w < 4; w++ {
		got := evaluate(t, cfg, rows, at(7*w+1, 0, 0), at(7*w+8, 0, 0), st)
		show(t, got)
		require.Len(t, got, 1, "week %d", w)
		all = append(all, got...)
		st.History = append(st.History, got...)
	}
	for w, a := range all {
		require.Equal(t, ProviderOutage, a.Rule)
		require.WithinDuration(t, at(6+7*w, 2, 0), a.StartsAt, 2*time.Minute)
		switch w {
		case 0, 1:
			require.True(t, a.Paging(), "week %d: not learned yet", w)
			require.Empty(t, a.Suppression.Reason)
		case 2:
			require.False(t, a.Paging(), "week %d: the third time is expected", w)
			require.Equal(t, Recurring, a.Suppression.Reason)
			require.Contains(t, a.Suppression.Detail, at(13, 2, 0).Format("2006-01-02"))
		case 3:
			require.Equal(t, Recurring, a.Suppression.Reason)
			require.True(t, a.Paging(), "it outlasted the weeks before")
			require.True(t, a.PagedAt.After(a.Suppression.Until))
			require.LessOrEqual(t, a.PagedAt.Sub(a.Suppression.Until), 15*time.Minute)
		}
	}

	// One evaluation over the four weeks decides the same.
	whole := evaluate(t, cfg, rows, at(1, 0, 0), at(29, 0, 0), State{})
	require.Len(t, whole, 4)
	for i := range whole {
		require.Equal(t, all[i].Suppression, whole[i].Suppression)
		require.Equal(t, all[i].PagedAt, whole[i].PagedAt)
	}
}

// TestMaintenanceWindows: alerts opened inside a declared window are
// suppressed until it ends; one still firing after the window, on fresh
// evidence, pages then.
func TestMaintenanceWindows(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
providers:
  flexiti:
    maintenance:
      - {weekly: "Sun 02:00", for: 30m}
      - {from: 2026-10-29T13:00:00Z, to: 2026-10-29T13:20:00Z}
`))
	require.NoError(t, err)
	late := errorRate{classify.Timeout, "", "", during(0.003, 0.5, at(24, 13, 5), 40*time.Minute)} // past the one-off window
	rows := simulate(32, monday, at(28, 0, 0), quietAt("flexiti", 20, weekly(3, false), late))
	got := evaluate(t, cfg, rows, at(7, 0, 0), at(28, 0, 0), State{})
	show(t, got)
	require.Len(t, got, 3)
	for _, a := range got[:2] {
		require.Equal(t, Maintenance, a.Suppression.Reason)
		require.False(t, a.Paging())
		require.Contains(t, a.Suppression.Detail, "every Sun 02:00 UTC for 30m")
		require.Equal(t, a.StartsAt.Truncate(time.Hour).Add(30*time.Minute), a.Suppression.Until)
	}
	a := got[2]
	require.Equal(t, Maintenance, a.Suppression.Reason)
	require.Equal(t, at(24, 13, 20), a.Suppression.Until)
	require.True(t, a.Paging(), "it outlasted the window")
	require.True(t, !a.PagedAt.Before(at(24, 13, 20)) && a.PagedAt.Before(at(24, 13, 35)), "paged %s", a.PagedAt)
}

func TestSplitEvaluationMatchesOne(t *testing.T) {
	start := at(16, 14, 7)
	spike := errorRate{classify.ProviderError, "UPSTREAM_PROCESSOR_ERROR", "", during(0.004, 0.3, start, 40*time.Minute)}
	fresh := errorRate{classify.Conflict, "terminal_offline", "", during(0, 0.02, at(16, 14, 30), 20*time.Minute)}
	rows := weeks3(8, finix(seasonal(80), spike, fresh))
	cfg := DefaultConfig()
	seen := State{FirstSeen: firstSeen(rows)}
	whole := evaluate(t, cfg, rows, at(16, 0, 0), at(17, 0, 0), seen)
	show(t, whole)
	require.Len(t, whole, 2)

	// Minute by minute, each evaluation starting from the alerts the
	// previous ones left firing, as `report alerts` run every minute does.
	var open, done []Alert
	for m := at(16, 0, 0); m.Before(at(17, 0, 0)); m = m.Add(time.Minute) {
		got := evaluate(t, cfg, rows, m, m.Add(time.Minute), State{Open: open, History: done, FirstSeen: seen.FirstSeen, CodeAlerts: done})
		open = nil
		for _, a := range got {
			if a.Firing() {
				open = append(open, a)
			} else {
				done = append(done, a)
			}
		}
	}
	require.Empty(t, open)
	require.Equal(t, whole, done)
}

func TestOpenAlertContinuesAcrossEvaluations(t *testing.T) {
	start := at(16, 14, 0)
	spike := errorRate{classify.RateLimit, "TOO_MANY_REQUESTS", "", during(0.002, 0.2, start, 2*time.Hour)}
	rows := weeks3(9, finix(seasonal(80), spike))
	cfg := DefaultConfig()
	first := evaluate(t, cfg, rows, at(16, 13, 55), at(16, 14, 15), State{})
	require.Len(t, first, 1)
	require.True(t, first[0].Firing())
	first[0].ID = 42
	second := evaluate(t, cfg, rows, at(16, 14, 15), at(16, 14, 30), State{Open: first})
	require.Len(t, second, 1)
	require.Equal(t, int64(42), second[0].ID, "continued, not opened again")
	require.Equal(t, first[0].StartsAt, second[0].StartsAt)
	require.True(t, second[0].Firing())
	require.Equal(t, at(16, 14, 30), second[0].LastEvaluated)
}

func TestFollowedCodes(t *testing.T) {
	st := State{
		FirstSeen: []CodeSeen{{"paylera", "invoice.locked", at(20, 16, 0)}, {"finix", "terminal_offline", at(19, 11, 0)}},
		Open: []Alert{
			{Rule: NewCode, Provider: "finix", Subject: "terminal_offline"},
			{Rule: NewCode, Provider: "cheers", Subject: "ORDER_LOCKED"}, // open for longer than Novelty
			{Rule: DeclineSpike, Provider: "finix", Code: "DECLINED"},
		},
	}
	require.Equal(t, []ProviderCode{{"cheers", "ORDER_LOCKED"}, {"finix", "terminal_offline"}, {"paylera", "invoice.locked"}},
		st.FollowedCodes())
	require.Empty(t, (&State{}).FollowedCodes())
}

// TestOtherErrorsChangeNothing: evaluations read per minute only the
// errors of the rules' categories and of the codes NewCode follows; given
// every error instead, they find the same alerts, from a state with a new
// code first seen and from one with a new-code alert open.
func TestOtherErrorsChangeNothing(t *testing.T) {
	start := at(19, 11, 0)
	fresh := errorRate{classify.Conflict, "terminal_offline", "", during(0, 0.03, start, 30*time.Minute)}
	other := errorRate{classify.Conflict, "order_locked", "", during(0.01, 0.2, at(19, 11, 10), 30*time.Minute)}
	spike := errorRate{classify.Decline, "DECLINED", "GENERIC_DECLINE", during(0.012, 0.10, at(19, 15, 0), 40*time.Minute)}
	rows := weeks3(12, finix(seasonal(80), fresh, other, spike))
	cfg := DefaultConfig()
	both := func(from, to time.Time, st State) []Alert {
		t.Helper()
		p, err := cfg.Plan(from, to)
		require.NoError(t, err)
		st.HistoryStart = monday
		all := NewCounts(p)
		feed(all, p, rows)
		followed := map[ProviderCode]bool{}
		for _, pc := range st.FollowedCodes() {
			followed[pc] = true
		}
		var needed []minuteRow
		for _, r := range rows {
			n := r
			n.errs = map[key]int64{}
			for k, c := range r.errs {
				if contains(p.Categories, string(k.category)) || followed[ProviderCode{k.provider, k.code}] {
					n.errs[k] = c
				}
			}
			needed = append(needed, n)
		}
		few := NewCounts(p)
		feed(few, p, needed)
		got := Evaluate(cfg, p, few, st)
		require.Equal(t, Evaluate(cfg, p, all, st), got)
		return got
	}
	var seen []CodeSeen
	for _, cs := range firstSeen(rows) {
		if cs.Code == "terminal_offline" {
			seen = append(seen, cs)
		}
	}
	got := both(at(19, 0, 0), at(20, 0, 0), State{FirstSeen: seen})
	show(t, got)
	require.Len(t, got, 2)
	require.Equal(t, NewCode, got[0].Rule)
	require.Equal(t, DeclineSpike, got[1].Rule)

	// The new-code alert open, its code no longer among those first seen
	// (an alert that outlives Novelty): it closes as it did.
	open := both(at(19, 0, 0), got[0].DetectedAt, State{FirstSeen: seen})
	require.Len(t, open, 1)
	require.True(t, open[0].Firing())
	rest := both(got[0].DetectedAt, at(20, 0, 0), State{Open: open})
	require.Equal(t, got[0].EndsAt, rest[0].EndsAt)
	require.False(t, rest[0].Firing())
}

// TestAlertStoredBeforeLevelsCloses: an alert stored before alerts kept
// their level (no level, a closing threshold) still closes once its rate
// is back.
func TestAlertStoredBeforeLevelsCloses(t *testing.T) {
	start := at(16, 14, 0)
	spike := errorRate{classify.RateLimit, "TOO_MANY_REQUESTS", "", during(0.002, 0.2, start, 30*time.Minute)}
	rows := weeks3(9, finix(seasonal(80), spike))
	old := Alert{ID: 7, Rule: RateLimitStorm, Provider: "finix", Category: classify.RateLimit, Severity: "warning",
		Expected: 0.002, CloseBelow: 0.02, StartsAt: start, DetectedAt: start.Add(3 * time.Minute),
		LastEvaluated: start.Add(10 * time.Minute), PagedAt: start.Add(3 * time.Minute)}
	got := evaluate(t, DefaultConfig(), rows, start.Add(10*time.Minute), start.Add(2*time.Hour), State{Open: []Alert{old}})
	require.Len(t, got, 1)
	require.Equal(t, int64(7), got[0].ID)
	require.False(t, got[0].Firing())
	require.WithinDuration(t, start.Add(30*time.Minute), got[0].EndsAt, 3*time.Minute)
}
