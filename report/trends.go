package report

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// RollupReader reads the rollups of a period and the one before it
// (store.Store does).
type RollupReader interface {
	ReadReportRollups(ctx context.Context, q store.ReportQuery) (*store.ReportRollups, error)
}

// TrendsOptions choose the period compared with the one before it.
type TrendsOptions struct {
	// From and To bound the period, [From, To), to the minute (rollups
	// count per minute): both are truncated to the minute.
	From, To time.Time
	// Limit bounds the movers listed; 0 lists all.
	Limit int
	// Catalogs tell documented codes from new ones; nil is the built-in
	// catalogs.
	Catalogs *classify.Catalogs
}

// Trends compares every provider, category, code and subcode of a period
// with the previous period of equal length.
type Trends struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	PreviousFrom time.Time `json:"previous_from"`
	PreviousTo   time.Time `json:"previous_to"`
	// Providers are every provider's totals, by name.
	Providers []ProviderTotals `json:"providers"`
	// Movers are the codes whose error rate changed, most significant
	// first (see Mover.Score).
	Movers []Mover `json:"movers"`
	// NewCodes are the codes first seen in the period, oldest first.
	NewCodes []NewCode `json:"new_codes"`
}

// ProviderTotals are a provider's requests and errors in a period and the
// one before.
type ProviderTotals struct {
	Provider          string  `json:"provider"`
	Requests          int64   `json:"requests"`
	Errors            int64   `json:"errors"`
	ErrorRate         float64 `json:"error_rate"`
	PreviousRequests  int64   `json:"previous_requests"`
	PreviousErrors    int64   `json:"previous_errors"`
	PreviousErrorRate float64 `json:"previous_error_rate"`
}

// Mover is one provider code's errors in a period against the one before.
type Mover struct {
	Provider string `json:"provider"`
	Category string `json:"category"`
	Code     string `json:"code"`
	Subcode  string `json:"subcode"`
	Count    int64  `json:"count"`
	// PreviousCount is the count in the previous period.
	PreviousCount int64 `json:"previous_count"`
	// Rate and PreviousRate are the errors per request of the provider.
	Rate         float64 `json:"rate"`
	PreviousRate float64 `json:"previous_rate"`
	// Change is the relative change of the rate (0.5 is +50%); absent
	// when there was none before.
	Change *float64 `json:"change,omitempty"`
	// Score is how unlikely the change is by chance, in standard
	// deviations: positive for more errors, negative for fewer. Given the
	// errors of both periods, each error falls in the current period with
	// the probability of its share of the provider's requests; Score is
	// the z-score of the count observed under that binomial. A code going
	// from 1 to 3 scores 1; from 100 to 200 (same traffic), 5.8.
	Score float64 `json:"score"`
	// Known is whether the provider's catalog documents the code.
	Known bool `json:"known"`
	// New is whether the code was first seen in the period.
	New bool `json:"new"`
}

// NewCode is a code first seen in a period.
type NewCode struct {
	Provider  string    `json:"provider"`
	Category  string    `json:"category"`
	Code      string    `json:"code"`
	Subcode   string    `json:"subcode"`
	FirstSeen time.Time `json:"first_seen"`
	// Count is its errors in the period.
	Count int64 `json:"count"`
	Known bool  `json:"known"`
}

// Score is the z-score of c errors in a period (of n requests) given
// c+cPrev errors over it and the previous period (of nPrev requests):
// under "nothing changed", c is binomial with p = n/(n+nPrev). When either
// period has no requests counted, the periods weigh the same (p = 1/2).
func Score(c, cPrev, n, nPrev int64) float64 {
	m := float64(c + cPrev)
	if m == 0 {
		return 0
	}
	p := 0.5
	if n > 0 && nPrev > 0 {
		p = float64(n) / float64(n+nPrev)
	}
	return (float64(c) - m*p) / math.Sqrt(m*p*(1-p))
}

// key is a provider's category, code and subcode.
type key struct {
	provider, category, code, subcode string
}

// BuildTrends reads the rollups and compares the period with the one
// before.
func BuildTrends(ctx context.Context, src RollupReader, o TrendsOptions) (*Trends, error) {
	cats, err := catalogsOr(o.Catalogs)
	if err != nil {
		return nil, err
	}
	from, to := o.From.UTC().Truncate(time.Minute), o.To.UTC().Truncate(time.Minute)
	if !from.Before(to) {
		return nil, fmt.Errorf("report: trends: %s to %s is less than a minute", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	length := to.Sub(from)
	t := &Trends{From: from, To: to, PreviousFrom: from.Add(-length), PreviousTo: from,
		Providers: []ProviderTotals{}, Movers: []Mover{}, NewCodes: []NewCode{}}
	r, err := src.ReadReportRollups(ctx, store.ReportQuery{
		Current: splitPeriod(t.From, t.To, time.UTC), Previous: splitPeriod(t.PreviousFrom, t.PreviousTo, time.UTC),
		NewFrom: t.From, NewTo: t.To,
	})
	if err != nil {
		return nil, fmt.Errorf("report: trends: %w", err)
	}

	totals := map[string]*ProviderTotals{}
	provider := func(name string) *ProviderTotals {
		p := totals[name]
		if p == nil {
			p = &ProviderTotals{Provider: name}
			totals[name] = p
		}
		return p
	}
	for _, row := range r.Current.Traffic {
		p := provider(row.Provider)
		p.Requests += row.Requests
		p.Errors += row.Errors
	}
	for _, row := range r.Previous.Traffic {
		p := provider(row.Provider)
		p.PreviousRequests += row.Requests
		p.PreviousErrors += row.Errors
	}
	cur, prev := sumErrors(r.Current.Errors), sumErrors(r.Previous.Errors)
	for k := range cur {
		provider(k.provider)
	}
	for k := range prev {
		provider(k.provider)
	}
	for _, p := range totals {
		p.ErrorRate = rate(p.Errors, p.Requests)
		p.PreviousErrorRate = rate(p.PreviousErrors, p.PreviousRequests)
		t.Providers = append(t.Providers, *p)
	}
	slices.SortFunc(t.Providers, func(a, b ProviderTotals) int { return cmp.Compare(a.Provider, b.Provider) })

	isNew := map[codeKey]bool{}
	for _, c := range r.NewCodes {
		if c.Code == "" {
			continue // an error without a code (a timeout, a proxy's page) is no new code
		}
		k := codeKey{c.Provider, c.Code, c.Subcode}
		isNew[k] = true
		t.NewCodes = append(t.NewCodes, NewCode{
			Provider: c.Provider, Category: c.Category, Code: c.Code, Subcode: c.Subcode,
			FirstSeen: c.FirstSeen.UTC(), Count: countOf(cur, k), Known: known(cats, c.Provider, c.Code),
		})
	}
	keys := map[key]bool{}
	for k := range cur {
		keys[k] = true
	}
	for k := range prev {
		keys[k] = true
	}
	for k := range keys {
		p := totals[k.provider]
		m := Mover{
			Provider: k.provider, Category: k.category, Code: k.code, Subcode: k.subcode,
			Count: cur[k], PreviousCount: prev[k],
			Rate: rate(cur[k], p.Requests), PreviousRate: rate(prev[k], p.PreviousRequests),
			Score: Score(cur[k], prev[k], p.Requests, p.PreviousRequests),
			Known: known(cats, k.provider, k.code), New: isNew[codeKey{k.provider, k.code, k.subcode}],
		}
		m.Change = change(m.Rate, m.PreviousRate, prev[k])
		t.Movers = append(t.Movers, m)
	}
	slices.SortFunc(t.Movers, func(a, b Mover) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Score), math.Abs(a.Score)), cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Category, b.Category),
			cmp.Compare(a.Code, b.Code), cmp.Compare(a.Subcode, b.Subcode))
	})
	if o.Limit > 0 && len(t.Movers) > o.Limit {
		t.Movers = t.Movers[:o.Limit]
	}
	return t, nil
}

// codeKey is a provider's code and subcode, whatever its category.
type codeKey struct {
	provider, code, subcode string
}

func sumErrors(rows []store.ErrorRow) map[key]int64 {
	m := map[key]int64{}
	for _, r := range rows {
		m[key{r.Provider, r.Category, r.Code, r.Subcode}] += r.Count
	}
	return m
}

func countOf(m map[key]int64, c codeKey) int64 {
	var n int64
	for k, v := range m {
		if k.provider == c.provider && k.code == c.code && k.subcode == c.subcode {
			n += v
		}
	}
	return n
}

func rate(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// change is the relative change from previous to current; nil when there
// was nothing before.
func change(current, previous float64, previousCount int64) *float64 {
	if previousCount == 0 || previous == 0 {
		return nil
	}
	c := current/previous - 1
	return &c
}

// known reports whether the provider's catalog documents code.
func known(cats *classify.Catalogs, provider, code string) bool {
	c := cats.Provider(provider)
	return c != nil && code != "" && c.Known(code)
}

// WriteJSON writes the trends as JSON.
func (t *Trends) WriteJSON(w io.Writer) error { return writeJSON(w, t) }
