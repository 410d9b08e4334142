package redact

// Bank and identity numbers: IBANs by their shape and check digits, US
// social security numbers written 3-2-4, UK national mobile numbers. ABA
// routing numbers, Canadian transit and institution numbers, bank account
// numbers, passport and driver's licence numbers are found after the
// words that name them (prose.go).

// ibanLengths is the length of an IBAN per country (ISO 13616 registry).
var ibanLengths = map[[2]byte]int{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20,
	{'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'I'}: 27, {'B', 'R'}: 29, {'B', 'Y'}: 28,
	{'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'J'}: 27,
	{'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18,
	{'F', 'K'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23,
	{'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28, {'H', 'N'}: 28, {'H', 'R'}: 21, {'H', 'U'}: 28,
	{'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30,
	{'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20,
	{'L', 'U'}: 20, {'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22,
	{'M', 'K'}: 19, {'M', 'N'}: 20, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'I'}: 28,
	{'N', 'L'}: 18, {'N', 'O'}: 15, {'O', 'M'}: 23, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29,
	{'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22, {'R', 'U'}: 33, {'S', 'A'}: 24,
	{'S', 'C'}: 31, {'S', 'D'}: 18, {'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24, {'S', 'M'}: 27,
	{'S', 'O'}: 23, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26,
	{'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20, {'Y', 'E'}: 30,
}

// matchIBAN: a country code, two check digits and the country's number of
// letters and digits, written in one run or in groups of four separated by
// single spaces (the print form), passing the ISO 7064 mod-97 check.
func matchIBAN(s string, i int) (int, int) {
	n := len(s)
	if i+4 > n || !isAlpha(s[i]) || !isAlpha(s[i+1]) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
		return -1, -1
	}
	want, ok := ibanLengths[[2]byte{s[i] &^ 0x20, s[i+1] &^ 0x20}]
	if !ok {
		return -1, -1
	}
	var buf [34]byte
	k, p := 0, i
	for p < n && k < want {
		c := s[p]
		switch {
		case isAlnum(c):
			if isLower(c) {
				c -= 'a' - 'A'
			}
			buf[k] = c
			k++
			p++
		case c == ' ' && k%4 == 0 && p+1 < n && isAlnum(s[p+1]):
			p++
		default:
			return -1, -1
		}
	}
	if k != want || (p < n && isAlnum(s[p])) {
		return -1, -1
	}
	if !ibanChecks(buf[:k]) {
		return -1, -1
	}
	return i, p
}

// ibanChecks: the first four characters moved to the end, letters as
// 10–35, the number is 1 modulo 97.
func ibanChecks(b []byte) bool {
	r := 0
	add := func(c byte) {
		if isDigit(c) {
			r = (r*10 + int(c-'0')) % 97
			return
		}
		v := int(c-'A') + 10
		r = (r*100 + v) % 97
	}
	for _, c := range b[4:] {
		add(c)
	}
	for _, c := range b[:4] {
		add(c)
	}
	return r == 1
}

// ssnShape: a US social security number written 3-2-4 with dashes, with an
// area, group and serial that are issued (not 000, 666 or 9xx; not 00;
// not 0000).
func ssnShape(gs []numGroup, ds []byte) bool {
	if len(gs) != 3 || gs[0].digits != 3 || gs[1].digits != 2 || gs[2].digits != 4 ||
		gs[1].sep != sepDash || gs[2].sep != sepDash || len(ds) != 9 {
		return false
	}
	area := int(ds[0])*100 + int(ds[1])*10 + int(ds[2])
	return area != 0 && area != 666 && area < 900 && (ds[3] != 0 || ds[4] != 0) &&
		(ds[5] != 0 || ds[6] != 0 || ds[7] != 0 || ds[8] != 0)
}

// ukMobile: a UK national mobile number, 07 and nine digits, in one run or
// written 5-6, 5-3-3 or 4-3-4 (07700 900123, 07700 900 123, 0770 090 0123).
func ukMobile(gs []numGroup, ds []byte) bool {
	if len(ds) != 11 || ds[0] != 0 || ds[1] != 7 {
		return false
	}
	switch len(gs) {
	case 1:
		return true
	case 2:
		return gs[0].digits == 5
	case 3:
		return gs[0].digits == 5 && gs[1].digits == 3 || gs[0].digits == 4 && gs[1].digits == 3
	}
	return false
}
