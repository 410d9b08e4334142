package classify

import (
	"bytes"
	"strings"

	"github.com/faultline-dev/faultline/redact"
	"github.com/valyala/fastjson"
)

// What an error is: its body read in the provider's dialect, its code
// looked up in the catalog, its category, known, retryable and remediation.

// classifyError fills the error fields of ev.
func (c *Classifier) classifyError(st *state, ev *Event, r *raw, cat *Catalog) {
	ev.TraceID = identifier(r.traceID)
	var x extracted
	body := c.bodyValue(st, r.body, &x)
	if body != nil {
		if cat == nil {
			cat = c.providerByShape(body)
			if cat != nil && ev.Provider == "" {
				ev.Provider = cat.Provider
				_, path := SplitURL(b2s(r.url))
				c.setEndpoint(st, ev, cat, path) // now that its catalog is known
			}
		}
		if cat != nil {
			extract(cat.Dialect, cat.CorrelationFields, body, &x)
		} else {
			extractAny(body, &x)
		}
	}
	if ev.Provider == "" && ev.Host != "" {
		// A call to a host no catalog or --host rule knows: its provider
		// is unknown, the call is one.
		ev.Provider = UnknownProvider
		_, path := SplitURL(b2s(r.url))
		c.setEndpoint(st, ev, nil, path)
	}
	if x.correlation == nil && r.respHeaders != nil {
		x.correlation = st.headerCorrelation(r.respHeaders)
	}
	ev.CorrelationID = identifier(x.correlation)
	ev.References = x.refs
	ev.Body = redact.Body(x.body, c.maxBody)

	code := string(bytes.TrimSpace(x.code))
	if ev.Status == 0 && len(r.transportErr) > 0 && len(x.message) == 0 {
		x.message = r.transportErr
	}
	code = c.categorize(cat, ev, code)
	ev.Code = st.identifier(recentCode, s2b(code), 0, maxIdentifier)
	ev.Subcode = st.identifier(recentSubcode, bytes.TrimSpace(x.subcode), 0, maxIdentifier)
	// A message may hold structure of its own (JSON, key=value): it is
	// redacted as a document.
	ev.Message = truncate(redact.Document(strings.TrimSpace(string(x.message))), maxMessage)
	ev.Fingerprint = Fingerprint(ev)
}

// categorize sets the category, known, retryable and remediation of an
// error from its provider's catalog (nil when it has none), code, status,
// method and endpoint. It returns the code as the catalog writes it.
func (c *Classifier) categorize(cat *Catalog, ev *Event, code string) string {
	var entry *Entry
	ev.Known, ev.Remediation = false, ""
	switch {
	case ev.Status == 0:
		ev.Category = Timeout
	case code != "" && cat != nil:
		if entry = cat.Lookup(code, ev.Status, ev.Method, ev.Endpoint); entry != nil {
			ev.Category, ev.Known, ev.Remediation = entry.Category, true, entry.Remediation
			code = entry.Code // interned
			break
		}
		ev.Category = c.fallback(cat, ev.Status, true)
	default:
		if cat != nil && code == "" {
			if rule := cat.StatusRule(ev.Status); rule != nil {
				ev.Category, ev.Known, ev.Remediation = rule.Category, true, rule.Remediation
				break
			}
		}
		ev.Category = c.fallback(cat, ev.Status, code != "")
	}
	if entry != nil {
		ev.Retryable = entry.IsRetryable()
	} else {
		ev.Retryable = ev.Category.DefaultRetryable()
	}
	return code
}

// Reclassify decides again, with the classifier's catalogs, the category,
// known, retryable, remediation and fingerprint of a stored error event
// from what is stored of it (provider, code, subcode, status, method and
// endpoint): after a catalog improves, stored events can follow.
func (c *Classifier) Reclassify(ev *Event) {
	c.categorize(c.cats.Provider(ev.Provider), ev, ev.Code)
	ev.Fingerprint = Fingerprint(ev)
}

// fallback is the category of an error without a documented code.
func (c *Classifier) fallback(cat *Catalog, status int, coded bool) Category {
	if cat != nil {
		if rule := cat.StatusRule(status); rule != nil {
			return rule.Category
		}
		if coded && cat.opaque(status) {
			return Unknown
		}
	}
	return StatusCategory(status)
}

// bodyValue returns the response body (a raw JSON span) as a parsed JSON
// object, or nil. It records the body bytes in x, and for HTML or text
// bodies a message.
func (c *Classifier) bodyValue(st *state, span []byte, x *extracted) *fastjson.Value {
	if len(span) == 0 {
		return nil
	}
	switch span[0] {
	case '{':
		x.body = span
		v, err := st.body.ParseBytes(span)
		if err != nil {
			return nil
		}
		return v
	case '"':
		s, ok := unescape(nil, span[1:len(span)-1])
		if !ok {
			return nil
		}
		s = bytes.TrimSpace(trimBOM(s))
		// Middleware may encode a body twice: a JSON string holding a JSON
		// string holding the body.
		for depth := 0; depth < maxBodyEncodings && len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"'; depth++ {
			inner, ok := unescape(nil, s[1:len(s)-1])
			if !ok {
				break
			}
			s = bytes.TrimSpace(trimBOM(inner))
		}
		if len(s) == 0 {
			return nil
		}
		x.body = s
		switch s[0] {
		case '{':
			if v, err := st.body.ParseBytes(s); err == nil && v.Type() == fastjson.TypeObject {
				return v
			}
		case '<':
			x.message = htmlTitle(s)
		default:
			x.message, _, _ = bytes.Cut(s, []byte("\n"))
		}
		return nil
	case 'n': // null
		return nil
	default:
		x.body = span
		return nil
	}
}

// maxBodyEncodings bounds how many times a body encoded as a JSON string
// is decoded again.
const maxBodyEncodings = 3

// htmlTitle returns the text of the title (or first h1) of an HTML page.
// Tags are found ignoring ASCII case in s itself: a lower-cased copy would
// not have s's positions (Ⱥ grows, the Kelvin sign shrinks).
func htmlTitle(s []byte) []byte {
	head := b2s(s[:min(len(s), 4096)])
	for _, tag := range [...][2]string{{"<title>", "</title>"}, {"<h1>", "</h1>"}} {
		i := redact.IndexFold(head, tag[0])
		if i < 0 {
			continue
		}
		i += len(tag[0])
		j := redact.IndexFold(head[i:], tag[1])
		if j < 0 {
			return nil
		}
		return bytes.TrimSpace(s[i : i+j])
	}
	return nil
}
