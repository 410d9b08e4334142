package synth

import (
	"slices"
	"strings"
	"time"
)

// Minute is what one minute of a scenario adds to ingest's rollups, as
// classifying its records gives them: requests and errors per provider
// and endpoint, errors per provider, category, code, subcode and endpoint.
type Minute struct {
	Time     time.Time
	Requests []EndpointRequests
	Errors   []ErrorCount
}

// EndpointRequests counts a provider's requests to an endpoint in a
// minute, and how many failed.
type EndpointRequests struct {
	Provider, Method, Endpoint string
	Requests, Errors           int64
}

// ErrorCount counts a provider's errors of one kind at one endpoint in a
// minute.
type ErrorCount struct {
	Provider, Category, Code, Subcode, Method, Endpoint string
	Count                                               int64
}

// callKind is what a call's classification depends on.
type callKind struct {
	provider            string
	endpoint            int
	status              int
	category, code, sub string
	success             bool
}

// Classification is what classifying a record gives the rollups.
type Classification struct {
	IsError                                   bool
	Category, Code, Subcode, Method, Endpoint string
}

// Classifier classifies a record as ingest would (the caller adapts
// classify.Classifier: synth does not depend on it).
type Classifier func(record []byte) (Classification, error)

// NextMinute returns the counts of the next minute, each distinct kind of
// call classified once by classify: the same requests Next renders, many
// times faster (weeks of traffic at a thousand calls a minute in seconds).
// ok is false when the scenario is over.
func (st *Stream) NextMinute(classify Classifier) (m Minute, ok bool, err error) {
	if !st.minute.Before(st.s.Start.Add(st.s.Duration)) {
		return m, false, nil
	}
	m.Time = st.fill()
	if st.classes == nil {
		st.classes = map[callKind]Classification{}
	}
	reqs := map[[3]string]*EndpointRequests{}
	errs := map[ErrorCount]int64{}
	for i := range st.calls {
		c := &st.calls[i]
		k := callKind{provider: c.provider.name, endpoint: c.endpoint, success: c.tmpl == nil}
		if c.tmpl != nil {
			k.status, k.category, k.code, k.sub = c.tmpl.status, c.tmpl.category, c.tmpl.code, c.tmpl.subcode
		}
		cl, seen := st.classes[k]
		if !seen {
			st.buf, st.arena = st.buf[:0], st.arena[:0]
			st.add(m.Time, c)
			if cl, err = classify(st.arena[st.buf[0].start:st.buf[0].end]); err != nil {
				return m, false, err
			}
			st.classes[k] = cl
			st.buf, st.next, st.arena = st.buf[:0], 0, st.arena[:0]
		}
		rk := [3]string{c.provider.name, cl.Method, cl.Endpoint}
		r := reqs[rk]
		if r == nil {
			r = &EndpointRequests{Provider: c.provider.name, Method: cl.Method, Endpoint: cl.Endpoint}
			reqs[rk] = r
		}
		r.Requests += c.n
		if cl.IsError {
			r.Errors += c.n
			errs[ErrorCount{Provider: c.provider.name, Category: cl.Category, Code: cl.Code, Subcode: cl.Subcode,
				Method: cl.Method, Endpoint: cl.Endpoint}] += c.n
		}
	}
	for _, r := range reqs {
		m.Requests = append(m.Requests, *r)
	}
	for e, n := range errs {
		e.Count = n
		m.Errors = append(m.Errors, e)
	}
	slices.SortFunc(m.Requests, func(a, b EndpointRequests) int {
		return strings.Compare(a.Provider+" "+a.Method+" "+a.Endpoint, b.Provider+" "+b.Method+" "+b.Endpoint)
	})
	slices.SortFunc(m.Errors, func(a, b ErrorCount) int {
		return strings.Compare(strings.Join([]string{a.Provider, a.Category, a.Code, a.Subcode, a.Method, a.Endpoint}, " "),
			strings.Join([]string{b.Provider, b.Category, b.Code, b.Subcode, b.Method, b.Endpoint}, " "))
	})
	return m, true, nil
}

func providerNamed(name string) *provider {
	for i := range providers {
		if providers[i].name == name {
			return &providers[i]
		}
	}
	return nil
}

// name is the endpoint as an incident names it: "POST /transfers", with
// {id} for ids.
func (e endpoint) name() string { return e.method + " " + strings.ReplaceAll(e.path, "%s", "{id}") }

func endpointNames(provider string) []string {
	p := providerNamed(provider)
	if p == nil {
		return nil
	}
	out := make([]string, len(p.endpoints))
	for i, e := range p.endpoints {
		out[i] = e.name()
	}
	return out
}

func endpointIndex(provider, name string) int { return slices.Index(endpointNames(provider), name) }
