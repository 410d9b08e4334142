package synth

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
)

func classifier(t *testing.T) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	return c
}

var day0 = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC) // a Monday

// TestTemplatesClassifyAsIntended renders every error template of every
// provider and classifies it: the category is the one the template is
// for, the code the template's, and the record's ids are found.
func TestTemplatesClassifyAsIntended(t *testing.T) {
	c := classifier(t)
	st, err := Scenario{Rate: 1, Duration: time.Minute}.Stream()
	require.NoError(t, err)
	for name, kinds := range templates {
		for kind, list := range kinds {
			for i := range list {
				tmpl := &list[i]
				require.Equal(t, kind, tmpl.category, "%s %s", name, tmpl.code)
				st.buf, st.arena = st.buf[:0], st.arena[:0]
				st.add(day0, &call{provider: providerNamed(name), tenant: "acme-foods", tmpl: tmpl})
				rec := st.arena[st.buf[0].start:st.buf[0].end]
				ev, err := c.Classify(rec)
				require.NoError(t, err, "%s", rec)
				require.True(t, ev.IsError)
				require.Equal(t, name, ev.Provider)
				require.Equal(t, classify.Category(tmpl.category), ev.Category, "%s", rec)
				require.Equal(t, tmpl.code, ev.Code, "%s", rec)
				require.Equal(t, tmpl.subcode, ev.Subcode, "%s", rec)
				if tmpl.code != "" && name != "cheers" && name != "flexiti" || tmpl.code != "" && tmpl.status != 0 {
					require.NotEmpty(t, ev.CorrelationID, "%s", rec)
				}
			}
		}
	}
}

func TestStreamIsDeterministicAndInOrder(t *testing.T) {
	s := Scenario{Seed: 7, Start: day0.Add(10 * time.Hour), Duration: 3 * time.Hour, Rate: 50,
		Seasonality: Seasonality{Daily: 0.8}}
	var a, b bytes.Buffer
	st, err := s.Stream()
	require.NoError(t, err)
	_, err = st.WriteTo(&a)
	require.NoError(t, err)
	st, err = s.Stream()
	require.NoError(t, err)
	_, err = st.WriteTo(&b)
	require.NoError(t, err)
	require.Equal(t, a.String(), b.String())

	st, err = s.Stream()
	require.NoError(t, err)
	var last time.Time
	n := 0
	for {
		_, ts, ok := st.Next(nil)
		if !ok {
			break
		}
		n++
		require.False(t, ts.Before(last), "in time order")
		require.False(t, ts.Before(s.Start))
		require.True(t, ts.Before(s.Start.Add(s.Duration)))
		last = ts
	}
	require.Equal(t, strings.Count(a.String(), "\n"), n)
	require.Greater(t, n, 3*60*20)
}

// counts classifies a scenario's records and counts requests and errors
// per provider and category in [from, to).
func counts(t *testing.T, s Scenario, from, to time.Time) (req map[string]int, errs map[string]map[classify.Category]int) {
	t.Helper()
	c := classifier(t)
	st, err := s.Stream()
	require.NoError(t, err)
	req, errs = map[string]int{}, map[string]map[classify.Category]int{}
	var line []byte
	for {
		var ts time.Time
		var ok bool
		line, ts, ok = st.Next(line[:0])
		if !ok {
			break
		}
		if ts.Before(from) || !ts.Before(to) {
			continue
		}
		ev, err := c.Classify(line)
		require.NoError(t, err)
		req[ev.Provider]++
		if ev.IsError {
			if errs[ev.Provider] == nil {
				errs[ev.Provider] = map[classify.Category]int{}
			}
			errs[ev.Provider][ev.Category]++
		}
	}
	return req, errs
}

func TestVolumesRatesIncidentsAndSurges(t *testing.T) {
	s := Scenario{Seed: 3, Start: day0, Duration: 24 * time.Hour, Rate: 400,
		Seasonality: Seasonality{Daily: 0.8},
		Incidents: []Incident{
			{Kind: ExpiredTokenStorm, Provider: "finterra", Start: day0.Add(15 * time.Hour), Length: time.Hour, Strength: 0.2},
			{Kind: NewCode, Provider: "paylera", Start: day0.Add(15 * time.Hour), Length: time.Hour, Strength: 0.05, Code: "payout.frozen"},
		},
		Surges: []Surge{{Provider: "finix", Start: day0.Add(14 * time.Hour), Length: time.Hour, Factor: 4}},
	}
	peak := day0.Add(15 * time.Hour)
	req, errs := counts(t, s, peak, peak.Add(time.Hour))
	// At the peak hour volume is Rate × share per minute.
	within := func(want float64, got int) {
		t.Helper()
		require.InDelta(t, want, float64(got), 5*math.Sqrt(want)+0.05*want)
	}
	within(400*0.35*60, req["finix"])
	within(400*0.30*60, req["finterra"])
	within(0.2*float64(req["finterra"]), errs["finterra"][classify.AuthExpired])
	within(0.05*float64(req["paylera"]), errs["paylera"][classify.Conflict]-int(0.004*float64(req["paylera"])))

	// The surge quadruples finix an hour earlier, at unchanged rates.
	surgeReq, surgeErrs := counts(t, s, day0.Add(14*time.Hour), day0.Add(15*time.Hour))
	base := 400 * 0.35 * 60 * (1 - 0.8*(0.5+0.5*math.Cos(2*math.Pi*(14.5-3)/24)))
	within(4*base, surgeReq["finix"])
	within(0.04*float64(surgeReq["finix"]), surgeErrs["finix"][classify.Decline])

	// At night volume is a fifth of the peak's.
	nightReq, _ := counts(t, s, day0.Add(3*time.Hour), day0.Add(3*time.Hour+10*time.Minute))
	within(400*0.30*10*0.2, nightReq["finterra"])
}

func TestParseScenario(t *testing.T) {
	s, err := ParseScenario([]byte(`
seed: 9
start: 2026-10-05T00:00:00Z
duration: 336h
rate: 120
seasonality: {daily: 0.85, weekend: 0.5, monday_ramp: 0.6}
providers:
  - {name: finix, share: 0.5, growth: 3, errors: {decline: 0.05}}
  - {name: cheers, share: 0.01}
incidents:
  - {kind: decline_spike, provider: finix, start: 2026-10-14T14:00:00Z, length: 40m, strength: 0.03, code: DECLINED, subcode: INSUFFICIENT_FUNDS}
  - {kind: new_code, provider: cheers, start: 2026-10-15T10:00:00Z, length: 30m, strength: 0.2, code: VOUCHER_FROZEN, status: 422}
surges:
  - {provider: finix, start: 2026-10-16T10:00:00Z, length: 2h, factor: 4}
blips:
  - {provider: finix, at: 2026-10-13T03:12:00Z, kind: auth, count: 3}
`))
	require.NoError(t, err)
	require.Equal(t, uint64(9), s.Seed)
	require.Equal(t, 336*time.Hour, s.Duration)
	require.Len(t, s.Incidents, 2)
	require.Equal(t, "INSUFFICIENT_FUNDS", s.Incidents[0].Subcode)
	require.Equal(t, 3.0, s.Providers[0].Growth)

	tests := []struct{ name, doc, want string }{
		{"unknown key", "rate: 1\nduration: 1h\nsurge: []\n", "surge"},
		{"unknown kind", "rate: 1\nduration: 1h\nincidents: [{kind: meteor, provider: finix, length: 1m, strength: 0.1}]\n", "meteor"},
		{"no declines at finterra", "rate: 1\nduration: 1h\nincidents: [{kind: decline_spike, provider: finterra, length: 1m, strength: 0.1}]\n", "finterra has no decline_spike"},
		{"unknown provider", "rate: 1\nduration: 1h\nproviders: [{name: stripe, share: 1}]\n", "stripe"},
		{"no rate", "duration: 1h\n", "rate"},
		{"strength above 1", "rate: 1\nduration: 1h\nincidents: [{kind: provider_outage, provider: finix, length: 1m, strength: 2}]\n", "strength"},
		{"errors of a kind the provider lacks", "rate: 1\nduration: 1h\nproviders: [{name: finterra, share: 1, errors: {decline: 0.1}}]\n", "errors.decline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.doc))
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// classifierFunc adapts the real classifier to NextMinute.
func classifierFunc(t *testing.T) Classifier {
	c := classifier(t)
	return func(rec []byte) (Classification, error) {
		ev, err := c.Classify(rec)
		if err != nil {
			return Classification{}, err
		}
		return Classification{IsError: ev.IsError, Category: string(ev.Category), Code: ev.Code, Subcode: ev.Subcode,
			Method: ev.Method, Endpoint: ev.Endpoint}, nil
	}
}

// shapes is three hours with an incident of every shape.
var shapes = Scenario{Seed: 4, Start: day0.Add(12 * time.Hour), Duration: 3 * time.Hour, Rate: 300,
	Providers: []ProviderTraffic{{Name: "finix", Share: 0.4}, {Name: "finterra", Share: 0.3}, {Name: "flexiti", Share: 0.3}},
	Incidents: []Incident{
		{Kind: ProviderOutage, Provider: "finix", Start: day0.Add(12*time.Hour + 10*time.Minute), Length: 30 * time.Minute,
			Strength: 1, Endpoint: "POST /transfers"},
		{Kind: ProviderOutage, Provider: "finterra", Start: day0.Add(13 * time.Hour), Length: 30 * time.Minute, Strength: 0.6, Ramp: 30 * time.Minute},
		{Kind: ProviderOutage, Provider: "flexiti", Start: day0.Add(12 * time.Hour), Length: 20 * time.Minute, Strength: 0.4,
			Category: "timeout", Every: time.Hour},
		{Kind: RateLimitStorm, Provider: "finterra", Start: day0.Add(14 * time.Hour), Length: 20 * time.Minute, Strength: 0.3, Volume: 3},
		{Kind: NewCode, Provider: "flexiti", Start: day0.Add(14 * time.Hour), Length: 20 * time.Minute, Strength: 0.1, Code: "FX_NEW", Status: 401},
	},
	Tenants: []Tenant{{Name: "umbrella", Provider: "finix", Share: 0.2, Errors: map[string]float64{"decline": 0.3}, Hours: [2]int{13, 14}}},
}

// TestNextMinuteCountsWhatNextRenders: the counts of NextMinute are those
// of classifying every record Next renders, minute by minute: requests and
// errors per provider, errors per provider, category, code and subcode
// (what the rollups the detectors read hold). Endpoints are left out: an
// id without digits is not an id to the classifier yet (issue 17), so the
// endpoint of one rendered record does not stand for all of its kind.
func TestNextMinuteCountsWhatNextRenders(t *testing.T) {
	type perMinute struct {
		reqs map[string][2]int64
		errs map[[4]string]int64
	}
	c := classifier(t)
	st, err := shapes.Stream()
	require.NoError(t, err)
	want := map[time.Time]*perMinute{}
	var line []byte
	for {
		var ts time.Time
		var ok bool
		line, ts, ok = st.Next(line[:0])
		if !ok {
			break
		}
		m := ts.Truncate(time.Minute)
		if want[m] == nil {
			want[m] = &perMinute{reqs: map[string][2]int64{}, errs: map[[4]string]int64{}}
		}
		ev, err := c.Classify(line)
		require.NoError(t, err)
		r := want[m].reqs[ev.Provider]
		r[0]++
		if ev.IsError {
			r[1]++
			want[m].errs[[4]string{ev.Provider, string(ev.Category), ev.Code, ev.Subcode}]++
		}
		want[m].reqs[ev.Provider] = r
	}
	st, err = shapes.Stream()
	require.NoError(t, err)
	minutes := 0
	for {
		got, ok, err := st.NextMinute(classifierFunc(t))
		require.NoError(t, err)
		if !ok {
			break
		}
		minutes++
		w := want[got.Time]
		require.NotNil(t, w, "%s", got.Time)
		g := perMinute{reqs: map[string][2]int64{}, errs: map[[4]string]int64{}}
		for _, r := range got.Requests {
			x := g.reqs[r.Provider]
			x[0], x[1] = x[0]+r.Requests, x[1]+r.Errors
			g.reqs[r.Provider] = x
		}
		for _, e := range got.Errors {
			g.errs[[4]string{e.Provider, e.Category, e.Code, e.Subcode}] += e.Count
		}
		require.Equal(t, w.reqs, g.reqs, "%s", got.Time)
		require.Equal(t, w.errs, g.errs, "%s", got.Time)
	}
	require.Equal(t, 180, minutes)
}

// TestIncidentShapes: an endpoint down leaves the provider's others fine,
// a slow burn ramps, a timeout storm has no status, a repeated incident
// comes back, a retry loop raises volume too, a tenant declines its own
// share only while it is active.
func TestIncidentShapes(t *testing.T) {
	st, err := shapes.Stream()
	require.NoError(t, err)
	type agg struct{ req, errs int64 }
	by := map[string]*agg{}
	count := func(key string, m Minute, provider, category string, endpoint string) {
		a := by[key]
		if a == nil {
			a = &agg{}
			by[key] = a
		}
		for _, r := range m.Requests {
			if r.Provider == provider && (endpoint == "" || r.Method+" "+r.Endpoint == endpoint) {
				a.req += r.Requests
			}
		}
		for _, e := range m.Errors {
			if e.Provider == provider && (category == "" || e.Category == category) && (endpoint == "" || e.Method+" "+e.Endpoint == endpoint) {
				a.errs += e.Count
			}
		}
	}
	in := func(m Minute, from time.Duration, length time.Duration) bool {
		return !m.Time.Before(day0.Add(from)) && m.Time.Before(day0.Add(from+length))
	}
	for {
		m, ok, err := st.NextMinute(classifierFunc(t))
		require.NoError(t, err)
		if !ok {
			break
		}
		if in(m, 12*time.Hour+10*time.Minute, 30*time.Minute) {
			count("transfers down", m, "finix", "", "POST /transfers")
			count("authorizations", m, "finix", "", "POST /authorizations")
		}
		if in(m, 13*time.Hour, 10*time.Minute) {
			count("ramp start", m, "finterra", "", "")
		}
		if in(m, 13*time.Hour+20*time.Minute, 10*time.Minute) {
			count("ramp end", m, "finterra", "", "")
		}
		if in(m, 12*time.Hour, 20*time.Minute) || in(m, 13*time.Hour, 20*time.Minute) || in(m, 14*time.Hour, 20*time.Minute) {
			count("timeouts", m, "flexiti", "timeout", "")
		}
		if in(m, 12*time.Hour+20*time.Minute, 40*time.Minute) {
			count("between", m, "flexiti", "timeout", "")
		}
		if in(m, 14*time.Hour, 20*time.Minute) {
			count("retry loop", m, "finterra", "rate_limit", "")
			count("new code", m, "flexiti", "auth", "")
		}
		if in(m, 14*time.Hour+30*time.Minute, 20*time.Minute) {
			count("after the loop", m, "finterra", "", "")
		}
		if in(m, 13*time.Hour, time.Hour) {
			count("tenant active", m, "finix", "decline", "")
		}
		if in(m, 14*time.Hour, time.Hour) {
			count("tenant away", m, "finix", "decline", "")
		}
	}
	rate := func(k string) float64 { return float64(by[k].errs) / float64(by[k].req) }
	require.InDelta(t, 1.0, rate("transfers down"), 0.02, "every call to the endpoint fails")
	require.Less(t, rate("authorizations"), 0.12, "the others are fine (their usual 7%)")
	require.Less(t, rate("ramp start"), 0.2)
	require.Greater(t, rate("ramp end"), 0.45)
	require.InDelta(t, 0.4, rate("timeouts"), 0.05, "three occurrences")
	require.Less(t, rate("between"), 0.02)
	require.InDelta(t, 0.3, rate("retry loop"), 0.05)
	require.Greater(t, float64(by["retry loop"].req), 2.5*float64(by["after the loop"].req), "three times the calls")
	require.InDelta(t, 0.1, rate("new code"), 0.03, "an undocumented code on a 401 is auth")
	require.InDelta(t, 0.04+0.2/1.2*0.26, rate("tenant active"), 0.02)
	require.InDelta(t, 0.04, rate("tenant away"), 0.01)

	for _, doc := range []string{
		"rate: 1\nduration: 1h\nincidents: [{kind: provider_outage, provider: finix, length: 10m, strength: 0.5, endpoint: GET /x}]\n",
		"rate: 1\nduration: 1h\nincidents: [{kind: provider_outage, provider: finix, length: 10m, strength: 0.5, ramp: 20m}]\n",
		"rate: 1\nduration: 1h\nincidents: [{kind: provider_outage, provider: finix, length: 10m, strength: 0.5, category: decline}]\n",
		"rate: 1\nduration: 1h\nincidents: [{kind: provider_outage, provider: finix, length: 10m, strength: 0.5, every: 5m}]\n",
		"rate: 1\nduration: 1h\ntenants: [{name: x, provider: finix, share: 2}]\n",
	} {
		_, err := ParseScenario([]byte(doc))
		require.Error(t, err, doc)
	}
}
