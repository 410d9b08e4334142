package classify_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/synth"
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
// the same run, the encoding/json reference over the same records; it
// reports records/s for both, their ratio (x_encoding_json) and allocations
// per record. Run it on one core: GOMAXPROCS=1 go test -bench Classify -cpu 1.
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
	b.ResetTimer()
	errs := 0
	for i := 0; i < b.N; i++ {
		ev, err := c.Classify(recs[i%len(recs)])
		if err != nil {
			b.Fatal(err)
		}
		if ev.IsError {
			errs++
		}
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	ours := float64(b.N) / elapsed.Seconds()

	// The reference, over the same number of records, in the same run.
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var r referenceRecord
		if err := json.Unmarshal(recs[i%len(recs)], &r); err != nil {
			b.Fatal(err)
		}
	}
	ref := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(ours, "records/s")
	b.ReportMetric(ref, "ref_records/s")
	b.ReportMetric(ours/ref, "x_encoding_json")
	b.ReportMetric(float64(errs)/float64(b.N)*100, "error_%")
}
