package report

import (
	"cmp"
	"slices"
)

// DefaultTopCodes is how many codes a report lists by default (the weekly
// report's per provider, the provider page's).
const DefaultTopCodes = 10

// codeRank is what codes are ranked by.
type codeRank struct {
	count                   int64
	category, code, subcode string
}

// rankCodes sorts codes as every report ranks them, most errors first,
// then by code, subcode and category, and keeps the first n (n <= 0:
// all).
func rankCodes[T any](codes []T, n int, rank func(*T) codeRank) []T {
	slices.SortFunc(codes, func(a, b T) int {
		x, y := rank(&a), rank(&b)
		return cmp.Or(cmp.Compare(y.count, x.count), cmp.Compare(x.code, y.code), cmp.Compare(x.subcode, y.subcode), cmp.Compare(x.category, y.category))
	})
	if n > 0 && len(codes) > n {
		codes = codes[:n]
	}
	return codes
}
