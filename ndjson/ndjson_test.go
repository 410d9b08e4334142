package ndjson

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// readLine is what Next returned for one line.
type readLine struct {
	Text string
	Err  error // ErrBareCR, ErrLineTooLong or nil
	End  int64
}

func readAll(t *testing.T, r io.Reader, max int) []readLine {
	t.Helper()
	rd := NewReader(r, max)
	var out []readLine
	for {
		line, n, err := rd.Next()
		if err == io.EOF {
			return out
		}
		require.Equal(t, len(out)+1, n, "line numbers count every line")
		got := readLine{Text: string(line), End: rd.End()}
		switch {
		case errors.Is(err, ErrBareCR):
			got.Err = ErrBareCR
		case errors.Is(err, ErrLineTooLong):
			got.Err = ErrLineTooLong
		default:
			require.NoError(t, err)
		}
		out = append(out, got)
	}
}

func TestReaderLineEndings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []readLine
	}{
		{"LF", "a\nbb\n", []readLine{{"a", nil, 1}, {"bb", nil, 4}}},
		{"no final newline", "a\nbb", []readLine{{"a", nil, 1}, {"bb", nil, 4}}},
		{"CRLF", "a\r\nbb\r\n", []readLine{{"a", nil, 1}, {"bb", nil, 5}}},
		{"CRLF without final newline", "a\r\nbb", []readLine{{"a", nil, 1}, {"bb", nil, 5}}},
		{"UTF-8 BOM then LF", "\xef\xbb\xbfa\nb\n", []readLine{{"a", nil, 4}, {"b", nil, 6}}},
		{"UTF-8 BOM then CRLF", "\xef\xbb\xbf{}\r\n{}\r\n", []readLine{{"{}", nil, 5}, {"{}", nil, 9}}},
		{"BOM alone", "\xef\xbb\xbf", nil},
		{"BOM only at the start", "a\n\xef\xbb\xbfb\n", []readLine{{"a", nil, 1}, {"\xef\xbb\xbfb", nil, 6}}},
		{"bare CR lines, one at a time", "a\rbb\rc\r", []readLine{{"a", ErrBareCR, 1}, {"bb", ErrBareCR, 4}, {"c", ErrBareCR, 6}}},
		{"bare CR at the end of input", "a\nb\r", []readLine{{"a", nil, 1}, {"b", ErrBareCR, 3}}},
		{"bare CR then LF line", "a\rb\n", []readLine{{"a", ErrBareCR, 1}, {"b", nil, 3}}},
		{"CR CR LF", "a\r\r\n", []readLine{{"a", ErrBareCR, 1}, {"", nil, 2}}},
		{"empty lines", "\n\r\n\n", []readLine{{"", nil, 0}, {"", nil, 1}, {"", nil, 3}}},
		{"empty input", "", nil},
		{"oversized line between others", "ab\n" + strings.Repeat("x", 9) + "\ncd", []readLine{{"ab", nil, 2}, {"", ErrLineTooLong, 12}, {"cd", nil, 15}}},
		{"line of exactly the limit with CRLF", "12345678\r\n", []readLine{{"12345678", nil, 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, readAll(t, strings.NewReader(tt.in), 8))
			// The same, one byte per read: endings split across reads.
			require.Equal(t, tt.want, readAll(t, iotest.OneByteReader(strings.NewReader(tt.in)), 8))
		})
	}
}

// TestReaderBareCRInLongInput: thousands of CR-ended records are as many
// lines, in linear time, not one oversized line.
func TestReaderBareCRInLongInput(t *testing.T) {
	const n = 20000
	in := strings.Repeat(`{"ts":"2026-11-02T10:00:00Z","status":200}`+"\r", n)
	lines := readAll(t, strings.NewReader(in), 1024)
	require.Len(t, lines, n)
	for _, l := range lines {
		require.Equal(t, ErrBareCR, l.Err)
	}
}

// TestClassifyAcceptsBOMAndCRLFAndReportsBareCR: a Windows file (BOM,
// CRLF) classifies like any other; a file with CR endings gives one
// unusable line per record.
func TestClassifyAcceptsBOMAndCRLFAndReportsBareCR(t *testing.T) {
	rec := `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":201}`
	var out strings.Builder
	st, err := Classify(t.Context(), strings.NewReader("\xef\xbb\xbf"+rec+"\r\n"+rec+"\r\n"), &out, classifier(t), 4096, nil)
	require.NoError(t, err)
	require.Equal(t, Stats{Lines: 2}, st, "%s", out.String())

	out.Reset()
	st, err = Classify(t.Context(), strings.NewReader(rec+"\r"+rec+"\r"+rec+"\r"), &out, classifier(t), 4096, nil)
	require.NoError(t, err)
	require.Equal(t, Stats{Lines: 3, Unusable: 3}, st)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 3)
	for i, l := range lines {
		require.Contains(t, l, `"reason":"bare_cr"`)
		require.Contains(t, l, `"line":`+string(rune('1'+i)))
	}
}
