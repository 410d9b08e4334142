package classify

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted is the placeholder that replaces every removed value.
const Redacted = "[REDACTED]"

// redactable is the set of byte sequences the free-text scanner runs over: message
// strings, and decoded JSON string values (without converting them).
type redactable interface{ ~string | ~[]byte }

// RedactText removes card numbers (13–19 digit runs that pass the Luhn check,
// also written with single spaces or dashes between groups), bearer/basic
// credentials ("Bearer xxx", "Basic xxx"), JWTs (eyJ...\..*\..*), e-mail
// addresses, phone numbers (North American forms such as +1 416 555 0199,
// (416) 555-0199, 416-555-0199, 416.555.0199, and +CC international forms
// with 8+ digits), SINs (9 digits Luhn-valid, plain or in 3-3-3 groups), and
// dates following a birth keyword (dob, birth, born, date_of_birth) from free
// text. Each removed value is replaced by [Redacted]. It returns s unchanged
// (same string, no allocation) when nothing matched.
func RedactText(s string) string {
	out, changed := redactAppend(nil, s)
	if !changed {
		return s
	}
	return string(out)
}

// redactAppend scans s once. While nothing matches it only reads; at the
// first match it appends to dst everything up to the match and goes on
// appending. changed reports whether anything was redacted; when it is
// false dst is returned untouched.
func redactAppend[T redactable](dst []byte, s T) (out []byte, changed bool) {
	n := len(s)
	last := 0 // s[:last] is already in dst (once changed)
	for i := 0; i < n; {
		class := byteClass[s[i]]
		if class == classNone {
			i++
			continue
		}
		start, end := -1, -1
		switch class {
		case classNumber:
			if i == 0 || !txtWordByte(s[i-1]) {
				start, end = matchNumber(s, i)
			}
		case classAt:
			start, end = matchEmail(s, i, last)
		case classKeyword:
			if i == 0 || !txtAlnum(s[i-1]) || (txtLower(s[i-1]) && txtUpper(s[i])) {
				start, end = matchKeyword(s, i)
			}
		case classJWT:
			if i+2 < n && s[i+1] == 'y' && s[i+2] == 'J' && (i == 0 || !txtTokenByte(s[i-1])) {
				start, end = matchJWT(s, i)
			}
		}
		if start < 0 {
			i++
			continue
		}
		if !changed {
			dst = slices.Grow(dst, n+len(Redacted))
			changed = true
		}
		dst = append(dst, s[last:start]...)
		dst = append(dst, Redacted...)
		last, i = end, end
	}
	if changed {
		dst = append(dst, s[last:]...)
	}
	return dst, changed
}

// Classes of the bytes where a redaction can start.
const (
	classNone    = '0'
	classNumber  = '1' // 0-9 + ( : card, SIN, phone
	classAt      = '2' // @ : e-mail
	classKeyword = '3' // b B d D : bearer, basic, birth, born, dob
	classJWT     = '4' // e : eyJ...
)

// byteClass maps every byte to its class (a constant, so no state); see
// TestByteClass.
const byteClass = "" +
	"0000000000000000000000000000000000000000100100001111111111000000" +
	"2030300000000000000000000000000000303400000000000000000000000000" +
	"0000000000000000000000000000000000000000000000000000000000000000" +
	"0000000000000000000000000000000000000000000000000000000000000000"

// ---- character classes ----

func txtDigit(c byte) bool { return c >= '0' && c <= '9' }
func txtLower(c byte) bool { return c >= 'a' && c <= 'z' }
func txtUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func txtAlpha(c byte) bool { return txtLower(c | 0x20) }
func txtAlnum(c byte) bool { return txtDigit(c) || txtAlpha(c) }

// txtWordByte: bytes that glue a digit run to an identifier (ord_123, v2, x9).
func txtWordByte(c byte) bool { return txtAlnum(c) || c == '_' }

// txtTokenByte: base64url alphabet plus '.', the bytes of a JWT.
func txtTokenByte(c byte) bool { return txtAlnum(c) || c == '_' || c == '-' || c == '.' }

func txtB64URL(c byte) bool { return txtAlnum(c) || c == '_' || c == '-' }

// txtCredByte: RFC 7235 token68 alphabet.
func txtCredByte(c byte) bool {
	return txtAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}

func txtEmailLocal(c byte) bool {
	return txtAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// txtPrefixFold reports whether s[i:] starts with lower (ASCII lowercase),
// ignoring case.
func txtPrefixFold[T redactable](s T, i int, lower string) bool {
	if len(s)-i < len(lower) {
		return false
	}
	for j := 0; j < len(lower); j++ {
		c := s[i+j]
		if txtUpper(c) {
			c |= 0x20
		}
		if c != lower[j] {
			return false
		}
	}
	return true
}

// ---- numbers: cards, SINs, phones ----

const maxNumGroups = 8

type numGroup struct {
	start, end int  // the digits are s[start:end]
	stop       int  // end of the group, past a closing ')'
	sep        byte // separator before the group; 0 for none
	paren      bool // written as "(416)"
}

// matchNumber looks at the digit run starting at i (a digit, '+' or '(' at a
// word boundary) and returns the span of the longest prefix of its groups
// that is a card number, SIN or phone number, or -1, -1.
func matchNumber[T redactable](s T, i int) (int, int) {
	n := len(s)
	// Every form needs 8+ digits; most numbers in messages are short, so
	// count them first (over digits, separators and parentheses).
	digits := 0
	for q := i; q < n && digits < 8; q++ {
		c := s[q]
		if txtDigit(c) {
			digits++
		} else if c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '+' {
			break
		}
	}
	if digits < 8 {
		return -1, -1
	}
	var gs [maxNumGroups]numGroup
	p := i
	plus := s[p] == '+'
	if plus {
		p++
	}
	k := 0
	for k < maxNumGroups {
		q := p
		var sep byte
		if k > 0 {
			if q < n && (s[q] == ' ' || s[q] == '-' || s[q] == '.') {
				sep = s[q]
				q++
			} else if !gs[k-1].paren {
				break // "(416)555-0199" is the only form without a separator
			}
		}
		if q >= n {
			break
		}
		paren := s[q] == '('
		if paren {
			q++
		}
		ds := q
		for q < n && txtDigit(s[q]) {
			q++
		}
		if q == ds {
			break
		}
		de := q
		if paren {
			if q >= n || s[q] != ')' {
				break
			}
			q++
		}
		gs[k] = numGroup{start: ds, end: de, stop: q, sep: sep, paren: paren}
		k++
		p = q
	}
	for m := k; m >= 1; m-- {
		stop := gs[m-1].stop
		if stop < n && (txtWordByte(s[stop]) || s[stop] == '@') {
			continue
		}
		if m < k && gs[m].sep == '.' {
			continue // 1234567890123.45 is an amount, not a card
		}
		if numberCandidate(s, gs[:m], plus) {
			return i, stop
		}
	}
	return -1, -1
}

func numberCandidate[T redactable](s T, gs []numGroup, plus bool) bool {
	digits := 0
	paren := false
	for _, g := range gs {
		digits += g.end - g.start
		paren = paren || g.paren
	}
	if plus {
		return digits >= 8 && digits <= 15 // E.164 allows at most 15
	}
	if !paren {
		if digits >= 13 && digits <= 19 && cardShape(gs) && luhnGroups(s, gs) {
			return true
		}
		if digits == 9 && sinShape(gs) && luhnGroups(s, gs) {
			return true
		}
	}
	return northAmericanPhone(s, gs)
}

// cardShape: one run of digits, or groups of a first group of 4 (every card
// layout starts that way: 4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3) and 3–6 digit
// groups, all separated by the same single space or dash.
func cardShape(gs []numGroup) bool {
	if len(gs) == 1 {
		return true
	}
	if gs[0].end-gs[0].start != 4 {
		return false
	}
	return sameSpaceOrDash(gs, 3, 6)
}

// sinShape: 9 digits in one run, or 3-3-3 with the same single space or dash.
func sinShape(gs []numGroup) bool {
	if len(gs) == 1 {
		return true
	}
	return len(gs) == 3 && gs[0].end-gs[0].start == 3 && sameSpaceOrDash(gs, 3, 3)
}

func sameSpaceOrDash(gs []numGroup, minLen, maxLen int) bool {
	sep := gs[1].sep
	if sep != ' ' && sep != '-' {
		return false
	}
	for _, g := range gs[1:] {
		if l := g.end - g.start; g.sep != sep || l < minLen || l > maxLen {
			return false
		}
	}
	return true
}

// northAmericanPhone: [1 ]NPA NXX XXXX with separators, or [1 ](NPA) NXX-XXXX.
// Ten digits without separators are not taken as a phone (order ids, Unix
// timestamps); "+1..." forms are matched as international numbers.
func northAmericanPhone[T redactable](s T, gs []numGroup) bool {
	if len(gs) == 4 && !gs[0].paren && gs[0].end-gs[0].start == 1 && s[gs[0].start] == '1' {
		gs = gs[1:]
	}
	if len(gs) != 3 || gs[1].paren || gs[2].paren {
		return false
	}
	if gs[0].end-gs[0].start != 3 || gs[1].end-gs[1].start != 3 || gs[2].end-gs[2].start != 4 {
		return false
	}
	if gs[2].sep == 0 || (gs[1].sep == 0 && !gs[0].paren) {
		return false
	}
	a, x := s[gs[0].start], s[gs[1].start]
	return a >= '2' && a <= '9' && x >= '2' && x <= '9'
}

func luhnGroups[T redactable](s T, gs []numGroup) bool {
	var buf [19]byte
	n := 0
	for _, g := range gs {
		for j := g.start; j < g.end; j++ {
			if n == len(buf) {
				return false
			}
			buf[n] = s[j]
			n++
		}
	}
	return luhnValid(buf[:n])
}

// luhnValid reports whether digits (ASCII '0'–'9', at least one) pass the
// Luhn mod-10 check used by card numbers and SINs.
func luhnValid(digits []byte) bool {
	if len(digits) == 0 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		v := int(c - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// ---- e-mail ----

// matchEmail is called at an '@'. The local part is found by scanning back,
// never before last (what was already emitted).
func matchEmail[T redactable](s T, at, last int) (int, int) {
	start := at
	for start > last && txtEmailLocal(s[start-1]) {
		start--
	}
	if start == at {
		return -1, -1
	}
	n := len(s)
	p := at + 1
	labels := 0
	end := -1
	for {
		ls := p
		for p < n && (txtAlnum(s[p]) || s[p] == '-') {
			p++
		}
		if p == ls {
			break
		}
		labels++
		if labels >= 2 && p-ls >= 2 && txtAllAlpha(s, ls, p) {
			end = p
		}
		if p+1 < n && s[p] == '.' && txtAlnum(s[p+1]) {
			p++
			continue
		}
		break
	}
	if end < 0 {
		return -1, -1
	}
	return start, end
}

func txtAllAlpha[T redactable](s T, from, to int) bool {
	for j := from; j < to; j++ {
		if !txtAlpha(s[j]) {
			return false
		}
	}
	return true
}

// ---- keywords: bearer, basic, birth, born, dob ----

func matchKeyword[T redactable](s T, i int) (int, int) {
	n := len(s)
	notAlphaAt := func(j int) bool { return j >= n || !txtAlpha(s[j]) }
	if s[i]|0x20 == 'b' {
		switch {
		case txtPrefixFold(s, i, "bearer") && notAlphaAt(i+6):
			return matchCredential(s, i+6)
		case txtPrefixFold(s, i, "basic") && notAlphaAt(i+5):
			return matchCredential(s, i+5)
		case txtPrefixFold(s, i, "birth"):
			return matchBirthDate(s, i+5)
		case txtPrefixFold(s, i, "born") && notAlphaAt(i+4):
			return matchBirthDate(s, i+4)
		}
		return -1, -1
	}
	switch {
	case txtPrefixFold(s, i, "dob") && notAlphaAt(i+3):
		return matchBirthDate(s, i+3)
	case txtPrefixFold(s, i, "dateofbirth"):
		return matchBirthDate(s, i+11)
	}
	return -1, -1
}

// matchCredential: after "Bearer"/"Basic", blanks then a token68. Only the
// token is removed. Whatever follows is taken for a credential unless it is
// a prose word ("bearer token", "Basic auth") or an auth-param of a
// WWW-Authenticate challenge (`Basic realm="api"`, `Bearer error=...`).
func matchCredential[T redactable](s T, p int) (int, int) {
	n := len(s)
	q := p
	for q < n && (s[q] == ' ' || s[q] == '\t') {
		q++
	}
	if q == p {
		return -1, -1
	}
	t := q
	for q < n && txtCredByte(s[q]) {
		q++
	}
	end := q
	for end > t && (s[end-1] == '.' || s[end-1] == ',') {
		end-- // sentence punctuation
	}
	if end == t || credentialProse(s, t, end) {
		return -1, -1
	}
	return t, end
}

// credentialProse reports whether s[from:to], the word after Bearer/Basic,
// is prose or an auth-param name rather than a credential.
func credentialProse[T redactable](s T, from, to int) bool {
	w := from
	for w < to && (txtAlpha(s[w]) || s[w] == '_') {
		w++
	}
	if w == from {
		return false
	}
	if w < to {
		// name=value where name is a lowercase auth-param: realm=, error=,
		// scope=, charset=. Base64 has '=' only as trailing padding, so a
		// credential cannot look like this unless it is a short lowercase
		// word followed by padding and a quote; see below.
		if s[w] != '=' || w+1 == to && (to >= len(s) || s[to] != '"') {
			return false
		}
		for j := from; j < w; j++ {
			if txtUpper(s[j]) {
				return false
			}
		}
		return true
	}
	if w-from > 16 {
		return false
	}
	var buf [16]byte
	for j := from; j < w; j++ {
		buf[j-from] = s[j] | 0x20
	}
	switch string(buf[:w-from]) {
	case "token", "tokens", "auth", "authentication", "authorization", "authorisation",
		"header", "scheme", "credential", "credentials", "realm", "error",
		"required", "missing", "invalid", "expired", "revoked", "malformed",
		"is", "was", "not", "or", "and", "the", "a", "an", "of", "for", "in",
		"with", "must", "only", "value", "format", "type", "access", "prefix":
		return true
	}
	return false
}

// matchBirthDate looks a short way past a birth keyword for a date, skipping
// only words and punctuation such as ": = \" is on". It gives up at a line
// or sentence end, at a number that is not a date, or at anything else.
func matchBirthDate[T redactable](s T, p int) (int, int) {
	n := len(s)
	limit := min(n, p+48)
	for q := p; q < limit; {
		c := s[q]
		switch {
		case txtDigit(c):
			if q > 0 && txtAlnum(s[q-1]) {
				return -1, -1
			}
			if end := parseNumericDate(s, q); end > 0 {
				return q, end
			}
			if end := parseTextDate(s, q); end > 0 {
				return q, end
			}
			return -1, -1
		case txtAlpha(c):
			if q == p || !txtAlpha(s[q-1]) {
				if end := parseTextDate(s, q); end > 0 {
					return q, end
				}
			}
			for q < n && txtAlpha(s[q]) {
				q++
			}
		case c == '.':
			if q+1 >= n || s[q+1] == ' ' || s[q+1] == '\n' {
				return -1, -1
			}
			q++
		case strings.IndexByte(" \t:=\"'_-,()[]{}/", c) >= 0:
			q++
		default:
			return -1, -1
		}
	}
	return -1, -1
}

// txtDigitsAt returns the end of the digit run at q and its value (capped).
func txtDigitsAt[T redactable](s T, q int) (end, value int) {
	end = q
	for end < len(s) && txtDigit(s[end]) {
		if end-q < 9 {
			value = value*10 + int(s[end]-'0')
		}
		end++
	}
	return end, value
}

// parseNumericDate: YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, MM-DD-YY, DD.MM.YYYY,
// YYYYMMDD, optionally followed by a "T10:00:00Z" time.
func parseNumericDate[T redactable](s T, q int) int {
	n := len(s)
	e1, v1 := txtDigitsAt(s, q)
	l1 := e1 - q
	end := -1
	switch {
	case l1 == 8:
		m, d := v1/100%100, v1%100
		if m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			end = e1
		}
	case l1 == 1 || l1 == 2 || l1 == 4:
		if e1 >= n || (s[e1] != '-' && s[e1] != '/' && s[e1] != '.') {
			return -1
		}
		sep := s[e1]
		e2, v2 := txtDigitsAt(s, e1+1)
		l2 := e2 - (e1 + 1)
		if l2 < 1 || l2 > 2 || e2 >= n || s[e2] != sep {
			return -1
		}
		e3, v3 := txtDigitsAt(s, e2+1)
		l3 := e3 - (e2 + 1)
		if l1 == 4 {
			if l3 >= 1 && l3 <= 2 && v2 >= 1 && v2 <= 12 && v3 >= 1 && v3 <= 31 {
				end = e3
			}
		} else if (l3 == 2 || l3 == 4) && v1 >= 1 && v2 >= 1 && v1 <= 31 && v2 <= 31 && min(v1, v2) <= 12 {
			end = e3
		}
	}
	if end < 0 {
		return -1
	}
	if end+1 < n && s[end] == 'T' && txtDigit(s[end+1]) {
		end++
		for end < n && (txtDigit(s[end]) || s[end] == ':' || s[end] == '.' || s[end] == 'Z' || s[end] == '+' || s[end] == '-') {
			end++
		}
		return end
	}
	if end < n && txtAlnum(s[end]) {
		return -1
	}
	return end
}

// parseTextDate: "March 3, 1985", "Mar. 3rd 1985", "3 March 1985",
// "3rd of March, 1985", "March 1985".
func parseTextDate[T redactable](s T, q int) int {
	n := len(s)
	blanks := func(p int) int {
		for p < n && s[p] == ' ' {
			p++
		}
		return p
	}
	day := func(p int) int { // day with optional ordinal suffix; -1 if none
		e, v := txtDigitsAt(s, p)
		if e-p < 1 || e-p > 2 || v < 1 || v > 31 {
			return -1
		}
		for _, suf := range [...]string{"st", "nd", "rd", "th"} {
			if txtPrefixFold(s, e, suf) {
				return e + 2
			}
		}
		return e
	}
	year := func(p int) int {
		e, _ := txtDigitsAt(s, p)
		if e-p != 4 || (e < n && txtAlnum(s[e])) {
			return -1
		}
		return e
	}
	if txtDigit(s[q]) { // day first
		p := day(q)
		if p < 0 {
			return -1
		}
		if b := blanks(p); b > p {
			p = b
		} else {
			return -1
		}
		if txtPrefixFold(s, p, "of ") {
			p = blanks(p + 3)
		}
		m := monthWord(s, p)
		if m < 0 {
			return -1
		}
		p = m
		if p < n && (s[p] == '.' || s[p] == ',') {
			p++
		}
		return year(blanks(p))
	}
	m := monthWord(s, q)
	if m < 0 {
		return -1
	}
	p := m
	if p < n && s[p] == '.' {
		p++
	}
	b := blanks(p)
	if b == p {
		return -1
	}
	if y := year(b); y > 0 {
		return y
	}
	p = day(b)
	if p < 0 {
		return -1
	}
	if p < n && s[p] == ',' {
		p++
	}
	b = blanks(p)
	if b == p && (p == 0 || s[p-1] != ',') {
		return -1
	}
	return year(b)
}

// monthWord returns the end of an English month name or abbreviation at q.
func monthWord[T redactable](s T, q int) int {
	e := q
	for e < len(s) && txtAlpha(s[e]) {
		e++
	}
	if e-q < 3 || e-q > 9 {
		return -1
	}
	var buf [9]byte
	for j := q; j < e; j++ {
		buf[j-q] = s[j] | 0x20
	}
	switch string(buf[:e-q]) {
	case "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may",
		"jun", "june", "jul", "july", "aug", "august", "sep", "sept", "september",
		"oct", "october", "nov", "november", "dec", "december":
		return e
	}
	return -1
}

// ---- JWT ----

func matchJWT[T redactable](s T, i int) (int, int) {
	n := len(s)
	q := i
	for q < n && txtB64URL(s[q]) {
		q++
	}
	if q-i < 4 || q >= n || s[q] != '.' {
		return -1, -1
	}
	q++
	p := q
	for q < n && txtB64URL(s[q]) {
		q++
	}
	if q == p || q >= n || s[q] != '.' {
		return -1, -1
	}
	q++
	for q < n && txtB64URL(s[q]) {
		q++
	}
	return i, q
}

// ---- JSON ----

// RedactJSON walks a JSON document and returns it re-encoded compactly, with
// key order kept, and with:
//   - values under sensitive keys replaced by [Redacted] (the key is matched
//     case-insensitively, ignoring '_' and '-': authorization, cookie,
//     set-cookie, password, passwd, secret, client_secret, token,
//     access_token, refresh_token, id_token, api_key, x-api-key,
//     card_number, pan, cvv, cvc, security_code, email, phone,
//     phone_number, mobile, sin, dob, date_of_birth, birth_date,
//     security_answer, secret_answer, answer, piw, merchant_password,
//     govid_number, a few synonyms, and names ending in email, phone,
//     password, secret or a birth date; account_number is NOT sensitive).
//     Objects and arrays there become one [Redacted] string; null, true,
//     false and "" are kept: they hold no secret and tell what was sent;
//   - "number" redacted when its object also holds exp_month, exp_year, cvv,
//     cvc or security_code;
//   - the "value" of every element of a "field_errors" array (Flexiti echoes
//     the submitted value there, PIWs and SINs included), or of a
//     "field_errors" object, redacted;
//   - every other string, keys included, passed through [RedactText];
//   - numbers of 13–19 digits passing the Luhn check redacted.
//
// NUL characters and the literal text \u0000 are dropped from strings and
// invalid UTF-8 is replaced by U+FFFD, so the output never contains the
// escape \u0000. ok is false when data is not valid JSON (then the caller
// falls back to RedactText).
func RedactJSON(data []byte) (out []byte, ok bool) {
	if !json.Valid(data) {
		return nil, false
	}
	w := jsonWalker{data: data, out: make([]byte, 0, len(data)+len(data)/8+16)}
	w.value(w.ws(0), modePlain)
	return w.out, true
}

type jsonMode uint8

const (
	modePlain        jsonMode = iota
	modeRedact                // the whole value is replaced
	modeFieldErrors           // the value of a "field_errors" key
	modeFieldErrElem          // an element of field_errors: its "value" is redacted
)

// jsonWalker re-encodes a document already checked by json.Valid, so it
// never has to report a syntax error.
type jsonWalker struct {
	data []byte
	out  []byte
	str  []byte // scratch: decoded string
	red  []byte // scratch: redacted string
}

func (w *jsonWalker) ws(i int) int {
	for i < len(w.data) {
		switch w.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (w *jsonWalker) redacted() { w.out = append(w.out, `"`+Redacted+`"`...) }

func (w *jsonWalker) value(i int, mode jsonMode) int {
	d := w.data
	switch d[i] {
	case '{', '[':
		if mode == modeRedact {
			w.redacted()
			return w.skip(i)
		}
		if d[i] == '{' {
			return w.object(i, mode == modeFieldErrors || mode == modeFieldErrElem)
		}
		elem := modePlain
		if mode == modeFieldErrors {
			elem = modeFieldErrElem
		}
		return w.array(i, elem)
	case '"':
		end, esc := w.scanString(i)
		if mode == modeRedact && end-i > 2 {
			w.redacted()
			return end
		}
		w.appendText(w.decode(d[i+1:end-1], esc))
		return end
	case 't', 'f', 'n':
		end := i
		for end < len(d) && txtLower(d[end]) {
			end++
		}
		w.out = append(w.out, d[i:end]...)
		return end
	default:
		end := i
		for end < len(d) && strings.IndexByte("+-.eE0123456789", d[end]) >= 0 {
			end++
		}
		if mode == modeRedact || jsonCardNumber(d[i:end]) {
			w.redacted()
		} else {
			w.out = append(w.out, d[i:end]...)
		}
		return end
	}
}

func jsonCardNumber(num []byte) bool {
	return len(num) >= 13 && len(num) <= 19 && luhnValid(num)
}

func (w *jsonWalker) object(i int, fieldErrElem bool) int {
	d := w.data
	objStart := i
	cardCtx := 0 // 0 unknown, 1 the object holds card fields, 2 it does not
	w.out = append(w.out, '{')
	i = w.ws(i + 1)
	first := true
	for d[i] != '}' {
		if !first {
			w.out = append(w.out, ',')
		}
		first = false
		kEnd, esc := w.scanString(i)
		key := w.decode(d[i+1:kEnd-1], esc)
		var nb [24]byte
		norm := normalizeJSONKey(nb[:0], key)
		w.appendText(key)
		w.out = append(w.out, ':')
		i = w.ws(w.ws(kEnd) + 1) // past ':'
		mode := modePlain
		switch {
		case isSensitiveJSONKey(string(norm)):
			mode = modeRedact
		case fieldErrElem && string(norm) == "value":
			mode = modeRedact
		case string(norm) == "number":
			if cardCtx == 0 {
				cardCtx = 2
				if w.holdsCardFields(objStart) {
					cardCtx = 1
				}
			}
			if cardCtx == 1 {
				mode = modeRedact
			}
		case string(norm) == "fielderrors":
			mode = modeFieldErrors
		}
		i = w.ws(w.value(i, mode))
		if d[i] == ',' {
			i = w.ws(i + 1)
		}
	}
	w.out = append(w.out, '}')
	return i + 1
}

func (w *jsonWalker) array(i int, elem jsonMode) int {
	d := w.data
	w.out = append(w.out, '[')
	i = w.ws(i + 1)
	first := true
	for d[i] != ']' {
		if !first {
			w.out = append(w.out, ',')
		}
		first = false
		i = w.ws(w.value(i, elem))
		if d[i] == ',' {
			i = w.ws(i + 1)
		}
	}
	w.out = append(w.out, ']')
	return i + 1
}

// holdsCardFields reports whether the object at i has a sibling key that
// makes "number" a card number.
func (w *jsonWalker) holdsCardFields(i int) bool {
	d := w.data
	i = w.ws(i + 1)
	var nb [24]byte
	for d[i] != '}' {
		kEnd, esc := w.scanString(i)
		var norm []byte
		if esc {
			// decode into a copy: w.str may hold the caller's key
			norm = normalizeJSONKey(nb[:0], decodeJSONString(nil, d[i+1:kEnd-1]))
		} else {
			norm = normalizeJSONKey(nb[:0], d[i+1:kEnd-1])
		}
		switch string(norm) {
		case "expmonth", "expyear", "expirationmonth", "expirymonth", "cvv", "cvc", "securitycode":
			return true
		}
		i = w.ws(w.skip(w.ws(w.ws(kEnd) + 1)))
		if d[i] == ',' {
			i = w.ws(i + 1)
		}
	}
	return false
}

// normalizeJSONKey appends key lowercased without '_' and '-'; it gives up
// (returns an empty result) past cap(dst): no sensitive name is that long.
func normalizeJSONKey(dst, key []byte) []byte {
	for _, c := range key {
		if c == '_' || c == '-' {
			continue
		}
		if len(dst) == cap(dst) {
			return dst[:0]
		}
		if txtUpper(c) {
			c |= 0x20
		}
		dst = append(dst, c)
	}
	return dst
}

// isSensitiveJSONKey reports whether a JSON key, normalized by
// normalizeJSONKey, holds a value that must never be stored: one of the
// listed names, or a name ending in one of the listed suffixes.
// account_number is deliberately not listed: it is an ordinary identifier in
// provider answers.
func isSensitiveJSONKey(norm string) bool {
	switch norm {
	case "authorization", "proxyauthorization", "cookie", "setcookie",
		"password", "passwd", "secret", "clientsecret",
		"token", "accesstoken", "refreshtoken", "idtoken",
		"apikey", "xapikey",
		"cardnumber", "pan", "cvv", "cvv2", "cvc", "securitycode",
		"email", "phone", "phonenumber", "mobile",
		"sin", "ssn", "dob", "dateofbirth", "birthdate", "birthday",
		"securityanswer", "secretanswer", "answer", "piw",
		"merchantpassword", "govidnumber":
		return true
	}
	// customer_email, billing_phone, new_password, webhook_secret,
	// applicant_date_of_birth: the same data under a qualified name.
	for _, suffix := range [...]string{"email", "phone", "phonenumber", "password", "passwd", "secret", "dateofbirth", "birthdate"} {
		if strings.HasSuffix(norm, suffix) {
			return true
		}
	}
	return false
}

// scanString returns the index past the closing quote of the string at i,
// and whether it holds escapes.
func (w *jsonWalker) scanString(i int) (end int, esc bool) {
	d := w.data
	for j := i + 1; j < len(d); j++ {
		switch d[j] {
		case '"':
			return j + 1, esc
		case '\\':
			esc = true
			j++
		}
	}
	return len(d), esc
}

// decode returns the content of a JSON string: raw itself when it has no
// escapes, else its decoded form in w.str.
func (w *jsonWalker) decode(raw []byte, esc bool) []byte {
	if !esc {
		return raw
	}
	w.str = decodeJSONString(w.str[:0], raw)
	return w.str
}

// decodeJSONString appends the decoded content of a valid JSON string body.
// NUL characters are dropped, and so is any literal text \u0000 that the
// decoding produces (it would re-encode as \\u0000, which still holds the
// \u0000 that Postgres jsonb rejects).
func decodeJSONString(dst, raw []byte) []byte {
	start := len(dst)
	dst, _ = unescape(dst, raw)
	// Compact in place: the write position never passes the read position.
	out := dst[:start]
	for _, c := range dst[start:] {
		if c == 0 {
			continue
		}
		out = append(out, c)
		if c == '0' {
			out = dropNULEscape(out)
		}
	}
	return out
}

// dropNULEscape removes a trailing literal \u0000 from b.
func dropNULEscape(b []byte) []byte {
	if n := len(b); n >= 6 && string(b[n-6:]) == `\u0000` {
		return b[:n-6]
	}
	return b
}

// appendText redacts s with the free-text scanner and appends it as a JSON
// string.
func (w *jsonWalker) appendText(s []byte) {
	if red, changed := redactAppend(w.red[:0], s); changed {
		w.red = red
		s = red
	}
	w.out = appendRedactedJSONString(w.out, s)
}

// appendRedactedJSONString appends s as a JSON string: invalid UTF-8 becomes U+FFFD
// and NUL is dropped.
func appendRedactedJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case 0:
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// skip returns the index past the value at i.
func (w *jsonWalker) skip(i int) int {
	d := w.data
	switch d[i] {
	case '"':
		end, _ := w.scanString(i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(d); j++ {
			switch d[j] {
			case '"':
				end, _ := w.scanString(j)
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(d)
	default:
		j := i
		for j < len(d) && strings.IndexByte(",]} \t\r\n", d[j]) < 0 {
			j++
		}
		return j
	}
}

// ---- bodies, headers, sanitising ----

// RedactBody redacts a response body for storage: JSON bodies (starting,
// after blanks, with '{' or '[') through [RedactJSON], anything else, and JSON
// that does not parse, through [RedactText]. It then sanitises the result:
// invalid UTF-8 is replaced with U+FFFD, NUL bytes and the JSON escape
// \u0000 are removed (Postgres text and jsonb cannot hold them), and the
// result is bounded to max bytes, cut on a rune boundary with a
// "…[truncated N bytes]" marker appended inside the bound (N counts the
// bytes cut). max <= 0 means no bound.
func RedactBody(body []byte, max int) string {
	var s string
	if looksLikeJSON(body) {
		if out, ok := RedactJSON(body); ok {
			s = string(out)
		}
	}
	if s == "" {
		s = RedactText(string(body))
	}
	return sanitizeForStorage(s, max, true)
}

func looksLikeJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// SensitiveHeader reports whether a header's value must never be stored
// (case-insensitive): Authorization, Proxy-Authorization, Cookie, Set-Cookie,
// X-Api-Key, Api-Key, and any name containing "token", "secret", "password",
// "signature", "api-key", "apikey" or "api_key".
func SensitiveHeader(name string) bool {
	for _, h := range [...]string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"} {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	for _, sub := range [...]string{"token", "secret", "password", "signature", "api-key", "apikey", "api_key"} {
		if txtContainsFold(name, sub) {
			return true
		}
	}
	return false
}

// txtContainsFold reports whether s contains lower (ASCII lowercase), ignoring
// case.
func txtContainsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if txtPrefixFold(s, i, lower) {
			return true
		}
	}
	return false
}

// Sanitize makes s safe for Postgres text: invalid UTF-8 is replaced with
// U+FFFD, NUL bytes are removed, and the result is cut to at most max bytes
// on a rune boundary. max <= 0 means no bound. s itself is returned when it
// is already safe.
func Sanitize(s string, max int) string {
	return sanitizeForStorage(s, max, false)
}

const (
	truncPrefix = "…[truncated "
	truncSuffix = " bytes]"
)

func sanitizeForStorage(s string, max int, body bool) string {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || (body && strings.Contains(s, `\u0000`)) {
		s = cleanForStorage(s, body)
	}
	if max <= 0 || len(s) <= max {
		return s
	}
	if body {
		if keep := max - len(truncPrefix) - len(truncSuffix) - len(strconv.Itoa(len(s))); keep >= 0 {
			keep = runeCutBefore(s, keep)
			return s[:keep] + truncPrefix + strconv.Itoa(len(s)-keep) + truncSuffix
		}
	}
	return s[:runeCutBefore(s, max)]
}

// runeCutBefore returns the largest i <= n where valid UTF-8 s can be cut.
func runeCutBefore(s string, n int) int {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// cleanForStorage replaces invalid UTF-8 (each bad byte) with U+FFFD and
// drops NUL
// bytes, and with escapes also the text \u0000 (repeatedly, so that removing
// one cannot form another).
func cleanForStorage(s string, escapes bool) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c == 0 {
				continue
			}
			b = append(b, c)
			if escapes && c == '0' {
				b = dropNULEscape(b)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}
