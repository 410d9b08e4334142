package classify

import (
	"testing"

	"github.com/faultline-dev/faultline/synth"
)

func BenchmarkParts(b *testing.B) {
	g := synth.New(synth.Options{Seed: 42})
	var ok, bad [][]byte
	cats, _ := BuiltinCatalogs()
	c, _ := New(cats, Options{})
	for len(ok) < 5000 || len(bad) < 5000 {
		r := g.Next(nil)
		ev, _ := c.Classify(r)
		if ev.IsError {
			bad = append(bad, r)
		} else {
			ok = append(ok, r)
		}
	}
	b.Run("scan", func(b *testing.B) {
		st := c.states.Get().(*state)
		for i := 0; i < b.N; i++ {
			var r raw
			_ = st.scanRecord(ok[i%len(ok)], &r)
		}
	})
	b.Run("success", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = c.Classify(ok[i%len(ok)])
		}
	})
	b.Run("error", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = c.Classify(bad[i%len(bad)])
		}
	})
}
