package classify

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkRedaction asserts got == want (when want is set), that no secret
// survived and that every kept piece is still there.
func checkRedaction(t *testing.T, got, want string, gone, kept []string) {
	t.Helper()
	if want != "" && got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, g := range gone {
		if strings.Contains(got, g) {
			t.Errorf("secret %q survived in %q", g, got)
		}
	}
	for _, k := range kept {
		if !strings.Contains(got, k) {
			t.Errorf("%q lost from %q", k, got)
		}
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string   // exact output; "" means in must come back unchanged
		gone []string // secrets that must be absent
		kept []string // surrounding text that must stay
	}{
		// cards
		{
			name: "visa with spaces",
			in:   "card 4111 1111 1111 1111 declined (ref ord_8812)",
			want: "card [REDACTED] declined (ref ord_8812)",
			gone: []string{"4111", "1111"}, kept: []string{"declined", "ord_8812"},
		},
		{
			name: "visa plain in query string",
			in:   "pan=4111111111111111&exp=12/30",
			want: "pan=[REDACTED]&exp=12/30",
			gone: []string{"4111111111111111"}, kept: []string{"exp=12/30"},
		},
		{
			name: "mastercard with dashes",
			in:   "Finterra: card 5555-5555-5555-4444 expired, status 402",
			want: "Finterra: card [REDACTED] expired, status 402",
			gone: []string{"5555", "4444"}, kept: []string{"status 402"},
		},
		{
			name: "amex plain",
			in:   "amex 378282246310005 refused",
			want: "amex [REDACTED] refused",
			gone: []string{"378282246310005"}, kept: []string{"amex", "refused"},
		},
		{
			name: "amex with dashes",
			in:   "amex 3782-822463-10005 refused",
			want: "amex [REDACTED] refused",
			gone: []string{"822463", "10005"}, kept: []string{"refused"},
		},
		{
			name: "card followed by a year",
			in:   "card 4111 1111 1111 1111 2030",
			want: "card [REDACTED] 2030",
			gone: []string{"4111"}, kept: []string{"2030"},
		},
		{
			name: "card at end of sentence",
			in:   "Declined card 4111111111111111.",
			want: "Declined card [REDACTED].",
		},
		{name: "luhn-invalid 16 digits kept", in: "card 4111 1111 1111 1112 declined"},
		{name: "luhn-invalid 16 digits plain kept", in: "ref 4111111111111112"},
		{name: "digits glued to identifier kept", in: "ord_4111111111111111 x4111111111111111"},
		{name: "20 digits kept", in: "id 41111111111111111110"},

		// ids, timestamps and ordinary numbers
		{name: "finix logref kept", in: "Finix 422 logref d4ee0b6cdb67686f0c1ec0780e5b4296 (3fe8e6ab1e8cf44f)"},
		{name: "finix id kept", in: "transfer AUst6ZdywPwe4fbYWrH1zTNJ failed; identity IDpYDM7J9n57q849o9E9yNrG"},
		{name: "request id kept", in: "request req_01j2abc7k9x8f3m4n5p6q7r8s9 failed"},
		{name: "uuid kept", in: "trace 123e4567-e89b-12d3-a456-426614174000 span 0f8fad5b-d9cb-469f-a165-70867728950e"},
		{name: "numeric uuid kept", in: "id 12345678-1234-1234-1234-123456789012"},
		{name: "iso timestamp kept", in: "at 2026-11-02T10:00:00Z status 422, retry at 2026-11-02 10:05:00"},
		{name: "unix timestamps kept", in: "ts=1730541600 ms=1730541600123"},
		{name: "ten digit order id kept", in: "order 4165550199 not found"},
		{name: "amounts and short numbers kept", in: "amount 1299.00 CAD (was 1,299,000.50), 3 retries, HTTP 502, code 10002"},
		{name: "decimal amount kept", in: "balance 1000000000009.50 CAD"},
		{
			name: "luhn-valid 13 digits redacted",
			in:   "ref 1000000000009 end",
			want: "ref [REDACTED] end",
		},
		{name: "ip address kept", in: "from 192.168.100.200 port 8443"},
		{name: "date without birth keyword kept", in: "created 1985-03-12, expires 12/30"},
		{name: "trace id kept", in: "traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},

		// e-mail
		{
			name: "email in message",
			in:   "customer jane.doe+test@example.co.uk rejected, request req_01j2abc",
			want: "customer [REDACTED] rejected, request req_01j2abc",
			gone: []string{"jane", "example.co.uk"}, kept: []string{"req_01j2abc"},
		},
		{
			name: "email with digit local part",
			in:   "user 4165550199@sms.example.com.",
			want: "user [REDACTED].",
			gone: []string{"4165550199", "example"},
		},
		{
			name: "email in angle brackets",
			in:   "From: <ops@faultline.dev>",
			want: "From: <[REDACTED]>",
		},
		{name: "at sign without domain kept", in: "retry @ 10s, user@localhost"},

		// credentials
		{
			name: "bearer token in text",
			in:   "Authorization: Bearer sk_live_abc123XYZ was rejected",
			want: "Authorization: Bearer [REDACTED] was rejected",
			gone: []string{"sk_live_abc123XYZ"}, kept: []string{"was rejected"},
		},
		{
			name: "basic credentials in text",
			in:   "header Basic dXNlcjpwYXNzd29yZA== sent",
			want: "header Basic [REDACTED] sent",
			gone: []string{"dXNlcjpwYXNzd29yZA"},
		},
		{
			name: "bearer jwt",
			in:   "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl, then",
			want: "bearer [REDACTED], then",
		},
		{
			name: "bearer lowercase opaque token",
			in:   "Authorization: Bearer abc.def.ghi sent",
			want: "Authorization: Bearer [REDACTED] sent",
			gone: []string{"abc.def.ghi"}, kept: []string{"sent"},
		},
		{
			name: "bearer token in quotes",
			in:   `header "Bearer mytoken" rejected`,
			want: `header "Bearer [REDACTED]" rejected`,
		},
		{
			name: "basic padded short credential",
			in:   `"Basic YTpi=="`,
			want: `"Basic [REDACTED]"`,
		},
		{name: "bearer prose kept", in: "missing bearer token; use Basic auth or Basic Authentication. Expected Bearer."},
		{name: "www-authenticate challenge kept", in: `WWW-Authenticate: Basic realm="cheers", Bearer error="invalid_token", Bearer error=invalid_token`},
		{
			name: "jwt",
			in:   "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc-DEF_123 expired",
			want: "token [REDACTED] expired",
			gone: []string{"eyJ", "abc-DEF_123"}, kept: []string{"token", "expired"},
		},
		{
			name: "jwt in query string",
			in:   "GET /cb?id_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.&x=1",
			want: "GET /cb?id_token=[REDACTED]&x=1",
		},

		// SIN
		{
			name: "sin with dashes",
			in:   "Flexiti: SIN 046-454-286 invalid for applicant",
			want: "Flexiti: SIN [REDACTED] invalid for applicant",
			gone: []string{"046", "454", "286"}, kept: []string{"invalid for applicant"},
		},
		{
			name: "sin with spaces",
			in:   "sin=046 454 286;",
			want: "sin=[REDACTED];",
		},
		{
			name: "sin plain",
			in:   "sin 046454286",
			want: "sin [REDACTED]",
		},
		{name: "luhn-invalid sin kept", in: "sin 046 454 287"},

		// birth dates
		{
			name: "dob in text",
			in:   "dob: 1985-03-12, customer 42",
			want: "dob: [REDACTED], customer 42",
			gone: []string{"1985"}, kept: []string{"customer 42"},
		},
		{
			name: "date of birth in words",
			in:   "Date of birth March 3, 1985 does not match",
			want: "Date of birth [REDACTED] does not match",
			gone: []string{"1985", "March"}, kept: []string{"does not match"},
		},
		{
			name: "date_of_birth in embedded json",
			in:   `body {"date_of_birth":"1985-03-12","id":"c_1"}`,
			want: `body {"date_of_birth":"[REDACTED]","id":"c_1"}`,
		},
		{
			name: "birthDate camel case with time",
			in:   "birthDate=1985-03-12T00:00:00Z mismatch",
			want: "birthDate=[REDACTED] mismatch",
		},
		{
			name: "born on day first",
			in:   "applicant born on 12/03/1985. Order 2026-11-02 kept",
			want: "applicant born on [REDACTED]. Order 2026-11-02 kept",
		},
		{
			name: "DOB day month year",
			in:   "DOB 3rd of March 1985",
			want: "DOB [REDACTED]",
		},
		{name: "birth keyword with number not a date kept", in: "dob invalid: code 12345, at 2026-11-02"},
		{name: "birth keyword across sentence kept", in: "dob missing. Retry at 2026-11-02T10:00:00Z"},

		// phones
		{
			name: "phone north american",
			in:   "call (416) 555-0199, 416-555-0199, 416.555.0199, 1-416-555-0199 or +1 416 555 0199 now",
			want: "call [REDACTED], [REDACTED], [REDACTED], [REDACTED] or [REDACTED] now",
			gone: []string{"555"}, kept: []string{"call", "now"},
		},
		{
			name: "phone international",
			in:   "phone +44 20 7946 0958 and +33 1 23 45 67 89 and +14165550199.",
			want: "phone [REDACTED] and [REDACTED] and [REDACTED].",
		},
		{name: "short plus number kept", in: "delta +12 and +1234567"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RedactText(tc.in)
			want := tc.want
			if want == "" {
				want = tc.in
			}
			checkRedaction(t, got, want, tc.gone, tc.kept)
		})
	}
}

func TestByteClass(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := byte(classNone)
		switch {
		case c >= '0' && c <= '9', c == '+', c == '(':
			want = classNumber
		case c == '@':
			want = classAt
		case c == 'b', c == 'B', c == 'd', c == 'D':
			want = classKeyword
		case c == 'e':
			want = classJWT
		}
		if got := byteClass[c]; got != want {
			t.Errorf("byteClass[%q] = %q, want %q", rune(c), got, want)
		}
	}
}

func TestRedactTextUnchangedDoesNotAllocate(t *testing.T) {
	msg := "Finix 422 logref d4ee0b6cdb67686f0c1ec0780e5b4296: transfer AUst6ZdywPwe4fbYWrH1zTNJ failed at 2026-11-02T10:00:00Z"
	if got := RedactText(msg); got != msg {
		t.Fatalf("changed: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = RedactText(msg) }); n != 0 {
		t.Errorf("allocs = %v, want 0", n)
	}
}

func TestRedactJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		gone []string
		kept []string
	}{
		{
			name: "flexiti field_errors value",
			in: `{"status": 422, "field_errors": [
				{"field": "piw", "message": "PIW does not match", "value": "sunflower"},
				{"field": "sin", "message": "SIN is invalid", "value": 46454286}
			], "request_id": "req_01j2abc"}`,
			want: `{"status":422,"field_errors":[{"field":"piw","message":"PIW does not match","value":"[REDACTED]"},` +
				`{"field":"sin","message":"SIN is invalid","value":"[REDACTED]"}],"request_id":"req_01j2abc"}`,
			gone: []string{"sunflower", "46454286"}, kept: []string{"req_01j2abc", "PIW does not match"},
		},
		{
			name: "piw under key",
			in:   `{"piw":"sunflower","account_number":"000123456789","order_id":"ord_1"}`,
			want: `{"piw":"[REDACTED]","account_number":"000123456789","order_id":"ord_1"}`,
		},
		{
			name: "security_answer under key",
			in:   `{"Security-Answer":"Fluffy","security_question":"first pet"}`,
			want: `{"Security-Answer":"[REDACTED]","security_question":"first pet"}`,
		},
		{
			name: "sensitive keys case and separators ignored",
			in:   `{"Client_Secret":"cs_1","ACCESS-TOKEN":"at","apiKey":"k","date_of_birth":"1985-03-12","Phone_Number":"4165550199","merchant_password":"p","govid_number":"X1","dob":19850312}`,
			want: `{"Client_Secret":"[REDACTED]","ACCESS-TOKEN":"[REDACTED]","apiKey":"[REDACTED]","date_of_birth":"[REDACTED]","Phone_Number":"[REDACTED]","merchant_password":"[REDACTED]","govid_number":"[REDACTED]","dob":"[REDACTED]"}`,
		},
		{
			name: "qualified sensitive keys",
			in:   `{"customer_email":"a@b.example","billing_phone":"4165550199","webhookSecret":"whsec","email_verified":true,"phone_country":"CA"}`,
			want: `{"customer_email":"[REDACTED]","billing_phone":"[REDACTED]","webhookSecret":"[REDACTED]","email_verified":true,"phone_country":"CA"}`,
		},
		{
			name: "nested sensitive object replaced whole",
			in:   `{"headers":{"Authorization":"Bearer abc","X-Request-Id":"r1"},"cookie":{"a":1},"token":["x","y"]}`,
			want: `{"headers":{"Authorization":"[REDACTED]","X-Request-Id":"r1"},"cookie":"[REDACTED]","token":"[REDACTED]"}`,
		},
		{
			name: "number with card fields",
			in:   `{"card":{"number":"1234","cvv":"123","exp_month":12,"brand":"visa"},"address":{"number":"221B","street":"Baker"}}`,
			want: `{"card":{"number":"[REDACTED]","cvv":"[REDACTED]","exp_month":12,"brand":"visa"},"address":{"number":"221B","street":"Baker"}}`,
		},
		{
			name: "card number as json number",
			in:   `{"amount":1299,"ref":4111111111111111,"total":12.5,"bad":4111111111111112}`,
			want: `{"amount":1299,"ref":"[REDACTED]","total":12.5,"bad":4111111111111112}`,
		},
		{
			name: "email in message string",
			in:   `{"error":{"message":"customer jane@example.com rejected","code":"E42"}}`,
			want: `{"error":{"message":"customer [REDACTED] rejected","code":"E42"}}`,
		},
		{
			name: "email as key",
			in:   `{"jane@example.com":{"id":1}}`,
			want: `{"[REDACTED]":{"id":1}}`,
		},
		{
			name: "null bool and empty kept under sensitive keys",
			in:   `{"email":null,"phone":"","token":true}`,
			want: `{"email":null,"phone":"","token":true}`,
		},
		{
			name: "key order preserved",
			in:   `{"z":1,"a":[true,false,null],"m":{"y":-1.5e3,"b":"x"}}`,
			want: `{"z":1,"a":[true,false,null],"m":{"y":-1.5e3,"b":"x"}}`,
		},
		{
			name: "escapes re-encoded",
			in:   `{"msg":"line\nnext \"q\" \u00e9 \ud83d\ude00 \/ \u001f"}`,
			want: "{\"msg\":\"line\\nnext \\\"q\\\" é 😀 / \\u001f\"}",
		},
		{
			name: "\\u0000 escape in json",
			in:   `{"msg":"a\u0000b","lit":"c\\u0000d","k\u0000":1}`,
			want: `{"msg":"ab","lit":"cd","k":1}`,
		},
		{
			name: "uuid and finix ids kept",
			in:   `{"id":"AUst6ZdywPwe4fbYWrH1zTNJ","logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","trace":"123e4567-e89b-12d3-a456-426614174000","created_at":"2026-11-02T10:00:00Z"}`,
			want: `{"id":"AUst6ZdywPwe4fbYWrH1zTNJ","logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","trace":"123e4567-e89b-12d3-a456-426614174000","created_at":"2026-11-02T10:00:00Z"}`,
		},
		{
			name: "top-level array",
			in:   ` [ "4111 1111 1111 1111", 1 ] `,
			want: `["[REDACTED]",1]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := RedactJSON([]byte(tc.in))
			if !ok {
				t.Fatalf("ok = false for valid JSON")
			}
			if !json.Valid(out) {
				t.Errorf("output is not valid JSON: %s", out)
			}
			checkRedaction(t, string(out), tc.want, tc.gone, tc.kept)
		})
	}
}

func TestRedactJSONInvalid(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a":}`, `not json`, `{"a":1}x`} {
		if out, ok := RedactJSON([]byte(in)); ok || out != nil {
			t.Errorf("RedactJSON(%q) = %q, %v; want nil, false", in, out, ok)
		}
	}
}

func TestRedactBody(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	tests := []struct {
		name string
		in   string
		max  int
		want string
		gone []string
		kept []string
	}{
		{
			name: "json body redacted and compacted",
			in:   "{\n  \"piw\": \"sunflower\",\n  \"request_id\": \"req_01j2abc\"\n}\n",
			want: `{"piw":"[REDACTED]","request_id":"req_01j2abc"}`,
		},
		{
			name: "text body",
			in:   "<html>card 4111 1111 1111 1111 for jane@example.com</html>",
			want: "<html>card [REDACTED] for [REDACTED]</html>",
		},
		{
			name: "broken json falls back to text",
			in:   `{"email": "jane@example.com", "piw": `,
			want: `{"email": "[REDACTED]", "piw": `,
		},
		{
			name: "invalid utf8",
			in:   "bad \xff\xfe byte \xe2\x82",
			want: "bad \uFFFD\uFFFD byte \uFFFD\uFFFD",
		},
		{
			name: "invalid utf8 in json",
			in:   "{\"m\":\"bad \xff\"}",
			want: "{\"m\":\"bad \uFFFD\"}",
		},
		{
			name: "nul bytes",
			in:   "a\x00b\x00c",
			want: "abc",
		},
		{
			name: "\\u0000 escape in json",
			in:   `{"m":"x\u0000y"}`,
			want: `{"m":"xy"}`,
		},
		{
			name: "\\u0000 escape in text",
			in:   `not json \u0000 and \u\u00000000 end`,
			want: `not json  and  end`,
		},
		{
			name: "truncation on rune boundary",
			in:   long,
			max:  50,
			// 50 - len("…[truncated  bytes]") (21) - 3 digits = 26 bytes of text
			want: strings.Repeat("é", 13) + "…[truncated 174 bytes]",
		},
		{
			name: "truncation on odd byte count",
			in:   long,
			max:  51, // 27 bytes of room, cut back to 26 on the rune boundary
			want: strings.Repeat("é", 13) + "…[truncated 174 bytes]",
		},
		{
			name: "bound too small for marker",
			in:   long,
			max:  5,
			want: "éé",
		},
		{
			name: "within bound untouched",
			in:   "short",
			max:  5,
			want: "short",
		},
		{
			name: "no bound",
			in:   long,
			max:  0,
			want: long,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RedactBody([]byte(tc.in), tc.max)
			checkRedaction(t, got, tc.want, tc.gone, tc.kept)
			if tc.max > 0 && len(got) > tc.max {
				t.Errorf("len %d > max %d", len(got), tc.max)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8: %q", got)
			}
		})
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"clean kept", "héllo wörld", 0, "héllo wörld"},
		{"invalid utf8", "a\xffb", 0, "a\uFFFDb"},
		{"nul bytes", "a\x00b", 0, "ab"},
		{"json escape kept in plain text", `a\u0000b`, 0, `a\u0000b`},
		{"truncation on rune boundary", "héllo", 2, "h"},
		{"truncation exact", "héllo", 3, "hé"},
		{"negative max means no bound", "héllo", -1, "héllo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sanitize(tc.in, tc.max); got != tc.want {
				t.Errorf("Sanitize(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
	clean := "already fine"
	if n := testing.AllocsPerRun(100, func() { _ = Sanitize(clean, 100) }); n != 0 {
		t.Errorf("Sanitize of a clean string allocs = %v, want 0", n)
	}
}

func TestSensitiveHeader(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Authorization", true},
		{"proxy-authorization", true},
		{"COOKIE", true},
		{"Set-Cookie", true},
		{"X-Api-Key", true},
		{"Api-Key", true},
		{"X-Auth-Token", true},
		{"X-Client-Secret", true},
		{"X-Merchant-Password", true},
		{"Finix-Signature", true},
		{"X-Finterra-ApiKey", true},
		{"Content-Type", false},
		{"X-Request-Id", false},
		{"Finix-Apiuser-Role", false},
		{"User-Agent", false},
		{"Traceparent", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SensitiveHeader(tc.name); got != tc.want {
				t.Errorf("SensitiveHeader(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

func TestLuhnValid(t *testing.T) {
	tests := []struct {
		name   string
		digits string
		want   bool
	}{
		{"visa test card", "4111111111111111", true},
		{"mastercard test card", "5555555555554444", true},
		{"amex test card", "378282246310005", true},
		{"sin", "046454286", true},
		{"last digit off", "4111111111111112", false},
		{"sin last digit off", "046454287", false},
		{"empty", "", false},
		{"non-digit", "4111-1111", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := luhnValid([]byte(tc.digits)); got != tc.want {
				t.Errorf("luhnValid(%q) = %v, want %v", tc.digits, got, tc.want)
			}
		})
	}
}

func FuzzRedactBody(f *testing.F) {
	for _, s := range []string{
		"card 4111 1111 1111 1111 jane@example.com",
		`{"field_errors":[{"value":"x\u0000"}],"a":"\\u0000"}`,
		"\xff\x00 +1 416 555 0199 (416) 555-0199",
		`{"number":"1","cvv":"2","k\ud800":[1,{"dob":"1985-03-12"}]}`,
		"dob: March 3, 1985 Bearer abc123 eyJa.eyJb.c",
		`\u\u00000000`,
	} {
		f.Add([]byte(s), 40)
	}
	f.Fuzz(func(t *testing.T, body []byte, max int) {
		max %= 4096
		out := RedactBody(body, max)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		if strings.IndexByte(out, 0) >= 0 {
			t.Fatalf("NUL in %q", out)
		}
		if strings.Contains(out, `\u0000`) {
			t.Fatalf(`\u0000 in %q`, out)
		}
		if max > 0 && len(out) > max {
			t.Fatalf("len %d > max %d", len(out), max)
		}
		if j, ok := RedactJSON(body); ok && !json.Valid(j) {
			t.Fatalf("RedactJSON produced invalid JSON %q from %q", j, body)
		}
		_ = RedactText(string(body))
	})
}

func BenchmarkRedactText(b *testing.B) {
	cases := []struct {
		name string
		msg  string
	}{
		{"clean", "Finix 422 Unprocessable Entity: transfer AUst6ZdywPwe4fbYWrH1zTNJ failed (logref d4ee0b6cdb67686f0c1ec0780e5b4296) " +
			"for order ord_8812 amount 1299 CAD at 2026-11-02T10:00:00Z; request req_01j2abc7k9x8f3m4n5"},
		{"email and card", "Cheers 402 Payment Required: card 4111 1111 1111 1111 declined for customer jane.doe@example.com " +
			"(order ord_8812, amount 1299 CAD) at 2026-11-02T10:00:00Z; request req_01j2abc7k9x8f3m4n5p6q7"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.msg)))
			for b.Loop() {
				_ = RedactText(c.msg)
			}
		})
	}
}

func BenchmarkRedactJSON(b *testing.B) {
	body := []byte(`{
  "status": 422,
  "error": "validation_failed",
  "message": "The application could not be processed. Please review the field errors.",
  "request_id": "req_01j2abc7k9x8f3m4n5p6q7r8s9",
  "field_errors": [
    {"field": "piw", "code": "mismatch", "message": "PIW does not match our records", "value": "sunflower"},
    {"field": "sin", "code": "invalid", "message": "SIN failed validation", "value": "046 454 286"},
    {"field": "date_of_birth", "code": "invalid", "message": "Applicant must be 18 or older", "value": "2010-05-04"},
    {"field": "email", "code": "invalid", "message": "E-mail address is malformed", "value": "jane.doe@example"},
    {"field": "phone", "code": "invalid", "message": "Phone number is not a Canadian number", "value": "+44 20 7946 0958"}
  ]
}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, ok := RedactJSON(body); !ok {
			b.Fatal("not ok")
		}
	}
}
