package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// Incident escalation: what a provider's support needs about an incident
// rather than one request. For an alert: its window, the errors and the
// provider's requests in it (exact, from the rollups) and their rate, the
// codes, the statuses and endpoints (among the events sampled), and 10 to
// 20 distinct sample requests spread over the window, each under the
// provider's own name for its id, with what the provider's documentation
// asks for.
//
// The samples: the window is cut in EscalationStrata slices of equal
// length; the latest events of each are read (at most escalationPerStratum:
// the statuses and endpoints are counted over them), and the samples are
// taken a slice at a time, round after round, each a request id not taken
// yet, until there are EscalationSamples or no more ids.

// EscalationSamples is how many sample requests an escalation lists when
// the incident has that many ids; EscalationStrata how many slices of the
// window they are drawn from.
const (
	EscalationSamples    = 15
	EscalationStrata     = 15
	escalationPerStratum = 100
)

// IncidentReader reads an alert and its incident (store.Store does).
type IncidentReader interface {
	GetAlert(ctx context.Context, id int64) (store.Alert, error)
	ReadIncident(ctx context.Context, q store.IncidentQuery) (*store.Incident, error)
}

// IncidentEscalation is what to send the provider's support about an
// incident.
type IncidentEscalation struct {
	Alert EscalatedAlert `json:"alert"`
	// Categories are the categories of the errors the alert is about.
	Categories []string `json:"categories"`
	// From and To bound the incident's window.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Errors are the incident's errors in the window, Requests the
	// provider's requests, Rate the first over the second.
	Errors   int64   `json:"errors"`
	Requests int64   `json:"requests"`
	Rate     float64 `json:"rate"`
	// Codes count the errors per code and subcode (exact).
	Codes []CodeCountOf `json:"codes"`
	// Statuses and Endpoints count the events sampled (all of them unless
	// Sampled).
	Statuses  []StatusCount    `json:"statuses"`
	Endpoints []EndpointErrors `json:"endpoints"`
	// Read is how many events were sampled; Sampled is set when the
	// window has more.
	Read    int  `json:"read"`
	Sampled bool `json:"sampled"`
	// Samples are the sample requests, in time order.
	Samples []Sample `json:"samples"`
	// IDName is what the provider calls its request id; SubcodeName its
	// finer code; Instructions what its documentation asks for.
	IDName       string `json:"id_name"`
	SubcodeName  string `json:"subcode_name,omitempty"`
	Instructions string `json:"instructions"`
}

// EscalatedAlert is the alert an escalation is about.
type EscalatedAlert struct {
	ID       int64      `json:"id"`
	Rule     string     `json:"rule"`
	Provider string     `json:"provider"`
	Category string     `json:"category"`
	Code     string     `json:"code,omitempty"`
	Subcode  string     `json:"subcode,omitempty"`
	Severity string     `json:"severity"`
	Status   string     `json:"status"` // firing or resolved
	StartsAt time.Time  `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	Summary  string     `json:"summary"`
}

// CodeCountOf counts the errors of a code and subcode.
type CodeCountOf struct {
	Code    string `json:"code"`
	Subcode string `json:"subcode,omitempty"`
	Count   int64  `json:"count"`
}

// EndpointErrors counts the events of an endpoint (METHOD /path).
type EndpointErrors struct {
	Endpoint string `json:"endpoint"`
	Count    int64  `json:"count"`
}

// StatusCount counts the events of an HTTP status (0: no response).
type StatusCount struct {
	Status int   `json:"status"`
	Count  int64 `json:"count"`
}

// Sample is a request of the incident, for the provider to look up.
type Sample struct {
	// ID is the provider's id of the request, Name what it calls it.
	ID   string `json:"id"`
	Name string `json:"name"`
	// References are its other ids (a Finix authorization or transfer).
	References []NamedID `json:"references,omitempty"`
	TS         time.Time `json:"ts"`
	Status     int       `json:"status"`
	Code       string    `json:"code"`
	Subcode    string    `json:"subcode,omitempty"`
	Endpoint   string    `json:"endpoint"` // METHOD /templated/path
}

// EscalateOptions say how to describe the incident.
type EscalateOptions struct {
	// Catalogs give the provider's names and instructions; nil is the
	// built-in catalogs.
	Catalogs *classify.Catalogs
}

// ErrNoAlert means no alert has the id given.
var ErrNoAlert = store.ErrNoAlert

// Escalate describes the incident of alert id for the provider's
// support. An unknown id is an error wrapping ErrNoAlert.
func Escalate(ctx context.Context, src IncidentReader, id int64, o EscalateOptions) (*IncidentEscalation, error) {
	a, err := src.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	return EscalateAlert(ctx, src, &a, o)
}

// EscalateAlert describes the incident of a, a stored alert.
func EscalateAlert(ctx context.Context, src IncidentReader, a *store.Alert, o EscalateOptions) (*IncidentEscalation, error) {
	cats, err := catalogsOr(o.Catalogs)
	if err != nil {
		return nil, err
	}
	from, to := a.Window()
	categories, code, subcode := a.Errors()
	q := store.IncidentQuery{Provider: a.Provider, Code: code, Subcode: subcode, From: from, To: to,
		Strata: EscalationStrata, PerStratum: escalationPerStratum}
	for _, c := range categories {
		q.Categories = append(q.Categories, string(c))
	}
	if len(q.Categories) == 0 { // a rule this binary does not know
		q.Categories = []string{string(a.Category)}
	}
	inc, err := src.ReadIncident(ctx, q)
	if err != nil {
		return nil, err
	}
	cat := cats.Provider(a.Provider)
	x := &IncidentEscalation{
		Alert: EscalatedAlert{ID: a.ID, Rule: string(a.Rule), Provider: a.Provider, Category: string(a.Category), Code: a.Code,
			Subcode: a.Subcode, Severity: a.Severity, Status: "firing", StartsAt: a.StartsAt.UTC(), Summary: a.Summary},
		Categories: q.Categories, From: from.UTC(), To: to.UTC(), Errors: inc.Errors, Requests: inc.Requests, Rate: rate(inc.Errors, inc.Requests),
		Codes: []CodeCountOf{}, Statuses: []StatusCount{}, Endpoints: []EndpointErrors{}, Samples: []Sample{},
		IDName: correlationName(cat), SubcodeName: subcodeName(a.Provider),
	}
	if !a.Firing() {
		end := a.EndsAt.UTC()
		x.Alert.Status, x.Alert.EndsAt = "resolved", &end
	}
	if cat != nil {
		x.Instructions = cat.Escalation
	}
	if x.Instructions == "" {
		x.Instructions = "The catalogs have no escalation instructions for provider " + a.Provider + "."
	}
	for _, c := range inc.Codes {
		x.Codes = append(x.Codes, CodeCountOf{Code: c.Code, Subcode: c.Subcode, Count: c.Count})
	}
	statuses, endpoints := map[int]int64{}, map[string]int64{}
	for _, st := range inc.Strata {
		x.Sampled = x.Sampled || st.Full
		for _, e := range st.Events {
			x.Read++
			statuses[e.Status]++
			endpoints[strings.TrimSpace(e.Method+" "+e.Endpoint)]++
		}
	}
	for s, n := range statuses {
		x.Statuses = append(x.Statuses, StatusCount{s, n})
	}
	slices.SortFunc(x.Statuses, func(a, b StatusCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Status, b.Status))
	})
	for e, n := range endpoints {
		x.Endpoints = append(x.Endpoints, EndpointErrors{Endpoint: e, Count: n})
	}
	slices.SortFunc(x.Endpoints, func(a, b EndpointErrors) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Endpoint, b.Endpoint))
	})
	x.Samples = pickSamples(inc.Strata, EscalationSamples, a.Provider)
	for i := range x.Samples {
		x.Samples[i].Name = x.IDName
	}
	return x, nil
}

// pickSamples takes up to n distinct request ids from the strata, one
// stratum at a time, round after round, and returns them in time order.
func pickSamples(strata []store.Stratum, n int, provider string) []Sample {
	taken := map[string]bool{}
	next := make([]int, len(strata))
	out := []Sample{}
	for more := true; more && len(out) < n; {
		more = false
		for i := range strata {
			if len(out) == n {
				break
			}
			evs := strata[i].Events
			for next[i] < len(evs) {
				e := &evs[next[i]]
				next[i]++
				if e.CorrelationID == "" || taken[e.CorrelationID] {
					continue
				}
				taken[e.CorrelationID] = true
				s := Sample{ID: e.CorrelationID, TS: e.TS, Status: e.Status, Code: e.Code, Subcode: e.Subcode,
					Endpoint: strings.TrimSpace(e.Method + " " + e.Endpoint)}
				for _, r := range e.References {
					s.References = append(s.References, NamedID{Name: referenceName(provider, r), Value: r})
				}
				out = append(out, s)
				more = true
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b Sample) int { return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.ID, b.ID)) })
	return out
}

// WriteJSON writes the escalation as one JSON object: {"alert": …,
// "samples": [{"id", "ts", "status", "code", "endpoint", …}, …], …}.
func (x *IncidentEscalation) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// WriteText writes the block to paste to the provider's support.
func (x *IncidentEscalation) WriteText(w io.Writer) error {
	_, err := io.WriteString(w, x.Text())
	return err
}

// Text is the block to paste to the provider's support, as plain text for
// an 80-column terminal (text from providers made safe for one).
func (x *IncidentEscalation) Text() string {
	var b strings.Builder
	ew := &errWriter{w: &b}
	p := oneLine(x.Alert.Provider)
	ew.printf("escalation: paste to %s support (an incident, not one request)\n", p)
	about := oneLine(strings.Join(x.Categories, ", ")) + ", every code"
	if x.Alert.Code != "" {
		about = oneLine(strings.Join(x.Categories, ", "))
		about += " " + oneLine(x.Alert.Code)
		if x.Alert.Subcode != "" {
			about += " (" + x.SubcodeName + " " + oneLine(x.Alert.Subcode) + ")"
		}
	}
	ew.printf("  errors: %s\n", about)
	state := "to " + x.To.Format(time.RFC3339) + ", still going on"
	if x.Alert.Status == "resolved" {
		state = "to " + x.To.Format(time.RFC3339)
	}
	ew.printf("  window: %s %s (%s)\n", x.From.Format(time.RFC3339), state, DurationText(x.To.Sub(x.From)))
	ew.printf("  failed: %s of our %s requests (%s)\n", group(x.Errors), group(x.Requests), percentText(x.Rate))
	if len(x.Codes) > 0 {
		var codes []string
		for _, c := range x.Codes[:min(len(x.Codes), 5)] {
			s := oneLine(c.Code)
			if s == "" {
				s = "(no code)"
			}
			if c.Subcode != "" {
				s += "/" + oneLine(c.Subcode)
			}
			codes = append(codes, s+" "+group(c.Count))
		}
		ew.printf("  codes: %s\n", wrapText(strings.Join(codes, ", "), Width-9, "         "))
	}
	among := ""
	if x.Sampled {
		among = fmt.Sprintf(" (among %s sampled across the window)", group(int64(x.Read)))
	}
	if len(x.Statuses) > 0 {
		var ss []string
		for _, s := range x.Statuses {
			v := strconv.Itoa(s.Status)
			if s.Status == 0 {
				v = "no response"
			}
			ss = append(ss, v+" "+group(s.Count))
		}
		ew.printf("  statuses: %s\n", wrapText(strings.Join(ss, ", ")+among, Width-12, "            "))
	}
	if len(x.Endpoints) > 0 {
		var es []string
		for _, e := range x.Endpoints[:min(len(x.Endpoints), 5)] {
			es = append(es, oneLine(e.Endpoint)+" "+group(e.Count))
		}
		ew.printf("  endpoints: %s\n", wrapText(strings.Join(es, ", ")+among, Width-13, "             "))
	}
	if len(x.Samples) == 0 {
		ew.printf("  (no request of the incident carried an id of the provider's)\n")
	} else {
		ew.printf("  sample requests (%s, time, status; endpoint, code):\n", x.IDName)
	}
	for _, s := range x.Samples {
		code := oneLine(s.Code)
		if s.Subcode != "" {
			code += " (" + x.SubcodeName + " " + oneLine(s.Subcode) + ")"
		}
		status := strconv.Itoa(s.Status)
		if s.Status == 0 {
			status = "-"
		}
		ew.printf("    %s  %s  %s\n", oneLine(s.ID), s.TS.Format("2006-01-02T15:04:05.000Z"), status)
		more := []string{oneLine(s.Endpoint), code}
		for _, r := range s.References {
			more = append(more, r.Name+" "+oneLine(r.Value))
		}
		ew.printf("      %s\n", wrapText(strings.Join(more, ", "), Width-6, "      "))
	}
	ew.printf("%s\n", wrapText(p+" asks: "+x.Instructions, Width, "  "))
	return b.String()
}

// DurationText says how long d is, to the minute: 40 min, 2 h 05 min,
// 3 d 4 h.
func DurationText(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 24*60:
		return fmt.Sprintf("%d h %02d min", m/60, m%60)
	}
	return fmt.Sprintf("%d d %d h", m/(24*60), m%(24*60)/60)
}

// percentText is a rate as a percentage with two decimals.
func percentText(r float64) string { return strconv.FormatFloat(100*r, 'f', 2, 64) + "%" }
