package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The attack corpus: testdata/attack/records.ndjson holds one raw line per
// record (not necessarily valid JSON) with placeholders, and
// testdata/attack/manifest.jsonl says, per line, the one secret it plants.
// See testdata/attack/README.md.
const (
	attackRecords  = "testdata/attack/records.ndjson"
	attackManifest = "testdata/attack/manifest.jsonl"
)

// plant is one manifest line: the secret a corpus line plants, and what
// of that line must be kept.
type plant struct {
	Line   int    `json:"line"`
	Class  string `json:"class"`
	Secret string `json:"secret"`
	// Where the record must end up: "event" (stored as a usable record),
	// "dead_letter", or "any" (either; nothing may leak whichever).
	Where     string   `json:"where"`
	Field     string   `json:"field"`
	Fragments []string `json:"fragments,omitempty"`
	Keep      []keep   `json:"keep,omitempty"`

	norm      string   // normalised secret
	normFrags []string // normalised fragments
}

// keep is something an escalation needs: it must be stored unredacted in
// the given events column of the record's row.
type keep struct {
	Value  string `json:"value"`
	Column string `json:"column"`
}

// short reports whether the secret is too short to search globally (a CVV,
// a PIN): it is then searched, bounded by non-digits, only in the rows and
// output that come from its own record.
func (p *plant) short() bool { return len(p.norm) < 8 }

// attackCorpus is the expanded corpus.
type attackCorpus struct {
	lines  []string // expanded lines, index = line-1
	plants []*plant // by line order
	byLine map[int]*plant
}

const padText = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "

var placeholderRE = regexp.MustCompile(`\{\{(TS|OLD_TS|FUTURE_TS|NUL|XFF|BOM|TAB|PAD:[0-9]+)\}\}`)

// expand replaces the corpus placeholders. Timestamps are relative to now so
// that records are inside the retention window when the test runs.
func expand(line string, now time.Time) string {
	return placeholderRE.ReplaceAllStringFunc(line, func(m string) string {
		name := m[2 : len(m)-2]
		switch name {
		case "TS":
			return now.Add(-5 * time.Minute).Format("2006-01-02T15:04:05.000Z")
		case "OLD_TS":
			return now.Add(-400 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
		case "FUTURE_TS":
			return now.Add(30 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
		case "NUL":
			return "\x00"
		case "XFF":
			return "\xff" // a byte that is never valid UTF-8
		case "BOM":
			return "\ufeff"
		case "TAB":
			return "\t"
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(name, "PAD:"))
		return strings.Repeat(padText, n/len(padText)+1)[:n]
	})
}

// loadAttackCorpus reads and expands the corpus and its manifest, and checks
// that they agree: one secret per line, every secret unique and present in
// its own line only, kept values present in their line.
func loadAttackCorpus(t *testing.T, now time.Time) *attackCorpus {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(attackRecords))
	if err != nil {
		t.Fatal(err)
	}
	c := &attackCorpus{byLine: map[int]*plant{}}
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		c.lines = append(c.lines, expand(l, now))
	}
	f, err := os.Open(filepath.FromSlash(attackManifest))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for n := 1; sc.Scan(); n++ {
		p := &plant{}
		if err := json.Unmarshal(sc.Bytes(), p); err != nil {
			bad("manifest line %d: %v", n, err)
			continue
		}
		switch {
		case p.Line < 1 || p.Line > len(c.lines):
			bad("manifest line %d: line %d is not in the corpus (%d lines)", n, p.Line, len(c.lines))
			continue
		case c.byLine[p.Line] != nil:
			bad("manifest line %d: line %d already has a secret: one secret per record", n, p.Line)
			continue
		case p.Secret == "" || p.Class == "":
			bad("manifest line %d: secret and class are required", n)
			continue
		case p.Where != "event" && p.Where != "dead_letter" && p.Where != "any":
			bad("manifest line %d: where %q: want event, dead_letter or any", n, p.Where)
		}
		p.norm = normalize(p.Secret)
		for _, fr := range p.Fragments {
			p.normFrags = append(p.normFrags, normalize(fr))
		}
		if p.short() && strings.Trim(p.norm, "0123456789") != "" {
			bad("line %d: short secret %q must be digits only (it is matched between non-digits)", p.Line, p.Secret)
		}
		c.byLine[p.Line] = p
		c.plants = append(c.plants, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range c.lines {
		if c.byLine[i+1] == nil {
			bad("line %d has no manifest entry", i+1)
		}
	}
	sort.Slice(c.plants, func(i, j int) bool { return c.plants[i].Line < c.plants[j].Line })

	normLines := make([]string, len(c.lines))
	for i, l := range c.lines {
		normLines[i] = normalize(l)
	}
	seen := map[string]int{}
	for _, p := range c.plants {
		own := normLines[p.Line-1]
		if prev, ok := seen[p.norm]; ok {
			bad("line %d: secret %q is also line %d's: every record plants its own", p.Line, p.Secret, prev)
		}
		seen[p.norm] = p.Line
		if p.short() {
			if p.norm == strconv.Itoa(p.Line) || p.norm == strconv.Itoa(p.Line-1) {
				bad("line %d: short secret %q equals the line's number or offset, which its own rows hold", p.Line, p.Secret)
			}
			if n := countBounded(own, p.norm); n != 1 {
				bad("line %d: short secret %q appears %d times in its line, want exactly once", p.Line, p.Secret, n)
			}
		} else {
			if !strings.Contains(own, p.norm) {
				bad("line %d: secret %q is not in the line", p.Line, p.Secret)
			}
			for i, other := range normLines {
				if i != p.Line-1 && strings.Contains(other, p.norm) {
					bad("line %d: secret %q also appears in line %d", p.Line, p.Secret, i+1)
				}
			}
		}
		for i, fr := range p.normFrags {
			if !strings.Contains(own, fr) {
				bad("line %d: fragment %q is not in the line", p.Line, p.Fragments[i])
			}
		}
		for _, k := range p.Keep {
			if !strings.Contains(c.lines[p.Line-1], k.Value) {
				bad("line %d: kept value %q is not in the line", p.Line, k.Value)
			}
			if keptColumns[k.Column] == "" {
				bad("line %d: kept value %q: unknown column %q", p.Line, k.Value, k.Column)
			}
			if p.Where != "event" {
				bad("line %d: kept values need a stored event", p.Line)
			}
		}
	}
	if len(problems) > 0 {
		t.Fatalf("the attack corpus is inconsistent:\n  %s", strings.Join(problems, "\n  "))
	}
	return c
}

// keptColumns maps an events column that holds something to keep to the
// field of `ingest classify` output that holds the same.
var keptColumns = map[string]string{
	"correlation_id": "correlation_id",
	"trace_id":       "trace_id",
	"refs":           "references",
	"message":        "message",
	"code":           "code",
	"subcode":        "subcode",
}

var (
	uEscapeRE    = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)
	percentRE    = regexp.MustCompile(`%[0-9a-fA-F]{2}`)
	htmlEntityRE = regexp.MustCompile(`&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});`)
	separators   = strings.NewReplacer(
		" ", "", "\t", "", "\n", "", "\r", "", "\u00a0", "", "\u3000", "",
		`\t`, "", "-", "", ".", "", "(", "", ")", "", "+", "",
	)
)

// normalize puts a secret, or text that may hold one, in a form where the
// usual disguises no longer matter: JSON \u escapes, %XX and &#NN; are
// decoded, full-width forms become ASCII, letters are lowercased, and
// spaces, tabs, dashes, dots, parentheses and plus signs are dropped.
func normalize(s string) string {
	s = uEscapeRE.ReplaceAllStringFunc(s, func(m string) string {
		r, err := strconv.ParseUint(m[2:], 16, 32)
		if err != nil || !utf8.ValidRune(rune(r)) {
			return m
		}
		return string(rune(r))
	})
	s = strings.ReplaceAll(s, `\/`, "/")
	s = htmlEntityRE.ReplaceAllStringFunc(s, func(m string) string {
		num := m[2 : len(m)-1]
		base := 10
		if num[0] == 'x' {
			num, base = num[1:], 16
		}
		r, err := strconv.ParseUint(num, base, 32)
		if err != nil || !utf8.ValidRune(rune(r)) {
			return m
		}
		return string(rune(r))
	})
	s = percentRE.ReplaceAllStringFunc(s, func(m string) string {
		b, _ := strconv.ParseUint(m[1:], 16, 8)
		if b < 0x20 || b >= 0x7f { // leave bytes that are not printable ASCII encoded
			return m
		}
		return string(rune(b))
	})
	s = strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII forms
			return r - 0xFEE0
		}
		return r
	}, s)
	return separators.Replace(strings.ToLower(s))
}

// containsSecret reports whether normalised text holds a normalised secret
// (a digits-only secret must not be part of a longer run of digits, nor of
// a hash).
func containsSecret(text, secret string) bool {
	if strings.Trim(secret, "0123456789") == "" {
		return countBounded(text, secret) > 0
	}
	return strings.Contains(text, secret)
}

// countBounded counts the occurrences of digits in text that are not part of
// a longer run of digits, nor of a run of 16 or more hex digits with a
// letter in it: the replay source "file:<sha256>:<size>" or a fingerprint
// holds any three digits now and then ("…a903f…"), and that is not a CVV.
func countBounded(text, digits string) int {
	n := 0
	for i := 0; ; {
		j := strings.Index(text[i:], digits)
		if j < 0 {
			return n
		}
		at := i + j
		end := at + len(digits)
		if (at == 0 || !isDigit(text[at-1])) && (end == len(text) || !isDigit(text[end])) && !inHash(text, at, end) {
			n++
		}
		i = at + 1
	}
}

// inHash reports whether text[at:end] lies in a run of 16 or more
// lowercase hex digits that holds a letter.
func inHash(text string, at, end int) bool {
	from, to := at, end
	for from > 0 && isHex(text[from-1]) {
		from--
	}
	for to < len(text) && isHex(text[to]) {
		to++
	}
	run := text[from:to]
	return len(run) >= 16 && strings.Trim(run, "0123456789") != ""
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isHex(b byte) bool { return isDigit(b) || b >= 'a' && b <= 'f' }

// TestContainsSecret pins down when a short digits-only secret counts as
// found.
func TestContainsSecret(t *testing.T) {
	for _, tc := range []struct {
		text, secret string
		want         bool
	}{
		{`"card_security_code":"903"`, "903", true},
		{"cvv903 ok", "903", true},
		{"pin:903.", "903", true},
		{"19030", "903", false},
		{"file:5c0e2b7ad903f1aa64c9e1d0b2c3f4a5e6d7c8b9a0f1e2d3c4b5a6978695a4b3:48213", "903", false},
		{"fingerprint 0a903b", "903", true}, // too short for a hash: it counts
		{"00000000000000009030", "903", false},
	} {
		t.Run(tc.text, func(t *testing.T) {
			if got := containsSecret(tc.text, tc.secret); got != tc.want {
				t.Errorf("containsSecret(%q, %q) = %v, want %v", tc.text, tc.secret, got, tc.want)
			}
		})
	}
}

// TestNormalize pins down the disguises the leak search sees through.
func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"4111 1111\t1111-1111", "4111111111111111"},
		{"4111%201111%201111%201111", "4111111111111111"},
		{"４１１１ １１１１", "41111111"},
		{`4111\t1111`, "41111111"},
		{"Jane.Doe&#64;Example.com", "janedoe@examplecom"},
		{"jane%40example.com", "jane@examplecom"},
		{`jane\u0040example.com`, "jane@examplecom"},
		{"+1 (416) 555-0199", "14165550199"},
		{"ｐａｓｓｗｏｒｄ", "password"},
	} {
		if got := normalize(tc.in); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		text, secret string
		want         bool
	}{
		{"cvv837x", "837", true},
		{"id8371", "837", false},
		{"1837", "837", false},
		{"837", "837", true},
		{"abcdefgh", "cdef", true},
	} {
		if got := containsSecret(tc.text, tc.secret); got != tc.want {
			t.Errorf("containsSecret(%q, %q) = %v, want %v", tc.text, tc.secret, got, tc.want)
		}
	}
}

// writeCorpus writes the expanded corpus to a file of its own.
func (c *attackCorpus) writeCorpus(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	for _, l := range c.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "attack.ndjson")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
