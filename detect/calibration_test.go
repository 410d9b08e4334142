package detect

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFalseAlarmRate measures how often ordinary traffic opens an alert,
// the constant of the evidence threshold's e^-evidence law: two weeks of
// two providers (busy finix with four decline codes, quiet finterra) at
// four volumes and six seeds, 720 series-weeks of traffic without an
// incident, judged at evidence 9, where false alarms are frequent enough
// to count. Each nat more divides them by e (the CUSUM's false alarm
// rate), so the count bounds the rate at the default evidence: at most 20
// here is at most 20·e^-3 in 720 series-weeks at 12, 0.33 in four weeks
// of 60 series (5 providers with 12 series each). docs/alerts.md cites
// the count this logs.
func TestFalseAlarmRate(t *testing.T) {
	const at9 = 9.0
	cfg := DefaultConfig()
	for r, rc := range cfg.rules {
		rc.params.Evidence = at9
		cfg.rules[r] = rc
	}
	alarms, seriesWeeks := 0, 0
	for _, peak := range []float64{3, 10, 30, 100} {
		for seed := uint64(200); seed < 206; seed++ {
			rows := weeks3(seed, finix(seasonal(peak)), quietAt("finterra", peak/2))
			seriesWeeks += 2 * (5 + 4 + 5 + 1) // finix: 5 rates and 4 decline codes; finterra: 5 rates and 1 decline code
			got := evaluate(t, cfg, rows, at(7, 0, 0), at(21, 0, 0), State{})
			alarms += len(got)
		}
	}
	def := DefaultConfig().Params(DeclineSpike, "x").Evidence
	perFourWeeks := float64(alarms) * math.Exp(at9-def) / float64(seriesWeeks) * 60 * 4
	t.Logf("%d false alarms in %d series-weeks at evidence %v: %.2f in four weeks of 60 series at %v", alarms, seriesWeeks, at9, perFourWeeks, def)
	require.LessOrEqual(t, alarms, 20)
	require.Less(t, perFourWeeks, 0.5)
}
