package classify

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/redact"
)

// TestHTMLTitle: letters whose lower case has another byte length must not
// shift the title found (Ⱥ grows from 2 to 3 bytes, the Kelvin sign
// shrinks from 3 to 1): once this panicked or kept the wrong text.
func TestHTMLTitle(t *testing.T) {
	tests := map[string]string{
		"<html><title>Bad Gateway</title></html>":                "Bad Gateway",
		"<HTML><TITLE> 502 Bad Gateway </TITLE>":                 "502 Bad Gateway",
		"ȺȺȺȺȺȺȺȺ<title>after growing letters</title>":           "after growing letters",
		"\u212A\u212A\u212A\u212A<title>after shrinking</title>": "after shrinking",
		"<title>\u212A\u212A\u212A\u212A</title>":                "\u212A\u212A\u212A\u212A",
		"<title>ȺȺȺȺ</TITLE>":                                    "ȺȺȺȺ",
		"İİİ<h1>Service Unavailable</H1>":                        "Service Unavailable",
		"<title>never closed":                                    "",
		"no tags at all":                                         "",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			require.Equal(t, want, string(htmlTitle([]byte(in))))
		})
	}
}

// TestSecretInEveryField plants a secret in each text field of a record,
// one at a time: none survives in any string of the Event.
func TestSecretInEveryField(t *testing.T) {
	c := newTestClassifier(t)
	const card = "4111111111111111"
	const mail = "jane.doe@example.com"
	base := map[string]string{
		"provider": "finix", "service": "checkout", "env": "prod", "tenant": "acme", "method": "POST",
		"url": "https://finix.com/transfers", "trace_id": "t-1", "error": "",
	}
	body := func(field, value string) string {
		b := map[string]string{"logref": "L1", "code": "DECLINED", "failure_code": "CALL_ISSUER", "message": "declined",
			"authorization": "AUst6ZdywPwe4fbYWrH1zTNJ"}
		if _, ok := b[field]; ok {
			b[field] = value
		}
		return `{"_embedded":{"errors":[{"logref":"` + b["logref"] + `","code":"` + b["code"] + `","failure_code":"` +
			b["failure_code"] + `","message":"` + b["message"] + `","authorization":"` + b["authorization"] + `"}]}}`
	}
	fields := []string{"provider", "service", "env", "tenant", "method", "url", "trace_id", "error",
		"logref", "code", "failure_code", "message", "authorization", "path", "header"}
	for _, secret := range []string{card, mail, "4111 1111 1111 1111", "Bearer abcdef0123456789", "416-555-0199"} {
		for _, field := range fields {
			if strings.HasPrefix(secret, "Bearer") && (field == "url" || field == "path") {
				continue // a URL holds no blank to follow "Bearer"
			}
			t.Run(field+"/"+secret, func(t *testing.T) {
				f := map[string]string{}
				for k, v := range base {
					f[k] = v
				}
				if _, ok := f[field]; ok {
					f[field] = secret
				}
				url := f["url"]
				if field == "url" {
					url = "https://" + strings.ReplaceAll(secret, " ", "") + ".finix.com/transfers"
				}
				if field == "path" {
					url = "https://finix.com/notes/customer-card-number-" + strings.ReplaceAll(secret, " ", "-") + "-expired"
				}
				status := "402"
				if field == "error" {
					status = "0"
				}
				header := "r-1"
				if field == "header" {
					header = secret
				}
				rec := `{"ts":"2026-11-02T10:00:00Z","provider":"` + f["provider"] + `","service":"` + f["service"] +
					`","env":"` + f["env"] + `","tenant":"` + f["tenant"] + `","method":"` + f["method"] + `","url":"` + url +
					`","trace_id":"` + f["trace_id"] + `","error":"` + f["error"] + `","status":` + status +
					`,"response_headers":{"X-Request-Id":"` + header + `"},"response_body":` + body(field, secret) + `}`
				ev, err := c.Classify([]byte(rec))
				require.NoError(t, err, rec)
				for _, s := range eventStrings(ev) {
					for _, part := range []string{secret, strings.ReplaceAll(secret, " ", ""), "4111111111", "jane.doe", "abcdef0123456789", "555-0199"} {
						require.NotContains(t, s, part, "field %s leaked into %q", field, s)
					}
				}
			})
		}
	}
}

// eventStrings returns every string an Event holds.
func eventStrings(ev Event) []string {
	var out []string
	v := reflect.ValueOf(ev)
	for i := 0; i < v.NumField(); i++ {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			out = append(out, f.String())
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				for j := 0; j < f.Len(); j++ {
					out = append(out, f.Index(j).String())
				}
			}
		}
	}
	return out
}

func TestIdentifiersKeptForEscalation(t *testing.T) {
	c := newTestClassifier(t)
	ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","status":402,` +
		`"response_body":{"_embedded":{"errors":[{"logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","code":"DECLINED","failure_code":"CALL_ISSUER",` +
		`"authorization":"AUst6ZdywPwe4fbYWrH1zTNJ","transfer":"TRw4x8b2Q2e4fbYWrH1zTNJ"}]}}}`))
	require.NoError(t, err)
	require.Equal(t, "d4ee0b6cdb67686f0c1ec0780e5b4296", ev.CorrelationID)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", ev.TraceID)
	require.Equal(t, []string{"AUst6ZdywPwe4fbYWrH1zTNJ", "TRw4x8b2Q2e4fbYWrH1zTNJ"}, ev.References)
	require.Equal(t, "DECLINED", ev.Code)
	require.Equal(t, "CALL_ISSUER", ev.Subcode)
	require.Contains(t, ev.Body, "AUst6ZdywPwe4fbYWrH1zTNJ")
}

// A message cut before redaction kept half an e-mail or the first digits
// of a card: it is redacted whole, then cut.
func TestMessageRedactedBeforeItIsCut(t *testing.T) {
	c := newTestClassifier(t)
	for pad := maxMessage - 30; pad < maxMessage+5; pad++ {
		msg := strings.Repeat("x", pad) + " jane.doe@example.com and 4111 1111 1111 1111 end"
		ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finterra","status":400,"response_body":{"error":"invalid_request","message":"` + msg + `"}}`))
		require.NoError(t, err)
		require.LessOrEqual(t, len(ev.Message), maxMessage)
		for _, part := range []string{"jane", "@example", "4111 11"} {
			require.NotContains(t, ev.Message, part, "pad %d", pad)
		}
	}
}

func TestBodyRedactedBeforeItIsBounded(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	c, err := New(cats, Options{MaxBodyBytes: 100})
	require.NoError(t, err)
	body := `{"error":"invalid_request","pad":"` + strings.Repeat("a", 20<<10) + `","password":"hunter2","field_errors":[{"param":"piw","value":"bluebird"}]}`
	ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"flexiti","status":400,"response_body":` + body + `}`))
	require.NoError(t, err)
	require.LessOrEqual(t, len(ev.Body), 100)
	require.NotContains(t, ev.Body, "hunter2")
	require.Contains(t, ev.Body, "…[truncated")
}

// TestClassifyRecoversFromPanics: a Classifier that was never constructed
// panics on every record; Classify turns that into ReasonInternal with the
// stack, never a crash.
func TestClassifyRecoversFromPanics(t *testing.T) {
	broken := Classifier{maxRec: DefaultMaxRecordBytes} // no state pool
	_, err := broken.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","status":500,"tenant":"4111111111111111"}`))
	require.Error(t, err)
	require.Equal(t, ReasonInternal, ReasonOf(err))
	var re *RecordError
	require.ErrorAs(t, err, &re)
	require.NotEmpty(t, re.Stack)
	require.NotContains(t, err.Error(), "4111111111111111")
}

func TestNegativeBoundsRefused(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	_, err = New(cats, Options{MaxBodyBytes: -1})
	require.Error(t, err)
	_, err = New(cats, Options{MaxRecordBytes: -5})
	require.Error(t, err)
}

func TestConfiguredProviderKeepsItsName(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	c, err := New(cats, Options{Hosts: map[string]string{"api.acme.example": "acmepay"}})
	require.NoError(t, err)
	ev, err := c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"AcmePay","status":500}`))
	require.NoError(t, err)
	require.Equal(t, "acmepay", ev.Provider)
}

func TestErrorDetailsRedactBeforeTheyCut(t *testing.T) {
	c := newTestClassifier(t)
	_, err := c.Classify([]byte(`{"ts":"` + strings.Repeat("x", 50) + ` 4111 1111 1111 1111","status":500}`))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "4111 1111")
	_, err = c.Classify([]byte(`{"ts":"2026-11-02T10:00:00Z","status":"4111111111111111"}`))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "41111111")
	require.Equal(t, redact.Text(err.Error()), err.Error())
}
