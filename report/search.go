package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/store"
)

// Search without an id: support's question "merchant X says card payments
// failed this morning" is the events of a tenant (or a service, or a
// provider) over a window, newest first, a page at a time. Each event
// links to its lookup, where the escalation block is.

// Search windows and pages.
const (
	DefaultSearchWindow = 24 * time.Hour
	MaxSearchWindow     = 31 * 24 * time.Hour
	DefaultSearchLimit  = 50
	MaxSearchLimit      = 500
)

// EventSearcher searches stored events (store.Store does).
type EventSearcher interface {
	SearchEvents(ctx context.Context, q store.SearchQuery) (*store.SearchPage, error)
}

// SearchOptions say what to search. Tenant, Service or Provider (at least
// one) is the scope; the others narrow it.
type SearchOptions struct {
	Tenant, Service, Provider string
	Category, Code, Endpoint  string
	Status                    int
	// From and To bound the window, [From, To): by default the
	// DefaultSearchWindow before To, To being now; at most
	// MaxSearchWindow. With After, the cursor's window (From and To, when
	// given, must be it).
	From, To time.Time
	// After is the cursor of the page before (SearchResult.Next).
	After string
	// Limit bounds the events of a page (0: DefaultSearchLimit).
	Limit int
	// Now is the clock (zero: time.Now).
	Now time.Time
}

// SearchResult is a page of events.
type SearchResult struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Events []SearchEvent `json:"events"`
	// Next is the cursor of the next page; null on the last.
	Next *string `json:"next"`
}

// SearchEvent is an event found: the lookup's fields but the body and
// the catalog's words, and the id to look it up by.
type SearchEvent struct {
	TS            time.Time `json:"ts"`
	Provider      string    `json:"provider"`
	Tenant        string    `json:"tenant"`
	Service       string    `json:"service"`
	Env           string    `json:"env"`
	Method        string    `json:"method"`
	Host          string    `json:"host"`
	Endpoint      string    `json:"endpoint"`
	Status        int       `json:"status"`
	DurationMS    float64   `json:"duration_ms"`
	Category      string    `json:"category"`
	Code          string    `json:"code"`
	Subcode       string    `json:"subcode"`
	Retryable     bool      `json:"retryable"`
	Known         bool      `json:"known"`
	Message       string    `json:"message"`
	CorrelationID string    `json:"correlation_id"`
	TraceID       string    `json:"trace_id"`
	References    []string  `json:"references"`
	// Group is the event's error group (its fingerprint: /groups/{group}).
	Group string `json:"group"`
	// Lookup is the id `report lookup` finds it by: its provider's
	// request id, else our trace id, else a reference; "" when it has
	// none.
	Lookup string `json:"lookup"`
}

// searchFilters are the filters a search cursor is bound to.
func (o *SearchOptions) filters() uint64 {
	return queryHash('s', o.Tenant, o.Service, o.Provider, o.Category, o.Code, o.Endpoint, strconv.Itoa(o.Status))
}

// Check refuses options Search would refuse without reading anything:
// an error wrapping ErrBadQuery.
func (o *SearchOptions) Check() error {
	_, err := o.query()
	return err
}

// query resolves o into the store's query.
func (o *SearchOptions) query() (store.SearchQuery, error) {
	q := store.SearchQuery{Tenant: o.Tenant, Service: o.Service, Provider: o.Provider,
		Category: o.Category, Code: o.Code, Endpoint: o.Endpoint, Status: o.Status, Limit: o.Limit}
	if o.Tenant == "" && o.Service == "" && o.Provider == "" {
		return q, fmt.Errorf("%w: search needs a tenant, a service or a provider", ErrBadQuery)
	}
	if o.Status < 0 || o.Status > 599 {
		return q, fmt.Errorf("%w: status %d is not an HTTP status", ErrBadQuery, o.Status)
	}
	if q.Limit == 0 {
		q.Limit = DefaultSearchLimit
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		return q, fmt.Errorf("%w: limit %d, want 1 to %d", ErrBadQuery, q.Limit, MaxSearchLimit)
	}
	var err error
	if q.From, q.To, err = window(o.From, o.To, o.Now, DefaultSearchWindow, MaxSearchWindow); err != nil {
		return q, err
	}
	if o.After != "" {
		c, err := parseCursor(o.After, 's', o.filters())
		if err != nil {
			return q, err
		}
		if (!o.From.IsZero() && !o.From.Equal(c.from)) || (!o.To.IsZero() && !o.To.Equal(c.to)) {
			return q, fmt.Errorf("%w: the cursor is of the window %s to %s", ErrBadQuery, c.from.Format(time.RFC3339), c.to.Format(time.RFC3339))
		}
		if c.to.Sub(c.from) > MaxSearchWindow || c.at.Before(c.from) {
			return q, fmt.Errorf("%w: the cursor (--after, after=) cannot be one: list again from the first page", ErrBadQuery)
		}
		q.From, q.To, q.AfterTS, q.AfterID = c.from, c.to, c.at, c.id
	}
	return q, nil
}

// Search runs o. Bad options are an error wrapping ErrBadQuery.
func Search(ctx context.Context, src EventSearcher, o SearchOptions) (*SearchResult, error) {
	q, err := o.query()
	if err != nil {
		return nil, err
	}
	page, err := src.SearchEvents(ctx, q)
	if errors.Is(err, store.ErrBadSearch) {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	if err != nil {
		return nil, err
	}
	res := &SearchResult{From: q.From, To: q.To, Events: make([]SearchEvent, 0, len(page.Events))}
	for i := range page.Events {
		res.Events = append(res.Events, searchEvent(&page.Events[i]))
	}
	if page.More && len(page.Events) > 0 {
		last := page.Events[len(page.Events)-1]
		next := cursor{kind: 's', from: q.From, to: q.To, at: last.TS, id: last.ID, query: o.filters()}.String()
		res.Next = &next
	}
	return res, nil
}

// window resolves a window: to defaults to now, from to the default
// length before to; it must be at most max long.
func window(from, to, now time.Time, def, most time.Duration) (time.Time, time.Time, error) {
	if now.IsZero() {
		now = time.Now()
	}
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.Add(-def)
	}
	from, to = from.UTC(), to.UTC()
	switch {
	case !from.Before(to):
		return from, to, fmt.Errorf("%w: from (%s) must be before to (%s)", ErrBadQuery, from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > most:
		return from, to, fmt.Errorf("%w: the window %s to %s is longer than %s", ErrBadQuery, from.Format(time.RFC3339), to.Format(time.RFC3339), days(most))
	}
	return from, to, nil
}

// days says a duration of whole days: "31 days".
func days(d time.Duration) string {
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

func searchEvent(e *store.SearchEvent) SearchEvent {
	s := SearchEvent{TS: e.TS, Provider: e.Provider, Tenant: e.Tenant, Service: e.Service, Env: e.Env, Method: e.Method,
		Host: e.Host, Endpoint: e.Endpoint, Status: e.Status, DurationMS: e.DurationMS, Category: e.Category, Code: e.Code,
		Subcode: e.Subcode, Retryable: e.Retryable, Known: e.Known, Message: e.Message, CorrelationID: e.CorrelationID,
		TraceID: e.TraceID, References: e.References, Group: e.Fingerprint}
	if s.References == nil {
		s.References = []string{}
	}
	switch {
	case e.CorrelationID != "":
		s.Lookup = e.CorrelationID
	case e.TraceID != "":
		s.Lookup = e.TraceID
	case len(e.References) > 0:
		s.Lookup = e.References[0]
	}
	return s
}

// WriteJSON writes the page as one JSON object: {"events": […], "next":
// cursor or null, "from", "to"}.
func (r *SearchResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the page for people: a line per event (time, provider,
// status, code, endpoint, tenant, the id to look it up by), newest first,
// for an 80-column terminal, and how to get the next page.
func (r *SearchResult) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	switch n := len(r.Events); {
	case n == 0:
		ew.printf("No event found from %s to %s.\n", r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	default:
		more := ""
		if r.Next != nil {
			more = " (more: the next page below)"
		}
		ew.printf("%s from %s to %s, newest first%s.\n", plural(n, "event", "events"), r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), more)
	}
	for _, e := range r.Events {
		code := oneLine(strings.TrimSpace(e.Code + " " + e.Subcode))
		if code == "" {
			code = "(" + oneLine(e.Category) + ")"
		}
		status := "---"
		if e.Status != 0 {
			status = strconv.Itoa(e.Status)
		}
		ew.printf("\n%s  %-8s %s  %s\n", e.TS.Format("2006-01-02 15:04:05.000Z"), oneLine(e.Provider), status, code)
		ew.printf("  %s %s", oneLine(e.Method), oneLine(e.Endpoint))
		if e.Tenant != "" {
			ew.printf("  tenant %s", oneLine(e.Tenant))
		}
		if e.Service != "" {
			ew.printf("  service %s", oneLine(e.Service))
		}
		ew.printf("\n")
		if e.Lookup != "" {
			ew.printf("  report lookup %s\n", oneLine(e.Lookup))
		} else {
			ew.printf("  (no id to look it up by)\n")
		}
	}
	if r.Next != nil {
		ew.printf("\nNext page: --after %s\n", *r.Next)
	}
	return ew.err
}
