package alerting

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// JSONAlert is an alert as `report alerts --json` prints it.
type JSONAlert struct {
	ID               int64              `json:"id,omitempty"`
	Rule             string             `json:"rule"`
	AlertName        string             `json:"alertname"`
	Provider         string             `json:"provider"`
	Subject          string             `json:"subject,omitempty"`
	Category         string             `json:"category"`
	Code             string             `json:"code,omitempty"`
	Subcode          string             `json:"subcode,omitempty"`
	Severity         string             `json:"severity"`
	Status           string             `json:"status"` // firing or resolved
	StartsAt         time.Time          `json:"starts_at"`
	EndsAt           *time.Time         `json:"ends_at"` // null while firing
	DetectedAt       time.Time          `json:"detected_at"`
	ResolvedAt       *time.Time         `json:"resolved_at,omitempty"`
	LastEvaluated    time.Time          `json:"last_evaluated"`
	PagedAt          *time.Time         `json:"paged_at"` // null: not sent (suppressed)
	Suppressed       string             `json:"suppressed,omitempty"`
	SuppressedUntil  *time.Time         `json:"suppressed_until,omitempty"`
	SuppressedDetail string             `json:"suppressed_detail,omitempty"`
	ParentID         int64              `json:"parent_id,omitempty"`
	Observed         float64            `json:"observed"`
	ObservedCount    int64              `json:"observed_count"`
	ObservedRequests int64              `json:"observed_requests"`
	ObservedWindow   string             `json:"observed_window"`
	Expected         float64            `json:"expected"`
	Level            float64            `json:"level,omitempty"`
	Evidence         float64            `json:"evidence,omitempty"`
	Summary          string             `json:"summary"`
	RunbookURL       string             `json:"runbook_url,omitempty"`
	Labels           map[string]string  `json:"labels"`
	Context          store.AlertContext `json:"context"`
}

// ToJSON is a's JSON form; cfg gives its runbook URL.
func ToJSON(a *store.Alert, cfg *detect.Config) JSONAlert {
	j := JSONAlert{
		ID: a.ID, Rule: string(a.Rule), AlertName: a.Rule.AlertName(), Provider: a.Provider, Subject: a.Subject,
		Category: string(a.Category), Code: a.Code, Subcode: a.Subcode, Severity: a.Severity, Status: "firing",
		StartsAt: a.StartsAt.UTC(), DetectedAt: a.DetectedAt.UTC(), LastEvaluated: a.LastEvaluated.UTC(),
		PagedAt: timePtr(a.PagedAt), Suppressed: string(a.Suppression.Reason), SuppressedUntil: timePtr(a.Suppression.Until),
		SuppressedDetail: a.Suppression.Detail, ParentID: a.ParentID,
		Observed: a.Observed, ObservedCount: a.ObservedCount, ObservedRequests: a.ObservedRequests,
		ObservedWindow: a.ObservedWindow.String(), Expected: a.Expected, Level: a.Level, Evidence: a.Evidence,
		Summary: a.Summary, Labels: Labels(a), Context: a.Context,
	}
	if cfg != nil {
		j.RunbookURL = cfg.Params(a.Rule, a.Provider).RunbookURL
	}
	if !a.Firing() {
		j.EndsAt, j.ResolvedAt, j.Status = timePtr(a.EndsAt), timePtr(a.ResolvedAt), "resolved"
	}
	return j
}

// timePtr is t in UTC, nil for the zero time.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// WriteJSON writes the alerts as one JSON array (empty when none).
func WriteJSON(w io.Writer, alerts []store.Alert, cfg *detect.Config) error {
	out := make([]JSONAlert, len(alerts))
	for i := range alerts {
		out[i] = ToJSON(&alerts[i], cfg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteHistoryJSON writes a page of stored alerts as one JSON object:
// {"alerts": [… as WriteJSON writes them], "next": the cursor of the next
// page, or null}.
func WriteHistoryJSON(w io.Writer, alerts []store.Alert, next string, cfg *detect.Config) error {
	out := struct {
		Alerts []JSONAlert `json:"alerts"`
		Next   *string     `json:"next"`
	}{Alerts: make([]JSONAlert, len(alerts))}
	for i := range alerts {
		out.Alerts[i] = ToJSON(&alerts[i], cfg)
	}
	if next != "" {
		out.Next = &next
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// span prints a duration in hours and minutes: 40m, 2h05m.
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%dh%02dm", d/time.Hour, d%time.Hour/time.Minute)
}

// printable replaces control characters but newlines (terminal escapes a
// provider's code could carry) so that text output cannot drive the
// terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// WriteText writes the alerts for people, a few lines each, or says that
// there were none in the window.
func WriteText(w io.Writer, r Result, cfg *detect.Config) error {
	var b strings.Builder
	when := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	if len(r.Alerts) == 0 {
		fmt.Fprintf(&b, "no alerts from %s to %s\n", when(r.From), when(r.To))
	}
	for i := range r.Alerts {
		a := &r.Alerts[i]
		if i > 0 {
			b.WriteString("\n")
		}
		what := string(a.Rule) + " " + a.Provider
		if a.Subject != "" {
			what += " " + a.Subject
		}
		state := "RESOLVED"
		if a.Firing() {
			state = "FIRING"
		}
		if !a.Paging() {
			state = "SUPPRESSED"
		}
		if a.Firing() {
			fmt.Fprintf(&b, "%-9s %-8s %s\n          since %s, detected %s\n", state, a.Severity, what,
				when(a.StartsAt), a.DetectedAt.UTC().Format("15:04"))
		} else {
			fmt.Fprintf(&b, "%-9s %-8s %s\n          %s to %s (%s)\n", state, a.Severity, what,
				when(a.StartsAt), a.EndsAt.UTC().Format("15:04"), span(a.EndsAt.Sub(a.StartsAt)))
		}
		if a.Suppression.Reason != "" {
			how := "not sent"
			if a.Paging() {
				how = "sent from " + a.PagedAt.UTC().Format("15:04") + ", when it outlasted it"
			}
			fmt.Fprintf(&b, "          suppressed (%s: %s): %s\n", a.Suppression.Reason, a.Suppression.Detail, how)
		}
		fmt.Fprintf(&b, "          %s\n", a.Summary)
		c := &a.Context
		if len(c.TopCodes) > 0 {
			b.WriteString("          codes:")
			for _, tc := range c.TopCodes {
				fmt.Fprintf(&b, " %s %d;", codeLabel(tc.Code, tc.Subcode), tc.Count)
			}
			b.WriteString("\n")
		}
		if len(c.TopEndpoints) > 0 {
			b.WriteString("          endpoints:")
			for _, e := range c.TopEndpoints {
				fmt.Fprintf(&b, " %s %d;", strings.TrimSpace(e.Method+" "+e.Endpoint), e.Count)
			}
			b.WriteString("\n")
		}
		if c.SampledEvents > 0 {
			at := ""
			if c.Sampled {
				at = "at least "
			}
			fmt.Fprintf(&b, "          tenants affected: %s%d\n", at, c.TenantsAffected)
		}
		if c.SampleCorrelationID != "" {
			fmt.Fprintf(&b, "          sample: report lookup %s\n", c.SampleCorrelationID)
		}
		for _, j := range c.Joined {
			fmt.Fprintf(&b, "          joined: %s %s\n", j.Rule, j.Summary)
		}
		if cfg != nil {
			if u := cfg.Params(a.Rule, a.Provider).RunbookURL; u != "" {
				fmt.Fprintf(&b, "          runbook: %s\n", u)
			}
		}
	}
	_, err := io.WriteString(w, printable(b.String()))
	return err
}
