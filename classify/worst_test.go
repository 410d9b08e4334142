package classify

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

// The general reader's worst shapes: records it must take whole (no
// outcome at the top level, so the fast path passes them on), built to
// make each lookup work hardest. Linear time shows as the same MB/s at
// 64 KiB and 1 MiB in BenchmarkGeneralWorstShapes.
var generalWorstShapes = []struct {
	name string
	make func(size int) []byte
}{
	{"many keys", func(n int) []byte {
		return fill(`{"level":"info","msg":"call"`, `,"k%d":"http.response.status_code"`, n, `}`)
	}},
	{"many dotted keys", func(n int) []byte {
		return fill(`{"msg":"x"`, `,"http.response.body.content.k%d":1`, n, `}`)
	}},
	{"keys that begin every path", func(n int) []byte {
		return fill(`{"msg":"x"`, `,"http":{"response":{"k%d":1}}`, n, `}`)
	}},
	{"nested to the limit", func(n int) []byte {
		unit := strings.Repeat(`{"http":`, 60) + `1` + strings.Repeat(`}`, 60)
		return fill(`{"msg":"x"`, `,"a%d":`+unit, n, `}`)
	}},
	{"an envelope of a huge record", func(n int) []byte {
		inner := string(fill(`{\"msg\":\"x\"`, `,\"k%d\":\"v\"`, n-40, `}`))
		return []byte(`{"log":"` + inner + `","time":"2026-11-02T10:00:00Z"}`)
	}},
	{"otlp record of many attributes", func(n int) []byte {
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		for i := 0; i < n/40; i++ {
			lr.Attributes().PutStr(fmt.Sprintf("http.response.header.x-%d", i), "value")
		}
		b, _ := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		return b
	}},
	{"otlp message of many records", func(n int) []byte {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := 0; i < n/120; i++ {
			lr := lrs.AppendEmpty()
			lr.Attributes().PutStr("url.full", "https://api.paylera.com/v1/wallets/w1")
			lr.Attributes().PutInt("http.response.status_code", 200)
			lr.SetTimestamp(1793613600000000000)
		}
		b, _ := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		return b
	}},
}

// fill repeats unit (with a counter) between head and tail up to about n
// bytes.
func fill(head, unit string, n int, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < n-len(tail)-len(unit)-8; i++ {
		fmt.Fprintf(&b, unit, i)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// TestGeneralWorstShapes: each worst shape at 1 MiB is read (a dead letter
// or records) without a panic or an internal error.
func TestGeneralWorstShapes(t *testing.T) {
	cats, err := BuiltinCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cats, Options{MaxRecordBytes: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, ws := range generalWorstShapes {
		rs := c.ClassifyAll(ws.make(1<<20), nil)
		if len(rs) == 0 {
			t.Fatalf("%s: no result", ws.name)
		}
		for _, r := range rs {
			if ReasonOf(r.Err) == ReasonInternal {
				t.Fatalf("%s: %v", ws.name, r.Err)
			}
		}
	}
}

func BenchmarkGeneralWorstShapes(b *testing.B) {
	cats, err := BuiltinCatalogs()
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(cats, Options{MaxRecordBytes: 2 << 20})
	if err != nil {
		b.Fatal(err)
	}
	for _, ws := range generalWorstShapes {
		for _, size := range []int{64 << 10, 1 << 20} {
			in := ws.make(size)
			b.Run(fmt.Sprintf("%s/%dKiB", ws.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(in)))
				var out []Result
				for b.Loop() {
					out = c.ClassifyAll(in, out[:0])
				}
			})
		}
	}
}
