package classify

import (
	"testing"

	"github.com/faultline-dev/faultline/synth"
)

// BenchmarkClassifyParts splits BenchmarkClassify's cost: scanning a
// record's top level, a whole success, a whole error.
func BenchmarkClassifyParts(b *testing.B) {
	c := newTestClassifier(b)
	g := synth.New(synth.Options{Seed: 42})
	var ok, bad [][]byte
	for len(ok) < 5000 || len(bad) < 5000 {
		r := g.Next(nil)
		ev, err := c.Classify(r)
		if err != nil {
			b.Fatal(err)
		}
		if ev.IsError {
			bad = append(bad, r)
		} else {
			ok = append(ok, r)
		}
	}
	b.Run("scan", func(b *testing.B) {
		var st state
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var r raw
			if err := st.scanRecord(ok[i%len(ok)], &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, recs := range map[string][][]byte{"success": ok, "error": bad} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.Classify(recs[i%len(recs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
