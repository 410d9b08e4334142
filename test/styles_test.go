package test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/synth"
	"github.com/faultline-dev/faultline/synth/reshape"
)

// TestEveryShapeThroughKafka: calls written by the logging stacks teams
// run (zap, zerolog, slog, logrus and ecszap lines, logstash documents,
// container envelopes, OpenTelemetry messages of many records made by
// pdata's own marshalers, both encodings), mixed with application log
// lines that are not calls and calls that do not say how they ended, go
// through the Kafka protocol to the real `ingest run`. What is stored is
// what the same calls in the contract's shape give: requests, errors and
// the error rate per provider, the error rollup and groups; every non-call
// and every call without an outcome is a dead letter with its reason,
// none a guessed timeout; /metrics and `ingest status` count the shapes.
func TestEveryShapeThroughKafka(t *testing.T) {
	e := newEnv(t, 3, "")
	g := synth.New(synth.Options{Seed: 15, Start: time.Now().Add(-90 * time.Minute).UTC().Truncate(time.Second), Step: 500 * time.Millisecond})
	rng := rand.New(rand.NewPCG(15, 51))
	styles := reshape.Styles()

	var msgs, truth [][]byte // the messages sent, and the same calls in the contract's shape
	wantShapes := map[string]int64{}
	wantDead := map[string]int64{}
	otlpMessages := 0
	for len(truth) < 6000 {
		switch r := rng.IntN(100); {
		case r < 8: // an OpenTelemetry message of several calls
			n := 1 + rng.IntN(12)
			var calls []reshape.Call
			for range n {
				call, rec := nextCall(t, g)
				calls = append(calls, call)
				truth = append(truth, rec)
			}
			enc := []reshape.Encoding{reshape.OTLPProto, reshape.OTLPJSON}[rng.IntN(2)]
			layout := []reshape.Layout{reshape.SemconvCurrent, reshape.SemconvOld, reshape.Filelog}[rng.IntN(3)]
			msg, err := reshape.OTLP(calls, enc, layout)
			require.NoError(t, err)
			msgs = append(msgs, msg)
			wantShapes[string(enc)] += int64(n)
			otlpMessages++
		case r < 11: // an application's line that is not a call
			msgs = append(msgs, notACall[rng.IntN(len(notACall))])
			wantDead[string(classify.ReasonNotACall)]++
		case r < 13: // a call that does not say how it ended
			call, _ := nextCall(t, g)
			call.Status, call.Error = 0, ""
			style := styles[rng.IntN(len(styles))]
			msg, err := style.Write(call)
			require.NoError(t, err)
			msgs = append(msgs, msg)
			wantDead[string(classify.ReasonNoOutcome)]++
		default:
			call, rec := nextCall(t, g)
			style := styles[rng.IntN(len(styles))]
			msg, err := style.Write(call)
			require.NoError(t, err)
			msgs = append(msgs, msg)
			truth = append(truth, rec)
			wantShapes[style.Shape]++
		}
	}
	require.Greater(t, otlpMessages, 20)
	e.broker.Produce(t, e.topic, msgs)
	p := e.ingest()
	e.waitCaughtUp(90*time.Second, p)

	want := expect(t, truth, 65536)
	require.Zero(t, want.DeadLetters, "the truth is all calls")
	got := e.snapshot()
	require.Equal(t, want.Requests, got.Requests, "requests per provider")
	require.Equal(t, want.RequestErrors, got.RequestErrors, "errors per provider")
	require.Equal(t, want.Errors, got.Errors, "error rollup")
	require.Equal(t, want.Groups, got.Groups, "error groups")
	require.Equal(t, want.Events, got.Events, "events")
	require.Equal(t, wantDead, got.DeadLetterReasons, "dead letters by reason")
	for provider, n := range want.Requests {
		require.InDelta(t, float64(want.RequestErrors[provider])/float64(n), float64(got.RequestErrors[provider])/float64(got.Requests[provider]), 0, provider)
	}
	var timeouts int64
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE category = 'timeout' AND status = 0`).Scan(&timeouts))
	require.Equal(t, want.Errors[""], int64(0))
	wantTimeouts := int64(0)
	for k, n := range want.Errors {
		if strings.Contains(k, "/timeout/") {
			wantTimeouts += n
		}
	}
	var stored504 int64
	require.NoError(t, e.db.QueryRow(t.Context(), `SELECT count(*) FROM events WHERE category = 'timeout' AND status <> 0`).Scan(&stored504))
	require.Equal(t, wantTimeouts, timeouts+stored504, "no guessed timeout")

	for shape, n := range wantShapes {
		require.Equal(t, float64(n), p.metric(t, fmt.Sprintf(`faultline_records_by_shape_total{shape=%q}`, shape)), shape)
	}
	require.Equal(t, float64(wantDead[string(classify.ReasonNotACall)]), p.metric(t, `faultline_dead_letters_total{reason="not_a_call"}`))
	require.Equal(t, float64(wantDead[string(classify.ReasonNoOutcome)]), p.metric(t, `faultline_dead_letters_total{reason="no_outcome"}`))
	p.stop(t)

	out, err := exec.Command(ingestBin, "status", "--json", "--database-url", e.dbURL).Output()
	require.NoError(t, err)
	var st struct {
		RecentShapes      map[string]int64 `json:"recent_shapes"`
		RecentDeadLetters map[string]int64 `json:"recent_dead_letters"`
	}
	require.NoError(t, json.Unmarshal(out, &st), "%s", out)
	require.Equal(t, wantShapes, st.RecentShapes)
	require.Equal(t, wantDead, st.RecentDeadLetters)
	text, err := exec.Command(ingestBin, "status", "--database-url", e.dbURL).Output()
	require.NoError(t, err)
	require.Contains(t, string(text), "otlp_proto")
	require.Contains(t, string(text), "dead letter: not_a_call")
}

// nextCall is the generator's next call, and its contract record as the
// generator wrote it.
func nextCall(t *testing.T, g *synth.Generator) (reshape.Call, []byte) {
	t.Helper()
	rec := g.Next(nil)
	call, err := reshape.Parse(rec)
	require.NoError(t, err)
	return call, rec
}

// notACall are lines applications write about other things.
var notACall = [][]byte{
	[]byte(`{"level":"info","ts":1793613600.123,"caller":"auth/login.go:42","msg":"user logged in","user":"u_1"}`),
	[]byte(`{"ts":"2026-11-02T10:00:00Z","msg":"user logged in"}`),
	[]byte(`{"time":"2026-11-02T10:00:00Z","level":"ERROR","msg":"query failed","err":"connection refused"}`),
	[]byte(`{"log":"listening on :8080\n","stream":"stdout","time":"2026-11-02T10:00:00Z"}`),
	[]byte(`{"@timestamp":"2026-11-02T10:00:00.000Z","log.level":"info","message":"cache warmed","ecs.version":"1.6.0"}`),
	[]byte(`{"level":"warn","time":"2026-11-02T10:00:00Z","message":"slow job","status":"ok","duration":"2s"}`),
}
