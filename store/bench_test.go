package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

const benchBatch = 5000

// benchEvents returns n error events of the five providers over five
// minutes, with bodies of a few hundred bytes and every id set.
func benchEvents(n int) []store.Event {
	providers := []string{"finterra", "cheers", "flexiti", "finix", "paylera"}
	codes := []string{"token_expired", "DECLINED", "rate_limit_exceeded", "internal_error", "validation.failed", "order_not_found"}
	cats := []classify.Category{"auth_expired", "decline", "rate_limit", "provider_error", "validation", "not_found"}
	out := make([]store.Event, n)
	for i := range out {
		p, c := providers[i%len(providers)], i%len(codes)
		e := event(base.Add(time.Duration(i)*60*time.Millisecond), p, codes[c], i)
		e.Category = cats[c]
		e.Fingerprint = fmt.Sprintf("%s/%s/POST /v1/orders/{id}/payments/%d", p, codes[c], i%40)
		e.Message = "The request could not be completed: " + codes[c] + " for order ord_" + fmt.Sprint(i)
		e.Body = `{"error":"` + codes[c] + `","message":"` + e.Message + `","request_id":"req_01j2` +
			fmt.Sprintf("%016x", i) + `","details":"` + strings.Repeat("x", 200+i%200) + `"}`
		out[i] = e
	}
	return out
}

// BenchmarkWriteBatch writes batches of 5,000 error events (with their
// rollups, groups and offset) through WriteBatch.
func BenchmarkWriteBatch(b *testing.B) {
	ctx := testCtx(b)
	st, _ := migrated(b)
	tmpl := batchOf(src(0), store.NoOffset, 0, benchEvents(benchBatch))
	if err := st.EnsurePartitions(ctx, base, base.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	expected := store.NoOffset
	for i := 0; b.Loop(); i++ {
		batch := *tmpl
		batch.ExpectedOffset, batch.NextOffset = expected, int64(i+1)*benchBatch
		if err := st.WriteBatch(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		expected = batch.NextOffset
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkInsertEventsOneByOne is the naive way, for comparison: one
// INSERT and one commit per event.
func BenchmarkInsertEventsOneByOne(b *testing.B) {
	ctx := testCtx(b)
	st, _ := migrated(b)
	evs := benchEvents(benchBatch)
	if err := st.EnsurePartitions(ctx, base, base.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := st.InsertEventsOneByOne(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
}
