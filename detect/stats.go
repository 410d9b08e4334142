package detect

import (
	"math"
	"slices"
)

// median returns the median of xs (the mean of the middle two for an even
// count); it reorders xs. NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// madScale turns a median absolute deviation into a standard deviation's
// equivalent for normally distributed samples.
const madScale = 1.4826

// medianMAD returns the median of xs and their median absolute deviation
// from it, scaled to a standard deviation (madScale). It reorders xs.
func medianMAD(xs []float64) (med, sigma float64) {
	med = median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	return med, madScale * median(dev)
}

// binomialUpperTail returns P(X >= k) for X ~ Binomial(n, p): the chance of
// k or more errors in n requests when each fails with probability p. It is
// the regularised incomplete beta function I_p(k, n-k+1).
func binomialUpperTail(k, n int64, p float64) float64 {
	switch {
	case k <= 0:
		return 1
	case k > n:
		return 0
	case p <= 0:
		return 0
	case p >= 1:
		return 1
	}
	return regIncBeta(float64(k), float64(n-k+1), p)
}

// regIncBeta is the regularised incomplete beta function I_x(a, b), by its
// continued fraction (modified Lentz), on the side where it converges fast.
func regIncBeta(a, b, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function.
func betaCF(a, b, x float64) float64 {
	const (
		maxIter = 300
		eps     = 1e-14
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// rateLowerBound returns the lower confidence bound of a rate seen as k
// errors in n requests (Clopper–Pearson): the rate p at which k or more
// errors have probability alpha. 0 for no errors.
func rateLowerBound(k, n int64, alpha float64) float64 {
	if k <= 0 || n <= 0 {
		return 0
	}
	k = min(k, n)
	lo, hi := 0.0, 1.0
	for range 60 {
		mid := (lo + hi) / 2
		if binomialUpperTail(k, n, mid) < alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
