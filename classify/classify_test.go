package classify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func newTestClassifier(t testing.TB) *Classifier {
	t.Helper()
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	c, err := New(cats, Options{})
	require.NoError(t, err)
	return c
}

func TestGoldenRecords(t *testing.T) {
	c := newTestClassifier(t)
	f, err := os.Open(filepath.Join("testdata", "records.ndjson"))
	require.NoError(t, err)
	defer f.Close()
	var got bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ev, err := c.Classify(sc.Bytes())
		require.NoError(t, err, "line %q", sc.Text())
		b, err := json.MarshalIndent(ev, "", "  ")
		require.NoError(t, err)
		got.Write(b)
		got.WriteByte('\n')
	}
	require.NoError(t, sc.Err())
	golden := filepath.Join("testdata", "golden", "records.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./classify -run Golden -update to create it")
	require.Equal(t, string(want), got.String(), "golden mismatch; inspect and re-run with -update if intended")
}

func TestClassify(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		name string
		in   string
		want Event // only the fields set here are compared (see check)
	}{
		{"finterra token_expired as string body", `{"ts":"2026-11-02T10:00:00Z","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_01J2ZK3M4N/payments","status":401,"response_body":"{\"error\":\"token_expired\",\"message\":\"m\",\"request_id\":\"req_01j2\"}"}`,
			Event{Provider: "finterra", Category: AuthExpired, Code: "token_expired", Known: true, CorrelationID: "req_01j2", Endpoint: "/pos/v1/orders/{id}/payments", IsError: true}},
		{"finterra undocumented code falls back on 409", `{"ts":"2026-11-02T10:00:00Z","provider":"finterra","status":409,"response_body":{"error":"terminal_offline","request_id":"r"}}`,
			Event{Provider: "finterra", Category: Conflict, Code: "terminal_offline", Known: false, CorrelationID: "r", IsError: true}},
		{"finterra 503 without body uses the catalog status rule", `{"ts":"2026-11-02T10:00:00Z","provider":"finterra","status":503}`,
			Event{Provider: "finterra", Category: ProviderError, Retryable: true, Known: true, IsError: true}},
		{"cheers code with correlation header in any case", `{"ts":"2026-11-02T10:00:00Z","provider":"cheers","status":400,"response_headers":{"x-correlation-id":"cid-1"},"response_body":{"errorModel":{"errorCode":"INSUFFICIENT_CREDIT"}}}`,
			Event{Provider: "cheers", Category: Decline, Code: "INSUFFICIENT_CREDIT", Known: true, CorrelationID: "cid-1", IsError: true}},
		{"cheers customer transaction key expired is conflict not auth_expired", `{"ts":"2026-11-02T10:00:00Z","provider":"cheers","status":400,"response_body":{"errorModel":{"errorCode":"X_TRANSACTION_HAS_EXPIRED"}}}`,
			Event{Provider: "cheers", Category: Conflict, Code: "X_TRANSACTION_HAS_EXPIRED", Known: true, IsError: true}},
		{"x-request-id preferred over x-trace-id", `{"ts":"2026-11-02T10:00:00Z","provider":"cheers","status":500,"response_headers":{"X-Trace-Id":"trace","X-Request-Id":"req"}}`,
			Event{Provider: "cheers", Category: ProviderError, Retryable: true, CorrelationID: "req", IsError: true}},
		{"flexiti 409 wrong_inputs with field_errors param as subcode", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":409,"response_body":{"error":"wrong_inputs","field_errors":[{"param":"email","value":"a@b.co"}]}}`,
			Event{Provider: "flexiti", Category: Validation, Code: "wrong_inputs", Subcode: "email", Known: true, IsError: true}},
		{"flexiti not_found as 400", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":400,"response_body":{"error":"not_found"}}`,
			Event{Provider: "flexiti", Category: NotFound, Code: "not_found", Known: true, IsError: true}},
		{"flexiti undocumented code on opaque 409 is unknown", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":409,"response_body":{"error":"brand_new"}}`,
			Event{Provider: "flexiti", Category: Unknown, Code: "brand_new", Known: false, IsError: true}},
		{"flexiti 465 blocked", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":465,"response_body":"<html>blocked</html>"}`,
			Event{Provider: "flexiti", Category: Blocked, Known: true, IsError: true}},
		{"flexiti 467 blocked even with an undocumented code", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":467,"response_body":{"error":"geo"}}`,
			Event{Provider: "flexiti", Category: Blocked, Code: "geo", Known: false, IsError: true}},
		{"flexiti application_declined_3", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":409,"response_body":{"error":"application_declined_3"}}`,
			Event{Provider: "flexiti", Category: Decline, Code: "application_declined_3", Known: true, IsError: true}},
		{"finix declined first error wins with failure_code subcode", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":402,"response_body":{"total":2,"_embedded":{"errors":[{"logref":"L1","code":"DECLINED","failure_code":"INSUFFICIENT_FUNDS","authorization":"AUabc123def456ghi789jkl0","transfer":"TR1"},{"logref":"L2","code":"INVALID_FIELD"}]}}}`,
			Event{Provider: "finix", Category: Decline, Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS", Known: true, CorrelationID: "L1", References: []string{"AUabc123def456ghi789jkl0", "TR1"}, IsError: true}},
		{"finix declined with 400 stays known", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":400,"response_body":{"_embedded":{"errors":[{"logref":"L","code":"DECLINED"}]}}}`,
			Event{Provider: "finix", Category: Decline, Code: "DECLINED", Known: true, CorrelationID: "L", IsError: true}},
		{"finix UNKNOWN is auth", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":401,"response_body":{"_embedded":{"errors":[{"code":"UNKNOWN"}]}}}`,
			Event{Provider: "finix", Category: Auth, Code: "UNKNOWN", Known: true, IsError: true}},
		{"paylera idempotency in_flight is retryable", `{"ts":"2026-11-02T10:00:00Z","provider":"paylera","status":409,"response_body":{"problem":"idempotency.in_flight","trace_id":"T"}}`,
			Event{Provider: "paylera", Category: Idempotency, Code: "idempotency.in_flight", Retryable: true, Known: true, CorrelationID: "T", IsError: true}},
		{"paylera body_mismatch is not retryable", `{"ts":"2026-11-02T10:00:00Z","provider":"paylera","status":422,"response_body":{"problem":"idempotency.body_mismatch"}}`,
			Event{Provider: "paylera", Category: Idempotency, Code: "idempotency.body_mismatch", Known: true, IsError: true}},
		{"paylera undocumented code falls back on 429", `{"ts":"2026-11-02T10:00:00Z","provider":"paylera","status":429,"response_body":{"problem":"rate_limit.burst"}}`,
			Event{Provider: "paylera", Category: RateLimit, Code: "rate_limit.burst", Retryable: true, IsError: true}},
		{"no status is a timeout", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","error":"context deadline exceeded"}`,
			Event{Provider: "finix", Category: Timeout, Retryable: true, Message: "context deadline exceeded", IsError: true}},
		{"non-ascii message kept", `{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":409,"response_body":{"error":"not_enough_credit","message":"Crédit insuffisant — réessayez ✓ \ud83d\ude00"}}`,
			Event{Provider: "flexiti", Category: Decline, Code: "not_enough_credit", Known: true, Message: "Crédit insuffisant — réessayez ✓ 😀", IsError: true}},
		{"status 408", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":408}`,
			Event{Provider: "finix", Category: Timeout, Retryable: true, IsError: true}},
		{"html 502 from a proxy", `{"ts":"2026-11-02T10:00:00Z","provider":"paylera","status":502,"response_body":"<html><title>502 Bad Gateway</title></html>"}`,
			Event{Provider: "paylera", Category: ProviderError, Retryable: true, Message: "502 Bad Gateway", IsError: true}},
		{"provider recognised by host", `{"ts":"2026-11-02T10:00:00Z","url":"https://finix.sandbox-payments-api.com/transfers","status":201}`,
			Event{Provider: "finix", Host: "finix.sandbox-payments-api.com", Endpoint: "/transfers"}},
		{"provider recognised by problem body", `{"ts":"2026-11-02T10:00:00Z","url":"https://proxy/x","status":401,"response_body":{"problem":"auth.missing_token"}}`,
			Event{Provider: "paylera", Category: Auth, Code: "auth.missing_token", Known: true, IsError: true}},
		{"provider recognised by flat body with request_id", `{"ts":"2026-11-02T10:00:00Z","status":404,"response_body":{"error":"payment_not_found","request_id":"r1"}}`,
			Event{Provider: "finterra", Category: NotFound, Code: "payment_not_found", Known: true, CorrelationID: "r1", IsError: true}},
		{"provider recognised by code documented by one flat provider", `{"ts":"2026-11-02T10:00:00Z","status":409,"response_body":{"error":"piw_mismatch"}}`,
			Event{Provider: "flexiti", Category: Decline, Code: "piw_mismatch", Known: true, IsError: true}},
		{"unrecognisable provider", `{"ts":"2026-11-02T10:00:00Z","url":"https://nowhere.example/x","status":500}`,
			Event{Provider: "unknown", Category: ProviderError, Retryable: true, IsError: true}},
		{"provider neither cataloged nor configured is other", `{"ts":"2026-11-02T10:00:00Z","provider":"Stripe","status":404}`,
			Event{Provider: OtherProvider, Category: NotFound, IsError: true}},
		{"provider holding a card is other", `{"ts":"2026-11-02T10:00:00Z","provider":"4111111111111111","status":200}`,
			Event{Provider: OtherProvider, Status: 200}},
		{"success is not an error", `{"ts":"2026-11-02T10:00:00Z","provider":"finterra","status":200,"response_body":"{\"error\":\"ignored\"}"}`,
			Event{Provider: "finterra", Status: 200}},
		{"at-timestamp and status as string", `{"@timestamp":"2026-11-02T10:00:00Z","provider":"finterra","status":"204"}`,
			Event{Provider: "finterra", Status: 204}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Classify([]byte(tt.in))
			require.NoError(t, err)
			w := tt.want
			require.Equal(t, w.Provider, got.Provider, "provider")
			require.Equal(t, w.IsError, got.IsError, "is_error")
			require.Equal(t, w.Category, got.Category, "category")
			require.Equal(t, w.Code, got.Code, "code")
			require.Equal(t, w.Subcode, got.Subcode, "subcode")
			require.Equal(t, w.Known, got.Known, "known")
			require.Equal(t, w.Retryable, got.Retryable, "retryable")
			require.Equal(t, w.CorrelationID, got.CorrelationID, "correlation_id")
			require.Equal(t, w.References, got.References, "references")
			if w.Endpoint != "" {
				require.Equal(t, w.Endpoint, got.Endpoint, "endpoint")
			}
			if w.Host != "" {
				require.Equal(t, w.Host, got.Host, "host")
			}
			if w.Message != "" {
				require.Equal(t, w.Message, got.Message, "message")
			}
			if w.Status != 0 {
				require.Equal(t, w.Status, got.Status, "status")
			}
			if got.IsError {
				require.Len(t, got.Fingerprint, 16)
			} else {
				require.Empty(t, got.Fingerprint)
			}
		})
	}
}

func TestClassifyUnusableRecords(t *testing.T) {
	c := newTestClassifier(t)
	tests := []struct {
		name string
		in   string
		want Reason
	}{
		{"plain text", "hello world", ReasonNotJSON},
		{"truncated json", `{"ts":"2026-11-02T10:00:00Z","status":`, ReasonNotJSON},
		{"json array", `[1,2]`, ReasonNotObject},
		{"no timestamp", `{"status":500}`, ReasonNoTimestamp},
		{"timestamp not rfc3339", `{"ts":"yesterday","status":500}`, ReasonBadTime},
		{"timestamp as object", `{"ts":{"s":1730000000},"status":500}`, ReasonNoTimestamp},
		{"timestamp as negative number", `{"ts":-1730000000,"status":500}`, ReasonBadTime},
		{"status out of range", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":999}`, ReasonBadStatus},
		{"status as object", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":{}}`, ReasonBadStatus},
		{"status fractional", `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":500.5}`, ReasonBadStatus},
		{"nul byte", "{\"ts\":\"2026-11-02T10:00:00Z\",\x00\"status\":500}", ReasonNULByte},
		{"invalid utf-8", "{\"ts\":\"2026-11-02T10:00:00Z\",\"service\":\"\xff\xfe\"}", ReasonInvalidUTF8},
		{"invalid utf-8 in a skipped value", "{\"ts\":\"2026-11-02T10:00:00Z\",\"request_headers\":{\"x\":\"caf\xc3\"}}", ReasonInvalidUTF8},
		{"invalid utf-8 outside strings", "{\"ts\":\"2026-11-02T10:00:00Z\",\xff:1}", ReasonInvalidUTF8},
		{"nul byte outside strings", "{\"ts\":\"2026-11-02T10:00:00Z\"\x00}", ReasonNULByte},
		{"blank line", "   ", ReasonEmpty},
		{"oversized", `{"ts":"2026-11-02T10:00:00Z","response_body":"` + strings.Repeat("x", DefaultMaxRecordBytes) + `"}`, ReasonOversized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Classify([]byte(tt.in))
			require.Error(t, err)
			require.Equal(t, tt.want, ReasonOf(err), "err = %v", err)
		})
	}
}

func TestFingerprintIgnoresIdsAndMessages(t *testing.T) {
	c := newTestClassifier(t)
	a, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finterra","method":"GET","url":"https://api.myfinterra.com/pos/v1/orders/ord_01J2AAAA11","status":404,"response_body":{"error":"order_not_found","message":"Order ord_01J2AAAA11 missing","request_id":"req_1"}}`))
	require.NoError(t, err)
	b, err := c.Classify([]byte(`{"ts":"2026-11-03T11:00:00Z","provider":"finterra","method":"GET","url":"https://api.myfinterra.com/pos/v1/orders/ord_99ZZZZ9999?x=1","status":404,"response_body":{"error":"order_not_found","message":"another text","request_id":"req_2"}}`))
	require.NoError(t, err)
	require.Equal(t, a.Fingerprint, b.Fingerprint)
	d, err := c.Classify([]byte(`{"ts":"2026-11-03T11:00:00Z","provider":"finterra","method":"GET","url":"https://api.myfinterra.com/pos/v1/orders/ord_99ZZZZ9999","status":404,"response_body":{"error":"payment_not_found"}}`))
	require.NoError(t, err)
	require.NotEqual(t, a.Fingerprint, d.Fingerprint, "another code is another group")
	e, err := c.Classify([]byte(`{"ts":"2026-11-03T11:00:00Z","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_99ZZZZ9999","status":404,"response_body":{"error":"order_not_found"}}`))
	require.NoError(t, err)
	require.NotEqual(t, a.Fingerprint, e.Fingerprint, "another method is another group")
}

func TestTemplatePath(t *testing.T) {
	tests := map[string]string{
		"/pos/v1/orders/ord_01J2ZK3M4N/payments":                              "/pos/v1/orders/{id}/payments",
		"/flexiti/pos-api/v2.5/client-id/flexitidemo/customers/828930/verify": "/flexiti/pos-api/v2.5/client-id/{id}/customers/{id}/verify",
		"/authorizations/AUst6ZdywPwe4fbYWrH1zTNJ":                            "/authorizations/{id}",
		"/v1/invoices/123e4567-e89b-12d3-a456-426614174000/pay":               "/v1/invoices/{id}/pay",
		"/logs/d4ee0b6cdb67686f0c1ec0780e5b4296":                              "/logs/{id}",
		"/users/jane.doe@example.com/cards":                                   "/users/{id}/cards",
		"/v1/wallets/wal_77":                                                  "/v1/wallets/{id}",
		"/oauth2/token":                                                       "/oauth2/token",
		"/pos-api/calculate-interest":                                         "/pos-api/calculate-interest",
		"/v2/transactions/6j4kNO4FIKQj/finalize":                              "/v2/transactions/{id}/finalize",
		"/customers/1TBSXFDZPDLC/verify":                                      "/customers/{id}/verify",
		"/customers/KyhIKuAMcWkM/verify":                                      "/customers/{id}/verify",
		"/v1/paymentMethodsList/ORDERSUMMARY":                                 "/v1/paymentMethodsList/ORDERSUMMARY",
		"/v2/getCustomerById/list":                                            "/v2/getCustomerById/{id}",
		"/v2/getCustomerByName/HTTP2":                                         "/v2/getCustomerByName/HTTP2",
		"":                                                                    "/",
		"/":                                                                   "/",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			require.Equal(t, want, TemplatePath(in))
		})
	}
}

func TestSplitURL(t *testing.T) {
	tests := []struct{ in, host, path string }{
		{"https://API.myfinterra.com:443/pos/v1/orders?x=1#f", "API.myfinterra.com", "/pos/v1/orders"},
		{"https://user:secret@api.flexiti.com/oauth/token", "api.flexiti.com", "/oauth/token"},
		{"/relative/path?q", "", "/relative/path"},
		{"https://finix.com", "finix.com", ""},
		{"http://[::1]:8080/x", "[::1]", "/x"},
		{"http://[::1]/x", "[::1]", "/x"},
		{"https://a:b@c.example:9/p#frag", "c.example", "/p"},
		{"grpc://svc/p", "svc", "/p"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, p := SplitURL(tt.in)
			require.Equal(t, tt.host, h)
			require.Equal(t, tt.path, p)
		})
	}
}

func TestExtraCatalogAndHosts(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	err = cats.AddFS(fstest.MapFS{"acme.yaml": {Data: []byte(`
provider: acmepay
dialect: problem
hosts: [acmepay.example]
identify_by: [acme_problem_marker]
correlation_fields: [trace_id]
codes:
  - code: card.stolen
    status: 402
    category: decline
    remediation: Ask for another card.
`)}})
	require.NoError(t, err)
	c, err := New(cats, Options{Hosts: map[string]string{"gw.internal": "finterra"}})
	require.NoError(t, err)

	ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","url":"https://api.acmepay.example/v1/pay","status":402,"response_body":{"problem":"card.stolen","trace_id":"A1"}}`))
	require.NoError(t, err)
	require.Equal(t, "acmepay", ev.Provider)
	require.Equal(t, Decline, ev.Category)
	require.True(t, ev.Known)
	require.Equal(t, "A1", ev.CorrelationID)
	require.Equal(t, "Ask for another card.", ev.Remediation)

	ev, err = c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","url":"https://gw.internal/orders","status":401,"response_body":{"error":"client_revoked"}}`))
	require.NoError(t, err)
	require.Equal(t, "finterra", ev.Provider)
	require.Equal(t, Auth, ev.Category)

	require.Error(t, cats.AddFS(fstest.MapFS{"dup.yaml": {Data: []byte("provider: finix\ndialect: hal\n")}}), "a second finix catalog is refused")
}

func FuzzClassify(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "records.ndjson"))
	require.NoError(f, err)
	for _, line := range bytes.Split(data, []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"ts":"2026-11-02T10:00:00Z","status":500,"response_body":"{\"_embedded\":{\"errors\":[]}}"}`))
	f.Add([]byte(`{"ts":"2026-11-02T10:00:00Z","status":500,"response_body":"{\"errorModel\":7}"}`))
	f.Add([]byte(`{"ts":"2026-11-02T10:00:00Z","status":409,"response_body":{"error":{"code":1}},"response_headers":[]}`))
	// Letters whose other case has another length, full-width digits, in
	// HTML titles and every text field.
	for _, runes := range []string{"Ⱥ", "K", "İ", "ı", "ß", "ẞ", "４１１１", "ﬃ", "ͅ"} {
		r := strings.Repeat(runes, 5)
		f.Add([]byte(`{"ts":"2026-11-02T10:00:00Z","status":502,"response_body":"<html>` + r + `<TITLE>` + r + `</title></html>"}`))
		f.Add([]byte(`{"ts":"2026-11-02T10:00:00Z","status":502,"response_body":"<H1>` + r + `</h1>` + r + `"}`))
		f.Add([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"` + r + `","service":"` + r + `","env":"` + r + `","tenant":"` + r +
			`","method":"` + r + `","url":"https://` + r + `/a/` + r + `","trace_id":"` + r + `","error":"` + r +
			`","status":400,"response_headers":{"X-Request-Id":"` + r + `"},"response_body":{"error":"` + r + `","message":"` + r + `","request_id":"` + r + `"}}`))
	}
	cats, err := BuiltinCatalogs()
	require.NoError(f, err)
	c, err := New(cats, Options{MaxBodyBytes: 512})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := c.Classify(line)
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if ev.Provider == "" {
			t.Fatal("classified event without a provider")
		}
		if ev.IsError {
			if _, err := ParseCategory(string(ev.Category)); err != nil {
				t.Fatalf("bad category: %v", err)
			}
			if len(ev.Fingerprint) != 16 {
				t.Fatalf("fingerprint %q", ev.Fingerprint)
			}
		}
		if len(ev.Body) > 512 || len(ev.Endpoint) > maxEndpoint || len(ev.Message) > maxMessage {
			t.Fatalf("unbounded field: body %d endpoint %d message %d", len(ev.Body), len(ev.Endpoint), len(ev.Message))
		}
	})
}

func TestQuoteOrBackslashMatchesNaiveScan(t *testing.T) {
	naive := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if b[i] == '"' || b[i] == '\\' || b[i] == 0 || b[i] >= 0x80 {
				return i
			}
		}
		return -1
	}
	inputs := []string{"", `"`, `\`, "abcdefgh", `abcdefg"`, `abcdefgh"`, `abc\defghijkl"`, "éèà\"xyz", "\xff\xfe\"", strings.Repeat("a", 63) + `"`, "a\x00b\"", "\x22\x5c"}
	for _, in := range inputs {
		for i := 0; i <= len(in); i++ {
			require.Equal(t, naive([]byte(in), i), quoteOrBackslash([]byte(in), i), "%q from %d", in, i)
		}
	}
}

func TestParseTimeMatchesTimeParse(t *testing.T) {
	for _, in := range []string{
		"2026-11-02T10:00:00Z", "2026-11-02T10:00:00.1Z", "2026-11-02T10:00:00.123456789Z", "2024-02-29T23:59:59Z",
		"2026-11-02T10:00:00+02:00", "2026-11-02t10:00:00z", "2026-11-02 10:00:00Z",
		"2023-02-29T10:00:00Z", "2026-13-02T10:00:00Z", "2026-11-02T24:00:00Z", "2026-11-02T10:00:00.Z",
		"2026-11-02T10:00:00.1234567891Z", "2026-11-02T10:00Z", "yesterday", "",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := parseTime([]byte(in))
			s := in
			if len(s) > 10 && s[10] == ' ' {
				s = s[:10] + "T" + s[11:]
			}
			want, werr := time.Parse(time.RFC3339Nano, s)
			if werr != nil {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.True(t, want.Equal(got), "got %v want %v", got, want)
			require.Equal(t, time.UTC, got.Location())
		})
	}
}

// FuzzScanMatchesEncodingJSON checks the record scanner against
// encoding/json: on every valid JSON object, the string fields it decodes
// are the ones encoding/json decodes.
func FuzzScanMatchesEncodingJSON(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "records.ndjson"))
	require.NoError(f, err)
	for _, line := range bytes.Split(data, []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"provider":"a\"b\\c\u00e9\ud83d\ude00","url":"x\/y","service":"s","service":"t"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fields map[string]json.RawMessage // exact keys; the last duplicate wins
		if !utf8.Valid(line) || bytes.IndexByte(line, 0) >= 0 || json.Unmarshal(line, &fields) != nil {
			return
		}
		var st state
		var r raw
		if err := st.scanRecord(line, &r); err != nil {
			if ReasonOf(err) == ReasonBadStatus {
				return
			}
			t.Fatalf("valid JSON object refused: %v", err)
		}
		for key, got := range map[string][]byte{"provider": r.provider, "service": r.service, "env": r.env,
			"tenant": r.tenant, "method": r.method, "url": r.url, "trace_id": r.traceID} {
			var want string
			if raw, ok := fields[key]; ok && json.Unmarshal(raw, &want) != nil {
				want = "" // not a string: the scanner ignores it
			}
			if want != string(got) && !strings.ContainsRune(want, utf8.RuneError) {
				t.Fatalf("%s: scanner %q, encoding/json %q", key, got, want)
			}
		}
	})
}
