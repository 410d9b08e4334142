package ingest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func newClassifier(t testing.TB) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	return c
}

func TestBuilderAggregatesRollupsAndGroups(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 30, 0, time.UTC)
	bb := NewBuilder(newClassifier(t), store.Source{Group: "g", Topic: "t", Partition: 3}, store.NoOffset,
		BuilderOptions{Keep: 90 * 24 * time.Hour, Now: func() time.Time { return now }})
	recs := []string{
		`{"ts":"2026-11-02T10:00:01Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":201}`,
		`{"ts":"2026-11-02T10:00:02Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":402,"response_body":{"_embedded":{"errors":[{"logref":"L1","code":"DECLINED","failure_code":"CALL_ISSUER","message":"card 4111 1111 1111 1111 declined for jane@example.com"}]}}}`,
		`{"ts":"2026-11-02T10:00:59Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":402,"response_body":{"_embedded":{"errors":[{"logref":"L2","code":"DECLINED","failure_code":"CALL_ISSUER"}]}}}`,
		`{"ts":"2026-11-02T10:01:00Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":201}`,
		`not json at all, card 4111111111111111`,
		`{"ts":"2030-01-01T00:00:00Z","provider":"finix","status":500}`,
		`{"ts":"2020-01-01T00:00:00Z","provider":"finix","status":500}`,
	}
	for i, r := range recs {
		bb.Add([]byte(r), "t", 3, int64(100+i))
	}
	require.Equal(t, len(recs), bb.Len())
	b := bb.Take(107)
	require.Equal(t, int64(107), b.NextOffset)
	require.Equal(t, store.NoOffset, b.ExpectedOffset)
	require.Equal(t, 0, bb.Len())

	require.Len(t, b.Requests, 2, "two minutes of finix /transfers")
	require.Equal(t, int64(3), b.Requests[0].Requests)
	require.Equal(t, int64(2), b.Requests[0].Errors)
	require.Equal(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), b.Requests[0].Minute)
	require.Equal(t, int64(1), b.Requests[1].Requests)
	require.Equal(t, int64(0), b.Requests[1].Errors)

	require.Len(t, b.Errors, 1)
	require.Equal(t, store.ErrorRollup{Minute: b.Requests[0].Minute, Provider: "finix", Category: classify.Decline, Code: "DECLINED", Subcode: "CALL_ISSUER", Count: 2}, b.Errors[0])

	require.Len(t, b.Groups, 1)
	g := b.Groups[0]
	require.Equal(t, int64(2), g.Count)
	require.Equal(t, "CALL_ISSUER", g.Subcode)
	require.Equal(t, "L2", g.SampleCorrelationID, "the newest event is the sample")
	require.True(t, g.FirstSeen.Before(g.LastSeen))
	require.Equal(t, 1, g.SampleEvent, "the sample event is the newest")

	require.Len(t, b.Events, 2)
	require.Equal(t, int64(101), b.Events[0].Offset)
	require.Equal(t, int32(3), b.Events[0].Partition)
	for _, e := range b.Events {
		for _, secret := range []string{"4111 1111 1111 1111", "jane@example.com"} {
			require.NotContains(t, e.Message, secret)
			require.NotContains(t, e.Body, secret)
		}
	}
	require.Contains(t, b.Events[0].Body, "L1", "ids are kept")

	require.Len(t, b.DeadLetters, 3)
	require.Equal(t, classify.ReasonNotJSON, b.DeadLetters[0].Reason)
	require.Equal(t, int64(104), b.DeadLetters[0].Offset)
	require.NotContains(t, b.DeadLetters[0].Raw, "4111111111111111")
	require.True(t, strings.HasPrefix(b.DeadLetters[0].Raw, "not json at all"))
	require.Equal(t, ReasonTimeRange, b.DeadLetters[1].Reason, "far future")
	require.Equal(t, ReasonTimeRange, b.DeadLetters[2].Reason, "older than the retention")

	// The next batch expects the offset this one reached.
	bb.Add([]byte(recs[0]), "t", 3, 107)
	require.Equal(t, int64(107), bb.Take(108).ExpectedOffset)
}

func TestBuilderCountsEveryUsableRecordOnce(t *testing.T) {
	c := newClassifier(t)
	g := synth.New(synth.Options{Seed: 9, Start: time.Now().Add(-time.Hour).UTC()})
	bb := NewBuilder(c, store.Source{Group: "g", Topic: "t"}, store.NoOffset, BuilderOptions{})
	var errs, n int64 = 0, 5000
	for i := int64(0); i < n; i++ {
		usable, unusable := bb.Add(g.Next(nil), "t", 0, i)
		require.Equal(t, 1, usable)
		require.Zero(t, unusable)
	}
	b := bb.Take(n)
	errs = int64(len(b.Events))
	var reqs, rerrs, ecount, gcount int64
	for _, r := range b.Requests {
		reqs += r.Requests
		rerrs += r.Errors
	}
	for _, e := range b.Errors {
		ecount += e.Count
	}
	for _, g := range b.Groups {
		gcount += g.Count
	}
	require.Equal(t, n, reqs)
	require.Equal(t, errs, rerrs)
	require.Equal(t, errs, ecount)
	require.Equal(t, errs, gcount)
	require.Equal(t, errs, int64(len(b.Events)))
	require.Greater(t, errs, int64(200), "the mix has errors")
	requireSamplesAreLatest(t, b)
}

func TestBuilderSampleEventIsTheLatest(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 30, 0, time.UTC)
	bb := NewBuilder(newClassifier(t), store.Source{Group: "g", Topic: "t"}, store.NoOffset,
		BuilderOptions{Now: func() time.Time { return now }})
	rec := func(ts, code, logref string) []byte {
		return []byte(`{"ts":"2026-11-02T10:00:` + ts + `Z","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":402,` +
			`"response_body":{"_embedded":{"errors":[{"logref":"` + logref + `","code":"` + code + `"}]}}}`)
	}
	recs := [][]byte{
		rec("05", "DECLINED", "D1"),
		rec("01", "INSUFFICIENT_FUNDS", "I1"),
		rec("09", "DECLINED", "D2"), // DECLINED's latest
		rec("09", "INSUFFICIENT_FUNDS", "I2"),
		rec("03", "DECLINED", "D3"),
		rec("09", "INSUFFICIENT_FUNDS", "I3"), // as late as I2, and after it
		rec("02", "INSUFFICIENT_FUNDS", "I4"),
	}
	for i, r := range recs {
		usable, _ := bb.Add(r, "t", 0, int64(i))
		require.Equal(t, 1, usable)
	}
	b := bb.Take(int64(len(recs)))
	require.Len(t, b.Events, len(recs))
	require.Len(t, b.Groups, 2)
	require.Equal(t, "D2", b.Events[b.Groups[0].SampleEvent].CorrelationID)
	require.Equal(t, "I3", b.Events[b.Groups[1].SampleEvent].CorrelationID)
	requireSamplesAreLatest(t, b)

	// A new batch indexes its own events.
	usable, _ := bb.Add(recs[4], "t", 0, 7)
	require.Equal(t, 1, usable)
	b = bb.Take(8)
	require.Len(t, b.Groups, 1)
	require.Zero(t, b.Groups[0].SampleEvent)
}

// requireSamplesAreLatest checks that every group's SampleEvent indexes
// the group's latest event of the batch (the last of the latest, when
// several share its ts), the one its sample fields describe.
func requireSamplesAreLatest(t *testing.T, b *store.Batch) {
	t.Helper()
	for _, g := range b.Groups {
		require.True(t, g.SampleEvent >= 0 && g.SampleEvent < len(b.Events), "%s: sample event %d of %d", g.Fingerprint, g.SampleEvent, len(b.Events))
		s := b.Events[g.SampleEvent]
		require.Equal(t, g.Fingerprint, s.Fingerprint)
		require.True(t, s.TS.Equal(g.LastSeen), "%s: sample at %s, last seen %s", g.Fingerprint, s.TS, g.LastSeen)
		require.Equal(t, g.SampleCorrelationID, s.CorrelationID)
		require.Equal(t, g.SampleMessage, s.Message)
		for i, e := range b.Events {
			if e.Fingerprint != g.Fingerprint {
				continue
			}
			if i > g.SampleEvent {
				require.True(t, e.TS.Before(s.TS), "%s: event %d at %s is not before the sample %d at %s", g.Fingerprint, i, e.TS, g.SampleEvent, s.TS)
			} else {
				require.False(t, e.TS.After(s.TS), "%s: event %d at %s is after the sample %d at %s", g.Fingerprint, i, e.TS, g.SampleEvent, s.TS)
			}
		}
	}
}

// TestBuilderStoresEveryRecordOfAMessage: an OpenTelemetry message's
// records are stored with the message's offset, each unusable one a dead
// letter naming its index, its detail said once, its raw the record.
func TestBuilderStoresEveryRecordOfAMessage(t *testing.T) {
	now := time.Date(2026, 12, 6, 11, 0, 30, 0, time.UTC)
	bb := NewBuilder(newClassifier(t), store.Source{Group: "g", Topic: "t"}, store.NoOffset,
		BuilderOptions{Now: func() time.Time { return now }})
	msg := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeLogs":[{"logRecords":[` +
		`{"attributes":[{"key":"ts","value":{"stringValue":"2026-12-06T11:00:00Z"}},{"key":"url.full","value":{"stringValue":"https://finix.live-payments-api.com/transfers"}},{"key":"http.response.status_code","value":{"intValue":"402"}}]},` +
		`{"body":{"stringValue":"cache warmed for jane.doe@example.com"}},` +
		`{"attributes":[{"key":"ts","value":{"stringValue":"2026-12-06T11:00:01Z"}},{"key":"url.full","value":{"stringValue":"https://finix.live-payments-api.com/transfers"}}]}]}]}]}`
	usable, unusable := bb.Add([]byte(msg), "t", 2, 40)
	require.Equal(t, 1, usable)
	require.Equal(t, 2, unusable)
	b := bb.Take(41)
	require.Len(t, b.Events, 1)
	require.Equal(t, int64(40), b.Events[0].Offset)
	require.Equal(t, classify.ShapeOTLPJSON, b.Events[0].Shape)
	require.Equal(t, []store.ShapeCount{{Minute: now.Truncate(time.Minute), Shape: classify.ShapeOTLPJSON, Records: 1}}, b.Shapes)
	require.Len(t, b.DeadLetters, 2)
	for i, want := range []classify.Reason{classify.ReasonNotACall, classify.ReasonNoOutcome} {
		d := b.DeadLetters[i]
		require.Equal(t, want, d.Reason)
		require.Equal(t, int64(40), d.Offset)
		require.True(t, strings.HasPrefix(d.Detail, string(want)+": log record "+strconv.Itoa(i+1)+" of the message: "), d.Detail)
		require.Equal(t, 1, strings.Count(d.Detail, string(want)), d.Detail)
		require.Contains(t, d.Raw, `"attributes"`, "the record, not the message")
		require.NotContains(t, d.Raw, "jane.doe@example.com")
	}
}
