package redact

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// b2s views b as a string without copying; the string is valid while b is
// not modified. Redaction only reads its input.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// clean returns s with NUL bytes and invalid UTF-8 replaced by U+FFFD,
// and whether it had to change anything. It runs before any detector, so
// that what storage cannot hold is settled first: a NUL dropped later
// would join the digits around it into a card number no detector saw, and
// U+FFFD separates digit groups like a space.
func clean(s string) (string, bool) {
	ok := utf8.ValidString(s)
	if ok {
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				ok = false
				break
			}
		}
	}
	if ok {
		return s, false
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b2s(b), true
}

// ASCII classes.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isAlpha(c byte) bool { return isLower(c | 0x20) }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// isWordByte: bytes of identifiers and words; non-ASCII bytes are parts of
// letters.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' || c >= utf8.RuneSelf }

func isB64URL(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// isCredByte: the RFC 7235 token68 alphabet.
func isCredByte(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}

// hasPrefixFold reports whether s[i:] starts with lower (ASCII lower
// case), ignoring ASCII case. It compares bytes of s in place: never
// positions from a folded copy.
func hasPrefixFold(s string, i int, lower string) bool {
	if len(s)-i < len(lower) {
		return false
	}
	for j := 0; j < len(lower); j++ {
		c := s[i+j]
		if isUpper(c) {
			c |= 0x20
		}
		if c != lower[j] {
			return false
		}
	}
	return true
}

// IndexFold returns the index of the first instance of lower (ASCII, lower
// case) in s, ignoring ASCII case, or -1. The index is a position in s
// itself, valid whatever non-ASCII letters s holds.
func IndexFold(s, lower string) int {
	if lower == "" {
		return 0
	}
	first := lower[0]
	for i := 0; i+len(lower) <= len(s); i++ {
		c := s[i]
		if isUpper(c) {
			c |= 0x20
		}
		if c == first && hasPrefixFold(s, i, lower) {
			return i
		}
	}
	return -1
}

// indexFrom returns the index of sub in s at or after from, or -1.
func indexFrom(s, sub string, from int) int {
	if i := strings.Index(s[from:], sub); i >= 0 {
		return from + i
	}
	return -1
}
