package detect

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestHourlyAndMinuteRollupsGiveTheSameBaselines: evaluations read the
// hours of their baselines from the hourly rollups and their window from
// the per-minute ones. Over a generated history stored by the store's
// writer (which writes both), the hours read that way give the same
// series, hour by hour, the same baseline for every hour evaluated and the
// same incidents as summing every hour from the per-minute rollups: a
// backtest of a week, of a day, fifteen minutes across an hour and single
// minutes.
func TestHourlyAndMinuteRollupsGiveTheSameBaselines(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	decline := errorRate{classify.Decline, "DECLINED", "GENERIC_DECLINE",
		during(0.012, 0.10, at(14, 14, 7), 40*time.Minute)} // in the baselines of day 21
	spike := errorRate{classify.Decline, "DECLINED", "INSUFFICIENT_FUNDS", during(0.01, 0.08, at(21, 14, 20), 30*time.Minute)}
	storm := errorRate{classify.RateLimit, "rate_limit.exceeded", "", during(0.002, 0.2, at(21, 9, 55), 20*time.Minute)}
	paylera := traffic{provider: "paylera", perMinute: seasonal(60), errs: []errorRate{
		{classify.Decline, "payment.declined", "", constant(0.01)},
		{classify.Decline, "wallet.insufficient_funds", "", constant(0.01)},
		{classify.AuthExpired, "auth.expired_token", "", constant(0.001)},
		{classify.ProviderError, "tax.engine_unavailable", "", constant(0.003)},
		storm,
		{classify.Validation, "validation.failed", "", constant(0.01)},
		{classify.Conflict, "invoice.locked", "", during(0, 0.05, at(20, 16, 0), 20*time.Minute)},
	}}
	cheers := traffic{provider: "cheers", perMinute: constant(0.3), errs: []errorRate{
		{classify.Decline, "INSUFFICIENT_CREDIT", "", constant(0.05)},
		{classify.Auth, "AUTHORIZATION", "", constant(0.02)},
	}}
	rows := simulate(11, monday, at(22, 0, 0), finix(seasonal(80), decline, spike), paylera, cheers)

	st, err := store.Open(ctx, pgtest.New(t))
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	writeRows(ctx, t, st, rows)

	cfg := DefaultConfig()
	windows := []struct {
		name     string
		from, to time.Time
	}{
		{"a week", at(15, 0, 0), at(22, 0, 0)},
		{"a day", at(21, 0, 0), at(22, 0, 0)},
		{"fifteen minutes across an hour", at(21, 9, 52), at(21, 10, 7)},
		{"the last minute of an hour", at(21, 14, 59), at(21, 15, 0)},
		{"the first minute of an hour", at(21, 15, 0), at(21, 15, 1)},
	}
	var incidents int
	for _, w := range windows {
		t.Run(w.name, func(t *testing.T) {
			p, err := cfg.Plan(w.from, w.to)
			require.NoError(t, err)
			require.NotEmpty(t, p.Hours)
			state := State{HistoryStart: monday}
			for _, cs := range firstSeen(rows) {
				if !cs.FirstSeen.Before(p.CodesSince) {
					state.FirstSeen = append(state.FirstSeen, cs)
				}
			}

			// The hours of p.Hours from the hourly rollups, as alerting
			// reads them.
			hourly := NewCounts(p)
			sink := &hourCounter{Counts: hourly}
			var codes []store.ProviderCode
			for _, pc := range state.FollowedCodes() {
				codes = append(codes, store.ProviderCode{Provider: pc.Provider, Code: pc.Code})
			}
			q := store.RollupQuery{Minutes: store.TimeRange{From: p.Minutes.From, To: p.Minutes.To},
				Categories: p.Categories, Detailed: p.Detailed, Codes: codes}
			for _, h := range p.Hours {
				q.Hours = append(q.Hours, store.TimeRange{From: h.From, To: h.To})
			}
			require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error { return r.ReadRollups(ctx, q, sink) }))
			require.Positive(t, sink.rows, "hours read from the hourly rollups")

			// The same hours summed from the per-minute rollups: counts
			// whose minutes start with the plan's first hour, filled with
			// the minutes of each range of hours and of the window.
			pm := p
			pm.Minutes.From, pm.Hours = p.Hours[0].From, nil
			minutely := NewCounts(pm)
			sink = &hourCounter{Counts: minutely}
			require.NoError(t, st.RunAlerts(ctx, false, func(r *store.AlertRun) error {
				for _, h := range append(p.Hours, p.Minutes) {
					mq := store.RollupQuery{Minutes: store.TimeRange{From: h.From, To: h.To}, Categories: p.Categories, Codes: codes}
					if err := r.ReadRollups(ctx, mq, sink); err != nil {
						return err
					}
				}
				return nil
			}))
			require.Zero(t, sink.rows)

			ok := requireSameSeries(t, cfg, p, hourly, pm, minutely)
			require.Positive(t, ok, "baselines compared")
			a, b := Evaluate(cfg, p, hourly, state), Evaluate(cfg, pm, minutely, state)
			require.Equal(t, a, b, "the same incidents")
			t.Logf("%d ranges of hours, %d usable baselines, %d incidents: the same", len(p.Hours), ok, len(a))
			incidents += len(a)
		})
	}
	require.Positive(t, incidents, "incidents compared")
}

// requireSameSeries builds the trackers of both counts and requires the
// same trackers and series, the same requests and errors in every hour
// that p reads (p.Hours and the hours of p.Minutes) and the same baseline
// for every hour p evaluates. It returns how many of those baselines were
// usable.
func requireSameSeries(t *testing.T, cfg *Config, p Plan, hourly *Counts, pm Plan, minutely *Counts) (ok int) {
	t.Helper()
	require.Equal(t, hourly.hourFrom, minutely.hourFrom)
	require.Equal(t, hourly.nHour, minutely.nHour)
	var read []int
	for i := range hourly.nHour {
		h := hourly.hourFrom.Add(time.Duration(i) * time.Hour)
		in := !h.Before(p.Minutes.From.Truncate(time.Hour))
		for _, r := range p.Hours {
			in = in || !h.Before(r.From) && h.Before(r.To)
		}
		if in {
			read = append(read, i)
		}
	}
	hour := func(i int) string { return hourly.hourFrom.Add(time.Duration(i) * time.Hour).Format(time.RFC3339) }
	first, _ := hourly.hourIndex(p.From.Truncate(time.Hour))
	last, _ := hourly.hourIndex(p.To.Add(-time.Minute))

	hourly.finish()
	minutely.finish()
	ea, eb := &engine{cfg: cfg, c: hourly, plan: p}, &engine{cfg: cfg, c: minutely, plan: pm}
	ea.build(State{})
	eb.build(State{})
	require.Equal(t, len(ea.trackers), len(eb.trackers))
	for i, ta := range ea.trackers {
		tb := eb.trackers[i]
		name := string(ta.rule) + " " + ta.provider
		require.Equal(t, [3]string{string(ta.rule), ta.provider, ta.subject}, [3]string{string(tb.rule), tb.provider, tb.subject})
		for _, h := range read {
			require.Equal(t, tb.hourReq[h], ta.hourReq[h], "%s: requests in hour %s", name, hour(h))
		}
		require.Equal(t, len(ta.series), len(tb.series), name)
		for j, sa := range ta.series {
			sb := tb.series[j]
			require.Equal(t, sb.name, sa.name, name)
			if sa.hour == nil { // a new code's series has no hours
				require.Nil(t, sb.hour)
				continue
			}
			for _, h := range read {
				require.Equal(t, sb.hour[h], sa.hour[h], "%s %s: errors in hour %s", name, sa.name, hour(h))
			}
			for h := first; h <= last; h++ {
				ba, bb := ea.baseline(ta, sa, h), eb.baseline(tb, sb, h)
				require.Equal(t, bb, ba, "%s %s: baseline of hour %s", name, sa.name, hour(h))
				if ba.ok {
					ok++
				}
			}
		}
	}
	return ok
}

// hourCounter hands rollups to Counts and counts the hourly rows.
type hourCounter struct {
	*Counts
	rows int
}

func (h *hourCounter) AddHourlyRequests(hour time.Time, provider string, n int64) {
	h.rows++
	h.Counts.AddHourlyRequests(hour, provider, n)
}

func (h *hourCounter) AddHourlyErrors(hour time.Time, provider string, category classify.Category, code, subcode string, n int64) {
	h.rows++
	h.Counts.AddHourlyErrors(hour, provider, category, code, subcode, n)
}

// writeRows stores the simulated minutes through the store's writer, in
// batches of 37 minutes (so that most hours are written by two or three
// batches), each provider's requests split over two endpoints.
func writeRows(ctx context.Context, t *testing.T, st *store.Store, rows []minuteRow) {
	t.Helper()
	src := store.Source{Group: "detect-test", Topic: "integration-logs"}
	var b *store.Batch
	offset := store.NoOffset
	flush := func() {
		if b == nil {
			return
		}
		b.NextOffset = max(offset, 0) + 1
		require.NoError(t, st.WriteBatch(ctx, b))
		offset, b = b.NextOffset, nil
	}
	var batchStart time.Time
	for _, r := range rows {
		if b != nil && r.t.Sub(batchStart) >= 37*time.Minute {
			flush()
		}
		if b == nil {
			b, batchStart = &store.Batch{Source: src, ExpectedOffset: offset}, r.t
		}
		var errs int64
		for k, n := range r.errs {
			b.Errors = append(b.Errors, store.ErrorRollup{Minute: r.t, Provider: k.provider, Category: k.category,
				Code: k.code, Subcode: k.subcode, Count: n})
			errs += n
		}
		b.Requests = append(b.Requests,
			store.RequestRollup{Minute: r.t, Provider: r.provider, Endpoint: "/v1/payments", Requests: r.requests - r.requests/3, Errors: errs - errs/3},
			store.RequestRollup{Minute: r.t, Provider: r.provider, Endpoint: "/v1/refunds/{id}", Requests: r.requests / 3, Errors: errs / 3})
	}
	flush()
}
