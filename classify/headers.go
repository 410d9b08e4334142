package classify

import (
	"bytes"
	"strings"
)

// The provider's request id in response headers, in every shape loggers
// write headers in.

// correlationHeaders are the response headers that carry a provider's
// request id, in order of preference.
var correlationHeaders = []string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Trace-Id"}

// headerRank returns the preference of a correlation header (0 best), or
// len(correlationHeaders) for any other header. Names match in any case.
func headerRank(name []byte) int {
	for rank, h := range correlationHeaders {
		if strings.EqualFold(b2s(name), h) {
			return rank
		}
	}
	return len(correlationHeaders)
}

// headerCorrelation finds the provider's request id in the response
// headers, in the shapes loggers write them: the raw header block as one
// string ("X-Request-Id: abc\r\n…"), an object of values
// ({"X-Request-Id": "abc"}), of arrays as Go's http.Header marshals
// ({"X-Request-Id": ["abc"]}: the first value), a HAR-style list of
// {"name", "value"} objects, or a list of [name, value] pairs.
func (st *state) headerCorrelation(span []byte) []byte {
	sc := scanner{b: span}
	best, bestRank := []byte(nil), len(correlationHeaders)
	consider := func(rank int, value []byte) {
		if rank < bestRank && len(bytes.TrimSpace(value)) > 0 {
			best, bestRank = value, rank
		}
	}
	switch sc.peek() {
	case '"': // the raw header block: "Name: value\r\nName: value"
		block := sc.str()
		for len(block) > 0 {
			line := block
			if i := bytes.IndexByte(block, '\n'); i >= 0 {
				line, block = block[:i], block[i+1:]
			} else {
				block = nil
			}
			if name, value, ok := bytes.Cut(line, []byte(":")); ok {
				consider(headerRank(bytes.TrimSpace(name)), bytes.TrimSpace(value))
			}
		}
	case '{':
		sc.object(func(key []byte) {
			if rank := headerRank(key); rank < bestRank {
				consider(rank, sc.firstString())
				return
			}
			sc.skip(1)
		})
	case '[':
		sc.array(func() {
			switch sc.peek() {
			case '{': // {"name": …, "value": …} in either order
				var name, value []byte
				sc.object(func(key []byte) {
					switch {
					case strings.EqualFold(b2s(key), "name"):
						name = sc.stringOrSkip()
					case strings.EqualFold(b2s(key), "value"):
						value = sc.firstString()
					default:
						sc.skip(1)
					}
				})
				consider(headerRank(name), value)
			case '[': // [name, value]
				var name, value []byte
				i := 0
				sc.array(func() {
					switch i {
					case 0:
						name = sc.stringOrSkip()
					case 1:
						value = sc.firstString()
					default:
						sc.skip(1)
					}
					i++
				})
				consider(headerRank(name), value)
			default:
				sc.skip(1)
			}
		})
	}
	return best
}
