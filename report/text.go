package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Width is the terminal width text output is laid out for.
const Width = 80

// printable makes text from a provider (or anyone) safe to print on a
// terminal: control characters other than newline and tab, and the
// bidirectional overrides that can make text read differently from what it
// is, become U+FFFD; invalid UTF-8 too.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r == utf8.RuneError, unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F:
		return true
	}
	return false
}

// oneLine is printable(s) on one line: newlines and tabs become spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(printable(s)), " ")
}

// wrapText word-wraps s to lines of at most width columns (a word longer
// than that gets a line of its own); every line but the first is prefixed
// with indent.
func wrapText(s string, width int, indent string) string {
	words := strings.Fields(printable(s))
	var b strings.Builder
	col := 0
	for i, w := range words {
		n := utf8.RuneCountInString(w)
		switch {
		case i == 0:
		case col+1+n > width:
			b.WriteString("\n")
			b.WriteString(indent)
			col = utf8.RuneCountInString(indent)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += n
	}
	return b.String()
}

// prettyBody returns a stored body for people: JSON indented (its strings
// stay escaped), anything else as printable text.
func prettyBody(body string) string {
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		return ""
	}
	if json.Valid([]byte(trimmed)) {
		var buf bytes.Buffer
		if err := json.Indent(&buf, []byte(trimmed), "", "  "); err == nil {
			return buf.String()
		}
	}
	return printable(trimmed)
}

// hardWrap cuts lines longer than width runes, continuing them on the next
// line after indent (which should be shorter than width).
func hardWrap(s string, width int, indent string) string {
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\n' {
			col = 0
		} else if col == width {
			b.WriteByte('\n')
			b.WriteString(indent)
			col = utf8.RuneCountInString(indent)
		}
		b.WriteRune(r)
		if r != '\n' {
			col++
		}
	}
	return b.String()
}

// group formats n with thousands separators: 1,234,567.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// errWriter writes until the first error, which Err returns.
type errWriter struct {
	w   io.Writer
	err error
}

func (ew *errWriter) printf(format string, args ...any) {
	if ew.err != nil {
		return
	}
	_, ew.err = fmt.Fprintf(ew.w, format, args...)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
