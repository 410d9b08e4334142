package classify

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCRILine(t *testing.T) {
	for in, want := range map[string]string{
		`2026-11-02T10:00:00.123456789Z stdout F {"a":1}`:      `{"a":1}`,
		`2026-11-02T10:00:00.123456789+01:00 stderr F {"a":1}`: `{"a":1}`,
		`2026-11-02T10:00:00Z stdout P {"a":`:                  `{"a":`,
		`2026-11-02T10:00:00Z stdout F `:                       ``,
	} {
		ts, payload, ok := criLine([]byte(in))
		require.True(t, ok, in)
		require.Equal(t, want, string(payload), in)
		require.Equal(t, in[:strings.IndexByte(in, ' ')], string(ts))
	}
	for _, in := range []string{
		`{"ts":"2026-11-02T10:00:00Z"}`,
		`2026-11-02T10:00:00Z stdin F {}`,
		`2026-11-02T10:00:00Z stdout X {}`,
		`2026-11-02T10:00:00Z stdout F{}`,
		`2026-11-02T10:00:00Z stdout`,
		`2026-13-02T10:00:00Z stdout F {}`,
		`12345678901234567890123 stdout F {}`,
		`2026-11-02T10:00:00Z` + strings.Repeat("0", 1<<20) + ` stdout F {}`,
		"2026-11-02T10:00:00Z\x00stdout F {}",
		``,
	} {
		_, _, ok := criLine([]byte(in))
		require.False(t, ok, "%.60q", in)
	}
}

// TestCRILineRecords: a container's record forwarded as a CRI log line,
// alone or in a shipper's envelope, reads as the record; the line's time
// is the record's when it has none; what is not a call stays a dead
// letter, with the line named.
func TestCRILineRecords(t *testing.T) {
	c := newTestClassifier(t)
	const call = `{"provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/transfers","status":500}`
	const withTS = `{"ts":"2026-11-02T09:00:00Z","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/transfers","status":500}`
	lineTS := time.Date(2026, 11, 2, 10, 0, 0, 123456789, time.UTC)
	for name, tc := range map[string]struct {
		msg string
		ts  time.Time
	}{
		"line, record without a time":   {`2026-11-02T10:00:00.123456789Z stdout F ` + call, lineTS},
		"line, record with its time":    {`2026-11-02T10:00:00.123456789Z stdout F ` + withTS, lineTS.Add(-time.Hour).Truncate(time.Hour)},
		"fluent bit tail, in log":       {`{"log":` + quote(`2026-11-02T10:00:00.123456789Z stdout F `+call+"\n") + `}`, lineTS},
		"vector file source, message":   {`{"message":` + quote(`2026-11-02T10:00:00.123456789Z stderr F `+call) + `,"source_type":"file"}`, lineTS},
		"envelope's time wins the line": {`{"message":` + quote(`2026-11-02T10:00:00.123456789Z stderr F `+call) + `,"timestamp":"2026-11-02T10:00:05Z"}`, lineTS.Truncate(time.Second).Add(5 * time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			rs := c.ClassifyAll([]byte(tc.msg), nil)
			require.Len(t, rs, 1)
			require.NoError(t, rs[0].Err)
			ev := rs[0].Event
			require.Equal(t, ShapeContainer, ev.Shape)
			require.Equal(t, "finix", ev.Provider)
			require.Equal(t, 500, ev.Status)
			require.True(t, tc.ts.Equal(ev.TS), "ts %s, want %s", ev.TS, tc.ts)
		})
	}
	for msg, reason := range map[string]Reason{
		`2026-11-02T10:00:00Z stdout F {"level":"info","msg":"user logged in"}`: ReasonNotACall,
		`2026-11-02T10:00:00Z stdout P {"provider":"finix","url":"https://fin`:  ReasonNotJSON,
		`2026-11-02T10:00:00Z stdout F listening on :8080`:                      ReasonNotJSON,
		`2026-11-02T10:00:00Z stdout F {"provider":"finix","method":"POST"}`:    ReasonNoOutcome,
	} {
		_, err := c.Classify([]byte(msg))
		require.Error(t, err, msg)
		require.Equal(t, reason, ReasonOf(err), msg)
		require.Contains(t, err.Error(), "CRI log line", msg)
	}
}
