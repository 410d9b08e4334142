package classify

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// parseTime reads an RFC 3339 timestamp (a space instead of the 'T' is
// accepted, as some loggers write it, and an offset without a colon), or
// a Unix epoch (see parseEpoch),
// and returns it in UTC. The common UTC form "2026-11-02T10:00:00.123Z"
// takes a fast path; anything else goes through time.Parse.
func parseTime(b []byte) (time.Time, error) {
	if t, ok := parseUTC(b); ok {
		return t, nil
	}
	if t, ok := parseEpoch(b); ok {
		return t, nil
	}
	s := strings.TrimSpace(b2s(b))
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// ISO 8601's offset without a colon (+0100), as zap's ISO 8601
		// encoder and some ECS writers have it.
		var err2 error
		if t, err2 = time.Parse(isoNoColon, s); err2 != nil {
			return time.Time{}, err
		}
	}
	return t.UTC(), nil
}

// isoNoColon is RFC 3339 with the zone offset written without a colon.
const isoNoColon = "2006-01-02T15:04:05.999999999Z0700"

// parseEpoch reads a Unix epoch as loggers write it: seconds (possibly
// with a fraction), milliseconds, microseconds or nanoseconds, told apart
// by magnitude of the integer part (seconds below 10^11, which is the
// year 5138; milliseconds below 10^14, microseconds below 10^17). A
// decimal fraction is read as written, digit by digit (zap's
// 1765015200.123 is .123000000, not float64's .122999906); only an
// exponent goes through a float.
func parseEpoch(b []byte) (time.Time, bool) {
	s := strings.TrimSpace(b2s(b))
	if s == "" || s[0] == '-' || s[0] == '+' {
		return time.Time{}, false
	}
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f >= 1e11 || f < 0 {
			return time.Time{}, false
		}
		sec := math.Floor(f)
		return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC(), true
	}
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || strings.Trim(frac, "0123456789") != "" {
		return time.Time{}, false
	}
	// unitNanos is the integer part's unit in nanoseconds.
	var unitNanos int64
	switch {
	case n < 1e11:
		unitNanos = 1e9
	case n < 1e14:
		unitNanos = 1e6
	case n < 1e17:
		unitNanos = 1e3
	default:
		unitNanos = 1
	}
	perSec := 1e9 / unitNanos
	nsec := (n % perSec) * unitNanos
	// The fraction's digits, as many as are finer than a nanosecond.
	for scale := unitNanos / 10; scale > 0 && frac != ""; scale /= 10 {
		nsec += int64(frac[0]-'0') * scale
		frac = frac[1:]
	}
	return time.Unix(n/perSec, nsec).UTC(), true
}

// parseUTC parses exactly "YYYY-MM-DDTHH:MM:SS[.fraction]Z".
func parseUTC(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := digits(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
