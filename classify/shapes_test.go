package classify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The shapes that real logging code writes (issue: classify the shapes
// that real logging code writes): each provider's error, with its headers,
// body and timestamp written the ways loggers and middleware write them,
// classifies exactly as the contract's shape does.

// providerErrors are one documented error of each provider, in the
// contract's shape, with what classification must find.
var providerErrors = []struct {
	provider, url     string
	status            int
	body              string // the body as an object
	header            bool   // the provider's request id comes in a response header
	code, correlation string
	category          Category
}{
	{"finterra", "https://api.myfinterra.com/pos/v1/orders/ord_01J2ZK/payments", 401,
		`{"error":"token_expired","message":"JWT exp claim has passed","request_id":"req_01j2abc"}`, false, "token_expired", "req_01j2abc", AuthExpired},
	{"cheers", "https://api.cheers.com/loyalty/v2/transactions/t1/finalize", 401,
		`{"errorModel":{"errorCode":"AUTHORIZATION","message":"no","descriptors":[]}}`, true, "AUTHORIZATION", "hdr-cheers-1", Auth},
	{"flexiti", "https://api.flexiti.com/flexiti/pos-api/v2.5/client-id/flexitidemo/transactions", 409,
		`{"error":"credit_exceeded","message":"over the limit"}`, true, "credit_exceeded", "hdr-flexiti-1", Decline},
	{"finix", "https://finix.live-payments-api.com/transfers", 402,
		`{"total":1,"_embedded":{"errors":[{"logref":"d4ee0b6cdb67686f","code":"DECLINED","failure_code":"CALL_ISSUER"}]}}`, false, "DECLINED", "d4ee0b6cdb67686f", Decline},
	{"paylera", "https://api.paylera.com/v1/invoices/inv_1/pay", 402,
		`{"problem":"payment.declined","title":"Declined","trace_id":"pl-trace-1"}`, false, "payment.declined", "pl-trace-1", Decline},
}

func record(ts, url, headers, body string, status int) string {
	r := `{"ts":` + ts + `,"method":"POST","url":"` + url + `","status":` + itoa(status)
	if headers != "" {
		r += `,"response_headers":` + headers
	}
	return r + `,"response_body":` + body + `}`
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// requireSame asserts that a record in another shape classifies like the
// contract's.
func requireSame(t *testing.T, c *Classifier, want Event, rec string) {
	t.Helper()
	got, err := c.Classify([]byte(rec))
	require.NoError(t, err, rec)
	require.Equal(t, want.Provider, got.Provider, rec)
	require.Equal(t, want.Code, got.Code, rec)
	require.Equal(t, want.Category, got.Category, rec)
	require.Equal(t, want.CorrelationID, got.CorrelationID, rec)
	require.Equal(t, want.Fingerprint, got.Fingerprint, rec)
	require.True(t, want.TS.Equal(got.TS), "ts %s, want %s: %s", got.TS, want.TS, rec)
}

func TestShapesLoggersWrite(t *testing.T) {
	c := newTestClassifier(t)
	for _, pe := range providerErrors {
		idHeader := `{}`
		if pe.header {
			idHeader = `{"X-Request-Id":"` + pe.correlation + `"}`
		}
		contract := record(`"2026-11-02T10:00:00Z"`, pe.url, idHeader, pe.body, pe.status)
		want, err := c.Classify([]byte(contract))
		require.NoError(t, err)
		require.Equal(t, pe.provider, want.Provider)
		require.Equal(t, pe.code, want.Code)
		require.Equal(t, pe.category, want.Category)
		require.Equal(t, pe.correlation, want.CorrelationID)

		bodies := map[string]string{
			"body as a string":                   quote(pe.body),
			"body with a byte-order mark":        quote("\ufeff" + pe.body),
			"body encoded twice":                 quote(quote(pe.body)),
			"body encoded three times":           quote(quote(quote(pe.body))),
			"body encoded twice behind a bom":    quote("\ufeff" + quote(pe.body)),
			"body string with surrounding blank": quote("\n  " + pe.body + "\n"),
		}
		for name, body := range bodies {
			t.Run(pe.provider+"/"+name, func(t *testing.T) {
				requireSame(t, c, want, record(`"2026-11-02T10:00:00Z"`, pe.url, idHeader, body, pe.status))
			})
		}
		timestamps := map[string]string{
			"epoch seconds":                `1793613600`,
			"epoch seconds with fraction":  `1793613600.000`,
			"epoch milliseconds":           `1793613600000`,
			"epoch microseconds":           `1793613600000000`,
			"epoch seconds as a string":    `"1793613600"`,
			"rfc 3339 with offset":         `"2026-11-02T05:00:00-05:00"`,
			"rfc 3339 with space":          `"2026-11-02 10:00:00Z"`,
			"epoch milliseconds at-prefix": `1793613600000,"@timestamp":"1999-01-01T00:00:00Z"`,
		}
		for name, ts := range timestamps {
			t.Run(pe.provider+"/"+name, func(t *testing.T) {
				requireSame(t, c, want, record(ts, pe.url, idHeader, pe.body, pe.status))
			})
		}
		if !pe.header {
			continue
		}
		id := pe.correlation
		headers := map[string]string{
			"header values as arrays (http.Header)": `{"Content-Type":["application/json"],"X-Request-Id":["` + id + `","second"]}`,
			"header name in lower case":             `{"x-request-id":"` + id + `"}`,
			"header name in upper case":             `{"X-REQUEST-ID":["` + id + `"]}`,
			"har name-value list":                   `[{"name":"Content-Type","value":"application/json"},{"name":"x-request-id","value":"` + id + `"}]`,
			"har list with value first":             `[{"value":"` + id + `","name":"X-Request-Id"}]`,
			"har list with value arrays":            `[{"name":"X-Request-Id","value":["` + id + `"]}]`,
			"list of name-value pairs":              `[["Content-Type","application/json"],["X-Request-Id","` + id + `"]]`,
			"preferred header wins in any order":    `{"X-Correlation-Id":["other"],"x-request-id":["` + id + `"]}`,
			"correlation id header alone":           `[{"name":"X-Correlation-Id","value":"` + id + `"}]`,
			"empty first value skipped":             `{"X-Request-Id":[""],"X-Correlation-Id":"` + id + `"}`,
		}
		for name, h := range headers {
			t.Run(pe.provider+"/"+name, func(t *testing.T) {
				requireSame(t, c, want, record(`"2026-11-02T10:00:00Z"`, pe.url, h, pe.body, pe.status))
			})
		}
	}
}

func TestEpochTimestamps(t *testing.T) {
	want := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for in, wantTS := range map[string]time.Time{
		"1793613600":          want,
		"1793613600.5":        want.Add(500 * time.Millisecond),
		"1793613600123":       want.Add(123 * time.Millisecond),
		"1793613600123456":    want.Add(123456 * time.Microsecond),
		"1793613600123456789": want.Add(123456789),
		// As written, not as float64 holds it (.122999906).
		"1793613600.123":        want.Add(123 * time.Millisecond),
		"1793613600.123456789":  want.Add(123456789),
		"1793613600.1234567899": want.Add(123456789),
		"1793613600123.456":     want.Add(123456 * time.Microsecond),
		"1793613600123456.789":  want.Add(123456789),
		"1793613600.":           want,
		"1.7936136005e9":        want.Add(500 * time.Millisecond),
	} {
		got, err := parseTime([]byte(in))
		require.NoError(t, err, in)
		require.True(t, wantTS.Equal(got), "%s: %s", in, got)
	}
	for _, in := range []string{"-1", "+1793613600", "1e400", "17936136000000000000000", "12abc", "1793613600.1.2", "1793613600.x", ".5", "1793613600.-5"} {
		_, err := parseTime([]byte(in))
		require.Error(t, err, in)
	}
}

func TestRecordAfterAByteOrderMark(t *testing.T) {
	c := newTestClassifier(t)
	ev, err := c.Classify([]byte("\ufeff" + `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":500}`))
	require.NoError(t, err)
	require.Equal(t, "finix", ev.Provider)
	_, err = c.Classify([]byte("\ufeff\ufeff" + `{"ts":"2026-11-02T10:00:00Z"}`))
	require.Error(t, err, "one mark, not any number")
}

func TestBodyEncodedTwiceIsRedacted(t *testing.T) {
	c := newTestClassifier(t)
	body := quote(quote(`{"error":"wrong_input","message":"bad","field_errors":[{"param":"piw","value":"bluebird"}]}`))
	ev, err := c.Classify([]byte(record(`"2026-11-02T10:00:00Z"`, "https://api.flexiti.com/x", `{}`, body, 409)))
	require.NoError(t, err)
	require.Equal(t, "wrong_input", ev.Code)
	require.NotContains(t, ev.Body, "bluebird")
	require.True(t, strings.HasPrefix(ev.Body, "{"), "the stored body is the body inside: %s", ev.Body)
}
