package classify

import (
	"bytes"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/redact"
	"github.com/valyala/fastjson"
)

// The values an Event holds: redacted, bounded, and for the few values of
// low-cardinality fields, remembered per state instead of redacted again.

// stringOf returns the bytes of a JSON string, or nil for any other type.
func stringOf(v *fastjson.Value) []byte {
	if v == nil || v.Type() != fastjson.TypeString {
		return nil
	}
	s, _ := v.StringBytes()
	return s
}

// identifier is an id, code or reference as an Event holds it: redacted
// (whole, when it holds a secret), then bounded.
func identifier(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	return truncate(redact.Identifier(string(b)), maxIdentifier)
}

// quoted is a value quoted in an error detail: redacted, then bounded.
func quoted(b []byte, n int) string {
	return truncate(redact.Document(string(b)), n)
}

// truncate bounds s to n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// recentSet remembers the last few values of a low-cardinality field, as
// received and as an Event holds them; a linear scan of them is cheaper
// than hashing into the intern map.
type recentSet struct {
	raw, val []string
	next     int
}

const recentSize = 8

// identifier returns the value an Event holds for b, a low-cardinality
// field (service, env, tenant, method, host): folded to upper ('U') or
// lower ('L') ASCII case when fold says so, redacted (whole, when it holds
// a secret), then bounded to max bytes. Values are remembered per state.
func (st *state) identifier(field int, b []byte, fold byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	if fold != 0 {
		st.fold = foldASCII(st.fold[:0], b, fold == 'U')
		b = st.fold
	}
	if v, ok := st.recent[field].get(b); ok {
		return v
	}
	st.key = append(append(st.key[:0], byte(field)), b...)
	v, ok := st.interned[string(st.key)]
	if !ok {
		v = truncate(redact.Identifier(string(b)), max)
		st.remember(st.key, v)
	}
	st.recent[field].put(string(b), v)
	return v
}

// foldASCII appends b folded to upper or lower ASCII case.
func foldASCII(dst, b []byte, upper bool) []byte {
	for _, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// internBytes interns an endpoint template (which holds no secret:
// appendTemplate replaced any segment that does), bounded to max bytes.
func (st *state) internBytes(b []byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	st.key = append(append(st.key[:0], 0xFF), b...) // no field's key starts so
	if s, ok := st.interned[string(st.key)]; ok {
		return s
	}
	v := truncate(string(b), max)
	st.remember(st.key, v)
	return v
}

func (st *state) remember(key []byte, v string) {
	if len(st.interned) >= internLimit {
		clear(st.interned)
	}
	st.interned[string(key)] = v
}

// The fields whose few values are remembered per state.
const (
	recentService = iota
	recentEnv
	recentTenant
	recentMethod
	recentHost
	recentProvider
	recentCode
	recentSubcode
	recentFields
)
