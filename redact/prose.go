package redact

import (
	"strings"
	"unicode/utf8"
)

// Prose: secrets that a sentence names without a key=value pair ("HMAC
// secret is X", "signing key: X", "auth token X", "client_secret X does
// not match", "security code 123", "personal identification word X"),
// and bank and identity numbers after the words that name them.

// matchProseWord is matchWord's part for these words: w is the word at
// s[i:e], lower case. It reports handled when w is one of them.
//
// bank caches whether s names a bank anywhere (0 not known yet, 1 yes, -1
// no): an account number is a bank's only then.
func matchProseWord(s string, i, e int, w string, bank *int8) (start, end int, handled bool) {
	switch w {
	case "secret", "secrets", "token", "tokens", "password", "passwd", "passphrase", "passcode", "pwd",
		"credential", "credentials", "apikey", "privatekey":
		start, end = matchProseSecret(s, i, e)
	case "key", "keys":
		if !qualifiedKey(s, i) {
			return -1, -1, true
		}
		start, end = matchProseSecret(s, i, e)
	case "security", "verification":
		p, ok := nextWordIs(s, e, "code", "value", "number")
		if !ok {
			if p, ok = nextWordIs(s, e, "answer"); ok {
				start, end = matchProseValueWord(s, p)
				break
			}
			return -1, -1, true
		}
		start, end = matchCode(s, p, 3, 8)
	case "personal":
		p, ok := nextWordIs(s, e, "identification")
		if !ok {
			return -1, -1, true
		}
		if q, ok := nextWordIs(s, p, "word"); ok {
			start, end = matchProseValueWord(s, q)
		} else if q, ok := nextWordIs(s, p, "number"); ok {
			start, end = matchCode(s, q, 4, 12)
		} else {
			return -1, -1, true
		}
	case "piw":
		start, end = matchProseValueWord(s, e)
	case "maiden":
		p, ok := nextWordIs(s, e, "name")
		if !ok {
			return -1, -1, true
		}
		start, end = matchProseValueWord(s, p)
	case "routing", "aba", "rtn":
		start, end = matchCode(s, e, 9, 9)
	case "transit":
		start, end = matchCode(s, e, 5, 5)
		// transit-institution: 12345-003
		if end > 0 && end+4 <= len(s) && s[end] == '-' && isDigit(s[end+1]) && isDigit(s[end+2]) && isDigit(s[end+3]) &&
			(end+4 == len(s) || !isAlnum(s[end+4])) {
			end += 4
		}
	case "institution":
		start, end = matchCode(s, e, 3, 3)
	case "account", "acct", "accountno":
		if !bankContext(s, bank) {
			return -1, -1, true
		}
		start, end = matchAccount(s, e)
	case "bank":
		p, ok := nextWordIs(s, e, "account", "acct")
		if !ok {
			return -1, -1, true
		}
		start, end = matchAccount(s, p)
	case "ssn":
		start, end = matchSSN(s, e)
	case "social":
		p, ok := nextWordIs(s, e, "security")
		if !ok {
			return -1, -1, true
		}
		start, end = matchSSN(s, p)
	case "passport":
		start, end = matchDocumentNumber(s, e, 6, 12, false)
	case "licence", "license", "dl":
		start, end = matchDocumentNumber(s, e, 5, 20, true)
	default:
		return -1, -1, false
	}
	return start, end, true
}

// nextWordIs returns the end of the next word after p (past blanks, '_',
// '-' or "'s") when it is one of words, ignoring ASCII case.
func nextWordIs(s string, p int, words ...string) (int, bool) {
	q := p
	if q+1 < len(s) && s[q] == '\'' && (s[q+1] == 's' || s[q+1] == 'S') {
		q += 2
	}
	for q < len(s) && q-p < 4 && (s[q] == ' ' || s[q] == '\t' || s[q] == '_' || s[q] == '-') {
		q++
	}
	if q == p {
		return p, false
	}
	e := q
	for e < len(s) && e-q <= 16 && isAlpha(s[e]) {
		e++
	}
	for _, w := range words {
		if asciiEqualFold(s[q:e], w) {
			return e, true
		}
	}
	return p, false
}

// qualifiedKey reports whether the word "key" at s[i] is named a secret by
// the word before it (signing key, API key, secret key, private_key).
func qualifiedKey(s string, i int) bool {
	j := i
	for j > 0 && i-j < 3 && (s[j-1] == ' ' || s[j-1] == '_' || s[j-1] == '-') {
		j--
	}
	if j == i {
		return false
	}
	k := j
	for k > 0 && j-k <= 16 && isAlpha(s[k-1]) {
		k--
	}
	switch w := s[k:j]; {
	case asciiEqualFold(w, "signing"), asciiEqualFold(w, "api"), asciiEqualFold(w, "secret"),
		asciiEqualFold(w, "private"), asciiEqualFold(w, "access"), asciiEqualFold(w, "hmac"),
		asciiEqualFold(w, "webhook"), asciiEqualFold(w, "encryption"), asciiEqualFold(w, "client"),
		asciiEqualFold(w, "master"), asciiEqualFold(w, "licence"), asciiEqualFold(w, "license"),
		asciiEqualFold(w, "shared"), asciiEqualFold(w, "consumer"), asciiEqualFold(w, "auth"),
		asciiEqualFold(w, "session"), asciiEqualFold(w, "subscription"), asciiEqualFold(w, "app"):
		return true
	}
	return false
}

// matchProseSecret: after a word that names a secret (s[i:e]), the value
// that follows it, past "is", "was" or ':' — unless a sensitive key=value
// pair starts there, which matchAssignment removes with its own rules
// ("token: …"). A quoted value goes whatever it is; an unquoted one only
// when it looks like a secret rather than a word of the sentence
// ("invalid token provided"): six bytes or more, with a digit, a capital
// after its first letter, or a sign.
func matchProseSecret(s string, i, e int) (int, int) {
	n := len(s)
	p := e
	for words := 0; words < 2; words++ { // secret key value …
		q, ok := nextWordIs(s, p, "key", "secret", "token", "value", "string")
		if !ok {
			break
		}
		p = q
	}
	if !separated(s, p) {
		return -1, -1 // the word is part of something else: a quoted key, a longer name
	}
	q := p
	for q < n && (s[q] == ' ' || s[q] == '\t') {
		q++
	}
	if q < n && (s[q] == ':' || s[q] == '=') {
		if key, ok := keyBefore(s, q, 0); ok && SensitiveKey(key) {
			return -1, -1 // a key=value pair: matchAssignment's
		}
	}
	p = skipProseFiller(s, p)
	if p >= n {
		return -1, -1
	}
	if start, end, quoted := quotedValue(s, p); quoted {
		return start, end
	}
	if hasPrefixFold(s, p, "-----begin") {
		return -1, -1 // a PEM block: matchPEM removes all of it
	}
	end := p
	for end < n && end-p <= 512 && !proseDelimiter(s[end]) {
		end++
	}
	for end > p && (s[end-1] == '.' || s[end-1] == ':' || s[end-1] == '!' || s[end-1] == '?' || s[end-1] == '*') {
		end-- // the sentence's punctuation, or emphasis
	}
	if !secretLike(s[p:end]) {
		return -1, -1
	}
	return p, end
}

// separated reports whether a word that ends at p is followed by a blank,
// ':' or '=', or by U+FFFD: a byte that was not UTF-8 separates like a
// blank.
func separated(s string, p int) bool {
	return p < len(s) && (s[p] == ' ' || s[p] == '\t' || s[p] == ':' || s[p] == '=' || strings.HasPrefix(s[p:], "\uFFFD"))
}

// skipProseFiller moves past blanks (U+FFFD too), ':' or '=', and "is",
// "was", "of", "for".
func skipProseFiller(s string, p int) int {
	n := len(s)
	for words := 0; p < n; {
		switch c := s[p]; {
		case c == ' ' || c == '\t' || c == ':' || c == '=':
			p++
		case strings.HasPrefix(s[p:], "\uFFFD"):
			p += len("\uFFFD")
		case words < 2 && isAlpha(c):
			q := fillerWord(s, p, "is", "was", "of", "for")
			if q == p || q >= n || s[q] != ' ' {
				return p
			}
			p = q
			words++
		default:
			return p
		}
	}
	return p
}

// quotedValue reports whether a quoted value starts at p, and its span
// without the quotes (-1 when it is empty).
func quotedValue(s string, p int) (start, end int, quoted bool) {
	c := s[p]
	if c != '"' && c != '\'' && c != '`' {
		return -1, -1, false
	}
	end = closingQuote(s, p+1, c, false)
	if end <= p+1 {
		return -1, -1, true
	}
	return p + 1, end, true
}

// fillerWord returns the end of the word at p when it is one of words
// (ASCII case ignored) and ends there, else p.
func fillerWord(s string, p int, words ...string) int {
	for _, f := range words {
		if hasPrefixFold(s, p, f) && (p+len(f) >= len(s) || !isAlnum(s[p+len(f)])) {
			return p + len(f)
		}
	}
	return p
}

func proseDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>', ',', ';', '(', ')', '{', '}', '[', ']', '\\':
		return true
	}
	return false
}

// secretLike: not a word of a sentence. Six bytes or more, and a digit, a
// capital letter after the first byte, or an ASCII sign (a word's
// non-ASCII letters and apostrophes, as in doesn’t, are no sign).
func secretLike(v string) bool {
	if len(v) < 6 {
		return false
	}
	for j := 0; j < len(v); j++ {
		c := v[j]
		if isDigit(c) || (j > 0 && isUpper(c)) || c < utf8.RuneSelf && !isAlpha(c) {
			return true
		}
	}
	return false
}

// proseStopWords are the words after "PIW" or "security answer" that are
// the sentence going on, not the answer.
var proseStopWords = []string{
	"does", "did", "do", "is", "was", "not", "mismatch", "mismatched", "invalid", "incorrect", "missing",
	"required", "must", "should", "failed", "provided", "entered", "for", "of", "and", "or", "the",
	"a", "an", "field", "value", "has", "have", "had", "cannot", "can", "could", "did", "no", "verification",
	"check", "match", "matches", "error", "expired", "empty", "too", "length", "format", "wrong",
	"validation", "verify", "verified", "update", "updated", "attempts", "attempt", "locked", "reset",
	"changed", "set", "characters", "policy", "rules", "needed", "given", "supplied", "unknown", "not_found",
	"on", "in", "at", "to", "with", "was", "were", "are", "be", "been", "please", "if", "when",
}

// matchProseValueWord: after "PIW" or "maiden name", a quoted value, or the
// next word unless it is the sentence going on.
func matchProseValueWord(s string, p int) (int, int) {
	n := len(s)
	if !separated(s, p) {
		return -1, -1 // the word is part of something else: a quoted key, a longer name
	}
	p = skipProseFiller(s, p)
	if p >= n {
		return -1, -1
	}
	if start, end, quoted := quotedValue(s, p); quoted {
		return start, end
	}
	end := p
	for end < n && end-p <= 64 && (isAlnum(s[end]) || s[end] >= 0x80 || s[end] == '-') {
		end++
	}
	if end-p < 2 {
		return -1, -1
	}
	for _, w := range proseStopWords {
		if asciiEqualFold(s[p:end], w) {
			return -1, -1
		}
	}
	return p, end
}

// bankContext reports whether a bank word (routing, transit, institution,
// ABA, IBAN, bank, sort code, BSB) is in s, looked for once per text.
func bankContext(s string, bank *int8) bool {
	if *bank == 0 {
		*bank = -1
		for _, k := range [...]string{"routing", "transit", "institution", "aba", "iban", "bank", "sort code", "bsb"} {
			if IndexFold(s, k) >= 0 {
				*bank = 1
				break
			}
		}
	}
	return *bank > 0
}

// matchAccount: an account number after its word, 5 to 17 digits, written
// in one run or in groups joined by dashes or spaces.
func matchAccount(s string, p int) (int, int) {
	p = skipFiller(s, p)
	return digitGroups(s, p, 5, 17)
}

// matchSSN: nine digits after "SSN" or "social security (number)", in one
// run or in groups.
func matchSSN(s string, p int) (int, int) {
	p = skipFiller(s, p)
	return digitGroups(s, p, 9, 9)
}

// digitGroups returns the span of minDigits to maxDigits ASCII digits at p,
// groups joined by single dashes or spaces, followed by no letter or digit.
func digitGroups(s string, p, minDigits, maxDigits int) (int, int) {
	n := len(s)
	q, digits := p, 0
	for q < n && digits <= maxDigits {
		switch c := s[q]; {
		case isDigit(c):
			digits++
			q++
			continue
		case (c == '-' || c == ' ') && digits > 0 && q+1 < n && isDigit(s[q+1]):
			q++
			continue
		}
		break
	}
	if digits < minDigits || digits > maxDigits || (q < n && isAlnum(s[q])) {
		return -1, -1
	}
	return p, q
}

// matchDocumentNumber: a passport or driver's licence number after its
// word: minLen to maxLen letters and digits (and dashes when dashes is
// set), at least one of them a digit.
func matchDocumentNumber(s string, p, minLen, maxLen int, dashes bool) (int, int) {
	p = skipFiller(s, p)
	n := len(s)
	end, digit := p, false
	for end < n && end-p <= maxLen && (isAlnum(s[end]) || dashes && s[end] == '-') {
		digit = digit || isDigit(s[end])
		end++
	}
	for end > p && s[end-1] == '-' {
		end--
	}
	if !digit || end-p < minLen || end-p > maxLen || (end < n && isAlnum(s[end])) {
		return -1, -1
	}
	return p, end
}
