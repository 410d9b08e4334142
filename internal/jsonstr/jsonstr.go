// Package jsonstr decodes and encodes the bodies of JSON strings (what is
// between the quotes): the one implementation shared by classify's record
// scanner, which reads records strictly, and redact's document walker,
// which reads whatever it is given tolerantly.
package jsonstr

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Unescape appends the decoded body raw to dst, as RFC 8259 reads it: an
// invalid escape makes ok false. Surrogates that do not pair become
// U+FFFD; \u0000 is a NUL byte.
func Unescape(dst, raw []byte) (out []byte, ok bool) {
	out, ok, _ = decode(dst, raw, false)
	return out, ok
}

// UnescapeTolerant appends the decoded body raw to dst, keeping an invalid
// escape as it is written, and turning \u0000 into U+FFFD (storage cannot
// hold NUL): nul reports that it did.
func UnescapeTolerant(dst []byte, raw string) (out []byte, nul bool) {
	out, _, nul = decode(dst, raw, true)
	return out, nul
}

func decode[S ~string | ~[]byte](dst []byte, raw S, tolerant bool) (out []byte, ok, nul bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(raw) {
			if !tolerant {
				return dst, false, nul
			}
			dst = append(dst, c)
			break
		}
		i++
		switch e := raw[i]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := Hex4(raw, i+1)
			if !ok {
				if !tolerant {
					return dst, false, nul
				}
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := Hex4(raw, i+3); ok && i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
				if utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
			}
			if r == 0 && tolerant {
				r, nul = utf8.RuneError, true
			}
			dst = utf8.AppendRune(dst, r)
		default:
			if !tolerant {
				return dst, false, nul
			}
			dst = append(dst, '\\', e)
		}
	}
	return dst, true, nul
}

// Hex4 reads the four hex digits of a \u escape at s[i:].
func Hex4[S ~string | ~[]byte](s S, i int) (rune, bool) {
	if i < 0 || i+4 > len(s) {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		switch c := s[j]; {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// AppendEscaped appends s as the body of a JSON string (without quotes):
// quotes, backslashes and control characters escaped, invalid UTF-8 as
// U+FFFD.
func AppendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c >= utf8.RuneSelf {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}
