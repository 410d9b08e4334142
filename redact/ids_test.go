package redact_test

import (
	"encoding/json"
	"testing"

	"github.com/faultline-dev/faultline/redact"
	"github.com/faultline-dev/faultline/synth"
)

// The ids of synth's records (random request ids, logrefs, trace ids,
// Finix ids: every mix of letters and digits) are ids, never secrets:
// Identifier keeps each of them, and a body holding them keeps them.
func TestSynthIDsKept(t *testing.T) {
	g := synth.New(synth.Options{Seed: 18})
	var ids []string
	var collect func(v any, key string)
	collect = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				collect(e, k)
			}
		case []any:
			for _, e := range x {
				collect(e, key)
			}
		case string:
			switch key {
			case "request_id", "logref", "trace_id", "authorization", "transfer", "X-Request-Id", "X-Correlation-Id":
				ids = append(ids, x)
			}
		}
	}
	for i := 0; i < 200000 && len(ids) < 50000; i++ {
		var rec map[string]any
		if err := json.Unmarshal(g.Next(nil), &rec); err != nil {
			t.Fatal(err)
		}
		if s, ok := rec["response_body"].(string); ok {
			var body any
			if json.Unmarshal([]byte(s), &body) == nil {
				rec["response_body"] = body
			}
		}
		collect(rec, "")
	}
	if len(ids) < 10000 {
		t.Fatalf("only %d ids", len(ids))
	}
	for _, id := range ids {
		if got := redact.Identifier(id); got != id {
			t.Errorf("Identifier(%q) = %q", id, got)
		}
	}
}
