package classify

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/internal/jsonstr"
)

// The record scanner reads the top level of an integration log record in
// one pass and decodes only the fields classification needs; every other
// value is skipped (and checked) without being decoded. Nested bodies are
// kept as raw spans and parsed only for errors, which are a few percent of
// the traffic.

// scanner walks one JSON document.
type scanner struct {
	b   []byte
	i   int
	err error
	buf []byte // unescape scratch, reused across records
}

func (s *scanner) fail(msg string) {
	if s.err == nil {
		s.err = errors.New(msg + " at offset " + strconv.Itoa(s.i))
	}
}

func (s *scanner) ws() {
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		s.fail("expected " + strconv.QuoteRune(rune(c)))
		return false
	}
	s.i++
	return true
}

// rawString returns the bytes between the quotes of the string at s.i and
// whether it holds escapes; s.i moves past the closing quote.
func (s *scanner) rawString() ([]byte, bool) {
	if s.peek() != '"' {
		s.fail("expected string")
		return nil, false
	}
	return s.rawStringAt()
}

// rawStringAt is rawString when s.b[s.i] is known to be the opening quote.
func (s *scanner) rawStringAt() ([]byte, bool) {
	s.i++
	start := s.i
	escaped := false
	for {
		j := quoteOrBackslash(s.b, s.i)
		if j < 0 {
			s.i = len(s.b)
			s.fail("unterminated string")
			return nil, false
		}
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], escaped
		case c == 0:
			s.i = j
			s.fail("NUL byte in string")
			return nil, false
		case c >= utf8.RuneSelf:
			if r, size := utf8.DecodeRune(s.b[j:]); r == utf8.RuneError && size <= 1 {
				s.i = j
				s.fail("invalid UTF-8 in string")
				return nil, false
			} else {
				s.i = j + size
			}
		default:
			escaped = true
			s.i = j + 2 // the backslash and the character it escapes
		}
	}
}

// quoteOrBackslash returns the index of the first '"', '\\', NUL or
// non-ASCII byte in b at or after i, or -1. It tests eight bytes at a time (SWAR): a byte of w
// equal to c makes a zero byte of w^c, and the lowest zero byte of x is the
// lowest set bit of (x-0x01…01) &^ x & 0x80…80.
func quoteOrBackslash(b []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^(lo*'"'), w^(lo*'\\')
		if m := ((q - lo) &^ q) | ((bs - lo) &^ bs) | ((w - lo) &^ w) | w; m&hi != 0 {
			return i + bits.TrailingZeros64(m&hi)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c == 0 || c >= utf8.RuneSelf {
			return i
		}
	}
	return -1
}

// str decodes the string whose opening quote is at s.i. Without escapes it
// is a view into the record; with escapes it is decoded into fresh memory.
func (s *scanner) str() []byte {
	raw, escaped := s.rawStringAt()
	if !escaped || s.err != nil {
		return raw
	}
	out, ok := unescape(nil, raw)
	if !ok {
		s.fail("invalid escape in string")
	}
	return out
}

// skip moves past one value of any type, checking its syntax.
func (s *scanner) skip(depth int) {
	if depth > 64 {
		s.fail("nesting too deep")
		return
	}
	switch c := s.peek(); {
	case c == '"':
		s.rawStringAt()
	case c == '{':
		s.object(func([]byte) { s.skip(depth + 1) })
	case c == '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return
		}
		for s.err == nil {
			s.skip(depth + 1)
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				return
			default:
				s.fail("expected ',' or ']'")
			}
		}
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		s.number()
	default:
		s.fail("unexpected character")
	}
}

func (s *scanner) literal(word string) {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		s.fail("invalid literal")
		return
	}
	s.i += len(word)
}

// number returns the text of the number at s.i.
func (s *scanner) number() []byte {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := 0
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c >= '0' && c <= '9' {
			digits++
		} else if c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-' {
			break
		}
		s.i++
	}
	if digits == 0 {
		s.fail("invalid number")
	}
	return s.b[start:s.i]
}

// span returns the raw bytes of the value at s.i, skipping it.
func (s *scanner) span() []byte {
	s.ws()
	start := s.i
	s.skip(1)
	return s.b[start:s.i]
}

// object calls f for each member of the object at s.i with the decoded key;
// f must consume the value.
func (s *scanner) object(f func(key []byte)) {
	if !s.expect('{') {
		return
	}
	if s.peek() == '}' {
		s.i++
		return
	}
	for s.err == nil {
		key, escaped := s.rawString()
		if escaped && s.err == nil {
			key, _ = unescape(s.buf[:0], key)
			s.buf = key
		}
		if s.i < len(s.b) && s.b[s.i] == ':' { // compact JSON: no space to skip
			s.i++
		} else if !s.expect(':') {
			return
		}
		s.ws()
		f(key)
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail("expected ',' or '}'")
		}
	}
}

// array calls f for each element of the array at s.i; f must consume the
// element.
func (s *scanner) array(f func()) {
	if !s.expect('[') {
		return
	}
	if s.peek() == ']' {
		s.i++
		return
	}
	for s.err == nil {
		f()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail("expected ',' or ']'")
		}
	}
}

// firstString returns the string at s.i, or the first element of an array
// of strings (a header's values), or skips any other value and returns
// nil.
func (s *scanner) firstString() []byte {
	if s.peek() != '[' {
		return s.stringOrSkip()
	}
	var first []byte
	n := 0
	s.array(func() {
		if n == 0 {
			first = s.stringOrSkip()
		} else {
			s.skip(1)
		}
		n++
	})
	return first
}

// unescape appends the decoded JSON string body raw to dst (RFC 8259:
// an invalid escape is not ok).
func unescape(dst, raw []byte) ([]byte, bool) { return jsonstr.Unescape(dst, raw) }
