package redact

import (
	"unicode"
	"unicode/utf8"
)

// Numbers: card numbers, SINs, US social security numbers (3-2-4 with
// dashes) and phone numbers (UK mobiles written nationally too), in ASCII or any other
// script's decimal digits (full-width ４１１１…), with any mix of spaces,
// tabs, dashes, dots, "%20" and invisible characters between groups.

const (
	maxNumGroups   = 8
	maxSepTokens   = 3  // separator tokens between two groups ("- ", " %20 ")
	maxGroupDigits = 19 // a longer run is not a card, SIN or phone
)

// Separator kinds.
const (
	sepSpace uint8 = 1 << iota
	sepDash
	sepDot
)

type numGroup struct {
	start, stop int   // bytes of the group: from its first digit (or '(') to past its last digit (or ')')
	digits      int   // number of digits
	sep         uint8 // kinds of the separators before it
	paren       bool  // written "(416)"
}

// number is the parse of a digit sequence starting at a trigger.
type number struct {
	gs     [maxNumGroups]numGroup
	n      int // groups
	digits [maxGroupDigits * 2]byte
	nd     int // digits stored (capped at len(digits))
	plus   bool
}

// digitAt returns the value of the decimal digit (any script) at s[i] and
// its size in bytes, or -1, 0.
func digitAt(s string, i int) (int, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		if isDigit(c) {
			return int(c - '0'), 1
		}
		return -1, 0
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if !unicode.IsDigit(r) {
		return -1, 0
	}
	return digitValue(r), size
}

// digitValue is the value of a Unicode decimal digit: they are encoded in
// contiguous runs of ten, each from zero to nine.
func digitValue(r rune) int {
	if r >= 0xFF10 && r <= 0xFF19 {
		return int(r - 0xFF10)
	}
	n := 0
	for n < 60 && unicode.IsDigit(r-rune(n)-1) {
		n++
	}
	return n % 10
}

// sepAt returns the size and kind of a separator between digit groups at
// s[i], or 0, 0.
func sepAt(s string, i int) (int, uint8) {
	switch c := s[i]; {
	case c == ' ' || c == '\t':
		return 1, sepSpace
	case c == '-':
		return 1, sepDash
	case c == '.':
		return 1, sepDot
	case c == '%':
		if i+2 < len(s) && s[i+1] == '2' && s[i+2] == '0' {
			return 3, sepSpace
		}
		return 0, 0
	case c < utf8.RuneSelf:
		return 0, 0
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == 0xA0 || r == 0x3000 || (r >= 0x2000 && r <= 0x200D) || r == 0x2060 || r == 0xFEFF ||
		r == 0xAD || r == 0x202F || r == utf8.RuneError:
		return size, sepSpace // no-break, ideographic, zero-width spaces, soft hyphen, U+FFFD
	case (r >= 0x2010 && r <= 0x2015) || r == 0x2212 || r == 0xFF0D:
		return size, sepDash
	case r == 0xFF0E:
		return size, sepDot
	}
	return 0, 0
}

// parseNumber reads up to maxNumGroups digit groups from i (a digit, '+'
// or '('). It reads a bounded number of bytes whatever follows.
func parseNumber(s string, i int, nb *number) {
	n := len(s)
	p := i
	nb.n, nb.nd = 0, 0
	nb.plus = s[p] == '+'
	if nb.plus {
		p++
	}
	for nb.n < maxNumGroups {
		q := p
		var sep uint8
		if nb.n > 0 {
			tokens := 0
			for tokens < maxSepTokens && q < n {
				size, kind := sepAt(s, q)
				if size == 0 {
					break
				}
				sep |= kind
				q += size
				tokens++
			}
			if tokens == 0 && !nb.gs[nb.n-1].paren {
				return // "(416)555-0199" is the only form without a separator
			}
		}
		if q >= n {
			return
		}
		start := q
		paren := s[q] == '('
		if paren {
			q++
		}
		digits := 0
		for q < n && digits <= maxGroupDigits {
			v, size := digitAt(s, q)
			if v < 0 {
				break
			}
			if nb.nd < len(nb.digits) {
				nb.digits[nb.nd] = byte(v)
				nb.nd++
			}
			digits++
			q += size
		}
		if digits == 0 || digits > maxGroupDigits {
			return
		}
		if paren {
			if q >= n || s[q] != ')' {
				return
			}
			q++
		}
		nb.gs[nb.n] = numGroup{start: start, stop: q, digits: digits, sep: sep, paren: paren}
		nb.n++
		p = q
	}
}

// numberMode says what a digit sequence may be.
type numberMode uint8

const (
	modeFree      numberMode = iota // in text: cards, SINs, phones
	modePhoneWord                   // after "phone", "tel", …: any phone number
)

// matchNumber returns the span of the longest prefix of the digit groups at
// i that is a card number, SIN or phone number, or -1, -1. glued says that
// i follows a letter or '_' (PAN4111…): then only a number that is surely
// a card (its issuer prefix, length and check digit all fit) counts, and
// the same holds when the number runs into letters or a decimal part.
func matchNumber(s string, i int, glued bool, mode numberMode) (int, int) {
	// Most numbers in text are short: every form needs 7 digits or more
	// (12 glued to a word), so count them first.
	need := 8
	switch {
	case glued:
		need = 12
	case mode == modePhoneWord:
		need = 7
	}
	if !enoughDigits(s, i, need) {
		return -1, -1
	}
	var nb number
	parseNumber(s, i, &nb)
	for m := nb.n; m >= 1; m-- {
		stop := nb.gs[m-1].stop
		after := followsNumber(s, stop)
		if after == afterEmail {
			continue
		}
		digits := 0
		for _, g := range nb.gs[:m] {
			digits += g.digits
		}
		ds := nb.digits[:min(digits, nb.nd)]
		strong := glued || after == afterWord || after == afterDecimal
		if strong {
			if !nb.plus && mode == modeFree && cardShape(nb.gs[:m]) && surelyCard(ds) {
				return i, stop
			}
			continue
		}
		if nb.plus {
			if digits >= 8 && digits <= 15 { // E.164 allows at most 15
				return i, stop
			}
			continue
		}
		if mode == modePhoneWord {
			if digits >= 7 && digits <= 15 && !hasParenAfterFirst(nb.gs[:m]) {
				return i, stop
			}
			continue
		}
		if numberCandidate(&nb, m, ds) {
			return i, stop
		}
	}
	return -1, -1
}

// enoughDigits reports whether at least need digits follow i before
// anything that cannot be part of a number (a bounded look).
func enoughDigits(s string, i, need int) bool {
	digits := 0
	for q := i; q < len(s) && q-i < 96; q++ {
		switch c := s[q]; {
		case isDigit(c):
			if digits++; digits >= need {
				return true
			}
		case c >= utf8.RuneSelf:
			return true // other scripts' digits and separators: parse
		case c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' || c == '%':
		default:
			return false
		}
	}
	return false
}

// What follows a digit sequence.
const (
	afterOther   = iota
	afterWord    // a letter or '_': PAN glued to a currency (4111…USD)
	afterDecimal // '.' and a digit: an amount, or a card followed by .00
	afterEmail   // '@': the local part of an e-mail address
)

func followsNumber(s string, i int) int {
	if i >= len(s) {
		return afterOther
	}
	c := s[i]
	switch {
	case c == '@':
		return afterEmail
	case c == '.' && i+1 < len(s):
		if v, _ := digitAt(s, i+1); v >= 0 {
			return afterDecimal
		}
	case c == '_' || isAlpha(c):
		return afterWord
	case c >= utf8.RuneSelf:
		if r, _ := utf8.DecodeRuneInString(s[i:]); unicode.IsLetter(r) {
			return afterWord
		}
	}
	return afterOther
}

func hasParenAfterFirst(gs []numGroup) bool {
	for _, g := range gs[1:] {
		if g.paren {
			return true
		}
	}
	return false
}

func numberCandidate(nb *number, m int, ds []byte) bool {
	gs := nb.gs[:m]
	digits := len(ds)
	paren := false
	for _, g := range gs {
		paren = paren || g.paren
	}
	if !paren {
		if digits >= 13 && digits <= 19 && cardShape(gs) && luhn(ds) {
			return true
		}
		if digits == 9 && sinShape(gs) && luhn(ds) {
			return true
		}
		if internationalZeroZero(gs, ds) || ssnShape(gs, ds) || ukMobile(gs, ds) {
			return true
		}
	}
	return northAmericanPhone(gs, ds)
}

// cardShape: one run of digits, or a first group of 4 (every card layout
// starts that way: 4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3) and groups of 3 to 6.
func cardShape(gs []numGroup) bool {
	if len(gs) == 1 {
		return !gs[0].paren
	}
	if gs[0].digits != 4 {
		return false
	}
	for _, g := range gs {
		if g.paren || (g.digits < 3 || g.digits > 6) && g.digits != 4 {
			return false
		}
	}
	return true
}

// sinShape: 9 digits in one run, or 3-3-3.
func sinShape(gs []numGroup) bool {
	if len(gs) == 1 {
		return true
	}
	return len(gs) == 3 && gs[0].digits == 3 && gs[1].digits == 3 && gs[2].digits == 3
}

// northAmericanPhone: [1 ]NPA NXX XXXX with separators, [1 ](NPA) NXX-XXXX,
// or NPA-NXXXXXX. Ten digits without any separator are not taken for a
// phone (order ids, Unix timestamps) unless a phone word precedes them.
func northAmericanPhone(gs []numGroup, ds []byte) bool {
	if len(gs) >= 3 && !gs[0].paren && gs[0].digits == 1 && ds[0] == 1 {
		gs, ds = gs[1:], ds[1:]
	}
	if len(ds) != 10 || ds[0] < 2 || ds[3] < 2 {
		return false
	}
	switch len(gs) {
	case 3:
		return gs[0].digits == 3 && gs[1].digits == 3 && gs[2].digits == 4 && !gs[1].paren && !gs[2].paren &&
			(gs[1].sep != 0 || gs[0].paren)
	case 2: // 416-5550086, (416) 5550086
		return gs[0].digits == 3 && gs[1].digits == 7 && !gs[1].paren
	}
	return false
}

// internationalZeroZero: 0044 20 7946 0958, 00 44 20 7946 0958.
func internationalZeroZero(gs []numGroup, ds []byte) bool {
	if len(gs) < 2 || gs[0].digits < 2 || gs[0].digits > 5 || ds[0] != 0 || ds[1] != 0 {
		return false
	}
	rest := len(ds) - 2
	return rest >= 8 && rest <= 15 && (gs[0].digits > 2 || ds[2] != 0)
}

// luhn reports whether digits (values 0–9) pass the Luhn mod-10 check of
// card numbers and SINs.
func luhn(digits []byte) bool {
	if len(digits) == 0 {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		v := int(digits[i])
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

// surelyCard reports whether digits are a card number beyond doubt: the
// check digit, and a length that the issuer prefix uses (Visa, Mastercard,
// American Express, Discover, JCB, Diners Club, UnionPay, Maestro).
func surelyCard(ds []byte) bool {
	n := len(ds)
	if n < 12 || n > 19 || !luhn(ds) {
		return false
	}
	p2 := int(ds[0])*10 + int(ds[1])
	p4 := p2*100 + int(ds[2])*10 + int(ds[3])
	switch {
	case ds[0] == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720: // Mastercard
		return n == 16
	case p2 == 36 || p2 == 38 || p2 == 39 || (p2 == 30 && ds[2] <= 5): // Diners Club
		return n >= 14
	case p4 >= 3528 && p4 <= 3589: // JCB
		return n >= 16
	case ds[0] == 6: // Discover, UnionPay, Maestro
		return n >= 16
	case p2 == 50 || (p2 >= 56 && p2 <= 58): // Maestro
		return n >= 12
	}
	return false
}

// maxHexID bounds the hex ids inHexID recognises (a SHA-512 is 128).
const maxHexID = 128

// hexID reports whether the digits at s[i] are part of a hex id: a trace
// id, a logref or a hash (16 to 128 hex digits, a letter among them, in
// one case), or a UUID; end is where the hex run around i ends (or where
// the look ended). Their digits are no card or phone number, however they
// happen to check: an escalation needs the id whole.
func hexID(s string, i int) (id bool, end int) {
	from, to := i, i
	for from > 0 && i-from <= maxHexID && (isHexByte(s[from-1]) || s[from-1] == '-') {
		from--
	}
	for to < len(s) && to-i <= maxHexID && (isHexByte(s[to]) || s[to] == '-') {
		to++
	}
	tok := s[from:to]
	if len(tok) > maxHexID || (from > 0 && isAlnum(s[from-1])) || (to < len(s) && isAlnum(s[to])) {
		return false, to
	}
	if isUUID(tok) {
		return true, to
	}
	if len(tok) < 16 {
		return false, to
	}
	var lower, upper bool
	for j := 0; j < len(tok); j++ {
		switch c := tok[j]; {
		case c == '-':
			return false, to
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		}
	}
	return lower != upper, to
}

// isUUID: 8-4-4-4-12 hex digits.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for j := 0; j < len(s); j++ {
		if j == 8 || j == 13 || j == 18 || j == 23 {
			if s[j] != '-' {
				return false
			}
		} else if !isHexByte(s[j]) {
			return false
		}
	}
	return true
}
