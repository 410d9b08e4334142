package ndjson

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/synth"
)

func classifier(t testing.TB) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{MaxRecordBytes: 4096})
	require.NoError(t, err)
	return c
}

func TestClassifyWritesOneLinePerInputLineInOrder(t *testing.T) {
	in := strings.Join([]string{
		`{"ts":"2026-11-02T10:00:00Z","provider":"finterra","status":401,"response_body":{"error":"token_expired","message":"mail jane@example.com","request_id":"req_1"}}`,
		`not json`,
		``,
		`{"ts":"2026-11-02T10:00:01Z","provider":"finix","url":"https://finix.com/transfers/TR123abc456def789","status":201}`,
		`{"ts":"2026-11-02T10:00:02Z","provider":"finix","response_body":"` + strings.Repeat("x", 5000) + `"}`,
		`{"status":500}`,
	}, "\n") // no final newline: the last line still counts
	var out bytes.Buffer
	st, err := Classify(context.Background(), strings.NewReader(in), &out, classifier(t), 4096, nil)
	require.NoError(t, err)
	require.Equal(t, Stats{Lines: 6, Errors: 1, Unusable: 4}, st)

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 6)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, float64(1), first["line"])
	require.Equal(t, "auth_expired", first["category"])
	require.Equal(t, "token_expired", first["code"])
	require.Equal(t, "", first["subcode"])
	require.Equal(t, true, first["known"])
	require.Equal(t, false, first["retryable"])
	require.Equal(t, true, first["is_error"])
	require.Equal(t, "req_1", first["correlation_id"])
	require.Len(t, first["fingerprint"], 16)
	require.NotContains(t, lines[0], "jane@example.com", "messages are redacted")

	for i, want := range map[int]string{1: "not_json", 2: "empty", 4: "oversized", 5: "no_timestamp"} {
		var le LineError
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &le))
		require.Equal(t, i+1, le.Line)
		require.Equal(t, want, le.Reason)
		require.NotEmpty(t, le.Error)
	}
	var success map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[3]), &success))
	require.Equal(t, false, success["is_error"])
	require.Equal(t, "/transfers/{id}", success["endpoint"])
	require.NotContains(t, success, "category")
}

func TestReaderSkipsHugeLinesInConstantMemory(t *testing.T) {
	huge := io.MultiReader(strings.NewReader("first\n"), io.LimitReader(zeros{}, 50<<20), strings.NewReader("\nlast\n"))
	r := NewReader(huge, 1024)
	line, n, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, "first", string(line))
	require.Equal(t, 1, n)
	_, n, err = r.Next()
	require.ErrorIs(t, err, ErrLineTooLong)
	require.Equal(t, 2, n)
	require.LessOrEqual(t, cap(r.buf), 64<<10, "the buffer stays bounded")
	line, n, err = r.Next()
	require.NoError(t, err)
	require.Equal(t, "last", string(line))
	require.Equal(t, 3, n)
	_, _, err = r.Next()
	require.ErrorIs(t, err, io.EOF)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestSummaryCountsPerProvider(t *testing.T) {
	g := synth.New(synth.Options{Seed: 3})
	var buf bytes.Buffer
	for i := 0; i < 3000; i++ {
		buf.Write(g.Next(nil))
		buf.WriteByte('\n')
	}
	var sum Summary
	st, err := Classify(context.Background(), &buf, io.Discard, classifier(t), 1<<20, sum.Add)
	require.NoError(t, err)
	require.Equal(t, 3000, st.Lines)
	var table bytes.Buffer
	require.NoError(t, sum.WriteTable(&table))
	sc := bufio.NewScanner(&table)
	rows := map[string]string{}
	for sc.Scan() {
		require.Equal(t, strings.TrimRight(sc.Text(), " \t"), sc.Text(), "no trailing spaces")
		f := strings.Fields(sc.Text())
		rows[f[0]] = sc.Text()
	}
	for _, p := range []string{"finterra", "cheers", "flexiti", "finix", "paylera", "TOTAL"} {
		require.Contains(t, rows, p)
	}
	require.Contains(t, rows["TOTAL"], "3000")
}

// panicky panics on lines holding "BOOM", like a bug would.
type panicky struct{ c *classify.Classifier }

func (p panicky) ClassifyAll(line []byte, out []classify.Result) []classify.Result {
	if bytes.Contains(line, []byte("BOOM")) {
		panic("boom")
	}
	return p.c.ClassifyAll(line, out)
}

func TestClassifyAnswersAPanickingLineWithAnErrorLine(t *testing.T) {
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	in := `{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":500}
{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":500,"tenant":"BOOM"}
{"ts":"2026-11-02T10:00:00Z","provider":"finix","status":200}
`
	var out bytes.Buffer
	st, err := Classify(context.Background(), strings.NewReader(in), &out, panicky{c}, 1<<20, nil)
	require.NoError(t, err)
	require.Equal(t, 3, st.Lines)
	require.Equal(t, 1, st.Unusable)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[0], `"is_error":true`)
	require.JSONEq(t, `{"line":2,"error":"internal_error: boom","reason":"internal_error"}`, lines[1])
	require.Contains(t, lines[2], `"is_error":false`)
}
