package redact

import "strings"

// Birth dates: a date shortly after a birth keyword (birth…, born, dob,
// D.O.B., date of birth). Dates elsewhere (order dates, timestamps) stay.

const birthLookahead = 48

// matchBirthDate looks a short way past a birth keyword for a date,
// skipping only words and punctuation such as ": = \" is on". It gives up
// at a line or sentence end, at a number that is not a date, or at anything
// else.
func matchBirthDate(s string, p int) (int, int) {
	n := len(s)
	limit := min(n, p+birthLookahead)
	for q := p; q < limit; {
		c := s[q]
		switch {
		case isDigit(c):
			if q > 0 && isAlnum(s[q-1]) {
				return -1, -1
			}
			if end := parseNumericDate(s, q); end > 0 {
				return q, end
			}
			if end := parseTextDate(s, q); end > 0 {
				return q, end
			}
			return -1, -1
		case isAlpha(c):
			if q == p || !isAlpha(s[q-1]) {
				if end := parseTextDate(s, q); end > 0 {
					return q, end
				}
			}
			for q < n && isAlpha(s[q]) {
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

// digitsAt returns the end of the ASCII digit run at q and its value
// (capped).
func digitsAt(s string, q int) (end, value int) {
	end = q
	for end < len(s) && isDigit(s[end]) {
		if end-q < 9 {
			value = value*10 + int(s[end]-'0')
		}
		end++
	}
	return end, value
}

// parseNumericDate: YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, MM-DD-YY, DD.MM.YYYY,
// YYYYMMDD, optionally followed by a "T10:00:00Z" time.
func parseNumericDate(s string, q int) int {
	n := len(s)
	e1, v1 := digitsAt(s, q)
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
		e2, v2 := digitsAt(s, e1+1)
		l2 := e2 - (e1 + 1)
		if l2 < 1 || l2 > 2 || e2 >= n || s[e2] != sep {
			return -1
		}
		e3, v3 := digitsAt(s, e2+1)
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
	if end+1 < n && s[end] == 'T' && isDigit(s[end+1]) {
		end++
		for end < n && end-q < 40 && (isDigit(s[end]) || s[end] == ':' || s[end] == '.' || s[end] == 'Z' || s[end] == '+' || s[end] == '-') {
			end++
		}
		return end
	}
	if end < n && isAlnum(s[end]) {
		return -1
	}
	return end
}

// parseTextDate: "March 3, 1985", "Mar. 3rd 1985", "3 March 1985",
// "3rd of March, 1985", "12-Mar-1985", "12/Mar/1985", "March 1985".
func parseTextDate(s string, q int) int {
	n := len(s)
	blanks := func(p int) int {
		for p < n && s[p] == ' ' {
			p++
		}
		return p
	}
	day := func(p int) int { // day with optional ordinal suffix; -1 if none
		e, v := digitsAt(s, p)
		if e-p < 1 || e-p > 2 || v < 1 || v > 31 {
			return -1
		}
		for _, suf := range [...]string{"st", "nd", "rd", "th"} {
			if hasPrefixFold(s, e, suf) {
				return e + 2
			}
		}
		return e
	}
	year := func(p int) int {
		e, _ := digitsAt(s, p)
		if (e-p != 4 && e-p != 2) || (e < n && isAlnum(s[e])) {
			return -1
		}
		return e
	}
	if isDigit(s[q]) { // day first
		p := day(q)
		if p < 0 {
			return -1
		}
		var sep byte
		if p < n && (s[p] == '-' || s[p] == '/') { // 12-Mar-1985
			sep = s[p]
			p++
		} else if b := blanks(p); b > p {
			p = b
		} else {
			return -1
		}
		if sep == 0 && hasPrefixFold(s, p, "of ") {
			p = blanks(p + 3)
		}
		m := monthWord(s, p)
		if m < 0 {
			return -1
		}
		p = m
		if sep != 0 {
			if p >= n || s[p] != sep {
				return -1
			}
			return year(p + 1)
		}
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
	if y := year(b); y > 0 && y-b == 4 {
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
	if b == p && s[p-1] != ',' {
		return -1
	}
	return year(b)
}

// monthWord returns the end of an English month name or abbreviation at q.
func monthWord(s string, q int) int {
	e := q
	for e < len(s) && e-q <= 9 && isAlpha(s[e]) {
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
