package endpoints_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/synth"
)

func newClassifier(t *testing.T) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{Hosts: synth.IDShapesHosts()})
	require.NoError(t, err)
	return c
}

// observe classifies the calls and returns the distinct endpoints stored
// for them, as ingestion records them.
func observe(t *testing.T, c *classify.Classifier, calls []synth.Call) []endpoints.Observation {
	t.Helper()
	seen := map[endpoints.Observation]bool{}
	var obs []endpoints.Observation
	for _, call := range calls {
		ev, err := c.Classify(call.Record)
		require.NoError(t, err)
		o := endpoints.Observation{Provider: ev.Provider, Method: ev.Method, Endpoint: ev.Endpoint}
		if !seen[o] {
			seen[o] = true
			obs = append(obs, o)
		}
	}
	return obs
}

func idCalls(n int, seed uint64) []synth.Call {
	g := synth.NewIDShapes(synth.Options{Seed: seed, ErrorRate: 0.1, Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)})
	calls := make([]synth.Call, n)
	for i := range calls {
		calls[i] = g.Next()
	}
	return calls
}

// distinct returns the sorted distinct "provider method endpoint" of the
// calls as classified.
func distinct(t *testing.T, c *classify.Classifier, calls []synth.Call) []string {
	t.Helper()
	set := map[string]bool{}
	for _, call := range calls {
		ev, err := c.Classify(call.Record)
		require.NoError(t, err)
		set[ev.Provider+" "+ev.Method+" "+ev.Endpoint] = true
	}
	return sorted(set)
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func trueEndpoints() []string {
	set := map[string]bool{}
	for _, e := range synth.IDShapesEndpoints() {
		set[e.Provider+" "+e.Method+" "+e.Endpoint] = true
	}
	return sorted(set)
}

// In volume, every endpoint collapses to its true template, whatever its
// ids look like, and no word is templated away.
func TestLearnedTemplatesCollapseEveryIDShape(t *testing.T) {
	c := newClassifier(t)
	calls := idCalls(100000, 1)

	before := distinct(t, c, calls)
	require.Greater(t, len(before), 500, "the heuristics and declared templates alone leave ids literal")

	rules := endpoints.Learn(observe(t, c, calls), nil, endpoints.DefaultThreshold)
	tpl, err := classify.NewTemplates(ruleList(rules))
	require.NoError(t, err)
	c.SetTemplates(tpl)

	for _, call := range calls {
		ev, err := c.Classify(call.Record)
		require.NoError(t, err)
		require.Equal(t, call.Endpoint, ev.Endpoint, "%s %s %s", call.Provider, call.Method, call.Record)
	}
	require.Equal(t, trueEndpoints(), distinct(t, c, calls))

	// Learning again from what is stored now changes no rule.
	again := endpoints.Learn(observe(t, c, calls), rules, endpoints.DefaultThreshold)
	require.Equal(t, rules, again)

	// New calls, never seen, take the templates too.
	for _, call := range idCalls(2000, 2) {
		ev, err := c.Classify(call.Record)
		require.NoError(t, err)
		require.Equal(t, call.Endpoint, ev.Endpoint)
	}
	for _, r := range rules {
		require.GreaterOrEqual(t, r.Values, endpoints.DefaultThreshold/4, "%+v", r)
		t.Logf("%s %s %s (%d values)", r.Provider, r.Method, r.Pattern, r.Values)
	}
}

func ruleList(ls []endpoints.Learned) []classify.Rule {
	out := make([]classify.Rule, len(ls))
	for i, l := range ls {
		out[i] = l.Rule
	}
	return out
}

// obs makes observations of one provider and method from endpoints.
func obs(method string, eps ...string) []endpoints.Observation {
	out := make([]endpoints.Observation, len(eps))
	for i, e := range eps {
		out[i] = endpoints.Observation{Provider: "acme", Method: method, Endpoint: e}
	}
	return out
}

func patterns(ls []endpoints.Learned) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Method+" "+l.Pattern)
	}
	return out
}

// A position becomes a parameter at the threshold, not one value before.
func TestLearnThreshold(t *testing.T) {
	for _, n := range []int{199, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var eps []string
			for i := range n {
				eps = append(eps, fmt.Sprintf("/v1/things/thing%c%c%c/parts", 'a'+i%26, 'a'+i/26%26, 'a'+i/676))
			}
			got := endpoints.Learn(obs("GET", eps...), nil, 200)
			if n < 200 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, []string{"GET /v1/things/*/parts"}, patterns(got))
			require.Equal(t, 200, got[0].Values)
		})
	}
}

// Beside ids the heuristics found, a quarter of the threshold of other
// values makes the position a parameter (ids without digits), fewer stay
// words.
func TestLearnBesideHeuristicIDs(t *testing.T) {
	words := func(n int) []string {
		eps := []string{"/v1/things/{id}"}
		for i := range n {
			eps = append(eps, fmt.Sprintf("/v1/things/w%c%c", 'a'+i%26, 'a'+i/26))
		}
		return eps
	}
	require.Empty(t, endpoints.Learn(obs("GET", words(49)...), nil, 200))
	require.Equal(t, []string{"GET /v1/things/*"}, patterns(endpoints.Learn(obs("GET", words(50)...), nil, 200)))
}

// Words stay words: enumerated positions and sibling resources, under a
// learned parameter or not; methods and lengths are learned apart.
func TestLearnKeepsWords(t *testing.T) {
	var eps []string
	for i := range 300 {
		id := fmt.Sprintf("tx%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676)
		for _, w := range []string{"status", "capture", "preview", "finalize"} {
			eps = append(eps, "/v2/transactions/"+id+"/"+w)
		}
	}
	eps = append(eps, "/v1/3ds/sessions", "/v1/payment_methods", "/oauth2/token", "/v2.5/locations")
	got := endpoints.Learn(obs("POST", eps...), nil, 200)
	require.Equal(t, []string{
		"POST /v2/transactions/*/capture", "POST /v2/transactions/*/finalize",
		"POST /v2/transactions/*/preview", "POST /v2/transactions/*/status",
	}, patterns(got))

	// The same ids under GET are not evidence for POST's shapes.
	mixed := append(obs("POST", eps[:600]...), obs("GET", eps[600:1200]...)...) // 150 ids each
	require.Empty(t, endpoints.Learn(mixed, nil, 200))
}

// Two ids in one path are learned in one pass; a parameter known already
// stays one, and absorbs what was seen before it.
func TestLearnNestedAndKnown(t *testing.T) {
	var eps []string
	for i := range 250 {
		for j := range 2 {
			eps = append(eps, fmt.Sprintf("/v2/stores/s%c%c/orders/o%c%c%c", 'a'+i%26, 'a'+i/26, 'a'+j, 'a'+i%26, 'a'+i/26))
		}
	}
	got := endpoints.Learn(obs("GET", eps...), nil, 200)
	require.Equal(t, []string{"GET /v2/stores/*/orders/*"}, patterns(got))

	known := []endpoints.Learned{{Rule: classify.Rule{Provider: "acme", Method: "GET", Pattern: "/v2/carts/*/items"}, Values: 300}}
	got = endpoints.Learn(obs("GET", "/v2/carts/{id}/items", "/v2/carts/late1/items", "/v2/carts/{id}/coupons"), known, 200)
	require.Equal(t, []string{"GET /v2/carts/*/coupons", "GET /v2/carts/*/items"}, patterns(got))
	require.Equal(t, 300, got[1].Values)
}

// Endpoints that are no evidence are ignored: the overflow bucket, cut
// endpoints, and patterns without a word.
func TestLearnIgnores(t *testing.T) {
	var eps []string
	for i := range 300 {
		eps = append(eps, fmt.Sprintf("/x%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676))
	}
	eps = append(eps, endpoints.Other, "/a/b/{...}")
	require.Empty(t, endpoints.Learn(obs("GET", eps...), nil, 200))
}

func TestPlan(t *testing.T) {
	c := newClassifier(t)
	tpl, err := classify.NewTemplates([]classify.Rule{{Provider: "acmepay", Method: "GET", Pattern: "/v2/orders/*"}})
	require.NoError(t, err)
	c.SetTemplates(tpl)
	stored := []endpoints.Observation{
		{Provider: "paylera", Method: "POST", Endpoint: "/v1/invoices/inv_ahxdybwyej/pay"}, // declared
		{Provider: "paylera", Method: "POST", Endpoint: "/v1/invoices/{id}/pay"},
		{Provider: "acmepay", Method: "GET", Endpoint: "/v2/orders/abc"},                 // learned for GET
		{Provider: "acmepay", Method: "GET", Endpoint: "/v2/orders/xyz"},                 // GET and DELETE disagree
		{Provider: "acmepay", Method: "DELETE", Endpoint: "/v2/orders/xyz"},              //
		{Provider: "acmepay", Method: "", Endpoint: "/v2/orders/old"},                    // method unknown: every method's rules
		{Provider: "acmepay", Method: "GET", Endpoint: endpoints.Other},                  // never moves
		{Provider: "acmepay", Method: "GET", Endpoint: "/v2/status"},                     // stays
		{Provider: "finterra", Method: "", Endpoint: "/pos/v1/orders/ord_abcdefgh/void"}, // no template: stays
	}
	moves, conflicts := endpoints.Plan(stored, c.Endpoint)
	require.Equal(t, []endpoints.Move{
		{Provider: "acmepay", From: "/v2/orders/abc", To: "/v2/orders/{id}"},
		{Provider: "acmepay", From: "/v2/orders/old", To: "/v2/orders/{id}"},
		{Provider: "paylera", From: "/v1/invoices/inv_ahxdybwyej/pay", To: "/v1/invoices/{id}/pay"},
	}, moves)
	require.Equal(t, 1, conflicts)
}
