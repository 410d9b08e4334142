package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// EventFinder finds stored events by id (store.Store does).
type EventFinder interface {
	FindEvents(ctx context.Context, ids []string, from, to time.Time, limit int) (*store.Lookup, error)
}

// LookupOptions say what to look up and how to describe it.
type LookupOptions struct {
	IDs []string
	// From and To narrow the search to [From, To); zero leaves a side open.
	From, To time.Time
	// Limit bounds the events returned (newest first); 0 is
	// store.DefaultLookupLimit.
	Limit int
	// Location is where times are also shown (besides UTC); nil is UTC.
	Location *time.Location
	// Catalogs give the cause, remediation and escalation text; nil is the
	// built-in catalogs.
	Catalogs *classify.Catalogs
}

// LookupResult is everything known about the events of some ids.
type LookupResult struct {
	IDs  []string   `json:"ids"`
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
	// Events are the events found, newest first.
	Events []LookupEvent `json:"events"`
	// Unmatched are the ids that found no event.
	Unmatched []string `json:"unmatched"`
	// Truncated is set when more events matched than the limit.
	Truncated bool `json:"truncated"`
}

// LookupEvent is one stored error event, described for an escalation.
type LookupEvent struct {
	Time      time.Time `json:"time"`
	LocalTime string    `json:"local_time"` // RFC 3339 in the lookup's location
	MatchedBy []Match   `json:"matched_by"`
	local     time.Time

	Provider    string   `json:"provider"`
	Service     string   `json:"service"`
	Env         string   `json:"env"`
	Tenant      string   `json:"tenant"`
	Method      string   `json:"method"`
	Host        string   `json:"host"`
	Endpoint    string   `json:"endpoint"`
	Status      int      `json:"status"`
	DurationMS  float64  `json:"duration_ms"`
	Category    string   `json:"category"`
	Code        string   `json:"code"`
	Subcode     string   `json:"subcode"`
	Retryable   bool     `json:"retryable"`
	Known       bool     `json:"known"`
	Message     string   `json:"message"`
	Correlation string   `json:"correlation_id"`
	TraceID     string   `json:"trace_id"`
	References  []string `json:"references"`
	// Cause and Remediation are the provider catalog's words for the code
	// (or, for an error without a code, its status); empty when the
	// catalog has none.
	Cause       string `json:"cause"`
	Remediation string `json:"remediation"`
	// Body is the response body as stored: redacted and bounded.
	Body        string      `json:"body"`
	Fingerprint Fingerprint `json:"fingerprint"`
	Escalation  Escalation  `json:"escalation"`
}

// Match is a looked-up id and which of the event's ids it is.
type Match struct {
	ID string `json:"id"`
	// As is correlation_id, trace_id or reference.
	As string `json:"as"`
}

// Fingerprint says how common the event's kind of error is.
type Fingerprint struct {
	Key string `json:"key"`
	// Others is how many other events ever stored share the fingerprint,
	// since Since.
	Others int64      `json:"others"`
	Since  *time.Time `json:"since,omitempty"`
}

// Escalation is what to send to the provider's support about one event.
type Escalation struct {
	Provider string `json:"provider"`
	// IDs are the provider's identifiers of the request, under the names
	// its documentation uses.
	IDs      []NamedID `json:"ids"`
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"` // METHOD /templated/path
	Status   int       `json:"status"`
	Code     string    `json:"code"`
	// SubcodeName is what the provider calls the subcode (failure_code).
	SubcodeName string `json:"subcode_name,omitempty"`
	Subcode     string `json:"subcode,omitempty"`
	// Instructions are what the provider's documentation asks for.
	Instructions string `json:"instructions"`
}

// NamedID is an identifier under the provider's name for it.
type NamedID struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Lookup finds the events of o.IDs and describes them.
func Lookup(ctx context.Context, f EventFinder, o LookupOptions) (*LookupResult, error) {
	cats, err := catalogsOr(o.Catalogs)
	if err != nil {
		return nil, err
	}
	loc := locationOr(o.Location)
	found, err := f.FindEvents(ctx, o.IDs, o.From, o.To, o.Limit)
	if err != nil {
		return nil, err
	}
	res := &LookupResult{IDs: o.IDs, Events: []LookupEvent{}, Unmatched: []string{}, Truncated: found.Truncated}
	if !o.From.IsZero() {
		from := o.From.UTC()
		res.From = &from
	}
	if !o.To.IsZero() {
		to := o.To.UTC()
		res.To = &to
	}
	for i := range found.Events {
		res.Events = append(res.Events, describe(&found.Events[i], cats, loc))
	}
	for _, id := range o.IDs {
		if !slices.Contains(found.Found, id) && !slices.Contains(res.Unmatched, id) {
			res.Unmatched = append(res.Unmatched, id)
		}
	}
	return res, nil
}

func describe(f *store.FoundEvent, cats *classify.Catalogs, loc *time.Location) LookupEvent {
	e := LookupEvent{
		Time: f.TS.UTC(), LocalTime: f.TS.In(loc).Format(time.RFC3339Nano), local: f.TS.In(loc),
		Provider: f.Provider, Service: f.Service, Env: f.Env, Tenant: f.Tenant,
		Method: f.Method, Host: f.Host, Endpoint: f.Endpoint, Status: f.Status, DurationMS: f.DurationMS,
		Category: f.Category, Code: f.Code, Subcode: f.Subcode, Retryable: f.Retryable, Known: f.Known,
		Message: f.Message, Correlation: f.CorrelationID, TraceID: f.TraceID, References: f.References,
		Body: f.Body,
	}
	if e.References == nil {
		e.References = []string{}
	}
	for _, m := range f.Matched {
		e.MatchedBy = append(e.MatchedBy, Match{ID: m.ID, As: m.Kind.String()})
	}
	e.Fingerprint = Fingerprint{Key: f.Fingerprint, Others: max(f.GroupCount-1, 0)}
	if !f.GroupFirstSeen.IsZero() {
		since := f.GroupFirstSeen.UTC()
		e.Fingerprint.Since = &since
	}
	cat := cats.Provider(f.Provider)
	e.Cause, e.Remediation = catalogWords(cat, f.Code, f.Status, f.Method, f.Endpoint)
	e.Escalation = escalation(&e, cat)
	return e
}

// catalogWords are the provider catalog's cause and remediation of a
// code (or, for an error without a code, of its status); "" when the
// catalog has none.
func catalogWords(cat *classify.Catalog, code string, status int, method, endpoint string) (cause, remediation string) {
	switch {
	case cat == nil:
	case code != "":
		if entry := cat.Lookup(code, status, method, endpoint); entry != nil {
			return entry.Cause, entry.Remediation
		}
	default:
		if rule := cat.StatusRule(status); rule != nil {
			return "", rule.Remediation
		}
	}
	return "", ""
}

// escalation builds the block for the provider's support: its ids under
// its documentation's names, when, what, and what it asks for.
func escalation(e *LookupEvent, cat *classify.Catalog) Escalation {
	x := Escalation{
		Provider: e.Provider, Time: e.Time, Endpoint: strings.TrimSpace(e.Method + " " + e.Endpoint),
		Status: e.Status, Code: e.Code, Subcode: e.Subcode,
	}
	if e.Subcode != "" {
		x.SubcodeName = subcodeName(e.Provider)
	}
	if e.Correlation != "" {
		x.IDs = append(x.IDs, NamedID{Name: correlationName(cat), Value: e.Correlation})
	}
	for _, r := range e.References {
		x.IDs = append(x.IDs, NamedID{Name: referenceName(e.Provider, r), Value: r})
	}
	if cat != nil {
		x.Instructions = cat.Escalation
	}
	if x.Instructions == "" {
		x.Instructions = "The catalogs have no escalation instructions for provider " + e.Provider + "."
	}
	return x
}

// correlationName is what the provider's documentation calls its request
// id: the body field it comes from, or a response header.
func correlationName(cat *classify.Catalog) string {
	if cat != nil && len(cat.CorrelationFields) > 0 {
		return cat.CorrelationFields[0]
	}
	return "request id (response header)"
}

// referenceName names a secondary reference: Finix authorization (AU…)
// and transfer (TR…) ids.
func referenceName(provider, ref string) string {
	if provider == "finix" {
		switch {
		case strings.HasPrefix(ref, "AU"):
			return "authorization"
		case strings.HasPrefix(ref, "TR"):
			return "transfer"
		}
	}
	return "reference"
}

// subcodeName is what a provider calls the finer code.
func subcodeName(provider string) string {
	switch provider {
	case "finix":
		return "failure_code"
	case "flexiti":
		return "field_errors.param"
	}
	return "subcode"
}

// builtinCatalogs are parsed once: a lookup takes well under a
// millisecond, parsing the catalogs about as long.
var builtinCatalogs = sync.OnceValues(classify.BuiltinCatalogs)

func catalogsOr(c *classify.Catalogs) (*classify.Catalogs, error) {
	if c != nil {
		return c, nil
	}
	c, err := builtinCatalogs()
	if err != nil {
		return nil, fmt.Errorf("report: catalogs: %w", err)
	}
	return c, nil
}

func locationOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
