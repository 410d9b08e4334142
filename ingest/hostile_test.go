package ingest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/redact"
	"github.com/faultline-dev/faultline/store"
)

// panicky classifies like the real classifier, except that it panics on
// records holding "BOOM" (and, with redactToo, so does redacting them).
type panicky struct{ c *classify.Classifier }

func (p panicky) ClassifyAll(msg []byte, out []classify.Result) []classify.Result {
	if bytes.Contains(msg, []byte("BOOM")) {
		var m map[string]int
		//lint:ignore SA5000 a nil map write is the bug this test needs
		m["boom"]++ // a nil map write: a bug's panic
	}
	return p.c.ClassifyAll(msg, out)
}

// TestBuilderSurvivesAPanic: a record that makes classification panic is a
// dead letter with reason internal_error, reported by its coordinates; the
// records around it are stored as usual.
func TestBuilderSurvivesAPanic(t *testing.T) {
	type report struct {
		topic     string
		partition int32
		offset    int64
		detail    string
		stack     bool
	}
	var reports []report
	bb := NewBuilder(panicky{newClassifier(t)}, store.Source{Group: "g", Topic: "t"}, store.NoOffset, BuilderOptions{
		InternalError: func(err *classify.RecordError, topic string, partition int32, offset int64) {
			reports = append(reports, report{topic, partition, offset, err.Detail, len(err.Stack) > 0})
		},
	})
	now := "2026-11-22T10:00:00Z"
	usable, _ := bb.Add([]byte(`{"ts":"`+now+`","provider":"finix","status":500}`), "t", 2, 10)
	require.Equal(t, 1, usable)
	usable, unusable := bb.Add([]byte(`{"ts":"`+now+`","provider":"finix","status":500,"tenant":"BOOM 4111111111111111"}`), "t", 2, 11)
	require.Equal(t, 0, usable)
	require.Equal(t, 1, unusable)
	usable, _ = bb.Add([]byte(`{"ts":"`+now+`","provider":"finix","status":502}`), "t", 2, 12)
	require.Equal(t, 1, usable)

	b := bb.Take(13)
	require.Len(t, b.Events, 2)
	require.Len(t, b.DeadLetters, 1)
	d := b.DeadLetters[0]
	require.Equal(t, classify.ReasonInternal, d.Reason)
	require.Equal(t, int64(11), d.Offset)
	require.Empty(t, d.Raw, "a record that broke redaction is not stored")
	require.NotContains(t, d.Detail, "4111")
	require.Equal(t, []report{{"t", 2, 11, d.Detail[len("internal_error: "):], true}}, reports)
	var requests int64
	for _, r := range b.Requests {
		requests += r.Requests
	}
	require.Equal(t, int64(2), requests, "the broken record is counted nowhere else")
}

// TestDeadLettersAreRedactedKeyAware: an unusable record is redacted as a
// document whatever broke it, and bounded after.
func TestDeadLettersAreRedactedKeyAware(t *testing.T) {
	bb := NewBuilder(newClassifier(t), store.Source{Group: "g", Topic: "t"}, store.NoOffset, BuilderOptions{})
	recs := []string{
		`{"ts":"2026-11-22T10:00:00Z","status":500,"response_body":{"password":"hunter2","field_errors":[{"param":"piw","value":"bluebird"}]},}`,
		"{\"ts\":\"2026-11-22T10:00:00Z\",\"x\":\"\x00\",\"request_headers\":{\"X-Auth-Token\":\"tok123\",\"Ocp-Apim-Subscription-Key\":\"sub456\"}}",
		`{"status":500,"response_body":"{\"access_token\":\"at789\",\"security_answer\":\"rex\"}"}`,
		`{"ts":"2026-11-22T10:00:00Z","status":500,"response_body":{"X-Hub-Signature":"sig000","cookie":"sid=abc`,
		`{"status":500,"pad":"` + strings.Repeat("a", 40<<10) + `","password":"late-secret"}`,
	}
	for i, r := range recs {
		bb.Add([]byte(r), "t", 0, int64(i))
	}
	b := bb.Take(int64(len(recs)))
	require.Len(t, b.DeadLetters, len(recs))
	for _, d := range b.DeadLetters {
		for _, secret := range []string{"hunter2", "bluebird", "tok123", "sub456", "at789", "rex", "sig000", "sid=abc", "late-secret"} {
			require.NotContains(t, d.Raw, secret, "reason %s", d.Reason)
		}
		require.LessOrEqual(t, len(d.Raw), maxDeadLetterBytes)
		require.Equal(t, redact.Document(d.Raw), d.Raw, "nothing left to redact")
	}
}
