package redact_test

import (
	"encoding/json"
	"testing"

	"github.com/faultline-dev/faultline/redact"
	"github.com/faultline-dev/faultline/synth"
)

// BenchmarkErrorMix redacts what classification redacts of synth's error
// records (the realistic mix of BenchmarkClassify): each response body as a
// Document, then its request id and trace id as identifiers. It isolates
// the redactor's share of classifying an error.
func BenchmarkErrorMix(b *testing.B) {
	g := synth.New(synth.Options{Seed: 42})
	type rec struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"response_body"`
		Trace  string          `json:"trace_id"`
	}
	var bodies [][]byte
	var ids []string
	for len(bodies) < 2000 {
		var r rec
		if err := json.Unmarshal(g.Next(nil), &r); err != nil {
			b.Fatal(err)
		}
		if r.Status < 400 {
			continue
		}
		body := []byte(r.Body)
		var s string
		if json.Unmarshal(r.Body, &s) == nil {
			body = []byte(s)
		}
		bodies, ids = append(bodies, body), append(ids, r.Trace)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bodies)
		_ = redact.Body(bodies[j], 8192)
		_ = redact.Identifier(ids[j])
	}
}
