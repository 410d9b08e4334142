package classify

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// seedDir holds verbatim copies of the providers' error documentation.
var seedDir = filepath.Join("testdata", "seeds")

// upstreamSeedDir is the shared documentation the copies come from, when the
// repository is checked out next to it.
var upstreamSeedDir = filepath.Join("..", "..", "shared", "seeds")

// seedCode is one code found in a provider's documentation, with the HTTP
// status the documentation gives for it (0 when it gives none).
type seedCode struct {
	code   string
	status int
}

type seedParser func(text string) ([]seedCode, error)

func TestSeedCodesAreCataloged(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)

	cases := []struct {
		seed     string
		provider string
		parse    seedParser
		min      int // distinct codes the parser must find at the least
	}{
		{"finterra-pos-api-errors.txt", "finterra", parseFinterraSeed, 20},
		{"cheers-loyalty-errors.txt", "cheers", parseCheersSeed, 10},
		{"finix-errors.txt", "finix", parseFinixSeed, 12},
		{"flexiti-pos-api-errors.txt", "flexiti", parseFlexitiSeed, 45},
		{"paylera-errors.txt", "paylera", parsePayleraSeed, 40},
	}

	// Every seed copy must have a parser, so a new provider's documentation
	// cannot be dropped in unchecked.
	copies, err := filepath.Glob(filepath.Join(seedDir, "*.txt"))
	require.NoError(t, err)
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.seed] = true
	}
	for _, p := range copies {
		require.Truef(t, covered[filepath.Base(p)], "seed %s has no case in TestSeedCodesAreCataloged", p)
	}
	// An updated or added upstream seed fails until it is copied here.
	if st, err := os.Stat(upstreamSeedDir); err == nil && st.IsDir() {
		upstream, err := filepath.Glob(filepath.Join(upstreamSeedDir, "*.txt"))
		require.NoError(t, err)
		for _, p := range upstream {
			_, err := os.Stat(filepath.Join(seedDir, filepath.Base(p)))
			require.NoErrorf(t, err, "upstream seed %s has no copy in %s", p, seedDir)
		}
	}

	for _, tc := range cases {
		t.Run(tc.seed, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(seedDir, tc.seed))
			require.NoError(t, err)

			up := filepath.Join(upstreamSeedDir, tc.seed)
			if want, err := os.ReadFile(up); err == nil {
				require.Truef(t, bytes.Equal(data, want),
					"%s differs from %s: copy the updated seed into %s and update the catalog", filepath.Join(seedDir, tc.seed), up, seedDir)
			} else if !os.IsNotExist(err) {
				require.NoError(t, err)
			}

			found, err := tc.parse(string(data))
			require.NoError(t, err)
			distinct := map[string]bool{}
			for _, sc := range found {
				distinct[sc.code] = true
			}
			t.Logf("%s: extracted %d distinct codes (%d code/status pairs)", tc.provider, len(distinct), len(found))
			require.GreaterOrEqualf(t, len(distinct), tc.min, "parser for %s extracted too few codes: %v", tc.seed, found)

			cat := cats.Provider(tc.provider)
			require.NotNilf(t, cat, "no builtin catalog for provider %s", tc.provider)
			var problems []string
			for _, sc := range found {
				if !cat.Known(sc.code) {
					problems = append(problems, fmt.Sprintf("%q (status %d): not in catalog", sc.code, sc.status))
					continue
				}
				if sc.status == 0 {
					continue
				}
				switch e := cat.Lookup(sc.code, sc.status, "", ""); {
				case e == nil:
					problems = append(problems, fmt.Sprintf("%q (status %d): no entry outside an endpoint", sc.code, sc.status))
				case e.Status != sc.status:
					problems = append(problems, fmt.Sprintf("%q (status %d): no entry with that status (got %d)", sc.code, sc.status, e.Status))
				}
			}
			if len(problems) > 0 {
				t.Errorf("catalogs/%s.yaml misses %d codes documented in %s:\n  %s",
					tc.provider, len(problems), tc.seed, strings.Join(problems, "\n  "))
			}
		})
	}
}

// seedCodes collects codes with their statuses, without duplicates, in the
// order found.
type seedCodes struct {
	list []seedCode
	seen map[seedCode]bool
}

func (s *seedCodes) add(code string, status int) {
	sc := seedCode{strings.TrimSpace(code), status}
	if sc.code == "" {
		return
	}
	if s.seen == nil {
		s.seen = map[seedCode]bool{}
	}
	if !s.seen[sc] {
		s.seen[sc] = true
		s.list = append(s.list, sc)
	}
}

// pipeRow is one table row: its line index and its cells.
type pipeRow struct {
	line  int
	cells []string
}

// pipeRows returns the markdown-ish table rows of text ("a | b | c |" or
// "| a | b |"), leaving out separator rows ("|---|") and header rows (the row
// right before a separator).
func pipeRows(text string) []pipeRow {
	lines := strings.Split(text, "\n")
	isSep := func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "|--") }
	var rows []pipeRow
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if !strings.HasSuffix(l, "|") || !strings.Contains(l, " | ") || isSep(l) {
			continue
		}
		if i+1 < len(lines) && isSep(lines[i+1]) {
			continue // header
		}
		l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
		cells := strings.Split(l, "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		rows = append(rows, pipeRow{i, cells})
	}
	return rows
}

var (
	finterraHeading = regexp.MustCompile(`^HTTP (\d{3})\b`)
	quotedErrorKey  = regexp.MustCompile(`(?m)^\s*"?error"?\s*:\s*"([^"]+)"`)
)

// parseFinterraSeed reads "code | cause | remediation |" rows under
// "HTTP NNN — …" headings, and the quoted "error" of the example body.
func parseFinterraSeed(text string) ([]seedCode, error) {
	var out seedCodes
	lines := strings.Split(text, "\n")
	statusAt := make([]int, len(lines)) // the status of the heading above each line
	status := 0
	for i, l := range lines {
		if m := finterraHeading.FindStringSubmatch(l); m != nil {
			status, _ = strconv.Atoi(m[1])
		}
		statusAt[i] = status
	}
	for _, row := range pipeRows(text) {
		if len(row.cells) != 3 {
			return nil, fmt.Errorf("finterra line %d: %d cells: %q", row.line+1, len(row.cells), row.cells)
		}
		if statusAt[row.line] == 0 {
			return nil, fmt.Errorf("finterra line %d: row before any HTTP heading", row.line+1)
		}
		out.add(row.cells[0], statusAt[row.line])
	}
	for _, m := range quotedErrorKey.FindAllStringSubmatch(text, -1) {
		out.add(m[1], 0)
	}
	return out.list, nil
}

// parseCheersSeed reads "| CODE | description |" rows; the documentation gives
// no statuses.
func parseCheersSeed(text string) ([]seedCode, error) {
	var out seedCodes
	for _, row := range pipeRows(text) {
		if len(row.cells) != 2 {
			return nil, fmt.Errorf("cheers line %d: %d cells: %q", row.line+1, len(row.cells), row.cells)
		}
		out.add(row.cells[0], 0)
	}
	return out.list, nil
}

var (
	// A Finix table line is squashed: an optional status, the code (the
	// longest run of [A-Z_]) and the description, which begins with a capital
	// letter starting a word: "400BAD_REQUESTYou provided…",
	// "INVALID_FIELDA provided…", "402 UPSTREAM_PROCESSOR_ERRORErrors…".
	finixRow    = regexp.MustCompile(`^(?:(\d{3})\s*)?([A-Z_]+)[A-Z](?:[a-z]|\s)`)
	finixStatus = regexp.MustCompile(`^\d{3}`)
)

// parseFinixSeed reads the squashed rows between "List of Error Codes" and
// "Error Response Body"; a row without a status continues the status of the
// row above (DECLINED under 402, INVALID_FIELD under 422).
func parseFinixSeed(text string) ([]seedCode, error) {
	var out seedCodes
	in := false
	status := 0
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "List of Error Codes":
			in = true
			continue
		case l == "Error Response Body":
			in = false
		}
		if !in || l == "" || strings.HasPrefix(l, "HTTP Code") {
			continue
		}
		m := finixRow.FindStringSubmatch(l)
		if m == nil {
			if finixStatus.MatchString(l) {
				return nil, fmt.Errorf("finix row with a status but no code: %q", l)
			}
			continue // prose
		}
		if m[1] != "" {
			status, _ = strconv.Atoi(m[1])
		}
		if status == 0 {
			return nil, fmt.Errorf("finix code %s before any status", m[2])
		}
		out.add(m[2], status)
	}
	return out.list, nil
}

// parsePayleraSeed reads "code | NNN | meaning |" rows.
func parsePayleraSeed(text string) ([]seedCode, error) {
	var out seedCodes
	for _, row := range pipeRows(text) {
		if len(row.cells) != 3 {
			return nil, fmt.Errorf("paylera line %d: %d cells: %q", row.line+1, len(row.cells), row.cells)
		}
		status, err := strconv.Atoi(row.cells[1])
		if err != nil {
			return nil, fmt.Errorf("paylera line %d: status: %w", row.line+1, err)
		}
		out.add(row.cells[0], status)
	}
	return out.list, nil
}

var (
	flexitiStatus = regexp.MustCompile(`^\d{3}$`)
	// “general_error” in the debugging notes ("an error for “general_error”").
	flexitiCurly = regexp.MustCompile(`\berror\b[^“\n]*“([a-z0-9_]+)”`)
)

// parseFlexitiSeed reads the general and per-endpoint tables after "General
// Errors", one cell per line: a line that is exactly a status (400–459), then,
// skipping blank lines and "...", the code line (possibly a comma-separated
// list). Statuses 465–467 and 500 carry no code. The input-error examples add
// quoted codes without a status.
func parseFlexitiSeed(text string) ([]seedCode, error) {
	var out seedCodes
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "General Errors" {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf(`flexiti: no "General Errors" heading`)
	}
	for i := start; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !flexitiStatus.MatchString(l) {
			continue
		}
		status, _ := strconv.Atoi(l)
		if status < 400 || status > 459 {
			continue
		}
		j := i + 1
		for j < len(lines) && (strings.TrimSpace(lines[j]) == "" || strings.TrimSpace(lines[j]) == "...") {
			j++
		}
		if j == len(lines) || flexitiStatus.MatchString(strings.TrimSpace(lines[j])) {
			return nil, fmt.Errorf("flexiti line %d: status %d without a code", i+1, status)
		}
		for _, code := range strings.Split(lines[j], ",") {
			out.add(code, status)
		}
		i = j
	}
	for _, m := range quotedErrorKey.FindAllStringSubmatch(text, -1) {
		out.add(m[1], 0)
	}
	for _, m := range flexitiCurly.FindAllStringSubmatch(text, -1) {
		out.add(m[1], 0)
	}
	return out.list, nil
}

func TestSeedParsersOnSamples(t *testing.T) {
	finix, err := parseFinixSeed("List of Error Codes\nHTTP Code error.code Description\n" +
		"400BAD_REQUESTYou provided a request.\n422 UNPROCESSABLE_ENTITYThe parameters.\n" +
		"INVALID_FIELDA provided field.\n429TOO_MANY_REQUESTSA rate limit.\nError Response Body\n500SERVER_ERRORWe had.\n")
	require.NoError(t, err)
	require.Equal(t, []seedCode{{"BAD_REQUEST", 400}, {"UNPROCESSABLE_ENTITY", 422}, {"INVALID_FIELD", 422}, {"TOO_MANY_REQUESTS", 429}}, finix)

	flexiti, err := parseFlexitiSeed("409\n\nnot_a_code\n\nGeneral Errors\n\n...\n\n400\n\n...\n\ninvalid_account\n\n...\n\nWrong\n\n" +
		"409\n\n...\n\na_1, a_2\n\n465\n\nBlocked\n\nerror: \"wrong_inputs\"\n\"msg\": “error message\nan error for “general_error”, please\n")
	require.NoError(t, err)
	require.Equal(t, []seedCode{{"invalid_account", 400}, {"a_1", 409}, {"a_2", 409}, {"wrong_inputs", 0}, {"general_error", 0}}, flexiti)
}

func TestCatalogValidation(t *testing.T) {
	const head = "provider: acme\ndialect: flat\n"
	bad := []struct {
		name string
		doc  string
		want []string // substrings the error must contain
	}{
		{"unknown category", head + "codes:\n  - {code: boom, status: 400, category: kaboom}\n",
			[]string{"boom", `unknown category "kaboom"`}},
		{"unknown status category", head + "statuses:\n  - {status: 465, category: fenced}\n",
			[]string{"465", `unknown category "fenced"`}},
		{"duplicate code and status", head + "codes:\n  - {code: dup, status: 409, category: conflict}\n  - {code: dup, status: 409, category: validation}\n",
			[]string{"codes[1] (dup)", "duplicate of codes[0]"}},
		{"duplicate code, status and endpoint", head + "codes:\n" +
			"  - {code: dup, status: 409, endpoint: \"POST /a/{id}\", category: conflict}\n" +
			"  - {code: dup, status: 409, endpoint: \"POST /a/{id}\", category: conflict}\n",
			[]string{"codes[1] (dup)", "duplicate"}},
		{"duplicate status rule", head + "statuses:\n  - {status: 465, category: blocked}\n  - {status: 465, category: blocked}\n",
			[]string{"duplicate status 465"}},
		{"bad dialect", "provider: acme\ndialect: soap\n",
			[]string{`unknown dialect "soap"`}},
		{"missing dialect", "provider: acme\n",
			[]string{`unknown dialect ""`}},
		{"bad provider name", "provider: Acme Pay\ndialect: flat\n",
			[]string{`provider "Acme Pay"`}},
		{"empty provider name", "dialect: flat\n",
			[]string{`provider ""`}},
		{"unknown top-level field", head + "escalate: call them\n",
			[]string{"escalate"}},
		{"unknown entry field", head + "codes:\n  - {code: x, status: 400, category: validation, remedy: fix it}\n",
			[]string{"remedy"}},
		{"retryable contradicts category", head + "codes:\n  - {code: nope, status: 400, category: validation, retryable: true}\n",
			[]string{"nope", "retryable true contradicts category validation"}},
		{"not retryable contradicts category", head + "codes:\n  - {code: later, status: 503, category: provider_error, retryable: false}\n",
			[]string{"later", "retryable false contradicts category provider_error"}},
		{"endpoint without method", head + "codes:\n  - {code: x, status: 409, endpoint: \"/client-id/{id}/capture\", category: conflict}\n",
			[]string{"codes[0] (x)", `endpoint "/client-id/{id}/capture"`, "METHOD /path"}},
		{"endpoint with lower-case method", head + "codes:\n  - {code: x, status: 409, endpoint: \"post /capture\", category: conflict}\n",
			[]string{`endpoint "post /capture"`}},
		{"endpoint with relative path", head + "codes:\n  - {code: x, status: 409, endpoint: \"POST capture\", category: conflict}\n",
			[]string{`endpoint "POST capture"`}},
		{"status out of range", head + "codes:\n  - {code: x, status: 42, category: validation}\n",
			[]string{"codes[0] (x)", "status 42 out of range"}},
		{"empty code", head + "codes:\n  - {code: \"\", status: 400, category: validation}\n",
			[]string{"codes[0]: empty code"}},
		{"host with scheme", head + "hosts: [\"https://acme.com\"]\n",
			[]string{`host "https://acme.com"`}},
		{"not yaml", "provider: [acme\n",
			[]string{"acme.yaml"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCatalog("acme.yaml", []byte(tc.doc))
			require.Error(t, err)
			require.Nil(t, c)
			require.Contains(t, err.Error(), "acme.yaml", "the error names the file")
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}

	t.Run("good minimal document", func(t *testing.T) {
		c, err := ParseCatalog("acme.yaml", []byte(`
provider: acme
dialect: problem
hosts: [API.Acme.com]
codes:
  - code: acme.declined
    status: 402
    category: decline
    remediation: Ask the customer for another card.
  - code: acme.busy
    status: 409
    category: idempotency
    retryable: true
  - code: acme.busy
    status: 409
    endpoint: "POST /orders/{id}/pay"
    category: idempotency
`))
		require.NoError(t, err)
		require.Equal(t, "acme", c.Provider)
		require.Equal(t, DialectProblem, c.Dialect)
		require.Equal(t, []string{"api.acme.com"}, c.Hosts)
		require.True(t, c.Known("acme.declined"))
		require.False(t, c.Known("acme.other"))

		e := c.Lookup("acme.declined", 402, "", "")
		require.NotNil(t, e)
		require.Equal(t, Decline, e.Category)
		require.False(t, e.IsRetryable())
		require.Equal(t, "Ask the customer for another card.", e.Remediation)

		e = c.Lookup("acme.busy", 409, "GET", "/orders")
		require.NotNil(t, e)
		require.True(t, e.IsRetryable(), "idempotency may set retryable")
		e = c.Lookup("acme.busy", 409, "POST", "/v1/orders/{id}/pay")
		require.NotNil(t, e)
		require.Equal(t, "POST /orders/{id}/pay", e.Endpoint)
		require.False(t, e.IsRetryable())
	})
}

func TestBuiltinCatalogs(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	require.Subset(t, cats.Providers(), []string{"cheers", "finix", "finterra", "flexiti", "paylera"})
	for _, name := range cats.Providers() {
		c := cats.Provider(name)
		require.NotEmpty(t, c.Hosts, name)
		require.NotEmpty(t, c.IdentifyBy, name)
		require.NotEmpty(t, c.Escalation, name)
		require.NotEmpty(t, c.Codes, name)
		for _, e := range c.Codes {
			require.NotEmptyf(t, strings.TrimSpace(e.Remediation), "%s %s (%d %s): no remediation", name, e.Code, e.Status, e.Endpoint)
		}
	}
	flexiti := cats.Provider("flexiti")
	for _, s := range []int{465, 466, 467} {
		r := flexiti.StatusRule(s)
		require.NotNil(t, r, s)
		require.Equal(t, Blocked, r.Category)
	}
	require.True(t, flexiti.opaque(409))
	require.True(t, cats.Provider("paylera").Lookup("idempotency.in_flight", 409, "", "").IsRetryable())
	require.False(t, cats.Provider("paylera").Lookup("idempotency.body_mismatch", 422, "", "").IsRetryable())
}

func TestLookupPrefersSpecificEntry(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	flexiti, finix := cats.Provider("flexiti"), cats.Provider("finix")
	require.NotNil(t, flexiti)
	require.NotNil(t, finix)

	t.Run("flexiti not_found by status", func(t *testing.T) {
		remediations := map[string]bool{}
		for _, status := range []int{400, 404, 409} {
			e := flexiti.Lookup("not_found", status, "", "")
			require.NotNil(t, e, status)
			require.Equal(t, status, e.Status)
			require.Empty(t, e.Endpoint)
			require.Equal(t, NotFound, e.Category)
			remediations[e.Remediation] = true
		}
		require.Len(t, remediations, 3, "each status has its own remediation")
	})

	t.Run("flexiti endpoint entry beats the general one", func(t *testing.T) {
		const capture = "/flexiti/pos-api/v2.5/client-id/{id}/authorization/{id}/capture"
		e := flexiti.Lookup("not_permitted", 409, "POST", capture)
		require.NotNil(t, e)
		require.Equal(t, "POST /client-id/{id}/authorization/{id}/capture", e.Endpoint)
		require.Contains(t, e.Remediation, "onhold")

		// The same path with another method, or another path, gets the general entry.
		for _, tc := range []struct{ method, endpoint string }{{"GET", capture}, {"POST", capture + "/{id}/refund"}, {"", ""}} {
			e := flexiti.Lookup("not_permitted", 409, tc.method, tc.endpoint)
			require.NotNil(t, e, tc)
			require.Empty(t, e.Endpoint, tc)
		}

		// An endpoint entry documented for one status does not answer another.
		e = flexiti.Lookup("not_found", 400, "POST", capture)
		require.NotNil(t, e)
		require.Equal(t, 400, e.Status)
		require.Empty(t, e.Endpoint)
		e = flexiti.Lookup("not_found", 404, "POST", capture)
		require.Equal(t, "POST /client-id/{id}/authorization/{id}/capture", e.Endpoint)
	})

	t.Run("documented code with an undocumented status", func(t *testing.T) {
		e := finix.Lookup("DECLINED", 400, "", "")
		require.NotNil(t, e)
		require.Equal(t, "DECLINED", e.Code)
		require.Equal(t, Decline, e.Category)
		e = flexiti.Lookup("wrong_input", 409, "POST", "/flexiti/pos-api/v2.5/client-id/{id}/customers/{id}/verify")
		require.NotNil(t, e)
		require.Equal(t, Validation, e.Category)
	})

	t.Run("unknown code", func(t *testing.T) {
		require.Nil(t, finix.Lookup("NOT_A_FINIX_CODE", 400, "", ""))
		require.Nil(t, flexiti.Lookup("not_a_flexiti_code", 409, "POST", "/client-id/{id}/transactions"))
		require.False(t, flexiti.Known("not_a_flexiti_code"))
	})
}

// TestCatalogCodesAreDocumented is the converse of TestSeedCodesAreCataloged:
// a catalog code that its seed never mentions is a typo or stale.
func TestCatalogCodesAreDocumented(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	seeds := map[string]string{
		"finterra": "finterra-pos-api-errors.txt",
		"cheers":   "cheers-loyalty-errors.txt",
		"finix":    "finix-errors.txt",
		"flexiti":  "flexiti-pos-api-errors.txt",
		"paylera":  "paylera-errors.txt",
	}
	for provider, seed := range seeds {
		data, err := os.ReadFile(filepath.Join(seedDir, seed))
		require.NoError(t, err)
		var missing []string
		for _, e := range cats.Provider(provider).Codes {
			if !bytes.Contains(data, []byte(e.Code)) {
				missing = append(missing, e.Code)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("catalogs/%s.yaml has codes that %s never mentions: %s", provider, seed, strings.Join(missing, ", "))
		}
	}
}

func TestOverrideFSReplacesABuiltinCatalog(t *testing.T) {
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	improved := "provider: finix\ndialect: hal\nhosts: [finix.com]\ncodes:\n  - {code: DECLINED, status: 402, category: validation}\n"
	require.NoError(t, cats.OverrideFS(fstest.MapFS{"finix.yaml": {Data: []byte(improved)}}))
	require.Equal(t, Validation, cats.Provider("finix").Lookup("DECLINED", 402, "POST", "/transfers").Category)
	require.Contains(t, cats.Providers(), "finix")
	require.Len(t, cats.Providers(), 5, "replaced, not added")

	err = cats.OverrideFS(fstest.MapFS{"x.yaml": {Data: []byte("provider: acme\ndialect: flat\nhosts: [finix.com]\n")}})
	require.ErrorContains(t, err, "already belongs", "a host of another provider is refused")
}
