package console

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/report"
)

// searchFields are the search form's fields, in the order of the form.
var searchFields = []string{"tenant", "service", "provider", "category", "code", "status", "endpoint", "from", "to"}

// searchData is the search page: the form as typed and the page found.
type searchData struct {
	Form       url.Values
	Providers  []string
	Categories []string
	Zone       string
	Error      string
	Result     *report.SearchResult
	// Next is the address of the next page ("" on the last).
	Next string
}

// search answers GET /search?tenant=…&provider=…&from=…&to=…[&after=…]:
// the events of a tenant, a service or a provider over a window, newest
// first, a page at a time, each linking to its lookup. Searches read
// events: they count against the user's lookup allowance.
func (c *Console) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &searchData{Form: url.Values{}, Providers: c.providers, Zone: c.o.Location.String()}
	for _, cat := range classify.Categories {
		d.Categories = append(d.Categories, string(cat))
	}
	asked := false
	for _, f := range append(searchFields, "after") {
		if v := strings.TrimSpace(q.Get(f)); v != "" {
			d.Form.Set(f, v)
			asked = true
		}
	}
	p := page{Title: "Search", Nav: "search", Data: d}
	if !asked {
		c.render(w, r, http.StatusOK, pages.search, p)
		return
	}
	bad := func(msg string) {
		d.Error = msg
		c.render(w, r, http.StatusBadRequest, pages.search, p)
	}
	o := report.SearchOptions{Tenant: d.Form.Get("tenant"), Service: d.Form.Get("service"), Provider: d.Form.Get("provider"),
		Category: d.Form.Get("category"), Code: d.Form.Get("code"), Endpoint: d.Form.Get("endpoint"),
		After: d.Form.Get("after"), Now: c.o.Now()}
	if s := d.Form.Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			bad(fmt.Sprintf("Status: %q is not an HTTP status.", s))
			return
		}
		o.Status = n
	}
	var err error
	if o.From, err = c.parseTime(d.Form.Get("from")); err != nil {
		bad("From: " + err.Error())
		return
	}
	if o.To, err = c.parseTime(d.Form.Get("to")); err != nil {
		bad("To: " + err.Error())
		return
	}
	if err := o.Check(); err != nil {
		bad(sentence(err))
		return
	}
	if ok, wait := c.limits.allow(info(r).user, c.o.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d.Error = fmt.Sprintf("Too many lookups and searches: try again in %d s.", int(math.Ceil(wait.Seconds())))
		c.render(w, r, http.StatusTooManyRequests, pages.search, p)
		return
	}
	res, err := report.Search(r.Context(), c.o.Store, o)
	if errors.Is(err, report.ErrBadQuery) {
		bad(sentence(err))
		return
	}
	if err != nil {
		c.failStore(w, r, err)
		return
	}
	d.Result = res
	if res.Next != nil {
		next := url.Values{}
		for _, f := range searchFields {
			if v := d.Form.Get(f); v != "" {
				next.Set(f, v)
			}
		}
		// The window the first page resolved: the cursor is bound to it.
		next.Set("from", res.From.Format(time.RFC3339Nano))
		next.Set("to", res.To.Format(time.RFC3339Nano))
		next.Set("after", *res.Next)
		d.Next = "/search?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, pages.search, p)
}

// sentence is an ErrBadQuery error for people: without the sentinel's
// words, capitalised, with a full stop.
func sentence(err error) string {
	s := strings.TrimPrefix(err.Error(), report.ErrBadQuery.Error()+": ")
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
