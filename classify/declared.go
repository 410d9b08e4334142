package classify

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// declaredTemplates are the endpoints a provider's catalog declares
// (Catalog.Endpoints), each under every one of its base paths
// (Catalog.BasePaths, and the root), compiled for matching.
type declaredTemplates struct {
	// byLen holds the templates by their number of segments (the empty
	// one before the leading '/' included), most specific first.
	byLen [maxSegments + 1][]*declared
}

// declared is one declared template under one base path.
type declared struct {
	// lits are the segments: literal ones, and paramSeg at a parameter
	// position.
	lits []string
	// endpoint is the endpoint a matching path takes: the base path and
	// the template with {id} for every parameter.
	endpoint string
}

// match returns the most specific template that path p, split into segs,
// fits whole, or nil. A parameter takes any non-empty segment; a literal
// segment must be equal.
func (dt *declaredTemplates) match(p string, segs []segment) *declared {
	if len(segs) > maxSegments {
		return nil
	}
	for _, d := range dt.byLen[len(segs)] {
		if d.fits(p, segs) {
			return d
		}
	}
	return nil
}

func (d *declared) fits(p string, segs []segment) bool {
	// From the end: the last segments tell endpoints apart soonest.
	for i := len(segs) - 1; i >= 0; i-- {
		seg := segs[i].text(p)
		if lit := d.lits[i]; lit == paramSeg {
			if seg == "" {
				return false
			}
		} else if seg != lit {
			return false
		}
	}
	return true
}

// moreSpecific orders templates of one length: at the first position where
// they differ in kind, the literal one first; then by text, for a stable
// order.
func moreSpecific(a, b *declared) bool {
	for i := range a.lits {
		if (a.lits[i] == paramSeg) != (b.lits[i] == paramSeg) {
			return a.lits[i] != paramSeg
		}
	}
	return a.endpoint < b.endpoint
}

// paramSeg stands for a parameter among a template's segments (a literal
// segment holds no brace).
const paramSeg = "{}"

// paramName is how a declared template names a parameter: {order_id}.
var paramName = regexp.MustCompile(`^\{[A-Za-z_][A-Za-z0-9_-]*\}$`)

// compileDeclared validates a catalog's endpoints and base paths and
// compiles them. Every template is a path of literal segments and
// parameters ({order_id}), with at least one literal segment; its literal
// segments must be words, which the identifier heuristics keep as they
// are (so that an endpoint templated once is its own template). Base paths
// are literal. Two templates that give one endpoint are a duplicate.
func compileDeclared(endpoints, basePaths []string) (*declaredTemplates, error) {
	if len(endpoints) == 0 {
		if len(basePaths) > 0 {
			return nil, errors.New("base_paths without endpoints")
		}
		return nil, nil
	}
	var errs []error
	bases := [][]string{nil}
	for i, b := range basePaths {
		segs, params, err := parseTemplate(b)
		if err == nil && params > 0 {
			err = errors.New("a base path has no parameters")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("base_paths[%d] %q: %w", i, b, err))
			continue
		}
		bases = append(bases, segs)
	}
	dt := &declaredTemplates{}
	seen := map[string]string{}
	for i, e := range endpoints {
		segs, params, err := parseTemplate(e)
		if err == nil && params == len(segs) {
			err = errors.New("no literal segment: it would take every path of its length")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoints[%d] %q: %w", i, e, err))
			continue
		}
		for _, base := range bases {
			d := &declared{lits: []string{""}} // the empty segment before the leading '/'
			var b strings.Builder
			for _, s := range append(append([]string(nil), base...), segs...) {
				b.WriteByte('/')
				if s == paramSeg {
					b.WriteString("{id}")
				} else {
					b.WriteString(s)
				}
				d.lits = append(d.lits, s)
			}
			d.endpoint = b.String()
			if other, dup := seen[d.endpoint]; dup {
				errs = append(errs, fmt.Errorf("endpoints[%d] %q: the same endpoint as %q (%s)", i, e, other, d.endpoint))
				continue
			}
			seen[d.endpoint] = e
			if t := TemplatePath(d.endpoint); t != d.endpoint {
				errs = append(errs, fmt.Errorf("endpoints[%d] %q: a literal segment looks like an id (templated alone it gives %s): make it a {parameter}", i, e, t))
				continue
			}
			if len(d.lits) > maxSegments {
				errs = append(errs, fmt.Errorf("endpoints[%d] %q: more than %d segments", i, e, maxSegments-1))
				continue
			}
			dt.byLen[len(d.lits)] = append(dt.byLen[len(d.lits)], d)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, ds := range dt.byLen {
		sort.Slice(ds, func(i, j int) bool { return moreSpecific(ds[i], ds[j]) })
	}
	return dt, nil
}

// parseTemplate splits a declared template or base path ("/a/{b}/c") into
// its segments after the leading '/', paramSeg for a parameter, and counts
// the parameters.
func parseTemplate(t string) (segs []string, params int, err error) {
	if !strings.HasPrefix(t, "/") || t == "/" {
		return nil, 0, errors.New("want a path starting with '/'")
	}
	if strings.ContainsAny(t, "?# \t\r\n*") {
		return nil, 0, errors.New("want a bare path, without query, fragment, spaces or '*'")
	}
	for _, s := range strings.Split(t[1:], "/") {
		switch {
		case s == "":
			return nil, 0, errors.New("empty segment")
		case paramName.MatchString(s):
			segs = append(segs, paramSeg)
			params++
		case strings.ContainsAny(s, "{}"):
			return nil, 0, fmt.Errorf("segment %q: a parameter is a whole segment, like {order_id}", s)
		default:
			segs = append(segs, s)
		}
	}
	return segs, params, nil
}

// Declares reports whether endpoint (as the classifier writes endpoints,
// {id} for parameters) is one the catalog declares.
func (c *Catalog) Declares(endpoint string) bool {
	if c == nil || c.declared == nil {
		return false
	}
	segs := splitSegments(nil, endpoint)
	d := c.declared.match(endpoint, segs)
	return d != nil && d.endpoint == endpoint
}
