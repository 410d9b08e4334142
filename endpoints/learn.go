// Package endpoints learns endpoint templates from the endpoints ingestion
// stored, and plans how stored rows of literal endpoints move under them.
// It is pure: the store reads and writes, package classify applies the
// templates.
//
// Learning follows Sentry's transaction-name clusterer (a tree of path
// segments whose nodes with many children merge into one parameter) within
// the shapes of the Drain log parser (paths of one provider, method and
// number of segments): for each shape, a tree of the segments of the
// endpoints seen, position after position. A position under a given prefix
// whose distinct values reach the threshold (or a quarter of it beside
// values the identifier heuristics made {id}) is a parameter: its values,
// and what follows each of them, merge into one subtree, where later
// positions are judged the same way. Words stay words because an API's
// vocabulary at one position is small: the largest set of literal
// siblings at one position of one method and segment count is 63 in
// Stripe's API (GET /v1/{resource}, of the 555 method and path pairs that
// stripe-go calls) and 41 in GitHub's (GET /repos/{owner}/{repo}/{resource},
// of the 1,105 that go-github calls; 71 and 67 pooled over methods and
// lengths as Sentry pools them), and at most 10 in the five providers'
// documentation, while the ids of a busy endpoint take a new value with
// nearly every call. The default threshold, 200 (Sentry's, raised from 100
// after use), is three times the largest vocabulary measured.
package endpoints

import (
	"sort"
	"strings"

	"github.com/faultline-dev/faultline/classify"
)

// DefaultThreshold is how many distinct values a position must take for
// it to become a parameter.
const DefaultThreshold = 200

// Other is the endpoint of calls beyond a provider's bound of distinct
// endpoints: one visible bucket, never learned from.
const Other = "{other}"

// Observation is an endpoint stored for a provider's calls with a method
// (the method "" when it is not known).
type Observation struct {
	Provider, Method, Endpoint string
}

// Learned is a learned rule and its evidence: the fewest distinct values
// one of its parameters took when it was learned.
type Learned struct {
	classify.Rule
	Values int
}

// Learn returns the rules that the observed endpoints and the rules known
// already make: every known rule (a parameter stays one), and a rule for
// each endpoint shape where a position reached threshold distinct values.
// Rules are sorted by provider, method and pattern.
func Learn(obs []Observation, known []Learned, threshold int) []Learned {
	if threshold < 2 {
		threshold = 2
	}
	type shape struct {
		provider, method string
		segments         int
	}
	trees := map[shape]*node{}
	tree := func(p, m string, n int) *node {
		k := shape{p, m, n}
		t := trees[k]
		if t == nil {
			t = &node{}
			trees[k] = t
		}
		return t
	}
	for _, r := range known {
		segs := strings.Split(r.Pattern, "/")
		tree(r.Provider, r.Method, len(segs)).insert(segs, r.Values)
	}
	for _, o := range obs {
		segs, ok := learnable(o.Endpoint)
		if !ok {
			continue
		}
		tree(o.Provider, o.Method, len(segs)).insert(segs, 0)
	}
	var out []Learned
	for k, t := range trees {
		t.merge(threshold)
		t.rules(nil, 0, func(pattern []string, values int) {
			out = append(out, Learned{Rule: classify.Rule{Provider: k.provider, Method: k.method, Pattern: strings.Join(pattern, "/")}, Values: values})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Pattern < b.Pattern
	})
	return out
}

// learnable splits an endpoint into its segments, or reports that it is
// not learned from: the overflow bucket, an endpoint cut short, one
// without a leading '/' or with more segments than templates handle.
func learnable(endpoint string) ([]string, bool) {
	if endpoint == Other || !strings.HasPrefix(endpoint, "/") || strings.HasSuffix(endpoint, "/{...}") {
		return nil, false
	}
	segs := strings.Split(endpoint, "/")
	if len(segs) > maxSegments {
		return nil, false
	}
	return segs, true
}

// besideIDs is how many distinct other values a position where the
// identifier heuristics found ids ({id}) must take to become a parameter:
// there, the values the heuristics keep are ids without digits (4% of
// random lower-case ids, 8% of base62 ones) or the few words an API puts
// beside a parameter (Stripe: at most 1, /v1/invoices/upcoming beside
// /v1/invoices/{invoice}; GitHub: 17, /user/repos… beside
// /user/{account_id}). A quarter of the threshold: 50 by default.
func besideIDs(threshold int) int { return max(threshold/4, 2) }

// maxSegments is classify's bound on the segments of a path that templates
// apply to.
const maxSegments = 32

// node is one position of an endpoint shape under one prefix.
type node struct {
	children map[string]*node
	star     *node // the parameter, once the position is one
	values   int   // distinct values the parameter took
}

// insert adds a path; a "*" segment is a parameter of a known rule, which
// took values distinct values.
func (n *node) insert(segs []string, values int) {
	for _, s := range segs {
		if s == "*" {
			if n.star == nil {
				n.star = &node{}
			}
			n.values = max(n.values, values)
			n = n.star
			continue
		}
		c := n.children[s]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c = &node{}
			n.children[s] = c
		}
		n = c
	}
}

// merge makes every position with threshold distinct values (or a known
// parameter) a parameter, from the first position on: the values' subtrees
// merge into the parameter's, where the next positions are judged.
func (n *node) merge(threshold int) {
	if n.star != nil || len(n.children) >= threshold || (n.children["{id}"] != nil && len(n.children)-1 >= besideIDs(threshold)) {
		if n.star == nil {
			n.star = &node{}
		}
		n.values = max(n.values, len(n.children))
		for _, c := range n.children {
			n.star.absorb(c)
		}
		n.children = nil
	}
	if n.star != nil {
		n.star.merge(threshold)
	}
	for _, c := range n.children {
		c.merge(threshold)
	}
}

// absorb adds o's subtree to n's.
func (n *node) absorb(o *node) {
	if o.star != nil {
		if n.star == nil {
			n.star = &node{}
		}
		n.values = max(n.values, o.values)
		n.star.absorb(o.star)
	}
	for k, c := range o.children {
		mine := n.children[k]
		if mine == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			mine = &node{}
			n.children[k] = mine
		}
		mine.absorb(c)
	}
}

// rules calls emit with each path from n to a leaf that has a parameter,
// and the fewest values one of its parameters took. A pattern with no
// literal segment besides the root is no rule: it would take every path
// of its length.
func (n *node) rules(prefix []string, values int, emit func([]string, int)) {
	if n.star == nil && len(n.children) == 0 {
		if values > 0 && hasWord(prefix) {
			emit(append([]string(nil), prefix...), values)
		}
		return
	}
	if n.star != nil {
		v := max(n.values, 1)
		if values > 0 {
			v = min(v, values)
		}
		n.star.rules(append(prefix, "*"), v, emit)
	}
	keys := make([]string, 0, len(n.children))
	for k := range n.children {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.children[k].rules(append(prefix, k), values, emit)
	}
}

// hasWord reports whether a pattern has a segment, after the empty one
// before its leading '/', that is neither a parameter nor {id}.
func hasWord(pattern []string) bool {
	for _, s := range pattern[1:] {
		if s != "*" && s != "{id}" {
			return true
		}
	}
	return false
}
