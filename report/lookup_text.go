package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	textTime = "2006-01-02 15:04:05.000 MST"
	labelFmt = "%-10s "
	indent   = "           " // under a label's value
)

// WriteText writes the result for people, laid out for an 80-column
// terminal: each event newest first, then its escalation block.
func (r *LookupResult) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", wrapText(r.Summary(), Width, ""))
	for i := range r.Events {
		ew.printf("\n")
		r.Events[i].writeText(ew, i+1, len(r.Events))
	}
	if r.Truncated {
		ew.printf("\nMore events matched: these are the newest %d (--limit shows more; --from and --to narrow).\n", len(r.Events))
	}
	return ew.err
}

// Summary says in one sentence what was searched and found.
func (r *LookupResult) Summary() string {
	var b strings.Builder
	switch n := len(r.Events); {
	case n == 0:
		b.WriteString("No event found for ")
	case n == 1:
		b.WriteString("1 event found for ")
	default:
		fmt.Fprintf(&b, "%d events found for ", n)
	}
	b.WriteString(quoteIDs(r.IDs))
	b.WriteString(", searched ")
	b.WriteString(r.Window())
	if len(r.Events) > 0 && len(r.Unmatched) > 0 {
		b.WriteString("; nothing for ")
		b.WriteString(quoteIDs(r.Unmatched))
	}
	b.WriteString(".")
	return b.String()
}

// Window describes the time window searched.
func (r *LookupResult) Window() string {
	const f = time.RFC3339
	switch {
	case r.From == nil && r.To == nil:
		return "in every stored event"
	case r.To == nil:
		return "from " + r.From.Format(f) + " on"
	case r.From == nil:
		return "before " + r.To.Format(f)
	}
	return "from " + r.From.Format(f) + " to " + r.To.Format(f)
}

func quoteIDs(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "\"" + oneLine(id) + "\""
	}
	return strings.Join(q, ", ")
}

func (e *LookupEvent) writeText(ew *errWriter, n, of int) {
	head := fmt.Sprintf("-- %d/%d -- %s %s ", n, of, oneLine(e.Provider), oneLine(strings.TrimSpace(e.Code+" "+e.Subcode)))
	if len(head) < Width {
		head += strings.Repeat("-", Width-len(head))
	}
	ew.printf("%s\n", head)
	field := func(name, value string) {
		if value != "" {
			ew.printf(labelFmt+"%s\n", name, value)
		}
	}
	var matched []string
	for _, m := range e.MatchedBy {
		matched = append(matched, oneLine(m.ID)+" as "+m.As)
	}
	field("matched", wrapText(strings.Join(matched, ", "), Width-len(indent), indent))
	field("time", e.Time.Format(textTime))
	if loc := e.local.Location(); loc != time.UTC && loc.String() != "UTC" {
		ew.printf(indent+"%s\n", e.local.Format(textTime+" (-07:00), ")+loc.String())
	}
	who := oneLine(e.Service)
	if e.Env != "" {
		who += " (" + oneLine(e.Env) + ")"
	}
	if e.Tenant != "" {
		who += ", tenant " + oneLine(e.Tenant)
	}
	field("provider", oneLine(e.Provider))
	field("service", strings.TrimPrefix(who, ", "))
	status := "no response"
	if e.Status != 0 {
		status = fmt.Sprint(e.Status)
	}
	field("request", wrapText(fmt.Sprintf("%s %s -> %s in %.0f ms, host %s", oneLine(e.Method), oneLine(e.Endpoint), status, e.DurationMS, oneLine(e.Host)), Width-len(indent), indent))
	code := oneLine(e.Code)
	if code == "" {
		code = "(no code)"
	}
	if e.Subcode != "" {
		code += ", " + e.Escalation.SubcodeName + " " + oneLine(e.Subcode)
	}
	field("error", code)
	retry, known := "not retryable", "undocumented code"
	if e.Retryable {
		retry = "retryable"
	}
	if e.Known {
		known = "documented"
	}
	field("category", oneLine(e.Category)+"; "+retry+"; "+known)
	field("message", wrapText(e.Message, Width-len(indent), indent))
	field("cause", wrapText(e.Cause, Width-len(indent), indent))
	field("remedy", wrapText(e.Remediation, Width-len(indent), indent))
	group := fmt.Sprintf("%s other events share this fingerprint", groupN(e.Fingerprint.Others))
	if e.Fingerprint.Since != nil {
		group += ", since " + e.Fingerprint.Since.Format("2006-01-02 15:04 MST")
	}
	field("group", wrapText(group, Width-len(indent), indent))
	if e.TraceID != "" {
		field("trace_id", oneLine(e.TraceID))
	}
	if body := prettyBody(e.Body); body != "" {
		ew.printf("body\n  %s\n", hardWrap(strings.ReplaceAll(body, "\n", "\n  "), Width-2, "    "))
	}
	ew.printf("\n")
	e.Escalation.writeText(ew)
}

func groupN(n int64) string {
	if n == 0 {
		return "No"
	}
	return group(n)
}

// writeText writes the block to paste to the provider's support.
func (x *Escalation) writeText(ew *errWriter) {
	ew.printf("escalation: paste to %s support\n", oneLine(x.Provider))
	for _, id := range x.IDs {
		ew.printf("  %s: %s\n", id.Name, oneLine(id.Value))
	}
	if len(x.IDs) == 0 {
		ew.printf("  (the response carried no request id of the provider's)\n")
	}
	ew.printf("  time: %s\n", x.Time.Format("2006-01-02T15:04:05.000Z07:00"))
	ew.printf("  endpoint: %s\n", oneLine(x.Endpoint))
	if x.Status != 0 {
		ew.printf("  status: %d\n", x.Status)
	} else {
		ew.printf("  status: no response\n")
	}
	if x.Code != "" {
		code := oneLine(x.Code)
		if x.Subcode != "" {
			code += " (" + x.SubcodeName + " " + oneLine(x.Subcode) + ")"
		}
		ew.printf("  code: %s\n", code)
	}
	ew.printf("%s\n", wrapText(x.Provider+" asks: "+x.Instructions, Width, "  "))
}

// Text is the escalation block as WriteText prints it: what support pastes
// to the provider, as plain text.
func (x *Escalation) Text() string {
	var b strings.Builder
	x.writeText(&errWriter{w: &b})
	return b.String()
}

// PrettyBody is the stored body for people: JSON indented, anything else
// as printable text; "" when there is none.
func (e *LookupEvent) PrettyBody() string { return prettyBody(e.Body) }
