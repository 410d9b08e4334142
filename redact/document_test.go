package redact

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var documentCases = []textCase{
	{
		name: "flexiti field_errors value",
		in: `{"status": 422, "field_errors": [
				{"field": "piw", "message": "PIW does not match", "value": "sunflower"},
				{"field": "sin", "message": "SIN is invalid", "value": 46454286}
			], "request_id": "req_01j2abc"}`,
		want: `{"status": 422, "field_errors": [
				{"field": "piw", "message": "PIW does not match", "value": "[REDACTED]"},
				{"field": "sin", "message": "SIN is invalid", "value": "[REDACTED]"}
			], "request_id": "req_01j2abc"}`,
		gone: []string{"sunflower", "46454286"}, kept: []string{"req_01j2abc", "PIW does not match"},
	},
	{name: "field_errors param and msg kept", in: `{"field_errors":[{"param":"zip","msg":"bad","value":"M5V 2T6"}]}`,
		want: `{"field_errors":[{"param":"zip","msg":"bad","value":"[REDACTED]"}]}`},
	{name: "field_errors as an object map", in: `{"field_errors":{"zip":"M5V 2T6","piw":{"msg":"no match","value":"bluebird"}}}`,
		want: `{"field_errors":{"zip":"[REDACTED]","piw":"[REDACTED]"}}`},
	{name: "field_errors as an object map of objects", in: `{"fieldErrors":{"postal":{"msg":"no match","value":"M5V"}}}`,
		want: `{"fieldErrors":{"postal":{"msg":"no match","value":"[REDACTED]"}}}`},
	{name: "field_errors as an array of arrays", in: `{"field_errors":[["postal","M5V 2T6"],["city","Toronto","x"]]}`,
		want: `{"field_errors":[["postal","[REDACTED]"],["city","[REDACTED]","[REDACTED]"]]}`},
	{name: "piw under key", in: `{"piw":"sunflower","account_number":"000123456789","order_id":"ord_1"}`,
		want: `{"piw":"[REDACTED]","account_number":"000123456789","order_id":"ord_1"}`},
	{name: "security_answer under key", in: `{"Security-Answer":"Fluffy","security_question":"first pet"}`,
		want: `{"Security-Answer":"[REDACTED]","security_question":"first pet"}`},
	{
		name: "sensitive keys case and separators ignored",
		in:   `{"Client_Secret":"cs_1","ACCESS-TOKEN":"at","apiKey":"k","date_of_birth":"1985-03-12","Phone_Number":"4165550199","merchant_password":"p","govid_number":"X1","dob":19850312}`,
		want: `{"Client_Secret":"[REDACTED]","ACCESS-TOKEN":"[REDACTED]","apiKey":"[REDACTED]","date_of_birth":"[REDACTED]","Phone_Number":"[REDACTED]","merchant_password":"[REDACTED]","govid_number":"[REDACTED]","dob":"[REDACTED]"}`,
	},
	{name: "qualified sensitive keys", in: `{"customer_email":"a@b.example","billing_phone":"4165550199","webhookSecret":"whsec","email_verified":true,"phone_country":"CA"}`,
		want: `{"customer_email":"[REDACTED]","billing_phone":"[REDACTED]","webhookSecret":"[REDACTED]","email_verified":true,"phone_country":"[REDACTED]"}`},
	{name: "nested sensitive object replaced whole", in: `{"headers":{"Authorization":"Bearer abc","X-Request-Id":"r1"},"cookie":{"a":1},"token":["x","y"]}`,
		want: `{"headers":{"Authorization":"[REDACTED]","X-Request-Id":"r1"},"cookie":"[REDACTED]","token":"[REDACTED]"}`},
	{name: "card security code and pin under any key", in: `{"card":{"number":"4111111111111112","cvv":"123","exp_month":12},"pinBlock":"0412AC","card_security_code":999}`,
		want: `{"card":{"number":"[REDACTED]","cvv":"[REDACTED]","exp_month":12},"pinBlock":"[REDACTED]","card_security_code":"[REDACTED]"}`},
	{name: "short number kept", in: `{"address":{"number":"221B","street":"Baker"}}`},
	{name: "card number as json number", in: `{"amount":1299,"ref":4111111111111111,"total":12.5,"bad":4111111111111112}`,
		want: `{"amount":1299,"ref":"[REDACTED]","total":12.5,"bad":4111111111111112}`},
	{name: "card number as the whole document after whitespace", in: " 4111111111111111\n",
		want: " \"[REDACTED]\"\n"},
	{name: "email in message string", in: `{"error":{"message":"customer jane@example.com rejected","code":"E42"}}`,
		want: `{"error":{"message":"customer [REDACTED] rejected","code":"E42"}}`},
	{name: "email as key", in: `{"jane@example.com":{"id":1}}`, want: `{"[REDACTED]":{"id":1}}`},
	{name: "null bool and empty kept under sensitive keys", in: `{"email":null,"phone":"","token":true}`},
	{name: "key order and formatting preserved", in: "{\"z\":1,\n \"a\":[true,false,null],\"m\":{\"y\":-1.5e3,\"b\":\"x\"}}"},
	{name: "escapes kept when nothing changes", in: `{"msg":"line\nnext \"q\" \u00e9 \ud83d\ude00 \/ \u001f"}`},
	{name: "escapes re-encoded when something changes", in: `{"msg":"jane@example.com \u00e9\n\"q\""}`,
		want: `{"msg":"[REDACTED] é\n\"q\""}`},
	{name: "\\u0000 escape in json", in: `{"msg":"a\u0000b","lit":"c\\u0000d","k\u0000":1}`,
		want: "{\"msg\":\"a\uFFFDb\",\"lit\":\"c\\\\u0000d\",\"k\uFFFD\":1}"},
	{name: "uuid and finix ids kept", in: `{"id":"AUst6ZdywPwe4fbYWrH1zTNJ","logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","trace":"123e4567-e89b-12d3-a456-426614174000","created_at":"2026-11-02T10:00:00Z"}`},
	{name: "finix authorization id kept", in: `{"authorization":"AUst6ZdywPwe4fbYWrH1zTNJ","transfer":"TRw4x8b2Q2e4fbYWrH1zTNJ"}`},
	{name: "authorization credential redacted", in: `{"authorization":"Basic dXNlcjpwYXNz"}`, want: `{"authorization":"[REDACTED]"}`},
	{name: "top-level array", in: ` [ "4111 1111 1111 1111", 1 ] `, want: ` [ "[REDACTED]", 1 ] `},

	// JSON that does not parse
	{name: "truncated inside a string", in: `{"error":"x","password":"hunt`, want: `{"error":"x","password":"[REDACTED]"`},
	{name: "truncated after a key", in: `{"email": "jane@example.com", "piw": `, want: `{"email": "[REDACTED]", "piw": `},
	{name: "truncated nested secret", in: `{"a":{"token":{"v":"abc`, want: `{"a":{"token":"[REDACTED]"`},
	{name: "byte-order mark", in: "\ufeff{\"password\":\"hunter2\"}", want: "\ufeff{\"password\":\"[REDACTED]\"}"},
	{name: "raw tab inside a string", in: "{\"security_answer\":\"my\tdog\",\"m\":\"card\t4111111111111111\"}",
		want: "{\"security_answer\":\"[REDACTED]\",\"m\":\"card\\t[REDACTED]\"}"},
	{name: "number with a trailing dot", in: `{"amount":1.,"pin":1234.,"x":1}`, want: `{"amount":1.,"pin":"[REDACTED]","x":1}`},
	{name: "trailing comma", in: `{"password":"hunter2",}`, want: `{"password":"[REDACTED]",}`},
	{name: "double-encoded json", in: `{"body":"{\"password\":\"hunter2\",\"request_id\":\"r1\"}"}`,
		want: `{"body":"{\"password\":\"[REDACTED]\",\"request_id\":\"r1\"}"}`},
	{name: "triple-encoded json", in: `"{\"b\":\"{\\\"token\\\":\\\"t0k\\\"}\"}"`,
		want: `"{\"b\":\"{\\\"token\\\":\\\"[REDACTED]\\\"}\"}"`},
	{name: "json inside html", in: `<html><body><pre>{"password":"hunter2","email":"jane@example.com"}</pre></body></html>`,
		want: `<html><body><pre>{"password":"[REDACTED]","email":"[REDACTED]"}</pre></body></html>`},
	{name: "python dict repr", in: `{'password': 'hunter2', 'user': 'bob'}`, want: `{'password': '[REDACTED]', 'user': 'bob'}`},
	{name: "key=value text with quoted value", in: `password="hunter2" user=bob`, want: `password="[REDACTED]" user=bob`},
	{name: "header line with quoted value", in: `Authorization: "Bearer abc"`, want: `Authorization: "[REDACTED]"`},
	{name: "unquoted key", in: `{password: "hunter2"}`, want: `{password: "[REDACTED]"}`},
	{name: "html text", in: "<html>card 4111 1111 1111 1111 for jane@example.com</html>", want: "<html>card [REDACTED] for [REDACTED]</html>"},

	// headers in every shape
	{name: "headers object", in: `{"X-Auth-Token":"a1","X-CSRF-Token":"c1","Private-Token":"p1","X-Amz-Security-Token":"s1","Ocp-Apim-Subscription-Key":"o1","X-Hub-Signature":"h1","X-Client-Secret-Key":"k1","X-Request-Id":"r1"}`,
		want: `{"X-Auth-Token":"[REDACTED]","X-CSRF-Token":"[REDACTED]","Private-Token":"[REDACTED]","X-Amz-Security-Token":"[REDACTED]","Ocp-Apim-Subscription-Key":"[REDACTED]","X-Hub-Signature":"[REDACTED]","X-Client-Secret-Key":"[REDACTED]","X-Request-Id":"r1"}`},
	{name: "header values as arrays", in: `{"Authorization":["Bearer abc"],"X-Request-Id":["r1"]}`, want: `{"Authorization":"[REDACTED]","X-Request-Id":["r1"]}`},
	{name: "har headers name first", in: `[{"name":"X-Auth-Token","value":"abc"},{"name":"X-Request-Id","value":"r1"}]`,
		want: `[{"name":"X-Auth-Token","value":"[REDACTED]"},{"name":"X-Request-Id","value":"r1"}]`},
	{name: "har headers value first", in: `[{"value":"abc","name":"Cookie"},{"value":"r1","name":"X-Request-Id"}]`,
		want: `[{"value":"[REDACTED]","name":"Cookie"},{"value":"r1","name":"X-Request-Id"}]`},
	{name: "header pairs as arrays", in: `[["Authorization","Bearer abc"],["X-Request-Id","r1"]]`,
		want: `[["Authorization","[REDACTED]"],["X-Request-Id","r1"]]`},
	{name: "sentences in arrays kept", in: `{"descriptors":["session expired","retry later"]}`},
}

func TestDocument(t *testing.T) {
	for _, tc := range documentCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Document(tc.in)
			want := tc.want
			if want == "" {
				want = tc.in
			}
			checkRedaction(t, got, want, tc.gone, tc.kept)
			if json.Valid([]byte(tc.in)) && !json.Valid([]byte(got)) {
				t.Errorf("valid JSON became invalid: %s", got)
			}
			if again := Document(got); again != got {
				t.Errorf("not idempotent: %q became %q", got, again)
			}
		})
	}
}

// Text's cases hold for a document of text too.
func TestDocumentOfText(t *testing.T) {
	for _, tc := range textCases {
		if strings.ContainsAny(tc.in, `"{[`) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			if got, want := Document(tc.in), Text(tc.in); got != want {
				t.Errorf("Document = %q, Text = %q", got, want)
			}
		})
	}
}

func TestBody(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "json body redacted, formatting kept", in: "{\n  \"piw\": \"sunflower\",\n  \"request_id\": \"req_01j2abc\"\n}\n",
			want: "{\n  \"piw\": \"[REDACTED]\",\n  \"request_id\": \"req_01j2abc\"\n}\n"},
		{name: "invalid utf8 in json", in: "{\"m\":\"bad \xff\"}", want: "{\"m\":\"bad \uFFFD\"}"},
		{name: "nul bytes", in: "a\x00b", want: "a\uFFFDb"},
		{name: "\\u0000 in text kept as text", in: `not json \u0000 end`, want: `not json \u0000 end`},
		{name: "truncation on rune boundary", in: long, max: 50,
			// 50 - len("…[truncated  bytes]") (21) - 3 digits = 26 bytes of text
			want: strings.Repeat("é", 13) + "…[truncated 174 bytes]"},
		{name: "truncation on odd byte count", in: long, max: 51, want: strings.Repeat("é", 13) + "…[truncated 174 bytes]"},
		{name: "bound too small for marker", in: long, max: 5, want: "éé"},
		{name: "within bound untouched", in: "short", max: 5, want: "short"},
		{name: "no bound", in: long, max: 0, want: long},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Body([]byte(tc.in), tc.max)
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if tc.max > 0 && len(got) > tc.max {
				t.Errorf("len %d > max %d", len(got), tc.max)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8: %q", got)
			}
		})
	}
}

// Whatever the cut, no part of a secret is left: redaction comes first.
func TestBodyRedactsBeforeItCuts(t *testing.T) {
	for _, tc := range []struct{ doc, secret string }{
		{`{"m":"paid with card 4111 1111 1111 1111 today"}`, "4111 1111"},
		{`{"m":"mail jane.doe@example.com today"}`, "jane.d"},
		{`{"pad":"` + strings.Repeat("a", 20000) + `","password":"hunter2"}`, "hunt"},
		{`{"pad":"` + strings.Repeat("a", 20000) + `","field_errors":[{"param":"piw","value":"bluebird"}]}`, "blueb"},
		{"Authorization: Bearer abcdefghijklmnop", "abcdef"},
	} {
		for max := 1; max < len(tc.doc)+8; max += 1 + max/64 {
			got := Body([]byte(tc.doc), max)
			if strings.Contains(got, tc.secret) {
				t.Fatalf("max %d: %q holds part of a secret", max, got)
			}
			if len(got) > max {
				t.Fatalf("max %d: %d bytes", max, len(got))
			}
		}
	}
}
