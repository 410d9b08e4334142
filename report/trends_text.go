package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// WriteText writes the trends for people, in an 80-column terminal.
func (t *Trends) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", wrapText(fmt.Sprintf("Trends %s to %s, against %s to %s.",
		t.From.Format(time.RFC3339), t.To.Format(time.RFC3339),
		t.PreviousFrom.Format(time.RFC3339), t.PreviousTo.Format(time.RFC3339)), Width, ""))
	if len(t.Providers) == 0 {
		ew.printf("\nNo traffic recorded in either period.\n")
		return ew.err
	}
	ew.printf("\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ew.w = tw
	ew.printf("PROVIDER\tREQUESTS\tERRORS\tRATE\tBEFORE\t\n")
	for _, p := range t.Providers {
		ew.printf("%s\t%s\t%s\t%s\t%s\t\n", cut(p.Provider, 16), group(p.Requests), group(p.Errors),
			percent(p.ErrorRate), percent(p.PreviousErrorRate))
	}
	if ew.err == nil {
		ew.err = tw.Flush()
	}
	ew.w = w

	ew.printf("\nMovers, most significant first (score: standard deviations from no change)\n")
	if len(t.Movers) == 0 {
		ew.printf("none: no errors in either period\n")
	} else {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		ew.w = tw
		ew.printf("SCORE\tPROVIDER\tCATEGORY\tCODE\tNOW\tBEFORE\tCHANGE\n")
		for _, m := range t.Movers {
			code := codeText(m.Code, m.Subcode)
			if m.New {
				code += " (new)"
			}
			ew.printf("%+.1f\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Score, cut(m.Provider, 10), cut(m.Category, 14),
				cut(code, 28), group(m.Count), group(m.PreviousCount), changeText(m.Change))
		}
		if ew.err == nil {
			ew.err = tw.Flush()
		}
		ew.w = w
	}

	ew.printf("\nCodes never seen before\n")
	if len(t.NewCodes) == 0 {
		ew.printf("none\n")
	}
	for _, c := range t.NewCodes {
		doc := "undocumented"
		if c.Known {
			doc = "documented"
		}
		ew.printf("%s\n", wrapText(fmt.Sprintf("%s %s (%s, %s): %s, first seen %s", oneLine(c.Provider),
			codeText(c.Code, c.Subcode), oneLine(c.Category), doc, group(c.Count),
			c.FirstSeen.Format("2006-01-02 15:04 MST")), Width, "  "))
	}
	return ew.err
}

// codeText is code/subcode for people; "(no code)" for errors without one.
func codeText(code, subcode string) string {
	s := oneLine(code)
	if s == "" {
		s = "(no code)"
	}
	if subcode != "" {
		s += "/" + oneLine(subcode)
	}
	return s
}

// cut shortens s to n runes, with an ellipsis, on one line.
func cut(s string, n int) string {
	s = oneLine(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func percent(r float64) string {
	switch {
	case r == 0:
		return "0%"
	case r < 0.0001:
		return "<0.01%"
	}
	return fmt.Sprintf("%.2f%%", 100*r)
}

func changeText(c *float64) string {
	if c == nil {
		return "from 0"
	}
	return signedPercent(*c)
}

func signedPercent(c float64) string {
	if c >= 10 {
		return fmt.Sprintf("x%.0f", c+1)
	}
	return strings.Replace(fmt.Sprintf("%+.0f%%", 100*c), "+0%", "0%", 1)
}
