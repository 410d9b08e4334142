package classify

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Rule is a learned endpoint template: in the paths of Provider's calls
// with Method that have Pattern's number of segments, each position Pattern
// marks '*' is a parameter ({id}). Its other segments are as the
// classifier writes endpoints (words, and {id} where the identifier
// heuristics put it): /v1/invoices/*/pay.
//
// A rule holds for the paths it fits, and for the paths that fit it up to
// a position it does not know (a new sub-resource after a learned id:
// /v1/invoices/*/pay also makes /v1/invoices/inv_x/void
// /v1/invoices/{id}/void). Rules are learned per method, and applied per
// method; a call whose method is unknown ("") takes the rules of every
// method of its provider.
type Rule struct {
	Provider string
	Method   string
	Pattern  string
}

// Templates are learned endpoint templates, ready for a Classifier
// (SetTemplates). A Templates value is immutable, and safe for concurrent
// use.
type Templates struct {
	providers map[string]map[string]*methodTries // provider, method ("": every method)
	rules     []Rule
}

// methodTries are the rules of one provider and method as prefix trees,
// one per number of segments.
type methodTries struct {
	roots [maxSegments + 1]*trieNode
}

// trieNode is one position of a path shape: a parameter (star), or the
// words known there. A node never has both: a parameter takes every value.
type trieNode struct {
	star     *trieNode
	children map[string]*trieNode
}

// NewTemplates validates rules and builds their Templates. A rule needs a
// provider, an upper-case method (or none), and a pattern starting with
// '/' of at most maxSegments segments with at least one '*' and one other
// segment.
func NewTemplates(rules []Rule) (*Templates, error) {
	t := &Templates{providers: map[string]map[string]*methodTries{}}
	var errs []error
	for i, r := range rules {
		segs, err := parseRule(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %d (%s %s %s): %w", i, r.Provider, r.Method, r.Pattern, err))
			continue
		}
		methods := t.providers[r.Provider]
		if methods == nil {
			methods = map[string]*methodTries{}
			t.providers[r.Provider] = methods
		}
		// Every rule in its method's trees and in the provider's pooled
		// ones, for calls whose method is unknown.
		for _, m := range []string{r.Method, ""} {
			mt := methods[m]
			if mt == nil {
				mt = &methodTries{}
				methods[m] = mt
			}
			if mt.roots[len(segs)] == nil {
				mt.roots[len(segs)] = &trieNode{}
			}
			mt.roots[len(segs)].insert(segs)
			if r.Method == "" {
				break
			}
		}
		t.rules = append(t.rules, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sort.Slice(t.rules, func(i, j int) bool {
		a, b := t.rules[i], t.rules[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Pattern < b.Pattern
	})
	return t, nil
}

// parseRule splits a rule's pattern into its segments (the empty one before
// the leading '/' included), "*" at a parameter position.
func parseRule(r Rule) ([]string, error) {
	switch {
	case r.Provider == "":
		return nil, errors.New("no provider")
	case r.Method != strings.ToUpper(r.Method) || strings.ContainsAny(r.Method, " /"):
		return nil, errors.New("method must be upper case")
	case !strings.HasPrefix(r.Pattern, "/"):
		return nil, errors.New("pattern must start with '/'")
	}
	segs := strings.Split(r.Pattern, "/")
	if len(segs) > maxSegments {
		return nil, fmt.Errorf("more than %d segments", maxSegments-1)
	}
	stars := 0
	for _, s := range segs[1:] {
		if s == "*" {
			stars++
		}
	}
	if stars == 0 || stars == len(segs)-1 {
		return nil, errors.New("a pattern needs a '*' and a segment that is not")
	}
	return segs, nil
}

// Rules returns the rules, sorted by provider, method and pattern.
func (t *Templates) Rules() []Rule {
	if t == nil {
		return nil
	}
	return append([]Rule(nil), t.rules...)
}

// Len is the number of rules.
func (t *Templates) Len() int {
	if t == nil {
		return 0
	}
	return len(t.rules)
}

// insert adds the path shape segs below n: a '*' makes the position a
// parameter, which takes the words known there with what follows them.
func (n *trieNode) insert(segs []string) {
	for _, s := range segs {
		if s == "*" || n.star != nil {
			n.starred()
			n = n.star
			continue
		}
		c := n.children[s]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*trieNode{}
			}
			c = &trieNode{}
			n.children[s] = c
		}
		n = c
	}
}

// starred makes n's position a parameter: its words' subtrees merge into
// the parameter's.
func (n *trieNode) starred() {
	if n.star == nil {
		n.star = &trieNode{}
	}
	for _, c := range n.children {
		n.star.merge(c)
	}
	n.children = nil
}

// merge adds the shapes below o to n's.
func (n *trieNode) merge(o *trieNode) {
	if o.star != nil {
		n.starred()
		n.star.merge(o.star)
	}
	for k, c := range o.children {
		if n.star != nil {
			n.star.merge(c)
			continue
		}
		mine := n.children[k]
		if mine == nil {
			if n.children == nil {
				n.children = map[string]*trieNode{}
			}
			mine = &trieNode{}
			n.children[k] = mine
		}
		mine.merge(c)
	}
}

// mark sets param on the segments of path p that the rules of provider and
// method make parameters. segs carry the identifier heuristics' marks
// already: a segment they made {id} is known by that name.
func (t *Templates) mark(provider, method, p string, segs []segment) {
	mt := t.providers[provider][method]
	if mt == nil || len(segs) > maxSegments {
		return
	}
	n := mt.roots[len(segs)]
	for i := 0; n != nil && i < len(segs); i++ {
		if n.star != nil {
			segs[i].param = true
			n = n.star
			continue
		}
		key := "{id}"
		if !segs[i].param {
			key = segs[i].text(p)
		}
		n = n.children[key]
	}
}
