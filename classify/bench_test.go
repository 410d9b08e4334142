package classify_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/synth"
	"github.com/faultline-dev/faultline/synth/reshape"
)

// benchRecords is a realistic mix from synth: about 93% successes, errors
// from all five providers, bodies half raw strings, half parsed objects.
func benchRecords(b *testing.B, n int) [][]byte {
	b.Helper()
	g := synth.New(synth.Options{Seed: 42})
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = g.Next(nil)
	}
	return recs
}

// referenceRecord is how a straightforward service would decode a record:
// encoding/json into structs.
type referenceRecord struct {
	TS              time.Time         `json:"ts"`
	Timestamp       *time.Time        `json:"@timestamp"`
	Service         string            `json:"service"`
	Env             string            `json:"env"`
	Tenant          string            `json:"tenant"`
	Provider        string            `json:"provider"`
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	Status          int               `json:"status"`
	Error           string            `json:"error"`
	DurationMS      float64           `json:"duration_ms"`
	RequestHeaders  map[string]string `json:"request_headers"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    json.RawMessage   `json:"response_body"`
	TraceID         string            `json:"trace_id"`
}

// BenchmarkClassify measures decode+classify over the realistic mix and, in
// the same run, the encoding/json reference over the same records. The two
// alternate in chunks, so that whatever else the machine does slows both
// alike; it reports records/s for both, their ratio (x_encoding_json) and
// allocations per record (of faultline only: the reference runs with the
// timer stopped). Run it on one core: GOMAXPROCS=1 go test -bench Classify -cpu 1.
func BenchmarkClassify(b *testing.B) {
	recs := benchRecords(b, 20000)
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		b.Fatal(err)
	}
	c, err := classify.New(cats, classify.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var bytesTotal int
	for _, r := range recs {
		bytesTotal += len(r)
	}
	b.SetBytes(int64(bytesTotal / len(recs)))
	b.ReportAllocs()
	const chunk = 4000
	var ours, ref time.Duration
	errs := 0
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		start := time.Now()
		for i := done; i < done+n; i++ {
			ev, err := c.Classify(recs[i%len(recs)])
			if err != nil {
				b.Fatal(err)
			}
			if ev.IsError {
				errs++
			}
		}
		ours += time.Since(start)

		b.StopTimer()
		start = time.Now()
		for i := done; i < done+n; i++ {
			var r referenceRecord
			if err := json.Unmarshal(recs[i%len(recs)], &r); err != nil {
				b.Fatal(err)
			}
		}
		ref += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)/ours.Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/ref.Seconds(), "ref_records/s")
	b.ReportMetric(ref.Seconds()/ours.Seconds(), "x_encoding_json")
	b.ReportMetric(float64(errs)/float64(b.N)*100, "error_%")
}

// BenchmarkClassifyShapes measures the realistic mix written in each style
// of synth/reshape (the records the real loggers and pdata write), in
// records/s and as a share of the contract's speed measured in the same
// run. An OpenTelemetry message holds 20 records here, as the Collector's
// exporter batches them.
func BenchmarkClassifyShapes(b *testing.B) {
	const n = 2000
	recs := benchRecords(b, n)
	calls := make([]reshape.Call, n)
	for i, r := range recs {
		c, err := reshape.Parse(r)
		if err != nil {
			b.Fatal(err)
		}
		calls[i] = c
	}
	cats, err := classify.BuiltinCatalogs()
	if err != nil {
		b.Fatal(err)
	}
	c, err := classify.New(cats, classify.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rate := func(msgs [][]byte, perMsg int) float64 {
		var out []classify.Result
		start := time.Now()
		for _, m := range msgs {
			out = c.ClassifyAll(m, out[:0])
		}
		return float64(len(msgs)*perMsg) / time.Since(start).Seconds()
	}
	for _, style := range reshape.Styles() {
		var msgs [][]byte
		perMsg := 1
		if style.WriteMany != nil {
			perMsg = 20
			for i := 0; i+perMsg <= n; i += perMsg {
				m, err := style.WriteMany(calls[i : i+perMsg])
				if err != nil {
					b.Fatal(err)
				}
				msgs = append(msgs, m)
			}
		} else {
			for _, call := range calls {
				m, err := style.Write(call)
				if err != nil {
					b.Fatal(err)
				}
				msgs = append(msgs, m)
			}
		}
		b.Run(style.Name, func(b *testing.B) {
			var ours, ref float64
			for b.Loop() {
				ours += rate(msgs, perMsg)
				ref += rate(recs, 1)
			}
			b.ReportMetric(ours/float64(b.N), "records/s")
			b.ReportMetric(ours/ref, "x_contract")
		})
	}
}
