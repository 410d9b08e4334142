package redact

import "testing"

// Vendor credentials, private keys, markup, prose and bank numbers: each
// case plants one secret; gone lists it, kept what must stay.
var shapeCases = []textCase{
	// Payment.
	{name: "stripe secret key in prose", in: "note: sk_live_4eC39HqLyjWDarjtT1zdp7dc rejected", want: "note: [REDACTED] rejected"},
	{name: "stripe restricted key", in: "rk_live_51H8xYzAbCdEfGhIjKlMnOp used", want: "[REDACTED] used"},
	{name: "stripe test key", in: "key sk_test_51H8xYzAbCdEfGhIj", want: "key [REDACTED]"},
	{name: "stripe webhook secret", in: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLSYa;", want: "[REDACTED];"},
	{name: "stripe client secret", in: "cs pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH x",
		want: "cs [REDACTED] x"},
	{name: "checkout secret key", in: "sk_sbox_3ih6mGwMnpg2yMkxgNeDmfIoxhg", want: "[REDACTED]"},
	{name: "square access token", in: "sq0atp-1a2B3c4D5e6F7g8H9i0J1k and EAAAEOuLQPDBOwNkhAbCdEfGhIjKlMnOpQrStUvWxYz0123",
		want: "[REDACTED] and [REDACTED]"},
	{name: "adyen api key with its last segment",
		in:   "adyen AQEyhmfxK4PHaRNLw0m/n3Q5qf3VaY9UCJ14XWZE03G/k2NFitRvbe4N1XqH1eHaH2AksaKQ=-Kn8A7+zmT5vTGoGA3SS9XoPdqBBVgHZ4o1HOfh9oMmY=-E(5P8*jK]Ke6x,8 end",
		want: "adyen [REDACTED] end"},
	{name: "braintree access token", in: "bt access_token$production$x7nc9s8c7vb6p5h4$0123456789abcdef0123456789abcdef.",
		want: "bt [REDACTED]."},
	{name: "shopify token", in: "shpat_0123456789abcdef0123456789abcdef", want: "[REDACTED]"},
	{name: "razorpay key", in: "rzp_live_ILgsfZCZoFIKMb", want: "[REDACTED]"},

	// Cloud.
	{name: "aws key id and secret key", in: "key id AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY done",
		want: "key id [REDACTED] secret [REDACTED] done"},
	{name: "aws secret key starting with a slash", in: "k=/JalrXUtnFEMI+K7MDENG/bPxRfiCYEXAMPLEKE9 x", want: "k=[REDACTED] x"},
	{name: "google api key", in: "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", want: "[REDACTED]"},
	{name: "google oauth token", in: "ya29.a0AfH6SMBx-EXAMPLE_token_0123456789abc", want: "[REDACTED]"},
	{name: "azure client secret", in: "secret=abc8Q~Zk3dLmN0pQrStUvWxYz0123456789ABCD end", want: "secret=[REDACTED] end"},
	{name: "azure client secret in prose", in: "got abc8Q~Zk3dLmN0pQrStUvWxYz0123456789ABCD end", want: "got [REDACTED] end"},

	// Source hosting.
	{name: "github token", in: "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", want: "[REDACTED]"},
	{name: "github fine-grained token", in: "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF", want: "[REDACTED]"},
	{name: "gitlab token", in: "glpat-xYz0123456789AbCdEfGh", want: "[REDACTED]"},
	{name: "npm token", in: "npm_abcdefghijklmnopqrstuvwxyz0123456789", want: "[REDACTED]"},

	// Messaging.
	{name: "slack bot token", in: "slack xoxb-2345678901-2345678901234-AbCdEfGhIjKlMnOpQrStUvWx", want: "slack [REDACTED]"},
	{name: "slack webhook keeps its host", in: "POST https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX failed",
		want: "POST https://hooks.slack.com/services/[REDACTED] failed"},
	{name: "twilio api key", in: "twilio SK2c8a1f0e7b6d5c4b3a29f8e7d6c5b4a3", want: "twilio [REDACTED]"},
	{name: "sendgrid key", in: "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", want: "[REDACTED]"},
	{name: "mailgun key", in: "key-3ax6xnjp29jd6fds4gc373sgvjxteol0", want: "[REDACTED]"},
	{name: "mailchimp key", in: "mc 0123456789abcdef0123456789abcdef-us12 ok", want: "mc [REDACTED] ok"},
	{name: "telegram bot token", in: "bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0 ok", want: "bot [REDACTED] ok"},

	// Private keys.
	{name: "rsa private key", in: "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n-----END RSA PRIVATE KEY-----\nafter",
		want: "[REDACTED]\nafter"},
	{name: "pkcs8 private key escaped", in: `k "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n" x`,
		want: `k "[REDACTED]\n" x`},
	{name: "openssh key cut mid-block", in: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", want: "[REDACTED]"},
	{name: "encrypted key with headers", in: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkq\n-----END ENCRYPTED PRIVATE KEY-----",
		want: "[REDACTED]"},
	{name: "ec private key", in: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpY\n-----END EC PRIVATE KEY-----", want: "[REDACTED]"},
	{name: "private key after the words private key", in: "tls: failed to parse private key -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpY",
		want: "tls: failed to parse private key [REDACTED]"},
	{name: "certificate kept", in: "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----"},

	// Secrets in prose.
	{name: "hmac secret is", in: "HMAC secret is 8f2kQ9xLm3 ok", want: "HMAC secret is [REDACTED] ok"},
	{name: "signing key colon", in: "signing key: whk_8f2kQ9xLm3zz ok", want: "signing key: [REDACTED] ok"},
	{name: "auth token", in: "auth token Zk39dkQpLm2 rejected", want: "auth token [REDACTED] rejected"},
	{name: "invalid token", in: "invalid token abcXYZ123 here", want: "invalid token [REDACTED] here"},
	{name: "client secret does not match", in: "client_secret cs_9f8e7d6c5b does not match", want: "client_secret [REDACTED] does not match"},
	{name: "secret key quoted", in: "secret key 'plain words' mismatch", want: "secret key '[REDACTED]' mismatch"},
	{name: "prose with emphasis kept", in: "**Password guessing.** Each failed sign-in costs"},
	{name: "prose with a typographic apostrophe kept", in: "Token doesn’t exist or was revoked."},
	{name: "prose words after a secret word kept", in: "invalid token provided; the API key has expired; token 3 of 5; password incorrect"},

	// Card security codes and credentials outside key=value.
	{name: "xml cvv", in: "<cvv>847</cvv><ns1:CVV2>912</ns1:CVV2><CardSecurityCode>733</CardSecurityCode>",
		want: "<cvv>[REDACTED]</cvv><ns1:CVV2>[REDACTED]</ns1:CVV2><CardSecurityCode>[REDACTED]</CardSecurityCode>"},
	{name: "ws-security password and token",
		in:   `<wsse:Password Type="x#PasswordText">s3cr3tpw</wsse:Password><wsse:BinarySecurityToken EncodingType="b64">MIIBsecrettok==</wsse:BinarySecurityToken>`,
		want: `<wsse:Password Type="x#PasswordText">[REDACTED]</wsse:Password><wsse:BinarySecurityToken EncodingType="b64">[REDACTED]</wsse:BinarySecurityToken>`},
	{name: "xml cdata password", in: "<Password><![CDATA[p4ss]]></Password>", want: "<Password><![CDATA[[REDACTED]]]></Password>"},
	{name: "xml element with children kept", in: "<Credentials><User>bob</User></Credentials>"},
	{name: "form-encoded cvc", in: "card[cvc]=814&card%5Bcvc%5D=815&x=1", want: "card[cvc]=[REDACTED]&card%5Bcvc%5D=[REDACTED]&x=1"},
	{name: "html input value after name", in: `<input type="text" name="cvc" value="816">`, want: `<input type="text" name="cvc" value="[REDACTED]">`},
	{name: "html input value before name", in: `<input value="817" name="card[cvc]">`, want: `<input value="[REDACTED]" name="card[cvc]">`},
	{name: "html password input", in: `<input type="password" value="hunter22">`, want: `<input type="password" value="[REDACTED]">`},
	{name: "ruby hash", in: `{:password=>"rubypass1", "pin"=>"4321"}`, want: `{:password=>"[REDACTED]", "pin"=>"[REDACTED]"}`},
	{name: "other card code keys", in: "cardCode=818 verification_value=819 CardSecVal=820",
		want: "cardCode=[REDACTED] verification_value=[REDACTED] CardSecVal=[REDACTED]"},
	{name: "stripe signature header", in: "Stripe-Signature: t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd\nnext",
		want: "Stripe-Signature: [REDACTED]\nnext"},
	{name: "security code in prose", in: "security code 821 rejected", want: "security code [REDACTED] rejected"},
	{name: "invalid utf-8 between the password word and its value", in: "password\xff hunter22 rejected", want: "password\uFFFD [REDACTED] rejected"},
	{name: "password beside invalid utf-8", in: "password\xff=hunter22 and pass\xffword: abc123",
		want: "password\uFFFD=[REDACTED] and pass\uFFFDword: [REDACTED]"},

	// Personal data.
	{name: "uk mobile", in: "call 07700 900123 or 07700900124 or 07700 900 125", want: "call [REDACTED] or [REDACTED] or [REDACTED]"},
	{name: "mothers maiden name", in: "mothers_maiden_name=Smithers", want: "mothers_maiden_name=[REDACTED]"},
	{name: "maiden name in prose", in: "mother's maiden name Smithers does not match", want: "mother's maiden name [REDACTED] does not match"},
	{name: "personal identification word", in: "personal identification word bluebird does not match",
		want: "personal identification word [REDACTED] does not match"},
	{name: "quoted security answer key", in: "{'error': 'x', 'security_answer': 'meadow granite'}", want: "{'error': 'x', 'security_answer': '[REDACTED]'}"},
	{name: "piw in prose", in: "PIW sunflower rejected; PIW does not match", want: "PIW [REDACTED] rejected; PIW does not match"},
	{name: "piw prose kept", in: "PIW validation failed; PIW required; PIW attempts exceeded; PIW is locked"},

	// Bank and identity numbers.
	{name: "iban spaced and plain", in: "IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000.",
		want: "IBAN [REDACTED] and [REDACTED]."},
	{name: "iban with a bad check kept", in: "GB82 WEST 1234 5698 7654 33 DE89370400440532013001"},
	{name: "ssn with dashes", in: "ssn 123-45-6789 and 078-05-1120", want: "ssn [REDACTED] and [REDACTED]"},
	{name: "ssn after its word", in: "SSN 987654320 and social security number 987 65 4321", want: "SSN [REDACTED] and social security number [REDACTED]"},
	{name: "ssn that is never issued kept", in: "ref 000-12-3456 and 666-12-3456"},
	{name: "aba routing and account", in: "routing 021000021 account 1234567890", want: "routing [REDACTED] account [REDACTED]"},
	{name: "canadian transit institution account", in: "transit 12345 institution 003 account 7654321",
		want: "transit [REDACTED] institution [REDACTED] account [REDACTED]"},
	{name: "transit and institution joined", in: "transit 12345-003 acct 7654321", want: "transit [REDACTED] acct [REDACTED]"},
	{name: "passport and licence", in: "passport number X1234567 and driver's licence A1234-56789-01234",
		want: "passport number [REDACTED] and driver's licence [REDACTED]"},
	{name: "account without a bank kept", in: "order 1234567890 account 987654 amount 1299 at 2026-11-02T10:00:00Z"},
}

func TestShapes(t *testing.T) {
	for _, tc := range shapeCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.in
			}
			got := Text(tc.in)
			checkRedaction(t, got, want, tc.gone, tc.kept)
			if again := Text(got); again != got {
				t.Errorf("not idempotent: %q became %q", got, again)
			}
		})
	}
}

// Ids an escalation needs are never taken for secrets, alone (Identifier)
// or in text.
func TestEscalationIDsKept(t *testing.T) {
	ids := []string{
		"req_01j2abc7k9x8f3m4n5p6q7r8s9", "req_01jIZwhXmsbmOxojRlOfNx", // Finterra
		"d4ee0b6cdb67686f0c1ec0780e5b4296", "3fe8e6ab1e8cf44f", // Finix logrefs
		"AUst6ZdywPwe4fbYWrH1zTNJ", "TRw4x8b2Q2e4fbYWrH1zTNJ", "IDpYDM7J9n57q849o9E9yNrG", // Finix ids
		"c813ebe559c854d6e2aad4ebbd0c6d54", // Paylera trace id, our trace ids
		"4bf92f3577b34da6a3ce929d0e0e4736", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"123e4567-e89b-12d3-a456-426614174000", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01HZX3M8K2Q9W7E5R4T6Y8U0IP", // UUID, ULIDs
		"pay_oXTZhQ8stzhe", "ord_8812", "ch_3MmlLrLkdIwHu7ix0snN0B15", "pi_3MtwBwLkdIwHu7ix28a3tqPa",
		"1730541600123", "2026-11-02T10:00:00Z", "INSUFFICIENT_FUNDS", "card_declined",
	}
	for _, id := range ids {
		if got := Identifier(id); got != id {
			t.Errorf("Identifier(%q) = %q", id, got)
		}
		msg := "escalate with " + id + " please"
		if got := Text(msg); got != msg {
			t.Errorf("Text(%q) = %q", msg, got)
		}
	}
	// Hex ids and UUIDs whose digits happen to pass a card's or a phone's
	// checks (the first seen in synth's trace ids and logrefs).
	for _, id := range []string{"146e3fc6106533093163657c6592de3d", "b18d5889-7833-7958-b3f6-fe15bf09e241",
		"4111111111111111abcdef0123456789", "87AF9F29F0AD509780874921BD45367A"} {
		if got := Identifier(id); got != id {
			t.Errorf("Identifier(%q) = %q", id, got)
		}
		if msg := "trace " + id + " failed"; Text(msg) != msg {
			t.Errorf("Text(%q) = %q", msg, Text(msg))
		}
	}
	for _, in := range []string{"card 4111111111111111abcxyz", "tenant-4983690060267730", "ref 4111111111111111"} {
		if Text(in) == in {
			t.Errorf("Text(%q) kept a card that is no hex id", in)
		}
	}
	// An id-shaped vendor credential in an identifier field goes whole.
	for _, tok := range []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AKIAIOSFODNN7EXAMPLE", "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",
		"xoxb-2345678901-2345678901234-AbCdEfGhIjKlMnOpQrStUvWx", "SK2c8a1f0e7b6d5c4b3a29f8e7d6c5b4a3"} {
		if got := Identifier(tok); got != Redacted {
			t.Errorf("Identifier(%q) = %q, want it whole redacted", tok, got)
		}
	}
}

var shapeDocumentCases = []textCase{
	{name: "vendor key under an innocuous key", in: `{"note":"sk_live_4eC39HqLyjWDarjtT1zdp7dc","request_id":"req_01j2abc"}`,
		want: `{"note":"[REDACTED]","request_id":"req_01j2abc"}`},
	{name: "vendor key as a json key", in: `{"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":true}`, want: `{"[REDACTED]":true}`},
	{name: "finix authorization holding a vendor key", in: `{"authorization":"AKIAIOSFODNN7EXAMPLE","transfer":"TRw4x8b2Q2e4fbYWrH1zTNJ"}`,
		want: `{"authorization":"[REDACTED]","transfer":"TRw4x8b2Q2e4fbYWrH1zTNJ"}`},
	{name: "bank account beside a routing number", in: `{"bank":{"account_number":"000123456789","routing_number":"021000021"},"account_number":"7777777"}`,
		want: `{"bank":{"account_number":"[REDACTED]","routing_number":"[REDACTED]"},"account_number":"7777777"}`},
	{name: "account in field_errors", in: `{"field_errors":[{"field":"account","account":"1234567"}]}`,
		want: `{"field_errors":[{"field":"account","account":"[REDACTED]"}]}`},
	{name: "account number after a routing number", in: `{"routing_number":"021000021","account_number":"000123456789"}`,
		want: `{"routing_number":"[REDACTED]","account_number":"[REDACTED]"}`},
	{name: "bank keys", in: `{"iban":"GB82WEST12345698765432","transit_number":"12345","institution_number":"003","sort_code":"12-34-56"}`,
		want: `{"iban":"[REDACTED]","transit_number":"[REDACTED]","institution_number":"[REDACTED]","sort_code":"[REDACTED]"}`},
	{name: "html input in a page", in: `<html><input name="card[cvc]" value="818"></html>`, want: `<html><input name="card[cvc]" value="[REDACTED]"></html>`},
	{name: "ruby hash document", in: `{:password=>"rubypass2"}`, want: `{:password=>"[REDACTED]"}`},
	{name: "ruby hash with quoted key", in: `{"password" => "rubypass3"}`, want: `{"password" => "[REDACTED]"}`},
	{name: "form body", in: `card[cvc]=819&card[exp_month]=12`, want: `card[cvc]=[REDACTED]&card[exp_month]=12`},
	{name: "pem in a json string", in: `{"key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n","id":"k1"}`,
		want: `{"key":"[REDACTED]\n","id":"k1"}`},
	{name: "pem under an innocuous key", in: `{"detail":"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg","id":"k1"}`,
		want: `{"detail":"[REDACTED]","id":"k1"}`},
	{name: "pem in a truncated document", in: `{"detail":"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2`, want: `{"detail":"[REDACTED]`},
	{name: "soap fault", in: `<soap:Envelope><soap:Header><wsse:Security><wsse:UsernameToken><wsse:Username>api</wsse:Username><wsse:Password>s0apPass!</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header></soap:Envelope>`,
		gone: []string{"s0apPass!"}, kept: []string{"<wsse:Username>api</wsse:Username>"}},
}

func TestShapesInDocuments(t *testing.T) {
	for _, tc := range shapeDocumentCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Document(tc.in)
			checkRedaction(t, got, tc.want, tc.gone, tc.kept)
			if again := Document(got); again != got {
				t.Errorf("not idempotent: %q became %q", got, again)
			}
		})
	}
}

// Every entry of commonKeys is what working the key out gives.
func TestCommonKeys(t *testing.T) {
	for name, r := range commonKeys {
		want := workOutRole(name)
		want.plain = Text(name) == name
		if r != want {
			t.Errorf("commonKeys[%q] = %+v, want %+v", name, r, want)
		}
	}
}

// Redacted text is seen to be fixed at once: scanning it again changes
// nothing, so untilFixed does one pass more, not maxPasses.
func TestRedactedTextIsFixed(t *testing.T) {
	for _, cases := range [][]textCase{textCases, shapeCases} {
		for _, tc := range cases {
			out := Text(tc.in)
			if again, changed := appendText(nil, out); changed {
				t.Errorf("%s: %q scanned again became %q", tc.name, out, again)
			}
		}
	}
	for _, cases := range [][]textCase{documentCases, shapeDocumentCases} {
		for _, tc := range cases {
			out := Document(tc.in)
			if again, changed := document(out, 0); changed {
				t.Errorf("%s: %q walked again became %q", tc.name, out, again)
			}
		}
	}
}
