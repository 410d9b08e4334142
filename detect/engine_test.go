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
	// An extra rate of a key already listed replaces it.
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
	return traffic{provider: "finix", perMinute: perMinute, errs: errs}
}

// weeks3 is the history every test has: three weeks of finix.
func weeks3(seed uint64, tr ...traffic) []minuteRow {
	return simulate(seed, monday, at(21, 0, 0), tr...)
}

func TestSteadySeasonalTrafficFiresNothing(t *testing.T) {
	rows := weeks3(1, finix(seasonal(80)))
	got := evaluate(t, DefaultConfig(), rows, at(7, 0, 0), at(21, 0, 0), State{})
	require.Empty(t, got)
}

func TestDeclineSpikeIsOneIncidentWithStartAndEnd(t *testing.T) {
	start := at(16, 14, 7)
	spike := errorRate{classify.Decline, "DECLINED", "GENERIC_DECLINE", during(0.012, 0.10, start, 40*time.Minute)}
	rows := weeks3(2, finix(seasonal(80), spike))
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	require.Len(t, got, 1, "%+v", got)
	in := got[0]
	require.Equal(t, DeclineSpike, in.Rule)
	require.Equal(t, "finix", in.Provider)
	require.Equal(t, classify.Decline, in.Category)
	require.Equal(t, "DECLINED", in.Code, "one code carries the spike")
	require.Equal(t, "GENERIC_DECLINE", in.Subcode)
	require.WithinDuration(t, start, in.StartsAt, 3*time.Minute)
	require.True(t, in.DetectedAt.After(start) && in.DetectedAt.Sub(start) <= 10*time.Minute, "detected %s", in.DetectedAt)
	require.WithinDuration(t, start.Add(40*time.Minute), in.EndsAt, 5*time.Minute)
	resolve := DefaultConfig().Params(DeclineSpike, "finix").ResolveAfter
	require.GreaterOrEqual(t, in.ResolvedAt.Sub(in.EndsAt), resolve)
	require.LessOrEqual(t, in.ResolvedAt.Sub(in.EndsAt), resolve+10*time.Minute)
	require.Greater(t, in.Observed, 0.08)
	require.Greater(t, in.Observed/in.Expected, 2.0)
	require.Contains(t, in.Summary, "finix decline rate")
}

func TestSurgeWithUnchangedRatesFiresNothing(t *testing.T) {
	surge := at(17, 10, 0)
	volume := func(t time.Time) float64 {
		v := seasonal(80)(t)
		if !t.Before(surge) && t.Before(surge.Add(3*time.Hour)) {
			v *= 4
		}
		return v
	}
	rows := weeks3(3, finix(volume))
	require.Empty(t, evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{}))
}

func TestLowVolumeNoiseFiresNothing(t *testing.T) {
	// A provider at a tenth of a request a minute whose every call fails
	// now and then in bursts of bad luck, and night traffic at finix.
	tiny := traffic{provider: "cheers", perMinute: constant(0.1), errs: []errorRate{
		{classify.Auth, "AUTHORIZATION", "", constant(0.2)},
		{classify.Decline, "INSUFFICIENT_CREDIT", "", constant(0.1)},
	}}
	rows := weeks3(4, finix(seasonal(8)), tiny)
	require.Empty(t, evaluate(t, DefaultConfig(), rows, at(7, 0, 0), at(21, 0, 0), State{}))
}

func TestExpiredTokenStormFromNearZero(t *testing.T) {
	start := at(18, 9, 30)
	storm := errorRate{classify.AuthExpired, "token_expired", "", during(0.0005, 0.25, start, 30*time.Minute)}
	rows := weeks3(5, finix(seasonal(80), storm))
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	require.Len(t, got, 1, "%+v", got)
	require.Equal(t, ExpiredTokenStorm, got[0].Rule)
	require.Equal(t, "critical", got[0].Severity)
	require.LessOrEqual(t, got[0].DetectedAt.Sub(start), 5*time.Minute)
}

func TestOneDeclineCodeOpensTheProviderAlert(t *testing.T) {
	// INSUFFICIENT_FUNDS goes from 1% to 4%: the decline rate from 4% to
	// 7%, less than twice its baseline.
	start := at(15, 13, 0)
	code := errorRate{classify.Decline, "DECLINED", "INSUFFICIENT_FUNDS", during(0.01, 0.03, start, 45*time.Minute)}
	rows := weeks3(6, finix(seasonal(150), code))
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), State{})
	require.Len(t, got, 1, "%+v", got)
	in := got[0]
	require.Equal(t, DeclineSpike, in.Rule)
	require.Equal(t, "", in.Subject)
	require.Equal(t, EncodeSeries("DECLINED", "INSUFFICIENT_FUNDS"), in.Series)
	require.Equal(t, "DECLINED", in.Code)
	require.Equal(t, "INSUFFICIENT_FUNDS", in.Subcode)
	require.InDelta(t, 0.01, in.Expected, 0.004)
	require.LessOrEqual(t, in.DetectedAt.Sub(start), 10*time.Minute)
	require.Contains(t, in.Summary, "DECLINED/INSUFFICIENT_FUNDS")
}

func TestNewCodeOnceMoreThanNoise(t *testing.T) {
	start := at(19, 11, 0)
	fresh := errorRate{classify.Conflict, "terminal_offline", "", during(0, 0.03, start, 30*time.Minute)}
	// A code seen once on day 1 (in the history's first week) is not new.
	early := errorRate{classify.Conflict, "order_locked", "", during(0, 0.5, at(1, 12, 0), time.Minute)}
	rows := weeks3(7, finix(seasonal(80), fresh, early))
	st := State{FirstSeen: firstSeen(rows)}
	got := evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), st)
	require.Len(t, got, 1, "%+v", got)
	in := got[0]
	require.Equal(t, NewCode, in.Rule)
	require.Equal(t, "terminal_offline", in.Subject)
	require.Equal(t, "terminal_offline", in.Code)
	require.Equal(t, classify.Conflict, in.Category)
	require.LessOrEqual(t, in.DetectedAt.Sub(start), 10*time.Minute)
	require.False(t, in.Firing())

	// Once alerted and closed, the code is not new any more.
	st.Closed = got
	require.Empty(t, evaluate(t, DefaultConfig(), rows, at(14, 0, 0), at(21, 0, 0), st))
}

func TestSplitEvaluationMatchesOne(t *testing.T) {
	start := at(16, 14, 7)
	spike := errorRate{classify.ProviderError, "UPSTREAM_PROCESSOR_ERROR", "", during(0.004, 0.3, start, 40*time.Minute)}
	rows := weeks3(8, finix(seasonal(80), spike))
	cfg := DefaultConfig()
	whole := evaluate(t, cfg, rows, at(16, 0, 0), at(17, 0, 0), State{})
	require.Len(t, whole, 1)

	// Minute by minute, each evaluation starting from the incidents the
	// previous ones left firing, as `report alerts` run every minute does.
	var open []Incident
	var done []Incident
	for m := at(16, 0, 0); m.Before(at(17, 0, 0)); m = m.Add(time.Minute) {
		got := evaluate(t, cfg, rows, m, m.Add(time.Minute), State{Open: open, Closed: done})
		open = nil
		for _, in := range got {
			if in.Firing() {
				open = append(open, in)
			} else {
				done = append(done, in)
			}
		}
	}
	require.Empty(t, open)
	require.Len(t, done, 1)
	require.Equal(t, whole[0], done[0])
}

func TestOpenIncidentContinuesAcrossEvaluations(t *testing.T) {
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
		Open: []Incident{
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
// every error instead, they find the same incidents, from a state with a
// new code first seen and from one with a new-code incident open.
func TestOtherErrorsChangeNothing(t *testing.T) {
	start := at(19, 11, 0)
	fresh := errorRate{classify.Conflict, "terminal_offline", "", during(0, 0.03, start, 30*time.Minute)}
	other := errorRate{classify.Conflict, "order_locked", "", during(0.01, 0.2, at(19, 11, 10), 30*time.Minute)}
	spike := errorRate{classify.Decline, "DECLINED", "GENERIC_DECLINE", during(0.012, 0.10, at(19, 15, 0), 40*time.Minute)}
	rows := weeks3(12, finix(seasonal(80), fresh, other, spike))
	cfg := DefaultConfig()
	both := func(from, to time.Time, st State) []Incident {
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
	require.Len(t, got, 2, "%+v", got)
	require.Equal(t, NewCode, got[0].Rule)
	require.Equal(t, DeclineSpike, got[1].Rule)

	// The new-code incident open, its code no longer among those first
	// seen (an incident that outlives Novelty): it closes as it did.
	open := both(at(19, 0, 0), got[0].DetectedAt, State{FirstSeen: seen})
	require.Len(t, open, 1)
	require.True(t, open[0].Firing())
	rest := both(got[0].DetectedAt, at(20, 0, 0), State{Open: open})
	require.Equal(t, got[0].EndsAt, rest[0].EndsAt)
	require.False(t, rest[0].Firing())
}
