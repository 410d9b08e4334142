package classify

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func builtinClassifier(t testing.TB) *Classifier {
	t.Helper()
	cats, err := BuiltinCatalogs()
	require.NoError(t, err)
	c, err := New(cats, Options{})
	require.NoError(t, err)
	return c
}

// A declared template wins over the heuristics: ids without digits, short
// lower-case ids with one digit and hashids take {id}; the words beside
// them, and documented sub-resources, stay.
func TestDeclaredTemplates(t *testing.T) {
	c := builtinClassifier(t)
	tests := []struct{ provider, method, path, want string }{
		{"paylera", "POST", "/v1/invoices/inv_ahxdybwyej/pay", "/v1/invoices/{id}/pay"},
		{"paylera", "GET", "/v1/payment_methods", "/v1/payment_methods"},
		{"paylera", "POST", "/v1/3ds/sessions", "/v1/3ds/sessions"},
		{"paylera", "GET", "/v1/wallets/mywallet", "/v1/wallets/{id}"},
		{"cheers", "POST", "/loyalty/v2/transactions/bdhuc8uffl/preview", "/loyalty/v2/transactions/{id}/preview"},
		{"cheers", "POST", "/loyalty/v2/transactions/jRkq/finalize", "/loyalty/v2/transactions/{id}/finalize"},
		{"finterra", "GET", "/pos/v1/locations", "/pos/v1/locations"},
		{"finterra", "POST", "/oauth2/token", "/oauth2/token"},
		{"finterra", "GET", "/pos/v1/orders/ord_abcdefgh/payments/pay_qwertyui", "/pos/v1/orders/{id}/payments/{id}"},
		// Under a base path, or none; the documented word beside a parameter wins.
		{"flexiti", "GET", "/flexiti/pos-api/v2.5/client-id/flexitidemo/customers/lookup", "/flexiti/pos-api/v2.5/client-id/{id}/customers/lookup"},
		{"flexiti", "POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/customers/janedoe/verify", "/flexiti/pos-api/v2.5/client-id/{id}/customers/{id}/verify"},
		{"flexiti", "POST", "/pos-api/client-id/demo/accounts/abc/calculate-interest", "/pos-api/client-id/{id}/accounts/{id}/calculate-interest"},
		{"flexiti", "POST", "/client-id/demo/authorization/xyz/capture/qq/return", "/client-id/{id}/authorization/{id}/capture/{id}/return"},
		// A path that fits no declared template whole: the heuristics.
		{"paylera", "POST", "/v2/invoices/inv_ahxdybwyej/pay", "/v2/invoices/inv_ahxdybwyej/pay"},
		{"paylera", "POST", "/v1/invoices//pay", "/v1/invoices//pay"},
		{"finix", "GET", "/authorizations/AUst6ZdywPwe4fbYWrH1zTNJ/extra", "/authorizations/{id}/extra"},
		// Another provider's templates do not apply.
		{"finix", "POST", "/v1/invoices/inv_ahxdybwyej/pay", "/v1/invoices/inv_ahxdybwyej/pay"},
		// A secret in a parameter's place goes with it.
		{"paylera", "GET", "/v1/wallets/jane.doe@example.com", "/v1/wallets/{id}"},
	}
	for _, tc := range tests {
		t.Run(tc.provider+tc.path, func(t *testing.T) {
			require.Equal(t, tc.want, c.Endpoint(tc.provider, tc.method, tc.path))
		})
	}
}

func TestDeclaredTemplatesValidated(t *testing.T) {
	base := "provider: acme\ndialect: flat\n"
	tests := map[string]string{
		"endpoints: [v1/things]":                                    "want a path starting with '/'",
		"endpoints: [/v1//things]":                                  "empty segment",
		"endpoints: [/v1/things/]":                                  "empty segment",
		"endpoints: ['/v1/inv_{id}']":                               "a parameter is a whole segment",
		"endpoints: ['/{a}/{b}']":                                   "no literal segment",
		"endpoints: [/v1/things/ab12cd34ef]":                        "looks like an id",
		"endpoints: [/client-id/list]":                              "looks like an id",
		"endpoints: ['/v1/things/{a}', '/v1/things/{b}']":           "the same endpoint",
		"endpoints: ['/v1/things?x=1']":                             "bare path",
		"base_paths: [/api]":                                        "base_paths without endpoints",
		"base_paths: ['/api/{v}']\nendpoints: [/things]":            "a base path has no parameters",
		"endpoints: ['/things', '/api/things']\nbase_paths: [/api]": "the same endpoint",
	}
	for doc, want := range tests {
		t.Run(doc, func(t *testing.T) {
			_, err := ParseCatalog("acme.yaml", []byte(base+doc))
			require.ErrorContains(t, err, want)
		})
	}
	cat, err := ParseCatalog("acme.yaml", []byte(base+"base_paths: [/api/v2.5]\nendpoints: ['/things/{thing_id}', /things/search]"))
	require.NoError(t, err)
	require.Len(t, cat.declared.byLen[5], 2)
	require.Equal(t, "/things/search", cat.declared.byLen[3][0].endpoint, "a word before a parameter")
}

// Learned rules apply per provider, method and segment count; a call whose
// method is unknown takes every method's.
func TestLearnedTemplates(t *testing.T) {
	c := builtinClassifier(t)
	tpl, err := NewTemplates([]Rule{
		{Provider: "acme", Method: "GET", Pattern: "/v2/stores/*/orders/*"},
		{Provider: "acme", Method: "POST", Pattern: "/v2/carts/*/checkout"},
		{Provider: "paylera", Method: "GET", Pattern: "/v1/customers/*/payment_methods"},
	})
	require.NoError(t, err)
	require.Equal(t, 3, tpl.Len())
	c.SetTemplates(tpl)
	tests := []struct{ provider, method, path, want string }{
		{"acme", "GET", "/v2/stores/vintage-lamp-9/orders/abcdefgh", "/v2/stores/{id}/orders/{id}"},
		{"acme", "GET", "/v2/stores/vintage-lamp-9/refunds/abcdefgh", "/v2/stores/{id}/refunds/abcdefgh"},
		{"acme", "POST", "/v2/stores/vintage-lamp-9/orders/abcdefgh", "/v2/stores/vintage-lamp-9/orders/abcdefgh"},
		{"acme", "", "/v2/stores/vintage-lamp-9/orders/abcdefgh", "/v2/stores/{id}/orders/{id}"},
		{"acme", "", "/v2/carts/abcdef/checkout", "/v2/carts/{id}/checkout"},
		{"acme", "POST", "/v2/carts/abcdef/void", "/v2/carts/{id}/void"},
		{"acme", "POST", "/v2/carts/abcdef", "/v2/carts/abcdef"},
		{"other", "GET", "/v2/stores/vintage-lamp-9/orders/abcdefgh", "/v2/stores/vintage-lamp-9/orders/abcdefgh"},
		{"paylera", "GET", "/v1/customers/cus_htdxcwoaudgw/payment_methods", "/v1/customers/{id}/payment_methods"},
		// A declared template still wins.
		{"paylera", "GET", "/v1/payment_methods/pmabcdef", "/v1/payment_methods/{id}"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, c.Endpoint(tc.provider, tc.method, tc.path), "%s %s %s", tc.provider, tc.method, tc.path)
	}
	c.SetTemplates(nil)
	require.Equal(t, "/v2/carts/abcdef/checkout", c.Endpoint("acme", "POST", "/v2/carts/abcdef/checkout"))
}

func TestNewTemplatesValidates(t *testing.T) {
	for _, r := range []Rule{
		{Provider: "", Method: "GET", Pattern: "/a/*"},
		{Provider: "p", Method: "get", Pattern: "/a/*"},
		{Provider: "p", Method: "GET", Pattern: "a/*"},
		{Provider: "p", Method: "GET", Pattern: "/a/b"},
		{Provider: "p", Method: "GET", Pattern: "/*/*"},
		{Provider: "p", Method: "GET", Pattern: "/a" + strings.Repeat("/*", maxSegments)},
	} {
		_, err := NewTemplates([]Rule{r})
		require.Error(t, err, "%+v", r)
	}
}

// A star learned later takes the words known at its position, with what
// follows them.
func TestTemplatesMergeStarOverWords(t *testing.T) {
	c := builtinClassifier(t)
	tpl, err := NewTemplates([]Rule{
		{Provider: "acme", Method: "GET", Pattern: "/a/x/*/c"},
		{Provider: "acme", Method: "GET", Pattern: "/a/*/b/d"},
	})
	require.NoError(t, err)
	c.SetTemplates(tpl)
	require.Equal(t, "/a/{id}/{id}/c", c.Endpoint("acme", "GET", "/a/x/yy/c"))
	// Once the second position is a parameter, x's parameter after it
	// holds for every value there, b included.
	require.Equal(t, "/a/{id}/{id}/d", c.Endpoint("acme", "GET", "/a/zz/b/d"))
}

// idShape returns a random path segment of one of the shapes real paths
// carry: words, versions, ids of every shape, secrets, empty segments.
func randomSegment(r *rand.Rand) string {
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	pick := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	switch r.IntN(14) {
	case 0:
		return []string{"v1", "v2.5", "oauth2", "token", "3ds", "sessions", "payment_methods", "locations", "status", "capture", "client-id", "getCustomerById"}[r.IntN(12)]
	case 1:
		return "inv_" + pick("abcdefghijklmnopqrstuvwxyz", 10)
	case 2:
		return pick("abcdefghijklmnopqrstuvwxyz0123456789", 1+r.IntN(12))
	case 3:
		return pick(alnum, 6+r.IntN(22))
	case 4:
		return fmt.Sprint(r.IntN(1e9))
	case 5:
		return ""
	case 6:
		return "{id}"
	case 7:
		return "4111111111111111"
	case 8:
		return "jane.doe@example.com"
	case 9:
		return pick("_-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", 21)
	case 10:
		return truncatedMarker
	case 11:
		return pick("abcdefghijklmnopqrstuvwxyz", 300)
	case 12:
		return "%2F" + pick(alnum, 4)
	default:
		return pick("abcdefghijklmnopqrstuvwxyz", 3+r.IntN(10))
	}
}

func randomPath(r *rand.Rand) string {
	n := 1 + r.IntN(12)
	if r.IntN(20) == 0 {
		n = 30 + r.IntN(10)
	}
	var b strings.Builder
	for range n {
		b.WriteByte('/')
		b.WriteString(randomSegment(r))
	}
	if r.IntN(10) == 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// Templating is idempotent: an endpoint is its own endpoint, with
// declared templates, learned rules and the heuristics together, for
// random paths of every segment shape, and it is bounded.
func TestEndpointIdempotent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := builtinClassifier(t)
	var rules []Rule
	for range 300 {
		p := randomPath(r)
		segs := strings.Split(p, "/")
		if len(segs) > maxSegments || len(segs) < 3 {
			continue
		}
		segs[1+r.IntN(len(segs)-1)] = "*"
		if segs[len(segs)-1] == truncatedMarker {
			continue
		}
		rule := Rule{Provider: []string{"paylera", "acme"}[r.IntN(2)], Method: []string{"GET", "POST", ""}[r.IntN(3)], Pattern: strings.Join(segs, "/")}
		if _, err := parseRule(rule); err == nil {
			rules = append(rules, rule)
		}
	}
	tpl, err := NewTemplates(rules)
	require.NoError(t, err)
	c.SetTemplates(tpl)
	paths := []string{"/v1/invoices/inv_ahxdybwyej/pay", "/v1/invoices/{id}/pay", strings.Repeat("/abcdefghijklmnop", 40)}
	for range 20000 {
		paths = append(paths, randomPath(r))
	}
	for _, p := range paths {
		for _, provider := range []string{"paylera", "acme", "flexiti"} {
			for _, method := range []string{"GET", "POST", ""} {
				e := c.Endpoint(provider, method, p)
				require.LessOrEqual(t, len(e), maxEndpoint, p)
				require.NotEmpty(t, e)
				require.Equal(t, e, c.Endpoint(provider, method, e), "%s %s %q", provider, method, p)
			}
		}
	}
}

// FuzzEndpoint checks idempotence and bounds on any path; its seeds are
// in testdata/fuzz/FuzzEndpoint.
func FuzzEndpoint(f *testing.F) {
	c := builtinClassifier(f)
	tpl, err := NewTemplates([]Rule{
		{Provider: "paylera", Method: "GET", Pattern: "/v1/customers/*/payment_methods"},
		{Provider: "acme", Method: "GET", Pattern: "/v2/stores/*/orders/*"},
	})
	require.NoError(f, err)
	c.SetTemplates(tpl)
	f.Add("paylera", "/v1/invoices/inv_ahxdybwyej/pay")
	f.Add("acme", "/v2/stores/oak/orders/x")
	f.Fuzz(func(t *testing.T, provider, path string) {
		for _, m := range []string{"GET", ""} {
			e := c.Endpoint(provider, m, path)
			if len(e) > maxEndpoint || e == "" {
				t.Fatalf("endpoint %q of %q out of bounds", e, path)
			}
			if again := c.Endpoint(provider, m, e); again != e {
				t.Fatalf("endpoint of %q is %q, whose endpoint is %q", path, e, again)
			}
		}
	})
}

// Classifying a record whose endpoint a declared or learned template gives
// allocates nothing.
func TestEndpointDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops the classifier's states at random")
	}
	c := builtinClassifier(t)
	tpl, err := NewTemplates([]Rule{{Provider: "paylera", Method: "GET", Pattern: "/v1/customers/*/payment_methods"}})
	require.NoError(t, err)
	c.SetTemplates(tpl)
	recs := [][]byte{
		[]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_ahxdybwyej/pay","status":200}`),
		[]byte(`{"ts":"2026-11-02T10:00:00Z","provider":"paylera","method":"GET","url":"https://api.paylera.com/v1/customers/cus_htdxcwoaudgw/payment_methods","status":200}`),
	}
	for _, rec := range recs {
		_, err := c.Classify(rec) // warm the intern table
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := c.Classify(rec); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "%s", rec)
	}
}

// Templates are swapped while records are classified: each record takes
// the templates before or after, never a mix (run with -race).
func TestSetTemplatesWhileClassifying(t *testing.T) {
	c := builtinClassifier(t)
	tpl, err := NewTemplates([]Rule{{Provider: "acme", Method: "GET", Pattern: "/v2/stores/*"}})
	require.NoError(t, err)
	rec := []byte(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","method":"GET","url":"https://finix.com/v2/stores/vintagelamp","status":200}`)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			if i%2 == 0 {
				c.SetTemplates(tpl)
			} else {
				c.SetTemplates(nil)
			}
		}
	}()
	for range 2000 {
		ev, err := c.Classify(rec)
		require.NoError(t, err)
		require.Equal(t, "/v2/stores/vintagelamp", ev.Endpoint, "acme's rule is not finix's")
	}
	<-done
}
