package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
)

func TestOptions(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	defaults := cli{Count: 1000, Seed: 1, Step: 10 * time.Millisecond, ErrorRate: 0.07}

	o, err := defaults.options(now)
	require.NoError(t, err)
	require.Equal(t, now.Add(-999*10*time.Millisecond), o.Start, "by default the last record is now")

	given := defaults
	given.Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	o, err = given.options(now)
	require.NoError(t, err)
	require.Equal(t, given.Start, o.Start)

	for name, c := range map[string]cli{
		"--step":       {Count: 1, Step: -time.Second, ErrorRate: 0.07},
		"--count":      {Count: -1, Step: time.Second, ErrorRate: 0.07},
		"--error-rate": {Count: 1, Step: time.Second, ErrorRate: 0},
	} {
		_, err := c.options(now)
		require.ErrorContains(t, err, name)
	}
}

func TestScenarioFromFlags(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := cli{Seed: 7, Duration: 3 * time.Hour, Rate: 300, Daily: 0.6, Weekend: 0.6,
		Incident: []string{"kind=decline_spike,provider=finix,start=+1h,length=20m,strength=0.3,subcode=CALL_ISSUER"}}
	sc, err := c.scenario(now)
	require.NoError(t, err)
	require.Equal(t, now.Add(-3*time.Hour), sc.Start, "by default the traffic ends now")
	require.Len(t, sc.Incidents, 1)
	in := sc.Incidents[0]
	require.Equal(t, now.Add(-2*time.Hour), in.Start, "start as an offset from the scenario's start")
	require.Equal(t, 20*time.Minute, in.Length)
	require.Equal(t, "CALL_ISSUER", in.Subcode)

	next, err := c.records(now)
	require.NoError(t, err)
	var n int
	last := time.Time{}
	for rec, ok := next(nil); ok; rec, ok = next(nil) {
		var r struct {
			TS time.Time `json:"ts"`
		}
		require.NoError(t, json.Unmarshal(rec, &r))
		require.False(t, r.TS.Before(last), "records come in time order")
		last = r.TS
		n++
	}
	require.Greater(t, n, 3*60*100, "hundreds of requests a minute")
}

func TestIncidentFlagErrors(t *testing.T) {
	start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for spec, want := range map[string]string{
		"kind=decline_spike,provider=finix,start=+1h,length=20m":                        "strength is required",
		"kind=decline_spike,provider=finix,start=+1h,length=20m,strength=x":             "strength",
		"kind=decline_spike,provider=finix,start=yesterday,length=20m,strength=0.1":     "start",
		"kind=decline_spike,provider=finix,start=+1h,length=20m,strength=0.1,color=red": `unknown key "color"`,
		"kind=decline_spike,kind=new_code":                                              "kind given twice",
		"kind":                                                                          "want key=value",
	} {
		_, err := parseIncident(spec, start)
		require.ErrorContains(t, err, want, spec)
	}
	in, err := parseIncident("kind=new_code,provider=paylera,start=2026-11-22T05:00:00Z,length=30m,strength=0.05,code=payout.frozen,status=409", start)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC), in.Start)
	require.Equal(t, 409, in.Status)
}

func TestScenarioFileExcludesScenarioFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(file, []byte("duration: 2h\nrate: 50\nincidents:\n  - {kind: provider_outage, provider: flexiti, start: 2026-10-05T01:00:00Z, length: 15m, strength: 0.4}\n"), 0o644))
	c := cli{Scenario: file}
	sc, err := c.scenario(time.Now())
	require.NoError(t, err)
	require.Len(t, sc.Incidents, 1)
	c.Duration = time.Hour
	_, err = c.scenario(time.Now())
	require.ErrorContains(t, err, "--scenario describes the whole scenario")
	require.NoError(t, os.WriteFile(file, []byte("duraton: 2h\n"), 0o644))
	bad := cli{Scenario: file}
	_, err = bad.scenario(time.Now())
	require.ErrorContains(t, err, "duraton")
}

// TestStyledMessages: every style writes one message a record, except
// that --per-message packs that many log records into each OpenTelemetry
// message (the last one holding the rest); faultline reads back every
// record, in the style's shape.
func TestStyledMessages(t *testing.T) {
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	cl, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		style      string
		perMessage int
		messages   int
	}{
		{"zap", 1, 23},
		{"docker", 1, 23},
		{"otlp_json", 1, 23},
		{"otlp_json", 5, 5},
		{"otlp_json", 23, 1},
		{"otlp_json", 500, 1},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.style, tc.perMessage), func(t *testing.T) {
			c := cli{Count: 23, Seed: 3, Start: start, Step: time.Second, ErrorRate: 0.3, Style: tc.style, PerMessage: tc.perMessage}
			next, err := c.records(start)
			require.NoError(t, err)
			next, err = c.styled(next)
			require.NoError(t, err)
			var messages int
			var got []time.Time
			for msg, ok := next(nil); ok; msg, ok = next(nil) {
				messages++
				for _, r := range cl.ClassifyAll(msg, nil) {
					require.NoError(t, r.Err)
					got = append(got, r.Event.TS)
				}
			}
			require.Equal(t, tc.messages, messages)
			// A message groups its records by resource (service), as the
			// Collector does: every record once, in any order.
			slices.SortFunc(got, time.Time.Compare)
			want := make([]time.Time, 23)
			for i := range want {
				want[i] = start.Add(time.Duration(i) * time.Second)
			}
			require.Equal(t, want, got)
		})
	}
	for _, c := range []cli{
		{Count: 1, Step: time.Second, ErrorRate: 0.1, Style: "zap", PerMessage: 2},
		{Count: 1, Step: time.Second, ErrorRate: 0.1, Style: "otlp_json", PerMessage: 0},
		{Count: 1, Step: time.Second, ErrorRate: 0.1, Style: "otlp_json", PerMessage: 501},
	} {
		next, err := c.records(start)
		require.NoError(t, err)
		_, err = c.styled(next)
		require.ErrorContains(t, err, "--per-message", "%s %d", c.Style, c.PerMessage)
	}
}
