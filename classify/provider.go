package classify

import (
	"strings"

	"github.com/valyala/fastjson"
)

// Which provider a record is a call to: the one it names (a catalog's, a
// configured one, or other), its URL host's, or its error body's shape.

// provider returns the provider a record names: a catalog's or a
// configured one, else OtherProvider.
func (st *state) provider(c *Classifier, name []byte) string {
	st.fold = foldASCII(st.fold[:0], name, false)
	if v, ok := st.recent[recentProvider].get(st.fold); ok {
		return v
	}
	p := OtherProvider
	for _, cand := range providerCandidates(b2s(st.fold)) {
		if cat := c.cats.Provider(cand); cat != nil {
			p = cat.Provider
			break
		} else if c.configured[cand] {
			p = strings.Clone(cand) // cand views st.fold, which the next record overwrites
			break
		}
	}
	st.recent[recentProvider].put(string(st.fold), p)
	return p
}

// providerCandidates are the provider names a record's provider field
// (lower-cased) may mean, in order: itself, its first word, its words
// joined ("Finix Payments" is finix, "Fin-Terra" finterra).
func providerCandidates(name string) [3]string {
	name = strings.TrimSpace(name)
	word := func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }
	first, _, _ := strings.Cut(strings.TrimLeftFunc(name, word), " ")
	if i := strings.IndexFunc(first, word); i >= 0 {
		first = first[:i]
	}
	joined := strings.Map(func(r rune) rune {
		if word(r) {
			return -1
		}
		return r
	}, name)
	return [3]string{name, first, joined}
}

func (c *Classifier) providerByHost(host string) string {
	for _, h := range c.hosts {
		if host == h.host || (strings.HasSuffix(host, h.host) && host[len(host)-len(h.host)-1] == '.') {
			return h.provider
		}
	}
	return ""
}

// providerByShape recognises the provider of an error body: the dialect
// from its top-level keys, then among that dialect's catalogs the one whose
// identifying keys are present, or the only one that documents the code.
func (c *Classifier) providerByShape(body *fastjson.Value) *Catalog {
	d := shapeOf(body)
	if d == "" {
		return nil
	}
	cands := c.dialects[d]
	if len(cands) == 1 {
		return cands[0]
	}
	for _, cat := range cands {
		for _, k := range cat.IdentifyBy {
			if body.Exists(k) {
				return cat
			}
		}
	}
	var x extracted
	extract(d, nil, body, &x)
	var found *Catalog
	for _, cat := range cands {
		if cat.Known(string(x.code)) {
			if found != nil {
				return nil
			}
			found = cat
		}
	}
	return found
}

func shapeOf(body *fastjson.Value) Dialect {
	switch {
	case body.Exists("errorModel"):
		return DialectErrorModel
	case body.Exists("_embedded", "errors"):
		return DialectHAL
	case body.Exists("problem"):
		return DialectProblem
	case body.Exists("error"):
		return DialectFlat
	}
	return ""
}
