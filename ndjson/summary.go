package ndjson

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/faultline-dev/faultline/classify"
)

// Summary tallies classified events per provider, for a quick table.
type Summary struct {
	providers map[string]*providerTally
}

type providerTally struct {
	requests, errors, unknownCodes int
	categories                     map[classify.Category]int
	codes                          map[string]int
}

// Add counts one event.
func (s *Summary) Add(ev *classify.Event) {
	if s.providers == nil {
		s.providers = map[string]*providerTally{}
	}
	t := s.providers[ev.Provider]
	if t == nil {
		t = &providerTally{categories: map[classify.Category]int{}, codes: map[string]int{}}
		s.providers[ev.Provider] = t
	}
	t.requests++
	if !ev.IsError {
		return
	}
	t.errors++
	t.categories[ev.Category]++
	code := ev.Code
	if code == "" {
		code = fmt.Sprintf("HTTP %d", ev.Status)
		if ev.Status == 0 {
			code = "no response"
		}
	}
	t.codes[code]++
	if !ev.Known {
		t.unknownCodes++
	}
}

// WriteTable prints one row per provider: requests, errors, error rate,
// the top categories and the top codes.
func (s *Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tREQUESTS\tERRORS\tERROR RATE\tUNDOCUMENTED\tTOP CATEGORIES\tTOP CODES")
	names := make([]string, 0, len(s.providers))
	for name := range s.providers {
		names = append(names, name)
	}
	sort.Strings(names)
	var req, errs int
	for _, name := range names {
		t := s.providers[name]
		req += t.requests
		errs += t.errors
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f%%\t%d\t%s\t%s\n", name, t.requests, t.errors,
			rate(t.errors, t.requests), t.unknownCodes, top(t.categories, 3), top(t.codes, 3))
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%.2f%%\n", req, errs, rate(errs, req))
	return tw.Flush()
}

func rate(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return 100 * float64(n) / float64(d)
}

// top formats the n largest counts of m as "a 12, b 3".
func top[K ~string](m map[K]int, n int) string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for i, k := range keys {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
