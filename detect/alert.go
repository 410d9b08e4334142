package detect

import (
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/classify"
)

// Alert is one incident of a rule for a provider and a subject, from its
// start to its end: what the detectors find and what the store keeps
// (store.Alert is this type), whole. Zero times are unset.
type Alert struct {
	// ID is the stored alert's id: 0 until it is stored.
	ID       int64
	Rule     Rule
	Provider string
	// Subject tells incidents of one rule and provider apart: the code of
	// a new-code alert, "" for the rate rules.
	Subject  string
	Category classify.Category
	Code     string
	Subcode  string
	Severity string
	// Series is the series the detector follows: "" for the rule's rate,
	// a decline code's (EncodeSeries) or a new code.
	Series string
	// Expected is the baseline rate; Level the rate the evidence showed
	// the incident at (at least the smallest rise worth a page); CloseBelow
	// the rate under which the data count as evidence that it is over.
	// All three are fixed when it opens.
	Expected   float64
	Level      float64
	CloseBelow float64
	// Evidence is the log-likelihood ratio, in nats, that opened it.
	Evidence float64
	// Observed is the worst rate seen, of ObservedCount errors in
	// ObservedRequests requests over ObservedWindow.
	Observed         float64
	ObservedCount    int64
	ObservedRequests int64
	ObservedWindow   time.Duration
	StartsAt         time.Time
	EndsAt           time.Time // zero while firing
	DetectedAt       time.Time // the end of the minute whose evaluation opened it
	ResolvedAt       time.Time // the end of the minute whose evaluation closed it
	LastEvaluated    time.Time
	// PagedAt is when it was first sent to be seen: DetectedAt, or the end
	// of its suppression when it outlasted it; zero while suppressed.
	PagedAt     time.Time
	Suppression Suppression
	// ParentID is the stored alert this one joined (Suppression "joined");
	// Parent is that alert's Key in the evaluation that joined them.
	ParentID int64
	Parent   string
	Summary  string
	Context  AlertContext
	// UpdatedAt is set by the store.
	UpdatedAt time.Time
}

// Firing reports whether the incident is not over.
func (a *Alert) Firing() bool { return a.EndsAt.IsZero() }

// Paging reports whether the alert is sent: not suppressed, or released
// from its suppression.
func (a *Alert) Paging() bool { return !a.PagedAt.IsZero() }

// Errors names the errors the alert is about: its rule's categories (a
// new code's own category), and the code and subcode when it follows one
// code's series ("" for every code, or every subcode of the code).
func (a *Alert) Errors() (categories []classify.Category, code, subcode string) {
	switch {
	case a.Rule == NewCode:
		return []classify.Category{a.Category}, a.Code, ""
	case a.Series != "":
		return a.Rule.Categories(), a.Code, a.Subcode
	}
	return a.Rule.Categories(), "", ""
}

// Window is the span of the alert's incident: from its start to its end,
// or to the last minute evaluated while it fires; a minute at least.
func (a *Alert) Window() (from, to time.Time) {
	from, to = a.StartsAt, a.EndsAt
	if to.IsZero() {
		to = a.LastEvaluated
	}
	if !to.After(from) {
		to = from.Add(time.Minute)
	}
	return from, to
}

// Key identifies an incident: its rule, provider, subject and start.
func (a *Alert) Key() string {
	return fmt.Sprintf("%s/%s/%s/%d", a.Rule, a.Provider, a.Subject, a.StartsAt.Unix())
}

// Suppression says why an alert is not sent.
type Suppression struct {
	Reason SuppressReason
	// Until is when the suppression lapses (zero: while it fires); an
	// alert still firing after it, on fresh evidence, is sent then.
	Until  time.Time
	Detail string
}

// SuppressReason names a reason for not sending an alert.
type SuppressReason string

// The reasons.
const (
	// Maintenance: opened inside a maintenance window of the provider.
	Maintenance SuppressReason = "maintenance"
	// Recurring: the same rule, provider and subject alerted at the same
	// minute of the week in earlier weeks.
	Recurring SuppressReason = "recurring"
	// Joined: part of an incident another alert already pages for.
	Joined SuppressReason = "joined"
)

// AlertContext is what on-call needs to start on an alert, read from the
// rollups, the error groups and a bounded sample of the incident's events,
// and the alerts that joined it.
type AlertContext struct {
	// From and To bound the period described.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// TopCodes are the provider's codes (and subcodes) of the alert's
	// categories, most frequent first.
	TopCodes []CodeCount `json:"top_codes"`
	// TopEndpoints are the endpoints of those errors, most frequent first.
	TopEndpoints []EndpointCount `json:"top_endpoints"`
	// TenantsAffected counts the distinct tenants of those errors.
	TenantsAffected int `json:"tenants_affected"`
	// SampleCorrelationID is the provider's id of one of the errors, the
	// latest found: `report lookup` takes it.
	SampleCorrelationID string `json:"sample_correlation_id,omitempty"`
	// Sampled is true when the incident had more events than were read:
	// endpoints and tenants then describe the latest SampledEvents events.
	Sampled       bool `json:"sampled,omitempty"`
	SampledEvents int  `json:"sampled_events"`
	// Joined are the alerts of other rules (or other new codes) that saw
	// the same incident and joined this one instead of paging.
	Joined []JoinedAlert `json:"joined,omitempty"`
}

// CodeCount counts a provider code and subcode.
type CodeCount struct {
	Code    string `json:"code"`
	Subcode string `json:"subcode,omitempty"`
	Count   int64  `json:"count"`
}

// EndpointCount counts errors of an endpoint.
type EndpointCount struct {
	Method   string `json:"method,omitempty"`
	Endpoint string `json:"endpoint"`
	Count    int64  `json:"count"`
}

// JoinedAlert is an alert that joined another's incident.
type JoinedAlert struct {
	Rule       Rule              `json:"rule"`
	Subject    string            `json:"subject,omitempty"`
	Category   classify.Category `json:"category"`
	Code       string            `json:"code,omitempty"`
	Severity   string            `json:"severity"`
	DetectedAt time.Time         `json:"detected_at"`
	Summary    string            `json:"summary"`
}
