package redact

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// Text removes secrets from free text: card numbers, SINs and phone
// numbers in any digits and with any separators; e-mail addresses (also
// written with %40 or &#64;, or with a non-ASCII domain); bearer and basic
// credentials and JWTs; userinfo in URLs; the value after a sensitive key
// ("password=…", "access_token=…", "Authorization: …", "Cookie: …",
// "'pin': '…'"); short codes after CVV, CVC or PIN; numbers after a phone
// word; and dates after a birth keyword. Each removed value is replaced by
// [Redacted]. It returns s itself (no allocation) when nothing matched.
func Text(s string) string {
	c, cleaned := clean(s)
	out, changed := appendText(nil, c)
	if changed {
		out = untilFixed(out, func(dst []byte, s string) ([]byte, bool) { return appendText(dst, s) })
	}
	switch {
	case changed:
		return string(out)
	case cleaned:
		return string([]byte(c)) // c views a scratch buffer
	}
	return s
}

// maxPasses bounds how many times redacted text is scanned again.
const maxPasses = 4

// untilFixed redacts out again until nothing changes: removing one secret
// can shape text that another detector takes for one (a card glued to a
// domain label; "1 [REDACTED]" after a number), and what is stored must
// be what redacting it again would give.
func untilFixed(out []byte, pass func(dst []byte, s string) ([]byte, bool)) []byte {
	for i := 1; i < maxPasses; i++ {
		again, changed := pass(nil, b2s(out))
		if !changed {
			break
		}
		out = again
	}
	return out
}

// appendText scans s (clean text) once. While nothing matches it only
// reads; at the first match it appends to dst everything up to the match
// and goes on appending. changed reports whether anything was redacted
// (a match that is [REDACTED] already changes nothing, so that redacted
// text is seen to be fixed at once); when it is false dst is returned
// untouched.
func appendText(dst []byte, s string) (out []byte, changed bool) {
	var sc textScanner
	sc.s = s
	emitted := 0 // s is in dst up to here
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		if !trigger[c] {
			i++
			continue
		}
		if isAlpha(c) && i != sc.last && i+1 < n {
			// A letter inside a word starts nothing but a glued JWT or a
			// camel-case word (userPin); the lower-case letters after it
			// are skipped at once. A letter that starts a word starts
			// nothing unless a keyword or a vendor prefix starts with its
			// first two letters, or a shape that only length tells (an IBAN,
			// an AWS secret key) may start there.
			if i > 0 && isAlnum(s[i-1]) && !(isUpper(c) && isLower(s[i-1])) {
				if c != 'e' || s[i+1] != 'y' {
					for i++; i < n && midWord[s[i]]; i++ {
					}
					continue
				}
			} else if !mayStartKeyword(s, i) && !mayStartShape(s, i) && (c != 'e' || s[i+1] != 'y') {
				for i++; i < n && midWord[s[i]]; i++ {
				}
				continue
			}
		}
		switch c {
		case '-', '<', '~':
			// Rare starts: a PEM block's dashes, a tag's name, Q~ of an
			// Azure secret.
			if c == '-' && (i+1 >= n || s[i+1] != '-') || c == '<' && (i+1 >= n || !isAlpha(s[i+1]) && s[i+1] != '_') ||
				c == '~' && s[i-boolIndex(i > 0)] != 'Q' {
				i++
				continue
			}
		}
		start, end, next := sc.at(i)
		if start < 0 {
			i = next
			continue
		}
		if s[start:end] != Redacted { // a value redacted already stays as it is
			if !changed {
				dst = slices.Grow(dst, n+len(Redacted))
				changed = true
			}
			dst = append(dst, s[emitted:start]...)
			dst = append(dst, Redacted...)
			emitted = end
		}
		sc.last, i = end, end
	}
	if changed {
		dst = append(dst, s[emitted:]...)
	}
	return dst, changed
}

// trigger marks the bytes at which a detector can start: digits and the
// signs that open a number, the forms of the at-sign, ':' and '=' of
// key-value pairs and URLs, quotes after a key word, the first letters of the keywords matchWord
// knows (bearer, basic, birth, born, cvv, cell, dob, d.o.b., fax, mobile,
// phone, pin, tel), 'e' of a JWT, and the lead bytes of non-ASCII
// characters (digits of other scripts, the full-width at-sign).
var trigger = func() (t [256]bool) {
	for _, c := range []byte("0123456789+(@%&:='\"-<~") {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := 0xC0; c < 0x100; c++ {
		t[c] = true
	}
	return t
}()

// keywords are the words matchWord knows, lower case: credentials
// (bearer, basic), birth dates, card codes, PINs, phone words; the words
// that name a secret in prose; bank and identity numbers.
var keywords = []string{
	"bearer", "basic", "birth", "born", "dob", "dateofbirth", "d.o.b", "cvv", "cvc", "cvn", "cvd", "csc", "cid",
	"pin", "pincode", "tel", "telephone", "fax", "cell", "cellphone", "phone", "mobile",
	"secret", "token", "password", "passwd", "passphrase", "passcode", "pwd", "credential",
	"key", "security", "verification", "personal", "piw", "maiden",
	"routing", "aba", "rtn", "transit", "institution", "account", "acct", "bank", "ssn", "social",
	"passport", "licence", "license", "dl",
}

// keywordStart is the set of the first three bytes of keywords, folded to
// five bits each (a letter of either case to 1–26): a word whose first
// three bytes are not in it starts no keyword. A keyword of two letters
// (dl) is in it with every third byte.
var keywordStart = func() (t [1 << 15 / 64]uint64) {
	set := func(a, b, c byte) {
		k := keyIndex3(a, b, c)
		t[k/64] |= 1 << (k % 64)
	}
	for _, w := range keywords {
		if len(w) == 2 {
			for c := 0; c < 32; c++ {
				set(w[0], w[1], byte(c))
			}
			continue
		}
		set(w[0], w[1], w[2])
	}
	return t
}()

func keyIndex3(a, b, c byte) uint { return uint(a&31)<<10 | uint(b&31)<<5 | uint(c&31) }

// mayStartKeyword is the constant-time test of a word start at s[i].
func mayStartKeyword(s string, i int) bool {
	var c byte
	if i+2 < len(s) {
		c = s[i+2]
	}
	k := keyIndex3(s[i], s[i+1], c)
	return keywordStart[k/64]&(1<<(k%64)) != 0 && !commonNotKeyword(s, i)
}

// commonNotKeyword rejects the common words that share their first three
// letters with a keyword of prose or bank numbers (transaction, credit,
// insufficient, version, main, route…), by the letters after them.
func commonNotKeyword(s string, i int) bool {
	if i+3 > len(s) {
		return false
	}
	not := func(want ...string) bool {
		for _, w := range want {
			if hasPrefixFold(s, i+3, w) {
				return false
			}
		}
		return true
	}
	switch uint32(s[i]|0x20)<<16 | uint32(s[i+1]|0x20)<<8 | uint32(s[i+2]|0x20) {
	case 't'<<16 | 'r'<<8 | 'a':
		return not("nsi") // transit
	case 'c'<<16 | 'r'<<8 | 'e':
		return not("de") // credential
	case 'i'<<16 | 'n'<<8 | 's':
		return not("tit") // institution
	case 'a'<<16 | 'c'<<8 | 'c':
		return not("ou", "t") // account, acct
	case 's'<<16 | 'e'<<8 | 'c':
		return not("r", "u") // secret, security
	case 'p'<<16 | 'a'<<8 | 's':
		return not("s") // password, passphrase, passcode, passport
	case 'p'<<16 | 'e'<<8 | 'r':
		return not("so") // personal
	case 'v'<<16 | 'e'<<8 | 'r':
		return not("if") // verification
	case 'b'<<16 | 'a'<<8 | 'n':
		return not("k") // bank
	case 'r'<<16 | 'o'<<8 | 'u':
		return not("ti") // routing
	case 'm'<<16 | 'a'<<8 | 'i':
		return not("de") // maiden
	case 's'<<16 | 'o'<<8 | 'c':
		return not("ia") // social
	case 'l'<<16 | 'i'<<8 | 'c':
		return not("en") // licence, license
	}
	return false
}

// midWord: the bytes skipped at once inside a word, lower-case letters but
// the 'e' that may start a glued JWT.
var midWord = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = c != 'e'
	}
	return t
}()

// mayStartShape is the constant-time test of a word start for the shapes
// matchShape, matchIBAN, matchAWSSecret and matchMailchimp look for.
func mayStartShape(s string, i int) bool {
	d := s[i+1]
	if shapeGroup(s[i], d) != nil {
		return true
	}
	if i+3 < len(s) && isAlpha(d) && isDigit(s[i+2]) && isDigit(s[i+3]) {
		return true // an IBAN's country and check digits
	}
	return mayBeAWSSecret(s, i) || (i+34 < len(s) && s[i+32] == '-' && s[i+33] == 'u')
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// textScanner holds the position up to which text was emitted: a match
// never starts before it.
type textScanner struct {
	s           string
	last        int
	noJWTBefore int  // no JWT starts before this position
	afterAt     int  // past the last at-sign seen: no local part reaches before it
	bank        int8 // s names a bank: see bankContext
	// noHexIDBefore: the digits before it are in no hex id (hexID looked
	// there already).
	noHexIDBefore int
}

// at tries the detectors that can start at s[i]. It returns the span to
// replace, or -1 and the position to go on from.
//
// Right after a match (i == sc.last) the text before i is [Redacted] in the
// output: i is then at a boundary, as it will be when the output is
// redacted again.
func (sc *textScanner) at(i int) (start, end, next int) {
	s := sc.s
	c := s[i]
	afterMatch := i == sc.last
	switch {
	case isDigit(c), (c == '+' || c == '(') && i+1 < len(s) && startsDigit(s, i+1):
		if !afterMatch && prevIsDigit(s, i) {
			return -1, -1, i + 1
		}
		if isDigit(c) && i >= sc.noHexIDBefore {
			// The digits of a trace id, logref, hash or UUID are none of a
			// card's or a phone's: the id is skipped whole.
			id, end := hexID(s, i)
			if id {
				return -1, -1, end
			}
			sc.noHexIDBefore = end
		}
		if isDigit(c) && (afterMatch || !isAlnum(s[i-boolIndex(i > 0)]) || i == 0) {
			if start, end = sc.wordShape(i); start >= 0 {
				return start, end, end
			}
		}
		// "+" starts a number of its own even after a word (AU+1416…).
		if start, end = matchNumber(s, i, !afterMatch && c != '+' && prevIsWord(s, i), modeFree); start >= 0 {
			return start, end, end
		}
		return -1, -1, i + 1
	case c == '\'' || c == '"':
		if start, end = matchQuotedAfterKey(s, i, sc.last); start >= 0 {
			return start, end, end
		}
	case c == '@':
		return sc.email(i, 1)
	case c == '%':
		if hasPrefixFold(s, i, "%40") {
			return sc.email(i, 3)
		}
	case c == '&':
		if hasPrefixFold(s, i, "&#64;") {
			return sc.email(i, 5)
		}
		if hasPrefixFold(s, i, "&#x40;") {
			return sc.email(i, 6)
		}
	case c == ':' || c == '=':
		if c == ':' && i+2 < len(s) && s[i+1] == '/' && s[i+2] == '/' {
			return matchUserinfo(s, i+3)
		}
		if c == ':' && i > 0 && isDigit(s[i-1]) {
			if start, end = matchTelegram(s, i, sc.last); start >= 0 {
				return start, end, end
			}
		}
		if start, end = matchAssignment(s, i, sc.last); start >= 0 {
			return start, end, end
		}
	case c == 'e':
		if i+2 < len(s) && s[i+1] == 'y' && s[i+2] == 'J' && i >= sc.noJWTBefore {
			start, end, next = matchJWT(s, i)
			if start >= 0 {
				return start, end, end
			}
			// Every JWT starting before next would fail the same way.
			sc.noJWTBefore = next
		}
		fallthrough
	case isAlpha(c):
		if afterMatch || !isAlnum(s[i-1]) {
			if start, end = sc.wordShape(i); start >= 0 {
				return start, end, end
			}
		}
		if afterMatch || !isAlnum(s[i-1]) || (isLower(s[i-1]) && isUpper(c)) {
			if start, end = matchWord(s, i, &sc.bank); start >= 0 {
				return start, end, end
			}
		}
	case c == '-':
		if start, end = matchPEM(s, i); start >= 0 {
			return start, end, end
		}
	case c == '<':
		return matchMarkup(s, i)
	case c == '~':
		if i >= 5 {
			if start, end = matchAzureSecret(s, i, sc.last); start >= 0 {
				return start, end, end
			}
		}
	case c >= 0xC0: // the first byte of a non-ASCII character
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsDigit(r):
			if !afterMatch && prevIsDigit(s, i) {
				return -1, -1, i + size
			}
			if start, end = matchNumber(s, i, !afterMatch && prevIsWord(s, i), modeFree); start >= 0 {
				return start, end, end
			}
		case r == '＠':
			return sc.email(i, size)
		}
		return -1, -1, i + size
	}
	return -1, -1, i + 1
}

// wordShape tries the shapes that a word start (a letter or digit after
// a boundary) may begin: a vendor credential, an IBAN, an AWS secret key,
// a Mailchimp key.
func (sc *textScanner) wordShape(i int) (int, int) {
	s := sc.s
	if i+1 >= len(s) {
		return -1, -1
	}
	if start, end := matchShape(s, i); start >= 0 {
		return start, end
	}
	if start, end := matchIBAN(s, i); start >= 0 {
		return start, end
	}
	if mayBeAWSSecret(s, i) {
		if start, end := matchAWSSecret(s, i, sc.last); start >= 0 {
			return start, end
		}
	}
	return matchMailchimp(s, i)
}

func startsDigit(s string, i int) bool {
	v, _ := digitAt(s, i)
	return v >= 0
}

// prevIsDigit reports whether the character before s[i] is a digit.
func prevIsDigit(s string, i int) bool {
	if i == 0 {
		return false
	}
	if c := s[i-1]; c < utf8.RuneSelf {
		return isDigit(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsDigit(r)
}

// prevIsWord reports whether the character before s[i] is a letter or '_'.
func prevIsWord(s string, i int) bool {
	if i == 0 {
		return false
	}
	if c := s[i-1]; c < utf8.RuneSelf {
		return isAlpha(c) || c == '_'
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r)
}

// ---- e-mail ----

// email is called at an at-sign of size atLen ("@", "%40", "&#64;", "＠").
func (sc *textScanner) email(at, atLen int) (start, end, next int) {
	from := max(sc.last, sc.afterAt)
	sc.afterAt = at + atLen
	if start, end = matchEmail(sc.s, at, atLen, from); start >= 0 {
		return start, end, end
	}
	return -1, -1, at + atLen
}

// matchEmail: the local part is found by scanning back, never before from
// (what was already emitted, or the previous at-sign: "%40" is made of
// local-part characters); the domain needs two labels or more and a
// top-level label of letters (any script).
func matchEmail(s string, at, atLen, from int) (int, int) {
	start := at
	for start > from && isEmailLocal(s[start-1]) {
		start--
	}
	if start == at {
		return -1, -1
	}
	n := len(s)
	p := at + atLen
	labels, end := 0, -1
	for {
		ls := p
		for p < n && (isAlnum(s[p]) || s[p] == '-' || s[p] >= utf8.RuneSelf) {
			p++
		}
		if p == ls {
			break
		}
		labels++
		if labels >= 2 && p-ls >= 2 && allLetters(s[ls:p]) {
			end = p
		}
		if p+1 < n && s[p] == '.' && (isAlnum(s[p+1]) || s[p+1] >= utf8.RuneSelf) {
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

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c >= utf8.RuneSelf
}

func allLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// ---- words: credentials, birth dates, card codes, phones ----

// matchWord looks at the word starting at s[i] (a letter after a word
// boundary) for a keyword that introduces a secret.
func matchWord(s string, i int, bank *int8) (int, int) {
	n := len(s)
	e := i
	for e < n && e-i <= 16 && isAlpha(s[e]) {
		e++
	}
	if e-i > 16 {
		return -1, -1
	}
	var buf [17]byte
	for j := i; j < e; j++ {
		buf[j-i] = s[j] | 0x20
	}
	w := string(buf[:e-i])
	switch {
	case w == "bearer" || w == "basic":
		return matchCredential(s, e)
	case w == "dob", w == "born", w == "dateofbirth", len(w) >= 5 && w[:5] == "birth":
		return matchBirthDate(s, e)
	case w == "d" && hasPrefixFold(s, e, ".o.b"):
		e += 4
		if e < n && s[e] == '.' {
			e++
		}
		return matchBirthDate(s, e)
	case w == "cvv", w == "cvc", w == "cvn", w == "cvd", w == "csc", w == "cid":
		if e < n && s[e] == '2' {
			e++
		}
		return matchCode(s, e, 3, 4)
	case w == "pin", w == "pincode":
		return matchCode(s, e, 4, 12)
	case w == "tel", w == "telephone", w == "fax", w == "cell", w == "cellphone",
		len(w) >= 5 && (w[:5] == "phone" || w == "mobile" || w == "mobilephone"):
		p := skipFiller(s, e)
		if p < n && (startsDigit(s, p) || s[p] == '+' || s[p] == '(') {
			return matchNumber(s, p, false, modePhoneWord)
		}
	default:
		// Words of prose stand alone: not the tail of a camel-case word
		// (an id's …eDl9YJ… is no "DL 9YJ…"), nor glued to a digit.
		if (i > 0 && isAlnum(s[i-1])) || (e < n && isDigit(s[e])) {
			return -1, -1
		}
		if start, end, ok := matchProseWord(s, i, e, w, bank); ok {
			return start, end
		}
	}
	return -1, -1
}

// skipFiller moves past what may separate a keyword from its value:
// blanks and ":=#\"'", and a filler word such as "number" or "is".
func skipFiller(s string, p int) int {
	n := len(s)
	limit := min(n, p+24)
	words := 0
	for p < limit {
		switch c := s[p]; {
		case c == ' ' || c == '\t' || c == ':' || c == '=' || c == '#' || c == '"' || c == '\'' || c == '.' || c == '-' || c == '_':
			p++
		case isAlpha(c) && words == 0:
			q := fillerWord(s, p, "number", "code", "no", "is", "was", "nr")
			if q == p {
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

// matchCode: after CVV or PIN, a run of minDigits to maxDigits digits.
func matchCode(s string, p, minDigits, maxDigits int) (int, int) {
	p = skipFiller(s, p)
	start, digits := p, 0
	for p < len(s) && digits <= maxDigits {
		v, size := digitAt(s, p)
		if v < 0 {
			break
		}
		digits++
		p += size
	}
	if digits < minDigits || digits > maxDigits || (p < len(s) && isAlnum(s[p])) {
		return -1, -1
	}
	return start, p
}

// matchCredential: after "Bearer" or "Basic", a colon or blanks, then a
// token68. Only the token is removed. Whatever follows is taken for a
// credential unless it is a prose word ("bearer token", "Basic auth") or an
// auth-param of a WWW-Authenticate challenge (`Basic realm="api"`).
func matchCredential(s string, p int) (int, int) {
	n := len(s)
	q := p
	if q < n && (s[q] == ':' || s[q] == '=') {
		q++
	}
	for q < n && (s[q] == ' ' || s[q] == '\t') {
		q++
	}
	if q == p {
		return -1, -1
	}
	t := q
	for q < n && isCredByte(s[q]) {
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

// credentialProse reports whether s[from:to], the word after Bearer or
// Basic, is prose or an auth-param name rather than a credential.
func credentialProse(s string, from, to int) bool {
	w := from
	for w < to && (isAlpha(s[w]) || s[w] == '_') {
		w++
	}
	if w == from {
		return false
	}
	if w < to {
		// name=value where name is a lowercase auth-param: realm=,
		// error=, scope=. Base64 has '=' only as trailing padding.
		if s[w] != '=' || w+1 == to && (to >= len(s) || s[to] != '"') {
			return false
		}
		for j := from; j < w; j++ {
			if isUpper(s[j]) {
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

// matchQuotedAfterKey is called at a quote: when the words before it name
// a secret ("password 'hunter2'", "security answer is \"Rex\"", "PIW
// 'bluebird'"), the quoted text is removed.
func matchQuotedAfterKey(s string, q, last int) (int, int) {
	if q == 0 || (s[q-1] != ' ' && s[q-1] != '\t') {
		return -1, -1 // the closing quote of a word, or a quote after '=' or ':'
	}
	j := q
	for words := 0; words < 2; words++ {
		for j > last && q-j < 24 && (s[j-1] == ' ' || s[j-1] == '\t') {
			j--
		}
		k := j
		for k > last && j-k <= 32 && isAlpha(s[k-1]) {
			k--
		}
		if k == j || j-k > 32 {
			return -1, -1
		}
		w := s[k:j]
		if hasPrefixFold(w, 0, "is") && len(w) == 2 || hasPrefixFold(w, 0, "was") && len(w) == 3 {
			j = k
			continue // a filler word: look at the one before
		}
		if !SensitiveKey(w) {
			return -1, -1
		}
		end := closingQuote(s, q+1, s[q], false)
		if end <= q+1 {
			return -1, -1
		}
		return q + 1, end
	}
	return -1, -1
}

// ---- JWT ----

// matchJWT: header.payload.signature in base64url, the header starting
// with eyJ ({"). A JWT glued to a word is found too. On failure next is
// where a JWT could start at the earliest.
func matchJWT(s string, i int) (start, end, next int) {
	n := len(s)
	q := i
	for q < n && isB64URL(s[q]) {
		q++
	}
	if q-i < 4 || q >= n || s[q] != '.' {
		return -1, -1, q
	}
	q++
	p := q
	for q < n && isB64URL(s[q]) {
		q++
	}
	if q == p || q >= n || s[q] != '.' {
		return -1, -1, q
	}
	q++
	for q < n && isB64URL(s[q]) {
		q++
	}
	return i, q, q
}

// ---- URLs ----

// matchUserinfo is called past "://": the user and password before an
// '@' in the authority (http://u:pw@proxy:3128) are removed. The scan stops
// at the first delimiter, so scans from two "://" never overlap.
func matchUserinfo(s string, p int) (start, end, next int) {
	for q := p; q < len(s); q++ {
		switch c := s[q]; {
		case c == '@':
			if q > p {
				return p, q, q
			}
			return -1, -1, p
		case c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' ||
			c == '\\' || c <= ' ':
			return -1, -1, p
		}
	}
	return -1, -1, p
}
