package store

import (
	"strings"
	"unicode/utf8"
)

// sanitize makes s safe for a Postgres text column: invalid UTF-8 becomes
// U+FFFD, NUL bytes are removed (Postgres text can hold neither, and one
// bad value would fail a whole COPY), and the result is cut to at most max
// bytes on a character boundary. Callers redact before they hand text to
// the store (package redact), so cutting here cannot leave part of a
// secret: the bounds below are ceilings that ingestion's own, lower bounds
// never reach. s itself is returned when it is already safe.
func sanitize(s string, max int) string {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); {
			c := s[i]
			if c < utf8.RuneSelf {
				if c != 0 {
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
		s = string(b)
	}
	if max <= 0 || len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
