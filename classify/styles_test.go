package classify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/synth/reshape"
)

// Every shape a logging stack writes (package reshape: zap, zerolog, slog,
// logrus and ecszap writing to a buffer, pdata's own marshalers, the
// shippers' envelopes) classifies exactly as the contract's record of the
// same call: provider, code, category, request id, fingerprint; and says
// which shape it was read as.

// styleCalls are calls of every kind: each provider's documented error
// (the request id in the body or a header), a success, a transport error,
// a call with a provider display name and a URL without a scheme.
func styleCalls() []reshape.Call {
	ts := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var calls []reshape.Call
	for i, pe := range providerErrors {
		h := map[string]string{"Content-Type": "application/json"}
		if pe.header {
			h["X-Request-Id"] = pe.correlation
		}
		calls = append(calls, reshape.Call{
			TS: ts.Add(time.Duration(i) * time.Second), Service: "checkout", Env: "prod", Tenant: "tenant-" + pe.provider,
			Provider: pe.provider, Method: "POST", URL: pe.url, Status: pe.status, DurationMS: 120,
			ResponseHeaders: h, ResponseBody: pe.body, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		})
	}
	return append(calls,
		reshape.Call{TS: ts.Add(time.Minute), Service: "checkout", Env: "prod", Tenant: "t1", Provider: "finix",
			Method: "POST", URL: "https://finix.live-payments-api.com/transfers", Status: 201, DurationMS: 80,
			ResponseBody: `{"id":"TRabc","state":"SUCCEEDED"}`, TraceID: "5bf92f3577b34da6a3ce929d0e0e4736"},
		reshape.Call{TS: ts.Add(2 * time.Minute), Service: "checkout", Env: "prod", Tenant: "t1", Provider: "finterra",
			Method: "POST", URL: "https://api.myfinterra.com/pos/v1/orders/ord_1/payments", Error: "context deadline exceeded",
			DurationMS: 30000, TraceID: "6bf92f3577b34da6a3ce929d0e0e4736"},
		reshape.Call{TS: ts.Add(3 * time.Minute), Service: "checkout", Env: "prod", Tenant: "t1", Provider: "Finix Payments",
			Method: "get", URL: "finix.live-payments-api.com:443/merchants", Status: 401, DurationMS: 12,
			ResponseBody: `{"total":1,"_embedded":{"errors":[{"logref":"bb00cc11dd22ee33","code":"UNKNOWN","message":"Unauthorized"}]}}`,
			TraceID:      "7bf92f3577b34da6a3ce929d0e0e4736"},
		reshape.Call{TS: ts.Add(4 * time.Minute), Service: "billing", Env: "prod", Tenant: "t2", // no provider: the host says
			Method: "POST", URL: "https://api.paylera.com/v1/invoices/inv_ahxdybwyej/pay", Status: 200, DurationMS: 44},
	)
}

// secondsOnly are the styles whose loggers write whole seconds by default.
var secondsOnly = map[string]bool{"zerolog": true, "logrus": true, "fluentbit-merged": true, "fluentd": true}

func TestEveryStyleReadsAsTheContract(t *testing.T) {
	c := newTestClassifier(t)
	for _, style := range reshape.Styles() {
		for i, call := range styleCalls() {
			t.Run(fmt.Sprintf("%s/%d-%s-%d", style.Name, i, call.Provider, call.Status), func(t *testing.T) {
				want, err := c.Classify(reshape.Contract(call))
				require.NoError(t, err)
				msg, err := style.Write(call)
				require.NoError(t, err)
				rs := c.ClassifyAll(msg, nil)
				require.Len(t, rs, 1, "%s", msg)
				require.NoError(t, rs[0].Err, "%s", msg)
				got := rs[0].Event
				require.Equal(t, Shape(style.Shape), got.Shape, "%s", msg)
				require.Equal(t, want.Provider, got.Provider, "%s", msg)
				require.Equal(t, want.IsError, got.IsError, "%s", msg)
				require.Equal(t, want.Status, got.Status, "%s", msg)
				require.Equal(t, want.Method, got.Method, "%s", msg)
				require.Equal(t, want.Host, got.Host, "%s", msg)
				require.Equal(t, want.Endpoint, got.Endpoint, "%s", msg)
				require.Equal(t, want.Code, got.Code, "%s", msg)
				require.Equal(t, want.Subcode, got.Subcode, "%s", msg)
				require.Equal(t, want.Category, got.Category, "%s", msg)
				require.Equal(t, want.CorrelationID, got.CorrelationID, "%s", msg)
				require.Equal(t, want.Fingerprint, got.Fingerprint, "%s", msg)
				require.Equal(t, want.Tenant, got.Tenant, "%s", msg)
				if want.IsError {
					require.Equal(t, want.TraceID, got.TraceID, "%s", msg)
					require.Equal(t, want.Message, got.Message, "%s", msg)
				}
				if secondsOnly[style.Name] {
					require.Equal(t, want.TS.Truncate(time.Second), got.TS, "%s", msg)
				} else {
					require.True(t, want.TS.Equal(got.TS), "ts %s, want %s: %s", got.TS, want.TS, msg)
				}
			})
		}
	}
}

// TestOTLPMessageOfManyRecords: one message of the Kafka exporter holds
// every call, over several resources; each is a result of its own, in
// order, read as the contract's record of the same call.
func TestOTLPMessageOfManyRecords(t *testing.T) {
	c := newTestClassifier(t)
	calls := styleCalls()
	for _, enc := range []reshape.Encoding{reshape.OTLPProto, reshape.OTLPJSON} {
		for _, layout := range []reshape.Layout{reshape.SemconvCurrent, reshape.SemconvOld, reshape.Filelog} {
			msg, err := reshape.OTLP(calls, enc, layout)
			require.NoError(t, err)
			rs := c.ClassifyAll(msg, nil)
			require.Len(t, rs, len(calls), "%s/%d", enc, layout)
			// Records come grouped by resource (service), in order within it.
			byTrace := map[string]Result{}
			for i, r := range rs {
				require.NoError(t, r.Err, "%s/%d record %d", enc, layout, i)
				require.True(t, r.Many)
				require.Equal(t, i, r.Index)
				require.Equal(t, Shape(enc), r.Event.Shape)
				byTrace[r.Event.TS.String()] = r
			}
			for _, call := range calls {
				want, err := c.Classify(reshape.Contract(call))
				require.NoError(t, err)
				got, ok := byTrace[want.TS.String()]
				require.True(t, ok, "%s/%d: no record at %s", enc, layout, want.TS)
				require.Equal(t, want.Provider, got.Event.Provider)
				require.Equal(t, want.Fingerprint, got.Event.Fingerprint)
				require.Equal(t, want.CorrelationID, got.Event.CorrelationID)
				require.Equal(t, want.Service, got.Event.Service)
				require.Equal(t, want.Env, got.Event.Env)
			}
		}
	}
}

// TestNeverMisread: what is not a provider call, or does not say how the
// call ended, is a dead letter with its reason in every shape, never a
// guessed timeout.
func TestNeverMisread(t *testing.T) {
	c := newTestClassifier(t)
	ts := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	noOutcome := reshape.Call{TS: ts, Service: "checkout", Provider: "finix", Method: "POST", URL: "https://finix.live-payments-api.com/transfers"}
	for _, style := range reshape.Styles() {
		msg, err := style.Write(noOutcome)
		require.NoError(t, err)
		rs := c.ClassifyAll(msg, nil)
		require.Len(t, rs, 1)
		require.Equal(t, ReasonNoOutcome, ReasonOf(rs[0].Err), "%s: %s", style.Name, msg)
	}
	for name, rec := range map[string]string{
		"zap info line":              `{"level":"info","ts":1793613600.123,"caller":"auth/login.go:42","msg":"user logged in","user":"u_1"}`,
		"zerolog line":               `{"level":"info","time":"2026-11-02T10:00:00Z","message":"user logged in"}`,
		"the issue's line":           `{"ts":"2026-11-02T10:00:00Z","msg":"user logged in"}`,
		"slog error about the db":    `{"time":"2026-11-02T10:00:00Z","level":"ERROR","msg":"query failed","err":"connection refused"}`,
		"logger status is a word":    `{"time":"2026-11-02T10:00:00Z","level":"INFO","msg":"job done","status":"ok"}`,
		"docker line of plain text":  `{"log":"listening on :8080\n","stream":"stdout","time":"2026-11-02T10:00:00Z"}`,
		"docker line of an app line": `{"log":"{\"level\":\"info\",\"msg\":\"started\"}\n","stream":"stdout","time":"2026-11-02T10:00:00Z"}`,
		"ecs app line":               `{"@timestamp":"2026-11-02T10:00:00.000Z","log.level":"info","message":"started","ecs.version":"1.6.0"}`,
		"empty object":               `{}`,
	} {
		_, err := c.Classify([]byte(rec))
		require.Equal(t, ReasonNotACall, ReasonOf(err), "%s: %v", name, err)
	}
	for name, rec := range map[string]string{
		"zap, the issue's finix success without a url": `{"level":"info","ts":1793613600.1,"msg":"call","provider":"finix","http":{"method":"POST"}}`,
		"contract without status or error":             `{"ts":"2026-11-02T10:00:00Z","provider":"finix","url":"https://finix.live-payments-api.com/transfers"}`,
		"status zero and no error":                     `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":0}`,
		"status null":                                  `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":null}`,
		"empty transport error":                        `{"ts":"2026-11-02T10:00:00Z","provider":"finix","error":"  "}`,
	} {
		_, err := c.Classify([]byte(rec))
		require.Equal(t, ReasonNoOutcome, ReasonOf(err), "%s: %v", name, err)
	}
	for name, rec := range map[string]string{
		"a status and a path only":    `{"ts":"2026-11-02T10:00:00Z","method":"GET","url":"/healthz","status":200}`,
		"an error body of no dialect": `{"ts":"2026-11-02T10:00:00Z","status":500,"response_body":{"oops":true}}`,
	} {
		_, err := c.Classify([]byte(rec))
		require.Equal(t, ReasonNoProvider, ReasonOf(err), "%s: %v", name, err)
	}
	// The misread: a Finix success logged by zap with its status
	// under http is a Finix success.
	ev, err := c.Classify([]byte(`{"level":"info","ts":1793613600.1,"msg":"call","provider":"finix","http":{"status":200,"url":"https://finix.live-payments-api.com/transfers","method":"POST"}}`))
	require.NoError(t, err)
	require.Equal(t, "finix", ev.Provider)
	require.False(t, ev.IsError)
	require.Equal(t, 200, ev.Status)
	require.Equal(t, ShapeLogger, ev.Shape)
}

// TestContractVariations: the contract's fields written a little
// differently read the same.
func TestContractVariations(t *testing.T) {
	c := newTestClassifier(t)
	want, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`))
	require.NoError(t, err)
	for name, rec := range map[string]string{
		"status with its reason phrase": `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":"401 Unauthorized","response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"status as a string":            `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":"401","response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"status line":                   `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":"HTTP/1.1 401 Unauthorized","response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"status as a float":             `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":401.0,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"lower-case method":             `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"get","url":"https://finix.live-payments-api.com/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"url without a scheme":          `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"finix.live-payments-api.com:443/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"display name":                  `{"ts":"2026-11-02T10:00:00Z","provider":"Finix Payments","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"upper-case name":               `{"ts":"2026-11-02T10:00:00Z","provider":"FINIX","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"headers as one raw string":     `{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":401,"response_headers":"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nx-request-id: hdr-1\r\n\r\n","response_body":{"message":"no"}}`,
		"no provider, host only":        `{"ts":"2026-11-02T10:00:00Z","method":"GET","url":"finix.live-payments-api.com/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
		"offset without a colon":        `{"ts":"2026-11-02T11:00:00.000+0100","provider":"finix","method":"GET","url":"https://finix.live-payments-api.com/merchants","status":401,"response_headers":{"X-Request-Id":"hdr-1"},"response_body":{"message":"no"}}`,
	} {
		got, err := c.Classify([]byte(rec))
		require.NoError(t, err, name)
		require.Equal(t, want.Provider, got.Provider, name)
		require.Equal(t, want.Status, got.Status, name)
		require.Equal(t, want.Host, got.Host, name)
		require.Equal(t, want.Endpoint, got.Endpoint, name)
		require.Equal(t, want.CorrelationID, got.CorrelationID, name)
		require.Equal(t, want.Fingerprint, got.Fingerprint, name)
		require.True(t, want.TS.Equal(got.TS), name)
	}
	for _, name := range []string{"FLEXITI", "Flexiti Inc.", "flexiti-pos"} {
		ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"` + name + `","status":503}`))
		require.NoError(t, err)
		require.Equal(t, "flexiti", ev.Provider, name)
	}
	ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"Acme Payments","status":503}`))
	require.NoError(t, err)
	require.Equal(t, OtherProvider, ev.Provider)
	require.False(t, strings.Contains(ev.Provider, "acme"))
}

// TestGoldenShapes pins what each shape's messages, as the real libraries
// wrote them (testdata/shapes/STYLE.msg, one message per line, base64 for
// the binary OpenTelemetry ones), classify as (testdata/golden/shapes.json).
// -update writes both again from synth/reshape.
func TestGoldenShapes(t *testing.T) {
	c := newTestClassifier(t)
	dir := filepath.Join("testdata", "shapes")
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for _, style := range reshape.Styles() {
			var lines []string
			for _, call := range styleCalls() {
				msg, err := style.Write(call)
				require.NoError(t, err)
				lines = append(lines, base64.StdEncoding.EncodeToString(msg))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, style.Name+".msg"), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
		}
	}
	var got bytes.Buffer
	for _, style := range reshape.Styles() {
		for i, msg := range shapeMessages(t, style.Name) {
			for _, r := range c.ClassifyAll(msg, nil) {
				out := struct {
					Style string
					Line  int
					Index int
					Err   string `json:",omitempty"`
					Event *Event `json:",omitempty"`
				}{Style: style.Name, Line: i + 1, Index: r.Index}
				if r.Err != nil {
					out.Err = r.Err.Error()
				} else {
					out.Event = &r.Event
				}
				b, err := json.MarshalIndent(out, "", "  ")
				require.NoError(t, err)
				got.Write(b)
				got.WriteByte('\n')
			}
		}
	}
	golden := filepath.Join("testdata", "golden", "shapes.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./classify -run GoldenShapes -update to create it")
	require.Equal(t, string(want), got.String(), "golden mismatch; inspect and re-run with -update if intended")
}

// shapeMessages reads the messages of a style's golden input.
func shapeMessages(t testing.TB, style string) [][]byte {
	data, err := os.ReadFile(filepath.Join("testdata", "shapes", style+".msg"))
	require.NoError(t, err)
	var msgs [][]byte
	for _, line := range strings.Fields(string(data)) {
		msg, err := base64.StdEncoding.DecodeString(line)
		require.NoError(t, err)
		msgs = append(msgs, msg)
	}
	return msgs
}

// FuzzClassifyAll fuzzes messages of every shape, seeded with each
// style's golden messages: any message gives at least one result, every
// error has a reason, and nothing panics.
func FuzzClassifyAll(f *testing.F) {
	for _, style := range reshape.Styles() {
		for _, msg := range shapeMessages(f, style.Name) {
			f.Add(msg)
		}
	}
	cats, err := BuiltinCatalogs()
	require.NoError(f, err)
	c, err := New(cats, Options{MaxBodyBytes: 512})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, msg []byte) {
		rs := c.ClassifyAll(msg, nil)
		if len(rs) == 0 {
			t.Fatal("no result")
		}
		for _, r := range rs {
			if r.Err != nil {
				if ReasonOf(r.Err) == "" || ReasonOf(r.Err) == ReasonInternal {
					t.Fatalf("error %v", r.Err)
				}
				continue
			}
			if r.Event.Provider == "" || r.Event.Shape == "" || r.Event.TS.IsZero() {
				t.Fatalf("event without provider, shape or time: %+v", r.Event)
			}
			if !r.Event.IsError && r.Event.Status == 0 {
				t.Fatalf("a success without a status: %+v", r.Event)
			}
		}
	})
}

// TestEveryShapeIsRedacted: secrets planted in every field of a call, in
// every shape, reach no field of the event, error or not; an unusable
// record's error says nothing of them either.
func TestEveryShapeIsRedacted(t *testing.T) {
	c := newTestClassifier(t)
	const card, email, jwt = "4111111111111111", "jane.doe@example.com", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYXVsdGxpbmUifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
	secrets := []string{card, email, jwt, "hunter2"}
	base := reshape.Call{
		TS: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), Service: "svc " + email, Env: "prod " + card, Tenant: "tenant " + card,
		Provider: "finterra", Method: "POST",
		URL:             "https://api.myfinterra.com/pos/v1/orders/" + card + "/payments?email=" + email + "&token=" + jwt,
		Status:          400,
		ResponseHeaders: map[string]string{"X-Request-Id": "Bearer " + jwt, "Set-Cookie": "session=" + jwt},
		ResponseBody:    `{"error":"invalid_request","message":"card ` + card + ` of ` + email + ` password=hunter2","request_id":"` + jwt + `"}`,
		TraceID:         jwt,
	}
	timeout := base
	timeout.Status, timeout.ResponseBody, timeout.Error = 0, "", "dial tcp: card "+card+" password=hunter2 for "+email
	for _, style := range reshape.Styles() {
		for _, call := range []reshape.Call{base, timeout} {
			msg, err := style.Write(call)
			require.NoError(t, err)
			for _, r := range c.ClassifyAll(msg, nil) {
				require.NoError(t, r.Err, "%s: %s", style.Name, msg)
				out, err := json.Marshal(r.Event)
				require.NoError(t, err)
				for _, s := range secrets {
					require.NotContains(t, string(out), s, "%s: %s", style.Name, out)
				}
				require.True(t, r.Event.IsError)
			}
			call.Status, call.Error = 0, "" // no outcome: a dead letter
			msg, err = style.Write(call)
			require.NoError(t, err)
			for _, r := range c.ClassifyAll(msg, nil) {
				require.Equal(t, ReasonNoOutcome, ReasonOf(r.Err), "%s", style.Name)
				for _, s := range secrets {
					require.NotContains(t, r.Err.Error(), s, "%s", style.Name)
				}
			}
		}
	}
}

// TestConfiguredProviderNameIsItsOwn: a configured provider matched by a
// display name keeps its name when the next records reuse the
// classifier's buffers (a view into them once turned acmepay into the
// next record's "finix.l").
func TestConfiguredProviderNameIsItsOwn(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	c, err := New(cats, Options{Hosts: map[string]string{"api.acmepay.example": "acmepay"}})
	require.NoError(t, err)
	var events []Event
	for _, name := range []string{"AcmePay", "acmepay", "Acmepay Inc.", "finix.live-payments-api.com", "a-much-longer-provider-name"} {
		ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"` + name + `","url":"https://api.acmepay.example/v2/x","status":200}`))
		require.NoError(t, err)
		events = append(events, ev)
	}
	for i, want := range []string{"acmepay", "acmepay", "acmepay", "finix", OtherProvider} {
		require.Equal(t, want, events[i].Provider, "record %d", i)
	}
}

// TestHTTPGroupHoldsTheResponse: a logger that groups the call's facts
// under "http" (slog.Group, zap.Namespace, an OpenTelemetry bridge's map
// attribute) may put the response there too: its body and headers are
// read as the flat record's.
func TestHTTPGroupHoldsTheResponse(t *testing.T) {
	c := newTestClassifier(t)
	const body = `"{\"total\":1,\"_embedded\":{\"errors\":[{\"code\":\"DECLINED\",\"failure_code\":\"CALL_ISSUER\",\"logref\":\"lr-77\"}]}}"`
	want, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/transfers","status":402,"response_body":` + body + `}`))
	require.NoError(t, err)
	require.Equal(t, "DECLINED", want.Code)
	for name, rec := range map[string]string{
		"slog group": `{"time":"2026-11-02T10:00:00Z","level":"ERROR","msg":"call","provider":"finix","http":{"method":"POST","url":"https://finix.live-payments-api.com/transfers","status":402,"response_body":` + body + `,"response_headers":{"X-Request-Id":"hdr-9"}}}`,
		"otlp map attribute": `{"resourceLogs":[{"resource":{},"scopeLogs":[{"scope":{},"logRecords":[{"timeUnixNano":"1793613600000000000","body":{"stringValue":"call"},"attributes":[` +
			`{"key":"provider","value":{"stringValue":"finix"}},{"key":"http","value":{"kvlistValue":{"values":[{"key":"method","value":{"stringValue":"POST"}},` +
			`{"key":"url","value":{"stringValue":"https://finix.live-payments-api.com/transfers"}},{"key":"status","value":{"intValue":"402"}},{"key":"response_body","value":{"stringValue":` + body + `}}]}}}]}]}]}]}`,
	} {
		rs := c.ClassifyAll([]byte(rec), nil)
		require.Len(t, rs, 1, name)
		require.NoError(t, rs[0].Err, name)
		got := rs[0].Event
		require.Equal(t, want.Category, got.Category, name)
		require.Equal(t, want.Code, got.Code, name)
		require.Equal(t, want.Subcode, got.Subcode, name)
		require.Equal(t, want.CorrelationID, got.CorrelationID, name)
		require.Equal(t, want.Fingerprint, got.Fingerprint, name)
	}
}
