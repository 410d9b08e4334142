package redact

// Markup: XML and HTML name a secret by an element or an attribute, not by
// a key before '=' or ':'.
//
//   - An element whose local name is sensitive (<cvv>, <ns1:CVV2>,
//     <CardSecurityCode>, <wsse:Password>, <wsse:BinarySecurityToken …>) has
//     its text content removed, CDATA included; its children, if it has
//     any, are judged by their own names.
//   - A tag whose name or id attribute is sensitive, or an input of type
//     password (<input name="card[cvc]" value="123">), has its value
//     attribute removed, whichever order the attributes come in.
//
// Attribute values under a sensitive attribute name (cvv="123") are
// key=value pairs, found as such.

// maxTagName bounds an element's name, maxTag a whole start tag.
const (
	maxTagName = 64
	maxTag     = 2048
)

// matchMarkup is called at '<'. It returns the span to remove, or -1, and
// where to go on from.
func matchMarkup(s string, i int) (start, end, next int) {
	n := len(s)
	p := i + 1
	if p >= n || !(isAlpha(s[p]) || s[p] == '_') {
		return -1, -1, i + 1
	}
	nameStart, local := p, p
	for p < n && p-nameStart <= maxTagName && (isAlnum(s[p]) || s[p] == '_' || s[p] == '-' || s[p] == '.' || s[p] == ':') {
		if s[p] == ':' {
			local = p + 1
		}
		p++
	}
	if p-nameStart > maxTagName || p >= n || !(s[p] == '>' || s[p] == '/' || s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r') {
		return -1, -1, i + 1
	}
	elementSensitive := local < p && SensitiveKey(s[local:p])
	// Attributes, up to '>' (or a '<' that starts something else).
	var named, password bool
	valueStart, valueEnd := -1, -1
	for p < n && p-i <= maxTag && s[p] != '>' && s[p] != '<' {
		if !(isAlpha(s[p]) || s[p] == '_') {
			p++
			continue
		}
		as := p
		for p < n && (isAlnum(s[p]) || s[p] == '_' || s[p] == '-' || s[p] == ':' || s[p] == '.') {
			p++
		}
		attr := s[as:p]
		for p < n && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		if p >= n || s[p] != '=' {
			continue
		}
		p++
		for p < n && (s[p] == ' ' || s[p] == '\t') {
			p++
		}
		vs, ve := p, p
		if p < n && (s[p] == '"' || s[p] == '\'') {
			q := s[p]
			vs = p + 1
			ve = vs
			for ve < n && s[ve] != q && s[ve] != '\n' && ve-i <= maxTag {
				ve++
			}
			p = ve + 1
		} else {
			for ve < n && s[ve] != ' ' && s[ve] != '>' && s[ve] != '\t' && s[ve] != '\n' && s[ve] != '<' {
				ve++
			}
			p = ve
		}
		switch {
		case asciiEqualFold(attr, "name") || asciiEqualFold(attr, "id"):
			named = named || SensitiveKey(s[vs:ve])
		case asciiEqualFold(attr, "type"):
			password = password || asciiEqualFold(s[vs:ve], "password")
		case asciiEqualFold(attr, "value"):
			valueStart, valueEnd = vs, ve
		}
	}
	if (named || password) && valueEnd > valueStart {
		return valueStart, valueEnd, valueEnd
	}
	// Without a match, the tag's own bytes are scanned by the other
	// detectors (<user password="…">): go on from i+1. A tag's scan stops
	// at the next '<', so no byte is scanned for two tags.
	if !elementSensitive || p >= n || s[p] != '>' || s[p-1] == '/' {
		return -1, -1, i + 1
	}
	// The element's text content.
	c := p + 1
	if hasPrefixFold(s, c, "<![cdata[") {
		c += len("<![cdata[")
		e := indexFrom(s, "]]>", c)
		if e < 0 {
			e = n
		}
		if e == c {
			return -1, -1, i + 1
		}
		return c, e, e
	}
	e := c
	for e < n && s[e] != '<' {
		e++
	}
	for ws := c; ws < e; ws++ {
		if s[ws] != ' ' && s[ws] != '\t' && s[ws] != '\n' && s[ws] != '\r' {
			return c, e, e
		}
	}
	return -1, -1, i + 1
}

func asciiEqualFold(s, lower string) bool {
	return len(s) == len(lower) && hasPrefixFold(s, 0, lower)
}
