package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SensitiveKey reports whether a value named name (a JSON key, a header
// name, a query or form parameter) must never be stored, whatever it holds.
//
// The name is normalised first: case folded (including the non-ASCII
// letters that fold to ASCII ones, such as the Kelvin sign, and full-width
// forms), in any case style (camelCase, snake_case, kebab-case, dotted).
// It is sensitive when it contains passw (password, passwd), passphrase, passcode,
// secret, token, credential, signature, cookie, session, an API, private,
// client, access, signing or subscription key, a card number, card security
// code, security or secret answer, birth, phone, mobile or e-mail; or when
// one of its words is pass, pwd, auth…, pin, cvv, cvc, cvn, cvd, dob, sin,
// ssn, piw, pan, otp, jwt, sig, tel, cell or answer.
func SensitiveKey(name string) bool {
	var k keyName
	k.parse(name)
	return k.sensitive()
}

// Substrings of a normalised key that make it sensitive.
var sensitiveParts = [...]string{
	"passw", "passphrase", "passcode", "secret", "token", "credential",
	"signature", "cookie", "session", "apikey", "privatekey", "clientkey", "accesskey",
	"signingkey", "subscriptionkey", "cardnumber", "creditcard", "cardno", "ccnumber",
	"securitycode", "securityanswer", "secretanswer", "birth", "phone", "mobile", "email",
	"authorization", "authentication", "passport", "governmentid",
	// Card verification values under other names (Authorize.net cardCode,
	// Shopify verification_value, CardSecVal) and security questions.
	"cardcode", "verificationvalue", "cardsecval", "cardverification", "maidenname",
	// Bank and identity numbers.
	"iban", "routingnumber", "routingno", "abanumber", "transitnumber", "institutionnumber",
	"bankaccount", "sortcode", "socialsecurity", "nationalid", "driverslicen", "driverlicen",
	"licencenumber", "licensenumber", "taxpayerid", "accountkey",
}

// sensitiveWord reports whether a word of a key makes it sensitive on its
// own: pass, pwd, auth… (not authenticate: the WWW-Authenticate challenge;
// not authority), pin, cvv/cvc/cvn/cvd…, dob, sin, ssn, piw, pan, otp,
// jwt, sig, tel, cell, answer, govid.
func sensitiveWord(w string) bool {
	switch w {
	case "pass", "pwd", "mysqlpwd", "dbpwd", "pin", "pinblock", "pincode", "pinnumber", "dob", "sin", "ssn",
		"piw", "pan", "otp", "jwt", "sig", "tel", "cell", "answer", "govid", "aba", "bsb", "csc":
		return true
	case "authenticate", "authority", "authorities":
		return false
	}
	if len(w) >= 4 && w[:4] == "auth" {
		return true
	}
	return len(w) >= 3 && w[0] == 'c' && w[1] == 'v' && (w[2] == 'v' || w[2] == 'c' || w[2] == 'n' || w[2] == 'd')
}

// keyName is a key normalised for matching: its letters and digits folded
// to lower case, and whether one of its words (split at separators and case
// changes) is sensitive on its own. Nothing in it refers back to positions of the original
// name: folding may change the length of a letter. It holds no pointer to
// itself, so that it stays on the stack.
type keyName struct {
	nbuf [128]byte
	nlen int
	long []byte // the normalised key when it outgrows nbuf
	word bool   // one of its words is sensitive on its own
}

// Letter classes of parse.
const (
	rOther = iota
	rUpper
	rLower
	rDigit
)

func runeClass(r rune) int {
	switch {
	case r >= 'A' && r <= 'Z':
		return rUpper
	case r >= 'a' && r <= 'z':
		return rLower
	case r >= '0' && r <= '9':
		return rDigit
	case r >= utf8.RuneSelf && unicode.IsLetter(r):
		if unicode.IsUpper(r) {
			return rUpper
		}
		return rLower
	}
	return rOther
}

// nextRune decodes the rune at name[i], folded to ASCII where it folds.
func nextRune(name string, i int) (rune, int) {
	if i >= len(name) {
		return 0, 0
	}
	if c := name[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	r, size := utf8.DecodeRuneInString(name[i:])
	return foldToASCII(r), size
}

func (k *keyName) parse(name string) {
	k.nlen, k.long, k.word = 0, nil, false
	if k.parseASCII(name) {
		return
	}
	k.nlen, k.word = 0, false
	start := -1 // start of the current word in the normalised key
	prev := rOther
	r, size := nextRune(name, 0)
	for i := 0; i < len(name); {
		c := runeClass(r)
		nr, nsize := nextRune(name, i+size)
		if c == rOther {
			if start >= 0 {
				k.endWord(start)
				start = -1
			}
		} else {
			// customerEmail: a capital after a small letter or digit;
			// PINBlock: the last capital of a run, before a small letter.
			if start >= 0 && c == rUpper && (prev == rLower || prev == rDigit || (prev == rUpper && runeClass(nr) == rLower)) {
				k.endWord(start)
				start = -1
			}
			if start < 0 {
				start = k.len()
			}
			k.appendRune(unicode.ToLower(r))
		}
		prev = c
		i += size
		r, size = nr, nsize
	}
	if start >= 0 {
		k.endWord(start)
	}
}

// parseASCII is parse for a short ASCII name, most keys; it reports false,
// having done nothing that counts, for any other name.
func (k *keyName) parseASCII(name string) bool {
	if len(name) > len(k.nbuf) {
		return false
	}
	start := -1
	var prev byte // 0 other, 'U', 'L', 'D'
	for i := 0; i < len(name); i++ {
		c := name[i]
		var cl byte
		switch {
		case c >= utf8.RuneSelf:
			return false
		case isUpper(c):
			cl = 'U'
		case isLower(c):
			cl = 'L'
		case isDigit(c):
			cl = 'D'
		case c == '%' && i+2 < len(name) && isHexByte(name[i+1]) && isHexByte(name[i+2]):
			i += 2 // a percent-encoded separator: card%5Bcvc%5D
		}
		if cl == 0 {
			if start >= 0 {
				k.endWord(start)
				start = -1
			}
			prev = 0
			continue
		}
		if start >= 0 && cl == 'U' && (prev == 'L' || prev == 'D' || (prev == 'U' && i+1 < len(name) && isLower(name[i+1]))) {
			k.endWord(start)
			start = -1
		}
		if start < 0 {
			start = k.nlen
		}
		if cl == 'U' {
			c |= 0x20
		}
		k.nbuf[k.nlen] = c
		k.nlen++
		prev = cl
	}
	if start >= 0 {
		k.endWord(start)
	}
	return true
}

func (k *keyName) len() int {
	if k.long != nil {
		return len(k.long)
	}
	return k.nlen
}

func (k *keyName) appendRune(r rune) {
	if k.long == nil && k.nlen+utf8.UTFMax <= len(k.nbuf) {
		k.nlen += utf8.EncodeRune(k.nbuf[k.nlen:], r)
		return
	}
	if k.long == nil {
		k.long = append(make([]byte, 0, 2*len(k.nbuf)), k.nbuf[:k.nlen]...)
	}
	k.long = utf8.AppendRune(k.long, r)
}

func (k *keyName) endWord(start int) {
	if !k.word && sensitiveWord(k.norm()[start:]) {
		k.word = true
	}
}

// norm is the normalised key (a view of k: use it while k lives).
func (k *keyName) norm() string {
	if k.long != nil {
		return b2s(k.long)
	}
	return b2s(k.nbuf[:k.nlen])
}

func (k *keyName) sensitive() bool {
	return k.word || hasPart(k.norm(), &partsByFirst)
}

// hasPart reports whether norm holds one of the substrings indexed in
// parts by their first byte.
func hasPart(norm string, parts *[256][]string) bool {
	for i := 0; i < len(norm); i++ {
		for _, p := range parts[norm[i]] {
			if strings.HasPrefix(norm[i:], p) {
				return true
			}
		}
	}
	return false
}

// partsByFirst indexes sensitiveParts by their first byte.
var partsByFirst = byFirst(sensitiveParts[:]...)

func byFirst(parts ...string) (t [256][]string) {
	for _, p := range parts {
		t[p[0]] = append(t[p[0]], p)
	}
	return t
}

// is reports whether the normalised key is one of names.
func (k *keyName) is(names ...string) bool {
	norm := k.norm()
	for _, n := range names {
		if norm == n {
			return true
		}
	}
	return false
}

// signature: a signature header (Stripe-Signature: t=…,v1=…) holds a list
// of values, all secret.
func (k *keyName) signature() bool { return strings.Contains(k.norm(), "signature") }

// bankPartsByFirst indexes the substrings of a normalised key that name a
// bank number by their first byte.
var bankPartsByFirst = byFirst("routing", "transit", "institution", "iban", "sortcode")

// keyRole is what the tokenizer needs to know of a key: the roles of keys
// it gives meaning to.
type keyRole struct {
	sensitive     bool // SensitiveKey: its value goes whatever it is
	authorization bool // Authorization: a provider's id under it stays (Finix AU…)
	number        bool // number: a value of 12 digits or more is a card
	// fieldErrors: Flexiti echoes submitted values, PIWs and SINs
	// included, under field_errors.
	fieldErrors bool
	// naming: the key that names the other member of a {name, value} pair
	// (HAR headers, parameter lists); valueLike: the member that holds
	// the value.
	naming, valueLike bool
	// descriptive: inside field_errors, a member that describes an error
	// rather than echoes what was submitted.
	descriptive bool
	// bank: a bank number (routing_number, transit, institution_number,
	// iban, sort_code, aba, bsb) that makes the account number beside it
	// (account): a bank account's.
	bank, account bool
	plain         bool // Text leaves it as it is
}

// roleOf returns the role of a key: from commonKeys when it is one of them,
// else worked out.
func roleOf(name string) keyRole {
	if r, ok := commonKeys[name]; ok {
		return r
	}
	return workOutRole(name)
}

func workOutRole(name string) keyRole {
	var k keyName
	k.parse(name)
	norm := k.norm()
	r := keyRole{sensitive: k.sensitive(), bank: hasPart(norm, &bankPartsByFirst)}
	switch norm {
	case "authorization":
		r.authorization = true
	case "number":
		r.number = true
	case "fielderrors", "fielderror":
		r.fieldErrors = true
	case "name", "key", "header", "headername", "field", "fieldname", "param", "parameter":
		r.naming, r.descriptive = true, true
	case "value", "values", "val", "content":
		r.valueLike = true
	case "path", "pointer", "location", "loc", "msg", "message", "messages", "code", "error", "type", "reason",
		"description", "title", "detail", "rule", "constraint":
		r.descriptive = true
	case "aba", "abanumber", "bsb":
		r.bank = true
	case "accountnumber", "accountno", "acctnumber", "acctno", "account", "acct", "accountnum":
		r.account = true
	}
	return r
}

// commonKeys holds the roles of the keys that error bodies and log records
// use most, worked out once: a body's keys then cost a lookup each. Every
// entry is what workOutRole and Text give for it (TestCommonKeys).
var commonKeys = func() map[string]keyRole {
	names := []string{
		"message", "messages", "msg", "code", "error", "errors", "error_code", "errorCode", "error_message",
		"errorMessage", "errorModel", "error_description", "status", "statusCode", "status_code", "type", "title",
		"detail", "details", "description", "reason", "field", "fields", "param", "parameter", "value", "name",
		"path", "pointer", "location", "href", "self", "_links", "links", "_embedded", "embedded", "logref",
		"total", "count", "descriptors", "problem", "instance", "timestamp", "time", "ts", "date", "created",
		"created_at", "updated_at", "id", "request_id", "requestId", "request", "trace_id", "traceId", "trace",
		"span_id", "correlation_id", "correlationId", "failure_code", "failure_message", "decline_code",
		"doc_url", "amount", "currency", "category", "subcode", "sub_code", "retryable", "retry_after",
		"transfer", "transaction", "transaction_id", "merchant", "merchant_id", "identity", "order_id",
		"payment", "payment_id", "result", "success", "data", "body", "headers", "method", "url", "service",
		"env", "tenant", "provider", "duration_ms", "response_body", "response_headers", "request_headers",
		"content-type", "Content-Type", "X-Request-Id", "X-Correlation-Id", "x-request-id", "level", "severity",
		"field_errors", "fieldErrors", "inputs", "limit", "offset", "page", "state", "context", "info", "hint",
		"documentation_url", "more_info", "help", "link", "errors_count", "validation", "violations", "rule",
	}
	m := make(map[string]keyRole, len(names))
	for _, n := range names {
		r := workOutRole(n)
		_, changed := appendText(nil, n)
		r.plain = !changed
		m[n] = r
	}
	return m
}()

// foldToASCII maps a non-ASCII rune to the ASCII letter or digit it folds
// to (the Kelvin sign to k, the long s to s, full-width forms to ASCII), or
// returns it unchanged.
func foldToASCII(r rune) rune {
	if r < utf8.RuneSelf {
		return r
	}
	if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
		return r - 0xFEE0
	}
	if r == 'İ' || r == 'ı' {
		return 'i'
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return f
		}
	}
	return r
}
