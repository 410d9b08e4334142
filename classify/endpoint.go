package classify

import (
	"strings"
	"unicode/utf8"

	"github.com/faultline-dev/faultline/redact"
)

// maxEndpoint bounds a templated endpoint, so that a pathological URL cannot
// make a group key or a rollup row of unbounded size.
const maxEndpoint = 256

// SplitURL returns the lower-case host (without port) and the path (without
// query or fragment) of an absolute URL, a URL without its scheme
// (api.example.com:443/v1/x) or a bare path. It does not allocate.
func SplitURL(u string) (host, path string) {
	i := schemeEnd(u)
	if i == 0 && bareHost(u) {
		i = -1 // an authority without a scheme: api.example.com:443/v1
	}
	if i != 0 {
		u = u[max(i, 0):]
		end, at, colon := 0, -1, -1
		for ; end < len(u); end++ {
			switch u[end] {
			case '/', '?', '#':
				goto hostDone
			case '@': // user:password@host
				at, colon = end, -1
			case ':':
				colon = end
			case ']': // [::1]:8080: colons before it are the address's
				colon = -1
			}
		}
	hostDone:
		host, u = u[at+1:end], u[end:]
		if colon > at {
			host = host[:colon-at-1]
		}
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	return host, u
}

// bareHost reports whether u begins with a host name or address rather
// than a path: up to the first '/', '?' or '#', letters, digits, '-' and
// '.' with at least one dot (or localhost), then an optional :port.
func bareHost(u string) bool {
	end := strings.IndexAny(u, "/?#")
	if end < 0 {
		end = len(u)
	}
	host := u[:end]
	if h, port, ok := strings.Cut(host, ":"); ok {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	}
	if host == "" || host[0] == '.' || host[0] == '-' || (!strings.Contains(host, ".") && host != "localhost") {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// schemeEnd returns the index after "scheme://" at the start of u, or 0.
func schemeEnd(u string) int {
	switch {
	case strings.HasPrefix(u, "https://"):
		return 8
	case strings.HasPrefix(u, "http://"):
		return 7
	}
	if i := strings.Index(u, "://"); i > 0 && i < 10 {
		return i + 3
	}
	return 0
}

// TemplatePath replaces the identifiers in a URL path with {id}: numbers,
// hex strings, UUIDs, prefixed ids (ord_…, req_…), long mixed-case ids
// (Finix AU…), anything with an '@', any segment that holds a secret (a
// card number in a slug), and the value after a segment that names an id
// (client-id/flexitidemo). Versions (v1, v2.5) and words stay. The result
// is bounded and never empty.
//
// It knows no provider: a Classifier's endpoints also follow the
// templates its catalogs declare and the ones it was given learned
// (Classifier.Endpoint).
func TemplatePath(p string) string {
	var segs []segment
	b, _ := appendEndpoint(nil, p, &segs, nil, nil, "", "")
	return string(b)
}

// Bounds of the templating of one path.
const (
	// maxSegments bounds the segments a path may have for declared and
	// learned templates to apply; a longer path is templated by the
	// identifier heuristics alone.
	maxSegments = 32
	// truncatedMarker ends an endpoint cut to maxEndpoint, at a segment
	// boundary. An endpoint ending with it is templated by the heuristics
	// alone, so that templating an endpoint again gives it back.
	truncatedMarker = "{...}"
)

// segment is one segment of a path being templated: its bounds in the
// path, and whether it becomes {id}.
type segment struct {
	start, end int32
	param      bool
}

func (s segment) text(path string) string { return path[s.start:s.end] }

// splitSegments appends the segments of p (the empty one before a leading
// '/' included) to segs.
func splitSegments(segs []segment, p string) []segment {
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			segs = append(segs, segment{start: int32(start), end: int32(i)})
			start = i + 1
		}
	}
	return segs
}

// markIdentifiers sets param on the segments the identifier heuristics
// replace: ids (isIDSegment), segments holding a secret, and the value
// after a segment that names an id.
func markIdentifiers(segs []segment, p string) {
	prevNamesID := false
	for i := range segs {
		seg := segs[i].text(p)
		switch {
		case seg == "" || seg == truncatedMarker:
			prevNamesID = false
		case prevNamesID || isIDSegment(seg) || holdsSecret(seg):
			segs[i].param = true
			prevNamesID = false
		default:
			prevNamesID = namesID(seg)
		}
	}
}

// appendEndpoint appends the endpoint of path p to dst: the template a
// provider's catalog declares when p fits one (declared: then dst is
// unchanged and the template is returned as it is, a string to share),
// else the identifier heuristics with the positions learned rules make
// parameters (learned, for the provider and method) as {id} too. segs is
// scratch. The result is at most maxEndpoint bytes and never empty.
func appendEndpoint(dst []byte, p string, segs *[]segment, declared *declaredTemplates, learned *Templates, provider, method string) ([]byte, string) {
	if p == "" {
		return append(dst, '/'), ""
	}
	*segs = splitSegments((*segs)[:0], p)
	s := *segs
	whole := len(s) <= maxSegments && s[len(s)-1].text(p) != truncatedMarker
	if whole && declared != nil {
		if d := declared.match(p, s); d != nil {
			return dst, d.endpoint
		}
	}
	markIdentifiers(s, p)
	if whole && learned != nil {
		learned.mark(provider, method, p, s)
	}
	start := len(dst)
	for i, seg := range s {
		if i > 0 {
			dst = append(dst, '/')
		}
		if seg.param {
			dst = append(dst, "{id}"...)
		} else {
			dst = append(dst, seg.text(p)...)
		}
	}
	if len(dst)-start <= maxEndpoint {
		return dst, ""
	}
	// Cut at the last segment boundary that leaves room for the marker.
	cut := start + maxEndpoint - len("/"+truncatedMarker)
	for cut > start && dst[cut] != '/' {
		cut--
	}
	return append(append(dst[:cut], '/'), truncatedMarker...), ""
}

// holdsSecret reports whether a path segment that is no id holds a secret
// (a card number or an e-mail address in a slug, a vendor key): it becomes
// {id} too. Most segments (words, versions) cannot hold one: every secret
// the detectors find in a segment takes seven digits or more, an at-sign
// (also written %40 or &#64;), a non-ASCII letter or digit, '=' or ':', a
// JWT, or 15 bytes or more with a capital, a digit, '_' or '.' (the
// shortest vendor credential; a slug of small letters and dashes, such as
// calculate-interest, is none).
func holdsSecret(seg string) bool {
	digits := 0
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= utf8.RuneSelf || c == '@' || c == '%' || c == '&' || c == '=' || c == ':',
			c == 'e' && strings.HasPrefix(seg[i:], "eyJ"):
			return redact.Text(seg) != seg
		}
	}
	return (digits >= 7 || len(seg) >= 15 && !isSlug(seg)) && redact.Text(seg) != seg
}

// isSlug reports whether seg is only small letters and dashes.
func isSlug(seg string) bool {
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; c != '-' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// namesID reports whether a segment names the id that follows it
// (client-id, client_id, clientId).
func namesID(seg string) bool {
	n := len(seg)
	if n < 4 {
		return false
	}
	return strings.HasSuffix(seg, "-id") || strings.HasSuffix(seg, "_id") || (strings.HasSuffix(seg, "Id") && seg[n-3] >= 'a' && seg[n-3] <= 'z')
}

// Byte classes for isIDSegment.
const (
	classDigit = 1 << iota
	classHex
	classLower
	classUpper
	classSpecial // '@', '%', '=', '+', '~', ':': e-mails, encoded or base64-ish values
	classOther
)

var segmentClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] = classDigit | classHex
		case c >= 'a' && c <= 'f':
			t[c] = classLower | classHex
		case c >= 'A' && c <= 'F':
			t[c] = classUpper | classHex
		case c >= 'g' && c <= 'z':
			t[c] = classLower
		case c >= 'G' && c <= 'Z':
			t[c] = classUpper
		case c == '@' || c == '%' || c == '=' || c == '+' || c == '~' || c == ':':
			t[c] = classSpecial
		default:
			t[c] = classOther
		}
	}
	return t
}()

func isIDSegment(seg string) bool {
	// First only which classes occur: most segments are plain words.
	var seen uint8
	for i := 0; i < len(seg); i++ {
		seen |= segmentClass[seg[i]]
	}
	switch {
	case seen&classSpecial != 0:
		return true
	case seen&(classDigit|classUpper) == 0: // plain lower-case words
		return false
	}
	var digits, lower, upper, hexOnly, other int
	for i := 0; i < len(seg); i++ {
		f := segmentClass[seg[i]]
		digits += int(f & classDigit)
		hexOnly += int(f&classHex) >> 1
		lower += int(f&classLower) >> 2
		upper += int(f&classUpper) >> 3
		other += int(f&classOther) >> 5
	}
	n := len(seg)
	switch {
	case digits == n: // 12345
		return true
	case digits > 0 && isVersion(seg): // v1, v2.5
		return false
	case isUUID(seg):
		return true
	case hexOnly == n && n >= 8 && digits > 0: // d4ee0b6cdb67686f
		return true
	case digits > 0 && prefixedID(seg): // ord_01j2abc, req_01J2
		return true
	case n >= 16 && digits > 0 && (lower+upper) > 0 && other == 0: // AUst6ZdywPwe4fbYWrH1zTNJ
		return true
	case n >= 8 && digits > 0 && lower > 0 && upper > 0 && other == 0: // 6j4kNO4FIKQj
		return true
	case n >= 8 && digits >= 2 && other == 0: // abc12345
		return true
	case n >= 20 && lower > 0 && upper > 0 && other == 0: // long mixed-case ids without digits
		return true
	case n >= 10 && digits >= 3 && digits*3 >= n: // 2026-11-02, 0xABC123456
		return true
	case n >= 10 && digits > 0 && lower == 0 && other == 0: // 1TBSXFDZPDLC
		return true
	case n >= 12 && other == 0 && digits == 0 && caseChanges(seg) >= n/2: // KyhIKuAMcWkM, not getCustomerById
		return true
	}
	return false
}

// caseChanges counts the changes between lower and upper case letters in
// seg: random ids change often, camelCase words seldom.
func caseChanges(seg string) int {
	n, prevUpper := 0, seg[0] >= 'A' && seg[0] <= 'Z'
	for i := 1; i < len(seg); i++ {
		up := seg[i] >= 'A' && seg[i] <= 'Z'
		if up != prevUpper {
			n++
		}
		prevUpper = up
	}
	return n
}

func isVersion(seg string) bool {
	if len(seg) < 2 || (seg[0] != 'v' && seg[0] != 'V') {
		return false
	}
	for i := 1; i < len(seg); i++ {
		if (seg[i] < '0' || seg[i] > '9') && seg[i] != '.' {
			return false
		}
	}
	return true
}

func prefixedID(seg string) bool {
	i := strings.IndexAny(seg, "_-")
	if i < 2 || i > 6 || len(seg)-i-1 < 1 {
		return false
	}
	for j := 0; j < i; j++ {
		c := seg[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// SetTemplates hands the classifier learned endpoint templates (nil: none),
// for the records it classifies from now on. It is safe to call while
// records are classified.
func (c *Classifier) SetTemplates(t *Templates) { c.templates.Store(t) }

// Templates returns the learned endpoint templates the classifier uses
// (nil: none).
func (c *Classifier) Templates() *Templates { return c.templates.Load() }

// Endpoint returns the endpoint of a call to provider with method (upper
// case; "" when unknown) and URL path, as Classify gives it: the template
// the provider's catalog declares, else the identifier heuristics and the
// learned templates. An endpoint is its own endpoint, so stored endpoints
// can be templated again when templates are learned.
func (c *Classifier) Endpoint(provider, method, path string) string {
	st := c.states.Get().(*state)
	defer c.states.Put(st)
	var declared *declaredTemplates
	if cat := c.cats.Provider(provider); cat != nil {
		declared = cat.declared
	}
	b, d := appendEndpoint(nil, path, &st.segs, declared, c.templates.Load(), provider, method)
	if d != "" {
		return d
	}
	return string(b)
}

// setEndpoint sets ev.Endpoint from the URL path of the call, for its
// provider (whose catalog is cat, nil when none) and method.
func (c *Classifier) setEndpoint(st *state, ev *Event, cat *Catalog, path string) {
	var declared *declaredTemplates
	if cat != nil {
		declared = cat.declared
	}
	provider := ev.Provider
	if provider == "" {
		provider = "unknown"
	}
	var d string
	st.scratch, d = appendEndpoint(st.scratch[:0], path, &st.segs, declared, c.templates.Load(), provider, ev.Method)
	if d != "" {
		ev.Endpoint = d
		return
	}
	ev.Endpoint = st.internBytes(st.scratch, maxEndpoint)
}
