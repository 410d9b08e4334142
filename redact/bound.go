package redact

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Identifier returns an identifier (a request id, a trace id, an error
// code, a tenant, a host) as it is when it is one, and Redacted in its
// place when it holds a secret: part of an identifier is no identifier.
func Identifier(s string) string {
	if Text(s) != s {
		return Redacted
	}
	return s
}

// Body redacts a response body or a raw record as a Document, then bounds
// it with Bound. max <= 0 means no bound. The result never shares memory
// with b.
func Body(b []byte, max int) string {
	s := Bound(Document(b2s(b)), max)
	if len(s) > 0 && unsafe.StringData(s) == unsafe.SliceData(b) {
		s = strings.Clone(s)
	}
	return s
}

const (
	truncPrefix = "…[truncated "
	truncSuffix = " bytes]"
)

// Bound cuts s, which must already be redacted, to at most max bytes on a
// character boundary, ending it with a "…[truncated N bytes]" marker when
// there is room for one (N counts the bytes cut). max <= 0 means no bound.
func Bound(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	if keep := max - len(truncPrefix) - len(truncSuffix) - len(strconv.Itoa(len(s))); keep >= 0 {
		keep = cutBefore(s, keep)
		return s[:keep] + truncPrefix + strconv.Itoa(len(s)-keep) + truncSuffix
	}
	return s[:cutBefore(s, max)]
}

// cutBefore returns the largest i <= n at which s can be cut without
// splitting a character.
func cutBefore(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
