package redact

import (
	"strings"
	"testing"
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

type textCase struct {
	name string
	in   string
	want string   // exact output; "" means in must come back unchanged
	gone []string // secrets that must be absent
	kept []string // surrounding text that must stay
}

var textCases = []textCase{
	// cards
	{name: "visa with spaces", in: "card 4111 1111 1111 1111 declined (ref ord_8812)",
		want: "card [REDACTED] declined (ref ord_8812)", gone: []string{"4111", "1111"}, kept: []string{"declined", "ord_8812"}},
	{name: "visa plain under pan key in query string", in: "pan=4111111111111111&exp=12/30", want: "pan=[REDACTED]&exp=12/30"},
	{name: "mastercard with dashes", in: "Finterra: card 5555-5555-5555-4444 expired, status 402", want: "Finterra: card [REDACTED] expired, status 402"},
	{name: "amex plain", in: "amex 378282246310005 refused", want: "amex [REDACTED] refused"},
	{name: "amex with dashes", in: "amex 3782-822463-10005 refused", want: "amex [REDACTED] refused"},
	{name: "card followed by a year", in: "card 4111 1111 1111 1111 2030", want: "card [REDACTED] 2030"},
	{name: "card at end of sentence", in: "Declined card 4111111111111111.", want: "Declined card [REDACTED]."},
	{name: "card with mixed separators", in: "card 4111 1111-1111.1111 x", want: "card [REDACTED] x"},
	{name: "card with tabs", in: "card 4111\t1111\t1111\t1111 x", want: "card [REDACTED] x"},
	{name: "card with percent-encoded spaces", in: "q=4111%201111%201111%201111&x", want: "q=[REDACTED]&x"},
	{name: "card with spaced dashes", in: "card 4111 - 1111 - 1111 - 1111 x", want: "card [REDACTED] x"},
	{name: "card glued to letters", in: "PAN4111111111111111 seen", want: "PAN[REDACTED] seen"},
	{name: "card glued to underscore", in: "key card_4111111111111111_x", want: "key card_[REDACTED]_x"},
	{name: "card glued to currency", in: "charged 4111111111111111USD", want: "charged [REDACTED]USD"},
	{name: "card followed by cents", in: "amount 4111111111111111.00 due", want: "amount [REDACTED].00 due"},
	{name: "card in full-width digits", in: "card ４１１１ １１１１ １１１１ １１１１ x", want: "card [REDACTED] x"},
	{name: "card split by zero-width spaces", in: "card 4111\u200b1111\u200b1111\u200b1111 x", want: "card [REDACTED] x"},
	{name: "card split by no-break spaces", in: "card 4111\u00a01111\u00a01111\u00a01111 x", want: "card [REDACTED] x"},
	{name: "card in a long slug", in: "/notes/customer-card-number-4111111111111111-expired", want: "/notes/customer-card-number-[REDACTED]-expired"},
	{name: "luhn-invalid 16 digits kept", in: "card 4111 1111 1111 1112 declined"},
	{name: "luhn-invalid 16 digits plain kept", in: "ref 4111111111111112"},
	{name: "luhn-invalid glued kept", in: "ord_4111111111111112 x4111111111111112"},
	{name: "luhn-valid glued without issuer prefix kept", in: "ord_1000000000009"},
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
	{name: "luhn-valid 13 digits redacted", in: "ref 1000000000009 end", want: "ref [REDACTED] end"},
	{name: "ip address kept", in: "from 192.168.100.200 port 8443"},
	{name: "date without birth keyword kept", in: "created 1985-03-12, expires 12/30"},
	{name: "trace id kept", in: "traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	{name: "times kept", in: "window 10:00-10:15, took 12:30:01.250"},

	// e-mail
	{name: "email in message", in: "customer jane.doe+test@example.co.uk rejected, request req_01j2abc",
		want: "customer [REDACTED] rejected, request req_01j2abc", gone: []string{"jane", "example.co.uk"}},
	{name: "email with digit local part", in: "user 4165550199@sms.example.com.", want: "user [REDACTED]."},
	{name: "email in angle brackets", in: "From: <ops@faultline.dev>", want: "From: <[REDACTED]>"},
	{name: "email percent-encoded", in: "?u=jane%40example.com&x=1", want: "?u=[REDACTED]&x=1"},
	{name: "email html entity", in: "mail jane&#64;example.com now", want: "mail [REDACTED] now"},
	{name: "email hex html entity", in: "mail jane&#x40;example.com now", want: "mail [REDACTED] now"},
	{name: "email non-ascii domain", in: "mail jöse@exämple.com now", want: "mail [REDACTED] now"},
	{name: "email full-width at sign", in: "mail jane＠example.com now", want: "mail [REDACTED] now"},
	{name: "at sign without domain kept", in: "retry @ 10s, user@localhost"},

	// credentials
	{name: "authorization header in text", in: "Authorization: Bearer sk_live_abc123XYZ was rejected",
		want: "Authorization: [REDACTED]", gone: []string{"sk_live_abc123XYZ"}},
	{name: "basic credentials in text", in: "header Basic dXNlcjpwYXNzd29yZA== sent", want: "header Basic [REDACTED] sent"},
	{name: "bearer jwt", in: "bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl, then", want: "bearer [REDACTED], then"},
	{name: "bearer lowercase opaque token", in: "sent Bearer abc.def.ghi ok", want: "sent Bearer [REDACTED] ok"},
	{name: "bearer token in quotes", in: `header "Bearer mytoken" rejected`, want: `header "Bearer [REDACTED]" rejected`},
	{name: "bearer with a colon", in: "got Bearer:abc123def now", want: "got Bearer:[REDACTED] now"},
	{name: "basic padded short credential", in: `"Basic YTpi=="`, want: `"Basic [REDACTED]"`},
	{name: "bearer prose kept", in: "missing bearer token; use Basic auth or Basic Authentication. Expected Bearer."},
	{name: "www-authenticate challenge kept", in: `WWW-Authenticate: Basic realm="cheers", Bearer error="invalid_token", Bearer error=invalid_token`},
	{name: "jwt", in: "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc-DEF_123 expired", want: "token [REDACTED] expired"},
	{name: "jwt glued to a word", in: "tokeneyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc-DEF_123 x", want: "token[REDACTED] x"},
	{name: "jwt in query string", in: "GET /cb?id_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.&x=1", want: "GET /cb?id_token=[REDACTED]&x=1"},
	{name: "x-api-key header line", in: "X-Api-Key: k_9f8e7d6c5b4a and more", want: "X-Api-Key: [REDACTED] and more"},
	{name: "cookie header line", in: "Cookie: theme=dark; sid=abc123\nnext", want: "Cookie: [REDACTED]\nnext"},
	{name: "access token in url", in: "GET https://api.example.com/v1?access_token=tok_123&page=2", want: "GET https://api.example.com/v1?access_token=[REDACTED]&page=2"},
	{name: "api key and password in text", in: "login api_key=ak_1 password=hunter2 user=bob",
		want: "login api_key=[REDACTED] password=[REDACTED] user=bob"},
	{name: "quoted password", in: `password='hunter2' ok`, want: `password='[REDACTED]' ok`},
	{name: "json password in a message", in: `bad {"password": "hunter2", "user": "bob"}`, want: `bad {"password": "[REDACTED]", "user": "bob"}`},
	{name: "escaped json password in a message", in: `bad {\"password\":\"hunter2\"}`, want: `bad {\"password\":\"[REDACTED]\"}`},
	{name: "url userinfo", in: "proxyconnect tcp: dial http://u:pw@proxy:3128 failed", want: "proxyconnect tcp: dial http://[REDACTED]@proxy:3128 failed"},
	{name: "url without userinfo kept", in: "GET https://api.finix.com:443/transfers?x=1"},

	// card security codes and PINs
	{name: "cvv in text", in: "CVV 123 rejected", want: "CVV [REDACTED] rejected"},
	{name: "cvc2 with colon", in: "cvc2: 4567.", want: "cvc2: [REDACTED]."},
	{name: "pin in text", in: "PIN 1234 blocked", want: "PIN [REDACTED] blocked"},
	{name: "pin word without code kept", in: "pin retries 3 left"},

	// SIN
	{name: "sin with dashes", in: "Flexiti: SIN 046-454-286 invalid for applicant", want: "Flexiti: SIN [REDACTED] invalid for applicant"},
	{name: "sin under key with spaces", in: "sin=046 454 286;", want: "sin=[REDACTED];"},
	{name: "sin plain", in: "sin 046454286", want: "sin [REDACTED]"},
	{name: "sin with dots", in: "id 046.454.286 x", want: "id [REDACTED] x"},
	{name: "luhn-invalid sin kept", in: "sin 046 454 287"},

	// birth dates
	{name: "dob in text", in: "dob: 1985-03-12, customer 42", want: "dob: [REDACTED], customer 42"},
	{name: "date of birth in words", in: "Date of birth March 3, 1985 does not match", want: "Date of birth [REDACTED] does not match"},
	{name: "date_of_birth in embedded json", in: `body {"date_of_birth":"1985-03-12","id":"c_1"}`, want: `body {"date_of_birth":"[REDACTED]","id":"c_1"}`},
	{name: "birthDate camel case with time", in: "birthDate=1985-03-12T00:00:00Z mismatch", want: "birthDate=[REDACTED] mismatch"},
	{name: "born on day first", in: "applicant born on 12/03/1985. Order 2026-11-02 kept", want: "applicant born on [REDACTED]. Order 2026-11-02 kept"},
	{name: "DOB day month year", in: "DOB 3rd of March 1985", want: "DOB [REDACTED]"},
	{name: "D.O.B. with dotted letters", in: "D.O.B. 12-Mar-1985 wrong", want: "D.O.B. [REDACTED] wrong"},
	{name: "dob day-month-year with dashes", in: "dob 12-Mar-1985", want: "dob [REDACTED]"},
	{name: "birth keyword with number not a date kept", in: "dob invalid: code 12345, at 2026-11-02"},
	{name: "birth keyword across sentence kept", in: "dob missing. Retry at 2026-11-02T10:00:00Z"},

	// phones
	{name: "phone north american", in: "call (416) 555-0199, 416-555-0199, 416.555.0199, 1-416-555-0199 or +1 416 555 0199 now",
		want: "call [REDACTED], [REDACTED], [REDACTED], [REDACTED] or [REDACTED] now"},
	{name: "phone area code then seven digits", in: "call 416-5550086 now", want: "call [REDACTED] now"},
	{name: "ten bare digits after a phone word", in: "phone 4165550086 invalid", want: "phone [REDACTED] invalid"},
	{name: "mobile number with colon", in: "Mobile: 4165550086", want: "Mobile: [REDACTED]"},
	{name: "phone international", in: "phone +44 20 7946 0958 and +33 1 23 45 67 89 and +14165550199.",
		want: "phone [REDACTED] and [REDACTED] and [REDACTED]."},
	{name: "phone with 00 prefix", in: "call 0044 20 7946 0958 today", want: "call [REDACTED] today"},
	{name: "short plus number kept", in: "delta +12 and +1234567"},
}

func TestText(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Text(tc.in)
			want := tc.want
			if want == "" {
				want = tc.in
			}
			checkRedaction(t, got, want, tc.gone, tc.kept)
			if again := Text(got); again != got {
				t.Errorf("not idempotent: %q became %q", got, again)
			}
		})
	}
}

func TestTextCleansBeforeDetecting(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"nul inside a card", "card 4111\x001111 1111 1111 x", "card [REDACTED] x"},
		{"invalid byte inside a card", "card 4111\xff1111\xff1111\xff1111 x", "card [REDACTED] x"},
		{"nul replaced", "a\x00b", "a\uFFFDb"},
		{"invalid utf8 replaced", "bad \xff\xfe byte \xe2\x82", "bad \uFFFD\uFFFD byte \uFFFD\uFFFD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Text(tc.in); got != tc.want {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTextUnchangedDoesNotAllocate(t *testing.T) {
	msg := "Finix 422 logref d4ee0b6cdb67686f0c1ec0780e5b4296: transfer AUst6ZdywPwe4fbYWrH1zTNJ failed at 2026-11-02T10:00:00Z"
	if got := Text(msg); got != msg {
		t.Fatalf("changed: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Text(msg) }); n != 0 {
		t.Errorf("allocs = %v, want 0", n)
	}
}

func TestIdentifier(t *testing.T) {
	tests := []struct{ in, want string }{
		{"req_01j2abc7k9x8f3m4n5", "req_01j2abc7k9x8f3m4n5"},
		{"d4ee0b6cdb67686f0c1ec0780e5b4296", "d4ee0b6cdb67686f0c1ec0780e5b4296"},
		{"AUst6ZdywPwe4fbYWrH1zTNJ", "AUst6ZdywPwe4fbYWrH1zTNJ"},
		{"acme-foods", "acme-foods"},
		{"req_4111111111111111", Redacted},
		{"jane@example.com", Redacted},
		{"tenant 416-555-0199", Redacted},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Identifier(tc.in); got != tc.want {
			t.Errorf("Identifier(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSensitiveKey(t *testing.T) {
	sensitive := []string{
		"password", "Password", "userPassword", "user.password", "USER_PASSWORD", "user-password", "new_passwd",
		"pass", "db.pass", "mysql_pwd", "pwd", "passphrase", "secret", "client_secret", "X-Client-Secret-Key",
		"token", "access_token", "X-Auth-Token", "X-CSRF-Token", "Private-Token", "X-Amz-Security-Token", "idToken",
		"Authorization", "proxy-authorization", "auth", "authCode", "X-Api-Key", "apiKey", "api_key", "Api-Key",
		"private_key", "privateKey", "clientKey", "Ocp-Apim-Subscription-Key", "session", "sessionId", "Cookie",
		"Set-Cookie", "credentials", "X-Hub-Signature", "Finix-Signature", "sig", "pin", "PIN", "userPin", "pinBlock",
		"PINBlock", "cvv", "CVV2", "cvc", "cvn", "card_security_code", "cardSecurityCode", "piw", "security_answer",
		"SecretAnswer", "answer", "dob", "date_of_birth", "birthDate", "birthday", "sin", "ssn", "phone",
		"phone_number", "mobile", "billing_phone", "email", "e-mail", "customerEmail", "card_number", "pan", "otp",
		"govid_number", "ｐａｓｓｗｏｒｄ", "to\u212Aen", "pa\u017F\u017Fword",
	}
	for _, k := range sensitive {
		if !SensitiveKey(k) {
			t.Errorf("SensitiveKey(%q) = false, want true", k)
		}
	}
	plain := []string{
		"request_id", "trace_id", "logref", "code", "message", "description", "shipping", "shipping_address",
		"business", "passenger_count", "Content-Type", "X-Request-Id", "User-Agent", "Traceparent",
		"Finix-Apiuser-Role", "WWW-Authenticate", "idempotency_key", "amount", "currency", "failure_code",
		"transfer", "status", "mapping", "singleton", "pinned_version", "topic",
	}
	for _, k := range plain {
		if SensitiveKey(k) {
			t.Errorf("SensitiveKey(%q) = true, want false", k)
		}
	}
}

func TestLuhn(t *testing.T) {
	digits := func(s string) []byte {
		b := make([]byte, len(s))
		for i := range s {
			b[i] = s[i] - '0'
		}
		return b
	}
	for s, want := range map[string]bool{
		"4111111111111111": true, "5555555555554444": true, "378282246310005": true, "046454286": true,
		"4111111111111112": false, "046454287": false, "": false,
	} {
		if got := luhn(digits(s)); got != want {
			t.Errorf("luhn(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestIndexFold(t *testing.T) {
	// The Kelvin sign lower-cases to one byte where it takes three: a
	// position found in a folded copy would be wrong in the original.
	s := "\u212A\u212A<TITLE>Oops</title>"
	i := IndexFold(s, "<title>")
	if i != 6 || s[i:i+7] != "<TITLE>" {
		t.Fatalf("IndexFold = %d", i)
	}
	if IndexFold("Ⱥ<h1>x", "<title>") != -1 {
		t.Fatal("found what is not there")
	}
}

func TestTextFromTheAttackCorpus(t *testing.T) {
	for _, tc := range []textCase{
		{name: "phone word joined by a dash", in: "phone-6045558969.sms-gw.example", want: "phone-[REDACTED].sms-gw.example"},
		{name: "plus phone glued to letters", in: "AU+14165559431", want: "AU[REDACTED]"},
		{name: "plus phone glued to underscore", in: "call_issuer_at_+16045555799", want: "call_issuer_at_[REDACTED]"},
		{name: "amex cid", in: "CID: 7988 invalid", want: "CID: [REDACTED] invalid"},
		{name: "quoted security answer", in: "security answer 'maple bramble' did not match", want: "security answer '[REDACTED]' did not match"},
		{name: "quoted password after is", in: `password is "hunter2", retry`, want: `password is "[REDACTED]", retry`},
		{name: "quoted piw", in: "PIW 'bluebird' does not match", want: "PIW '[REDACTED]' does not match"},
		{name: "quoted word after an ordinary word kept", in: "customer 'jane' not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			checkRedaction(t, Text(tc.in), want, nil, nil)
		})
	}
	if !SensitiveKey("PASSWOR\u212A") {
		t.Error("PASSWOR with a Kelvin sign is a password key")
	}
}
