package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkOutput asserts what holds for any output of the package.
func checkOutput(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("invalid UTF-8 %q from %q", out, in)
	}
	if strings.IndexByte(out, 0) >= 0 {
		t.Fatalf("NUL in %q from %q", out, in)
	}
}

func FuzzText(f *testing.F) {
	for _, tc := range textCases {
		f.Add(tc.in)
	}
	for _, tc := range shapeCases {
		f.Add(tc.in)
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Text(in)
		checkOutput(t, in, out)
		if again := Text(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		if id := Identifier(in); id != in && id != Redacted {
			t.Fatalf("Identifier(%q) = %q", in, id)
		}
	})
}

func FuzzDocument(f *testing.F) {
	for _, tc := range documentCases {
		f.Add(tc.in)
	}
	for _, tc := range shapeDocumentCases {
		f.Add(tc.in)
	}
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Document(in)
		checkOutput(t, in, out)
		if again := Document(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		if utf8.ValidString(in) && strings.IndexByte(in, 0) < 0 && json.Valid([]byte(in)) && !json.Valid([]byte(out)) {
			t.Fatalf("valid JSON %q became invalid %q", in, out)
		}
		for max := range []int{1, 17, 64} {
			if b := Body([]byte(in), max); len(b) > max && max > 0 {
				t.Fatalf("Body(%q, %d) has %d bytes", in, max, len(b))
			}
		}
	})
}

// Case-changing and multi-byte runes in every position: letters whose
// other case has another length (Ⱥ ⱥ, K k, İ i, ı I, ß ẞ), full-width
// digits, invisible characters.
var fuzzSeeds = []string{
	"card 4111 1111 1111 1111 jane@example.com",
	`{"field_errors":[{"value":"x\u0000"}],"a":"\\u0000"}`,
	"\xff\x00 +1 416 555 0199 (416) 555-0199",
	`{"number":"1","cvv":"2","k\ud800":[1,{"dob":"1985-03-12"}]}`,
	"dob: March 3, 1985 Bearer abc123 eyJa.eyJb.c",
	`\u\u00000000`,
	"<TİTLE>Ⱥⱥ K ı ß ẞ</title> ４１１１ １１１１ １１１１ １１１１",
	`{"ｐａｓｓｗｏｒｄ":"x","to\u212Aen":"y","Ⱥ":"jane@exämple.com"}`,
	"İİİİ password=ı ß=ẞ K:K \u200b4111\u200b1111\u200b1111\u200b1111",
	`{"a":"{\"b\":\"{\\\"c\\\":\\\"{\\\\\\\"pin\\\\\\\":1234}\\\"}\"}"}`,
	`[{"value":"v","name":"Authorization"},["Cookie","c"],{"field_errors":{"piw":["x"]}}]`,
	"http://u:pw@h D.O.B. 12-Mar-1985 CVV 123 PIN 1234 phone 4165550086 0044 20 7946 0958",
}

// worstShapes are inputs built to make a careless scanner quadratic: every
// position a trigger that scans far ahead or back.
var worstShapes = []struct {
	name string
	unit string // repeated to the wanted size
	head string
}{
	{"nested number objects", `{"number":1,"a":`, ""},
	{"nested name-value objects", `{"value":"v","a":`, ""},
	{"nested arrays", `[`, ""},
	{"nested field_errors", `{"field_errors":[`, ""},
	{"at signs", "a@", ""},
	{"dotted local part", "a.", "x@"},
	{"percent-encoded at", "a%40", ""},
	{"html entity at", "a&#64;", ""},
	{"jwt starts", "eyJ", ""},
	{"jwt halves", "eyJa.", ""},
	{"spaced digits", "1 ", ""},
	{"dashed digits", "4111-", ""},
	{"digits glued to letters", "a4111111111111111", ""},
	{"full-width digits", "４ ", ""},
	{"long key", "a", "="},
	{"keys and equals", "a=", ""},
	{"sensitive keys", "password=", ""},
	{"colons", ":", ""},
	{"quoted keys", `"a":`, ""},
	{"quotes", `"`, ""},
	{"escaped quotes", `\"`, `{"a":"`},
	{"unterminated escapes", `\u12`, `"`},
	{"url schemes", "://", ""},
	{"bearer words", "bearer ", ""},
	{"birth words", "dob ", ""},
	{"phone words", "phone ", ""},
	{"plus signs", "+", ""},
	{"parentheses", "(1", ""},
	{"double-encoded strings", `"{\"a\":`, ""},
	{"vendor prefixes glued", "sk_live_", ""},
	{"generic vendor prefix", "sk_aa_", ""},
	{"adyen prefixes", "AQE+", ""},
	{"long-bodied prefixes", "ya29.", "x "},
	{"slack prefixes", "xoxb-", ""},
	{"aws secret starts", "aB3+", ""},
	{"iban starts", "GB82 ", ""},
	{"pem begins", "-----BEGIN RSA PRIVATE KEY-----\"", ""},
	{"pem begins without end", "-----BEGIN PRIVATE KEY-----\n", ""},
	{"tags", "<cvv ", ""},
	{"tags with attributes", `<a b="`, ""},
	{"sensitive elements", "<cvv>", ""},
	{"cdata", "<![CDATA[", ""},
	{"azure secret marks", "a8Q~", ""},
	{"telegram colons", "12345678:", ""},
	{"prose secret words", "token ", ""},
	{"chained secret words", "secret key ", ""},
	{"account words", "account ", "routing "},
	{"form brackets", "card[", ""},
	{"ruby arrows", "=>", ""},
	{"hex digits", "a1", ""},
	{"hex ids", "146e3fc6106533093163657c6592de3d ", ""},
}

func shape(head, unit string, size int) string {
	return head + strings.Repeat(unit, (size-len(head))/len(unit))
}

// TestWorstShapes runs every worst shape at 1 MB once: each must finish
// (BenchmarkWorstShapes shows the time is linear) and give sound output.
func TestWorstShapes(t *testing.T) {
	for _, ws := range worstShapes {
		in := shape(ws.head, ws.unit, 1<<20)
		checkOutput(t, ws.name, Document(in))
		checkOutput(t, ws.name, Text(in))
	}
}

// BenchmarkWorstShapes measures every worst shape at 64 KiB and 1 MiB:
// linear time shows as the same MB/s at both sizes.
func BenchmarkWorstShapes(b *testing.B) {
	for _, ws := range worstShapes {
		for _, size := range []int{64 << 10, 1 << 20} {
			in := shape(ws.head, ws.unit, size)
			b.Run(fmt.Sprintf("%s/%dKiB", ws.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					_ = Document(in)
				}
			})
		}
	}
}

func BenchmarkText(b *testing.B) {
	for _, c := range []struct{ name, msg string }{
		{"clean", "Finix 422 Unprocessable Entity: transfer AUst6ZdywPwe4fbYWrH1zTNJ failed (logref d4ee0b6cdb67686f0c1ec0780e5b4296) " +
			"for order ord_8812 amount 1299 CAD at 2026-11-02T10:00:00Z; request req_01j2abc7k9x8f3m4n5"},
		{"email and card", "Cheers 402 Payment Required: card 4111 1111 1111 1111 declined for customer jane.doe@example.com " +
			"(order ord_8812, amount 1299 CAD) at 2026-11-02T10:00:00Z; request req_01j2abc7k9x8f3m4n5p6q7"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.msg)))
			for b.Loop() {
				_ = Text(c.msg)
			}
		})
	}
}

func BenchmarkDocument(b *testing.B) {
	body := `{
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
}`
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = Document(body)
	}
}
