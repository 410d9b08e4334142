package report

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// DefaultTopEndpoints is how many endpoints the weekly report lists per
// provider by default (its codes: DefaultTopCodes).
const DefaultTopEndpoints = 5

// WeeklyOptions choose the week and how much of it to list.
type WeeklyOptions struct {
	Week Week
	// Location is where the week and its days begin and end; nil is UTC.
	// Its name must be an IANA zone name (Postgres counts the days).
	Location *time.Location
	// TopCodes and TopEndpoints bound those lists per provider
	// (DefaultTopCodes and DefaultTopEndpoints).
	TopCodes, TopEndpoints int
	// Catalogs tell documented codes from others; nil is the built-in
	// catalogs.
	Catalogs *classify.Catalogs
	// Alerts lists the week's alerts (store.Store does); nil lists none.
	Alerts AlertLister
}

// AlertLister lists the stored alerts whose incident overlaps [from, to).
type AlertLister interface {
	ListAlerts(ctx context.Context, from, to time.Time) ([]store.Alert, error)
}

// Weekly is the weekly error report.
type Weekly struct {
	Week         string    `json:"week"`
	PreviousWeek string    `json:"previous_week"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Timezone     string    `json:"timezone"`
	// Days are the week's dates (YYYY-MM-DD), Monday first.
	Days []string `json:"days"`
	// NoTraffic is set when nothing at all was recorded in the week.
	NoTraffic bool `json:"no_traffic"`
	// Totals are over every provider.
	Totals Totals `json:"totals"`
	// Providers are in name order: those with traffic in the week or the
	// week before.
	Providers []ProviderWeek `json:"providers"`
	// Alerts are the alerts whose incident overlaps the week, by start.
	Alerts []WeekAlert `json:"alerts"`
}

// WeekAlert is an alert of the week (see `report alerts`).
type WeekAlert struct {
	Rule     string     `json:"rule"`
	Provider string     `json:"provider"`
	Category string     `json:"category"`
	Code     string     `json:"code"`
	Subcode  string     `json:"subcode"`
	Severity string     `json:"severity"`
	StartsAt time.Time  `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"` // null while firing
	// Observed is the worst window's error rate, Expected the baseline.
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	Summary  string  `json:"summary"`
}

// Totals are requests and errors of a week and the week before.
type Totals struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// ErrorRateChange is the error rate minus the previous week's: 0.01 is
	// one percentage point more.
	ErrorRateChange   float64 `json:"error_rate_change"`
	PreviousRequests  int64   `json:"previous_requests"`
	PreviousErrors    int64   `json:"previous_errors"`
	PreviousErrorRate float64 `json:"previous_error_rate"`
}

// ProviderWeek is one provider's week.
type ProviderWeek struct {
	Provider string `json:"provider"`
	Totals
	// ByCategory counts the week's errors per category.
	ByCategory         map[string]int64 `json:"by_category"`
	PreviousByCategory map[string]int64 `json:"previous_by_category"`
	// TopCodes are the most frequent codes (with subcode) of the week.
	TopCodes []CodeCount `json:"top_codes"`
	// NewCodes are the codes first seen in the week.
	NewCodes []NewCode `json:"new_codes"`
	// TopEndpoints are the endpoints with the most errors.
	TopEndpoints []EndpointCount `json:"top_endpoints"`
	// Daily has one entry per day of the week.
	Daily []DayCount `json:"daily"`
}

// CodeCount is a code's errors in the week and the week before.
type CodeCount struct {
	Category      string `json:"category"`
	Code          string `json:"code"`
	Subcode       string `json:"subcode"`
	Count         int64  `json:"count"`
	PreviousCount int64  `json:"previous_count"`
	// Change is Count relative to PreviousCount (0.5 is +50%); absent
	// when the code had no errors the week before.
	Change *float64 `json:"change,omitempty"`
	Known  bool     `json:"known"`
}

// EndpointCount is an endpoint's requests and errors.
type EndpointCount struct {
	Endpoint       string  `json:"endpoint"`
	Requests       int64   `json:"requests"`
	Errors         int64   `json:"errors"`
	ErrorRate      float64 `json:"error_rate"`
	PreviousErrors int64   `json:"previous_errors"`
}

// DayCount is one day of a provider's week.
type DayCount struct {
	Date       string           `json:"date"`
	Requests   int64            `json:"requests"`
	Errors     int64            `json:"errors"`
	ErrorRate  float64          `json:"error_rate"`
	ByCategory map[string]int64 `json:"by_category"`
}

// BuildWeekly reads the week's rollups and the week before's.
func BuildWeekly(ctx context.Context, src RollupReader, o WeeklyOptions) (*Weekly, error) {
	cats, err := catalogsOr(o.Catalogs)
	if err != nil {
		return nil, err
	}
	loc := locationOr(o.Location)
	topCodes, topEndpoints := cmp.Or(o.TopCodes, DefaultTopCodes), cmp.Or(o.TopEndpoints, DefaultTopEndpoints)
	prevWeek := o.Week.Previous()
	rep := &Weekly{
		Week: o.Week.String(), PreviousWeek: prevWeek.String(),
		From: o.Week.Start(loc), To: o.Week.End(loc), Timezone: loc.String(),
		Providers: []ProviderWeek{}, Alerts: []WeekAlert{},
	}
	for d := rep.From; d.Before(rep.To); d = d.AddDate(0, 0, 1) {
		rep.Days = append(rep.Days, d.Format(time.DateOnly))
	}
	r, err := src.ReadReportRollups(ctx, store.ReportQuery{
		Current: splitPeriod(rep.From, rep.To, loc), Previous: splitPeriod(prevWeek.Start(loc), rep.From, loc),
		NewFrom: rep.From, NewTo: rep.To, Location: loc,
	})
	if err != nil {
		return nil, fmt.Errorf("report: weekly %s: %w", rep.Week, err)
	}
	if o.Alerts != nil {
		alerts, err := o.Alerts.ListAlerts(ctx, rep.From, rep.To)
		if err != nil {
			return nil, fmt.Errorf("report: weekly %s: %w", rep.Week, err)
		}
		for _, a := range alerts {
			wa := WeekAlert{Rule: string(a.Rule), Provider: a.Provider, Category: string(a.Category), Code: a.Code, Subcode: a.Subcode,
				Severity: a.Severity, StartsAt: a.StartsAt.In(loc), Observed: a.Observed, Expected: a.Expected, Summary: a.Summary}
			if !a.EndsAt.IsZero() {
				end := a.EndsAt.In(loc)
				wa.EndsAt = &end
			}
			rep.Alerts = append(rep.Alerts, wa)
		}
	}
	rep.NoTraffic = len(r.Current.Traffic) == 0 && len(r.Current.Errors) == 0
	if rep.NoTraffic {
		return rep, nil
	}

	byName := map[string]*ProviderWeek{}
	provider := func(name string) *ProviderWeek {
		p := byName[name]
		if p == nil {
			p = &ProviderWeek{Provider: name, ByCategory: map[string]int64{}, PreviousByCategory: map[string]int64{},
				TopCodes: []CodeCount{}, NewCodes: []NewCode{}, TopEndpoints: []EndpointCount{}}
			for _, d := range rep.Days {
				p.Daily = append(p.Daily, DayCount{Date: d, ByCategory: map[string]int64{}})
			}
			byName[name] = p
		}
		return p
	}
	dayIndex := func(t time.Time) int { return slices.Index(rep.Days, t.In(loc).Format(time.DateOnly)) }

	endpoints := map[string]map[string]*EndpointCount{}
	for _, row := range r.Current.Traffic {
		p := provider(row.Provider)
		p.Requests += row.Requests
		p.Errors += row.Errors
		if i := dayIndex(row.Day); i >= 0 {
			p.Daily[i].Requests += row.Requests
			p.Daily[i].Errors += row.Errors
		}
		endpointOf(endpoints, row.Provider, row.Endpoint).add(row.Requests, row.Errors, 0)
	}
	for _, row := range r.Previous.Traffic {
		p := provider(row.Provider)
		p.PreviousRequests += row.Requests
		p.PreviousErrors += row.Errors
		endpointOf(endpoints, row.Provider, row.Endpoint).add(0, 0, row.Errors)
	}
	codes := map[string]map[key]*CodeCount{}
	codeOf := func(k key) *CodeCount {
		m := codes[k.provider]
		if m == nil {
			m = map[key]*CodeCount{}
			codes[k.provider] = m
		}
		c := m[k]
		if c == nil {
			c = &CodeCount{Category: k.category, Code: k.code, Subcode: k.subcode, Known: known(cats, k.provider, k.code)}
			m[k] = c
		}
		return c
	}
	for _, row := range r.Current.Errors {
		p := provider(row.Provider)
		p.ByCategory[row.Category] += row.Count
		if i := dayIndex(row.Day); i >= 0 {
			p.Daily[i].ByCategory[row.Category] += row.Count
		}
		codeOf(key{row.Provider, row.Category, row.Code, row.Subcode}).Count += row.Count
	}
	for _, row := range r.Previous.Errors {
		p := provider(row.Provider)
		p.PreviousByCategory[row.Category] += row.Count
		codeOf(key{row.Provider, row.Category, row.Code, row.Subcode}).PreviousCount += row.Count
	}
	for _, c := range r.NewCodes {
		if c.Code == "" {
			continue // an error without a code (a timeout, a proxy's page) is no new code
		}
		p := provider(c.Provider)
		var n int64
		for k, cc := range codes[c.Provider] {
			if k.code == c.Code && k.subcode == c.Subcode {
				n += cc.Count
			}
		}
		p.NewCodes = append(p.NewCodes, NewCode{
			Provider: c.Provider, Category: c.Category, Code: c.Code, Subcode: c.Subcode,
			FirstSeen: c.FirstSeen.In(loc), Count: n, Known: known(cats, c.Provider, c.Code),
		})
	}

	for _, name := range slices.Sorted(maps.Keys(byName)) {
		p := byName[name]
		p.ErrorRate, p.PreviousErrorRate = rate(p.Errors, p.Requests), rate(p.PreviousErrors, p.PreviousRequests)
		p.ErrorRateChange = p.ErrorRate - p.PreviousErrorRate
		for i := range p.Daily {
			p.Daily[i].ErrorRate = rate(p.Daily[i].Errors, p.Daily[i].Requests)
		}
		for _, c := range codes[name] {
			if c.Count > 0 {
				if c.PreviousCount > 0 {
					ch := float64(c.Count)/float64(c.PreviousCount) - 1
					c.Change = &ch
				}
				p.TopCodes = append(p.TopCodes, *c)
			}
		}
		p.TopCodes = rankCodes(p.TopCodes, topCodes, func(c *CodeCount) codeRank {
			return codeRank{c.Count, c.Category, c.Code, c.Subcode}
		})
		for _, e := range endpoints[name] {
			if e.Errors > 0 {
				e.ErrorRate = rate(e.Errors, e.Requests)
				p.TopEndpoints = append(p.TopEndpoints, *e)
			}
		}
		slices.SortFunc(p.TopEndpoints, func(a, b EndpointCount) int {
			return cmp.Or(cmp.Compare(b.Errors, a.Errors), cmp.Compare(a.Endpoint, b.Endpoint))
		})
		p.TopEndpoints = p.TopEndpoints[:min(len(p.TopEndpoints), topEndpoints)]

		rep.Totals.Requests += p.Requests
		rep.Totals.Errors += p.Errors
		rep.Totals.PreviousRequests += p.PreviousRequests
		rep.Totals.PreviousErrors += p.PreviousErrors
		rep.Providers = append(rep.Providers, *p)
	}
	t := &rep.Totals
	t.ErrorRate, t.PreviousErrorRate = rate(t.Errors, t.Requests), rate(t.PreviousErrors, t.PreviousRequests)
	t.ErrorRateChange = t.ErrorRate - t.PreviousErrorRate
	return rep, nil
}

func endpointOf(m map[string]map[string]*EndpointCount, provider, endpoint string) *EndpointCount {
	byEndpoint := m[provider]
	if byEndpoint == nil {
		byEndpoint = map[string]*EndpointCount{}
		m[provider] = byEndpoint
	}
	e := byEndpoint[endpoint]
	if e == nil {
		e = &EndpointCount{Endpoint: endpoint}
		byEndpoint[endpoint] = e
	}
	return e
}

func (e *EndpointCount) add(requests, errors, previousErrors int64) {
	e.Requests += requests
	e.Errors += errors
	e.PreviousErrors += previousErrors
}
