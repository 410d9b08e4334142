package jsonstr

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestUnescapeStrictAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range []string{
		``, `plain`, `a\"b\\c\/d`, `\b\f\n\r\t`, `\u00e9\u20ac`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, `\u0000`,
		`caf\u00E9`, `line\nbreak`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+body+`"`), &want); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		got, ok := Unescape(nil, []byte(body))
		if !ok || string(got) != want {
			t.Errorf("Unescape(%q) = %q, %v; encoding/json %q", body, got, ok, want)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\u12`, `\u12G4`, `a\`} {
		if _, ok := Unescape(nil, []byte(bad)); ok {
			t.Errorf("Unescape(%q) ok, want an invalid escape", bad)
		}
	}
}

func TestUnescapeTolerant(t *testing.T) {
	for in, want := range map[string]string{
		`a\x`:          `a\x`,
		`\u12`:         `\u12`,
		`tail\`:        `tail\`,
		`a\u0000b`:     "a\uFFFDb",
		`\ud83d\ude00`: "😀",
		`\n`:           "\n",
	} {
		got, nul := UnescapeTolerant(nil, in)
		if string(got) != want {
			t.Errorf("UnescapeTolerant(%q) = %q, want %q", in, got, want)
		}
		if nul != (in == `a\u0000b`) {
			t.Errorf("UnescapeTolerant(%q): nul %v", in, nul)
		}
	}
}

// AppendEscaped writes what encoding/json reads back as the same string
// (invalid UTF-8 as U+FFFD, as encoding/json writes it too).
func TestAppendEscapedRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x01\x1f\n\r\t", "é€😀", "bad \xff\xfe utf-8", "\u2028"} {
		enc := append(AppendEscaped([]byte{'"'}, s), '"')
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q: %s: %v", s, enc, err)
		}
		want := s
		if !utf8.ValidString(s) {
			b, _ := json.Marshal(s)
			_ = json.Unmarshal(b, &want)
		}
		if got != want {
			t.Errorf("AppendEscaped(%q) reads back as %q", s, got)
		}
	}
}

func FuzzUnescape(f *testing.F) {
	f.Add(`a\"b\u00e9\ud83d\ude00`)
	f.Fuzz(func(t *testing.T, body string) {
		var want string
		jsonOK := json.Unmarshal([]byte(`"`+body+`"`), &want) == nil
		got, ok := Unescape(nil, []byte(body))
		if jsonOK && ok && utf8.ValidString(body) && string(got) != want {
			t.Fatalf("Unescape(%q) = %q, encoding/json %q", body, got, want)
		}
		_, _ = UnescapeTolerant(nil, body)
	})
}
