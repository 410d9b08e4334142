package redact

// Key-value pairs in text: key=value, Key: value, "key": "value",
// :key=>"value"; the value after a sensitive key is removed.

const maxKeyLen = 128

// matchAssignment is called at '=' or ':'. When the key before it is
// sensitive, it returns the span of the value after it: a quoted value
// without its quotes, a bracketed structure whole, a header that holds a
// credential to the end of its line, or else up to a delimiter.
func matchAssignment(s string, i, last int) (int, int) {
	key, ok := keyBefore(s, i, last)
	if !ok {
		return -1, -1
	}
	var k keyName
	k.parse(key)
	if !k.sensitive() {
		return -1, -1
	}
	n := len(s)
	p := i + 1
	if s[i] == '=' && p < n && s[p] == '>' {
		p++ // a Ruby hash: :password=>"…"
	}
	for p < n && p-i <= 16 && (s[p] == ' ' || s[p] == '\t') {
		p++
	}
	if p >= n {
		return -1, -1
	}
	var start, end int
	switch c := s[p]; {
	case c == '"' || c == '\'' || c == '`':
		start, end = p+1, closingQuote(s, p+1, c, false)
	case c == '\\' && p+1 < n && s[p+1] == '"': // \"…\" in escaped JSON
		start, end = p+2, closingQuote(s, p+2, '"', true)
	case c == '{' || c == '[':
		start, end = p, skipBalanced(s, p)
	case s[i] == ':' && (k.is("cookie", "setcookie", "authorization", "proxyauthorization") || k.signature()):
		start, end = p, p
		for end < n && s[end] != '\n' && s[end] != '\r' && s[end] != '"' {
			end++
		}
		for end > start && (s[end-1] == ' ' || s[end-1] == '\t') {
			end--
		}
	default:
		start, end = p, p
		for end < n && !valueDelimiter(s[end]) {
			end++
		}
		if startsDigit(s, p) || c == '+' || c == '(' {
			// A number written in groups: sin=046 454 286.
			var nb number
			parseNumber(s, p, &nb)
			if nb.n > 0 {
				end = max(end, nb.gs[nb.n-1].stop)
			}
		}
	}
	if end <= start || (k.is("authorization") && providerID(s[start:end])) {
		return -1, -1
	}
	return start, end
}

func valueDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '&', ';', ',', '"', '\'', '<', '>', ')', ']', '}', '\\':
		return true
	}
	return false
}

// keyBefore returns the key that ends just before s[i] (blanks allowed in
// between): a quoted key, or a run of letters, digits, '_', '-' and '.'.
func keyBefore(s string, i, last int) (string, bool) {
	j := i
	for j > last && i-j < 4 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j <= last {
		return "", false
	}
	if q := s[j-1]; q == '"' || q == '\'' {
		end := j - 1
		if end > last && s[end-1] == '\\' {
			end-- // \"key\"
		}
		for k := end - 1; k >= last && end-k <= maxKeyLen; k-- {
			if s[k] == q {
				return s[k+1 : end], k+1 < end
			}
			if s[k] == '\n' {
				break
			}
		}
		return "", false
	}
	k := j
	for k > last && j-k <= maxKeyLen && (isWordByte(s[k-1]) || s[k-1] == '-' || s[k-1] == '.' ||
		s[k-1] == '[' || s[k-1] == ']' || s[k-1] == '%') { // card[cvc]=, card%5Bcvc%5D=
		k--
	}
	if k == j || j-k > maxKeyLen {
		return "", false
	}
	return s[k:j], true
}

// closingQuote returns the index of the quote q that closes a string
// starting at p (escaped: written \q), or the end of the line.
func closingQuote(s string, p int, q byte, escaped bool) int {
	for k := p; k < len(s); k++ {
		switch c := s[k]; {
		case c == '\n':
			return k
		case c == '\\':
			if escaped && k+1 < len(s) && s[k+1] == q {
				return k
			}
			k++
		case c == q && !escaped:
			return k
		}
	}
	return len(s)
}

// skipBalanced returns the index past the bracketed structure at p, or the
// end of s when it is not closed. Quoted strings inside are skipped.
func skipBalanced(s string, p int) int {
	depth := 0
	for k := p; k < len(s); k++ {
		switch s[k] {
		case '"':
			for k++; k < len(s) && s[k] != '"'; k++ {
				if s[k] == '\\' {
					k++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return k + 1
			}
		}
	}
	return len(s)
}

// providerID reports whether v is a provider's resource id such as a Finix
// Authorization id (AU…) kept under an "authorization" key: two capitals
// and 16 to 32 letters and digits.
func providerID(v string) bool {
	if len(v) < 18 || len(v) > 34 || !isUpper(v[0]) || !isUpper(v[1]) {
		return false
	}
	for i := 2; i < len(v); i++ {
		if !isAlnum(v[i]) {
			return false
		}
	}
	return true
}
