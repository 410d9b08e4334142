package detect

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// binomialByHand sums P(X = i) for i >= k.
func binomialByHand(k, n int64, p float64) float64 {
	var sum float64
	for i := k; i <= n; i++ {
		lc, _ := math.Lgamma(float64(n + 1))
		li, _ := math.Lgamma(float64(i + 1))
		lr, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(lc - li - lr + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return sum
}

func TestBinomialUpperTail(t *testing.T) {
	tests := []struct {
		name string
		k, n int64
		p    float64
	}{
		{"no errors needed", 0, 10, 0.1},
		{"one of ten", 1, 10, 0.1},
		{"half of twenty", 10, 20, 0.3},
		{"rare errors, many requests", 40, 500, 0.04},
		{"far above", 90, 500, 0.04},
		{"all of them", 30, 30, 0.5},
		{"tiny rate", 3, 100, 0.0005},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := binomialByHand(tt.k, tt.n, tt.p)
			got := binomialUpperTail(tt.k, tt.n, tt.p)
			require.InEpsilon(t, want, got, 1e-9, "P(X >= %d | %d, %g)", tt.k, tt.n, tt.p)
		})
	}
	require.Equal(t, 0.0, binomialUpperTail(11, 10, 0.5))
	require.Equal(t, 0.0, binomialUpperTail(1, 10, 0))
	require.Equal(t, 1.0, binomialUpperTail(3, 10, 1))
	// Far in the tail the value underflows towards 0 rather than failing.
	require.Less(t, binomialUpperTail(5000, 10000, 0.01), 1e-300)
}

func TestMedianMAD(t *testing.T) {
	med, sigma := medianMAD([]float64{0.04, 0.041, 0.039, 0.2, 0.04})
	require.InDelta(t, 0.04, med, 1e-12)
	require.InDelta(t, madScale*0.001, sigma, 1e-12, "the outlier moves neither")
	med, sigma = medianMAD([]float64{0.01, 0.03})
	require.InDelta(t, 0.02, med, 1e-12)
	require.InDelta(t, madScale*0.01, sigma, 1e-12)
	require.True(t, math.IsNaN(median(nil)))
}

func TestRateLowerBound(t *testing.T) {
	require.Zero(t, rateLowerBound(0, 10, 0.1))
	for _, tt := range []struct{ k, n int64 }{{1, 1}, {1, 3}, {1, 60}, {3, 300}, {20, 25}, {500, 1000}} {
		lb := rateLowerBound(tt.k, tt.n, 0.1)
		require.Less(t, lb, float64(tt.k)/float64(tt.n))
		require.InDelta(t, 0.1, binomialUpperTail(tt.k, tt.n, lb), 1e-6, "%d of %d", tt.k, tt.n)
	}
	// One of three at 90%: 1 − 0.9^(1/3).
	require.InDelta(t, 1-math.Pow(0.9, 1.0/3), rateLowerBound(1, 3, 0.1), 1e-9)
}
