package ingest_test

import (
	"fmt"
	"testing"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/store"
)

// BenchmarkPipeline measures what ingest run does with each record past
// Kafka, on the realistic mix of ingestbench's (b) (7% errors): classify,
// build batches of 5,000 records and write each to Postgres in one
// transaction. It reports records/s.
func BenchmarkPipeline(b *testing.B) {
	ctx := testCtx(b)
	st, _ := database(b)
	c := classifier(b)
	recs := records(100000, 11, 0.07)
	const batch = 5000
	next := store.NoOffset
	src := store.Source{Group: "bench", Topic: "logs", Partition: 0}
	n := 0
	for i := 0; b.Loop(); i++ {
		bb := ingest.NewBuilder(c, src, next, ingest.BuilderOptions{})
		for j := range batch {
			if usable, _ := bb.Add(recs[(i*batch+j)%len(recs)], "logs", 0, int64(n)); usable != 1 {
				b.Fatal("record unusable")
			}
			n++
		}
		next = int64(n)
		if err := st.WriteBatch(ctx, bb.Take(next)); err != nil {
			b.Fatal(fmt.Errorf("batch %d: %w", i, err))
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
