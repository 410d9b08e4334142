package report

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/store"
)

// EndpointReader reads the stored endpoints and the learned templates
// (store.Store does).
type EndpointReader interface {
	EndpointUsage(ctx context.Context, from, to time.Time) ([]store.EndpointUse, error)
	TemplateRules(ctx context.Context) ([]store.LearnedTemplate, error)
}

// EndpointsOptions choose the period whose calls are counted.
type EndpointsOptions struct {
	From, To time.Time // [From, To), whole hours (hourly rollups)
	Provider string    // one provider; "" for all
	// Limit bounds the endpoints listed per provider, busiest first; 0
	// lists all.
	Limit int
	// Catalogs tell declared templates; nil is the built-in catalogs.
	Catalogs *classify.Catalogs
}

// Endpoints are the endpoints stored per provider, where each comes from,
// and the learned templates with their counts.
type Endpoints struct {
	From      time.Time           `json:"from"`
	To        time.Time           `json:"to"`
	Providers []ProviderEndpoints `json:"providers"`
	Templates []LearnedTemplate   `json:"templates"`
}

// ProviderEndpoints are one provider's stored endpoints.
type ProviderEndpoints struct {
	Provider string `json:"provider"`
	// Distinct counts the provider's distinct stored endpoints, {other}
	// aside: what --max-endpoints bounds.
	Distinct int `json:"distinct"`
	// OtherRequests are the period's calls stored under {other}.
	OtherRequests int64            `json:"other_requests"`
	Endpoints     []StoredEndpoint `json:"endpoints"`
	// Unlisted counts the endpoints beyond the limit.
	Unlisted int `json:"unlisted"`
}

// StoredEndpoint is a stored endpoint and the period's calls.
type StoredEndpoint struct {
	Endpoint string `json:"endpoint"`
	// Source is where the endpoint comes from: "declared" (the provider's
	// catalog), "learned" (a learned template), "heuristic" (the path as
	// called with the ids the heuristics found), "literal" (the path as
	// called), or "overflow" ({other}).
	Source   string   `json:"source"`
	Methods  []string `json:"methods"`
	Requests int64    `json:"requests"`
	Errors   int64    `json:"errors"`
}

// LearnedTemplate is a learned rule with its evidence and the period's
// calls of its endpoint.
type LearnedTemplate struct {
	Provider  string    `json:"provider"`
	Method    string    `json:"method"`
	Endpoint  string    `json:"endpoint"`
	Values    int       `json:"values"` // distinct values its parameters took when learned (the fewest)
	LearnedAt time.Time `json:"learned_at"`
	Requests  int64     `json:"requests"`
	Errors    int64     `json:"errors"`
}

// BuildEndpoints reads the stored endpoints and learned templates.
func BuildEndpoints(ctx context.Context, r EndpointReader, o EndpointsOptions) (*Endpoints, error) {
	if o.Catalogs == nil {
		cats, err := classify.BuiltinCatalogs()
		if err != nil {
			return nil, err
		}
		o.Catalogs = cats
	}
	uses, err := r.EndpointUsage(ctx, o.From, o.To)
	if err != nil {
		return nil, err
	}
	rules, err := r.TemplateRules(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Endpoints{From: o.From, To: o.To, Templates: []LearnedTemplate{}, Providers: []ProviderEndpoints{}}
	learned := map[[2]string]bool{}
	use := map[[2]string]store.EndpointUse{}
	for _, u := range uses {
		use[[2]string{u.Provider, u.Endpoint}] = u
	}
	for _, l := range rules {
		if o.Provider != "" && l.Provider != o.Provider {
			continue
		}
		ep := strings.ReplaceAll(l.Pattern, "*", "{id}")
		learned[[2]string{l.Provider, ep}] = true
		u := use[[2]string{l.Provider, ep}]
		rep.Templates = append(rep.Templates, LearnedTemplate{Provider: l.Provider, Method: l.Method, Endpoint: ep,
			Values: l.Values, LearnedAt: l.LearnedAt.UTC(), Requests: u.Requests, Errors: u.Errors})
	}
	var cur *ProviderEndpoints
	for _, u := range uses {
		if o.Provider != "" && u.Provider != o.Provider {
			continue
		}
		if cur == nil || cur.Provider != u.Provider {
			rep.Providers = append(rep.Providers, ProviderEndpoints{Provider: u.Provider, Endpoints: []StoredEndpoint{}})
			cur = &rep.Providers[len(rep.Providers)-1]
		}
		source := "literal"
		if strings.Contains(u.Endpoint, "{id}") {
			source = "heuristic"
		}
		switch {
		case u.Endpoint == endpoints.Other:
			source = "overflow"
			cur.OtherRequests += u.Requests
		case o.Catalogs.Provider(u.Provider).Declares(u.Endpoint):
			source = "declared"
		case learned[[2]string{u.Provider, u.Endpoint}]:
			source = "learned"
		}
		if source != "overflow" {
			cur.Distinct++
		}
		methods := slices.DeleteFunc(slices.Clone(u.Methods), func(m string) bool { return m == "" })
		cur.Endpoints = append(cur.Endpoints, StoredEndpoint{Endpoint: u.Endpoint, Source: source, Methods: methods, Requests: u.Requests, Errors: u.Errors})
	}
	for i := range rep.Providers {
		p := &rep.Providers[i]
		slices.SortStableFunc(p.Endpoints, func(a, b StoredEndpoint) int {
			return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Endpoint, b.Endpoint))
		})
		if o.Limit > 0 && len(p.Endpoints) > o.Limit {
			p.Unlisted = len(p.Endpoints) - o.Limit
			p.Endpoints = p.Endpoints[:o.Limit]
		}
	}
	return rep, nil
}

// WriteJSON writes the report as JSON.
func (e *Endpoints) WriteJSON(w io.Writer) error { return writeJSON(w, e) }

// WriteText writes the report for a terminal.
func (e *Endpoints) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", wrapText(fmt.Sprintf("Endpoints stored, with their calls from %s to %s.",
		e.From.Format(time.RFC3339), e.To.Format(time.RFC3339)), Width, ""))
	if len(e.Providers) == 0 {
		ew.printf("\nNo endpoint stored.\n")
	}
	for _, p := range e.Providers {
		ew.printf("\n%s: %d distinct endpoints", oneLine(p.Provider), p.Distinct)
		if p.OtherRequests > 0 {
			ew.printf(", %d calls over the bound under {other}", p.OtherRequests)
		}
		ew.printf("\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		ew.w = tw
		ew.printf("  ENDPOINT\tSOURCE\tMETHODS\tREQUESTS\tERRORS\n")
		for _, c := range p.Endpoints {
			ew.printf("  %s\t%s\t%s\t%d\t%d\n", oneLine(c.Endpoint), c.Source, oneLine(strings.Join(c.Methods, ",")), c.Requests, c.Errors)
		}
		if err := tw.Flush(); err != nil && ew.err == nil {
			ew.err = err
		}
		ew.w = w
		if p.Unlisted > 0 {
			ew.printf("  … and %d more (--limit)\n", p.Unlisted)
		}
	}
	ew.printf("\nLearned templates: %d\n", len(e.Templates))
	if len(e.Templates) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		ew.w = tw
		ew.printf("  PROVIDER\tMETHOD\tTEMPLATE\tVALUES\tLEARNED\tREQUESTS\tERRORS\n")
		for _, l := range e.Templates {
			method := l.Method
			if method == "" {
				method = "(any)"
			}
			ew.printf("  %s\t%s\t%s\t%d\t%s\t%d\t%d\n", oneLine(l.Provider), oneLine(method), oneLine(l.Endpoint), l.Values,
				l.LearnedAt.Format("2006-01-02 15:04"), l.Requests, l.Errors)
		}
		if err := tw.Flush(); err != nil && ew.err == nil {
			ew.err = err
		}
		ew.w = w
	}
	return ew.err
}
