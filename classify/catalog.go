package classify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed catalogs/*.yaml
var builtinFS embed.FS

// Dialect names the shape of a provider's error body.
type Dialect string

// The error body dialects faultline can read.
const (
	// DialectFlat is {"error": code, "message": …, "request_id": …} with optional
	// Flexiti-style "field_errors": [{"param", "msg", "value"}].
	DialectFlat Dialect = "flat"
	// DialectErrorModel is {"errorModel": {"errorCode", "message", "descriptors"}}.
	DialectErrorModel Dialect = "errormodel"
	// DialectHAL is Finix's {"total", "_embedded": {"errors": [{"logref", "code", "failure_code", …}]}}.
	DialectHAL Dialect = "hal"
	// DialectProblem is problem+json with a "problem" code and a "trace_id".
	DialectProblem Dialect = "problem"
)

var dialects = []Dialect{DialectFlat, DialectErrorModel, DialectHAL, DialectProblem}

// Entry is one documented error code of a provider.
type Entry struct {
	Code string `yaml:"code"`
	// Status is the HTTP status the provider documents for the code; 0 when
	// the documentation gives none.
	Status int `yaml:"status"`
	// Endpoint, when set, limits the entry to one endpoint: "METHOD /path"
	// with {id} placeholders, matched against the end of the record's
	// templated endpoint.
	Endpoint    string   `yaml:"endpoint"`
	Category    Category `yaml:"category"`
	Retryable   *bool    `yaml:"retryable"`
	Remediation string   `yaml:"remediation"`
	// Cause is why the provider returns the code, where its documentation
	// says so apart from the remediation.
	Cause string `yaml:"cause"`

	method, pathSuffix string
}

// IsRetryable reports the entry's retryable flag (the category's default when
// the catalog does not set it).
func (e *Entry) IsRetryable() bool {
	if e.Retryable != nil {
		return *e.Retryable
	}
	return e.Category.DefaultRetryable()
}

// StatusRule overrides the taxonomy's status fallback for one provider, for
// errors that carry no documented code (Flexiti 465: blocked).
type StatusRule struct {
	Status      int      `yaml:"status"`
	Category    Category `yaml:"category"`
	Remediation string   `yaml:"remediation"`
}

// Catalog is one provider's error documentation as data.
type Catalog struct {
	// Provider is the name events carry (lower case).
	Provider string `yaml:"provider"`
	// Dialect is the shape of the provider's error bodies.
	Dialect Dialect `yaml:"dialect"`
	// Hosts are URL host names (or parent domains) of the provider's API.
	Hosts []string `yaml:"hosts"`
	// IdentifyBy lists top-level body keys that, present in an error body,
	// tell this provider apart from others of the same dialect.
	IdentifyBy []string `yaml:"identify_by"`
	// CorrelationFields are body fields holding the provider's request id, in
	// order of preference; response headers are the fallback.
	CorrelationFields []string `yaml:"correlation_fields"`
	// Escalation says what the provider's support needs and where to send it.
	Escalation string `yaml:"escalation"`
	// OpaqueStatuses are statuses that say nothing about the category of a
	// coded error (Flexiti answers most business errors with 409): an
	// undocumented code with one of them is unknown, not the status fallback.
	OpaqueStatuses []int        `yaml:"opaque_statuses"`
	Statuses       []StatusRule `yaml:"statuses"`
	Codes          []Entry      `yaml:"codes"`
	// Endpoints are the provider's documented endpoints as path templates
	// (/pos/v1/orders/{order_id}/payments): a path that fits one whole,
	// under one of BasePaths or at the root, takes it as its endpoint, with
	// {id} for every parameter. A declared template wins over the
	// identifier heuristics and learned templates.
	Endpoints []string `yaml:"endpoints"`
	// BasePaths are path prefixes that the provider's documentation leaves
	// out of its endpoints (/flexiti/pos-api/v2.5).
	BasePaths []string `yaml:"base_paths"`

	byCode   map[string][]*Entry
	byStatus map[int]*StatusRule
	declared *declaredTemplates
}

var providerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// ParseCatalog decodes and validates one catalog document. name is used in
// error messages (a file name).
func ParseCatalog(name string, data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", name, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", name, err)
	}
	return &c, nil
}

func (c *Catalog) validate() error {
	if !providerName.MatchString(c.Provider) {
		return fmt.Errorf("provider %q: want a lower-case name of letters, digits, '-' or '_'", c.Provider)
	}
	if !validDialect(c.Dialect) {
		return fmt.Errorf("provider %s: unknown dialect %q (want one of %v)", c.Provider, c.Dialect, dialects)
	}
	for i, h := range c.Hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/: ") {
			return fmt.Errorf("provider %s: host %q: want a bare host name", c.Provider, c.Hosts[i])
		}
		c.Hosts[i] = h
	}
	var errs []error
	declared, err := compileDeclared(c.Endpoints, c.BasePaths)
	if err != nil {
		errs = append(errs, err)
	}
	c.declared = declared
	c.byStatus = make(map[int]*StatusRule, len(c.Statuses))
	for i := range c.Statuses {
		r := &c.Statuses[i]
		if r.Status < 100 || r.Status > 599 {
			errs = append(errs, fmt.Errorf("statuses[%d]: status %d out of range", i, r.Status))
		}
		if _, err := ParseCategory(string(r.Category)); err != nil {
			errs = append(errs, fmt.Errorf("statuses[%d] (%d): %w", i, r.Status, err))
		}
		if _, dup := c.byStatus[r.Status]; dup {
			errs = append(errs, fmt.Errorf("statuses[%d]: duplicate status %d", i, r.Status))
		}
		c.byStatus[r.Status] = r
	}
	type key struct {
		code, endpoint string
		status         int
	}
	seen := make(map[key]int, len(c.Codes))
	c.byCode = make(map[string][]*Entry, len(c.Codes))
	for i := range c.Codes {
		e := &c.Codes[i]
		where := fmt.Sprintf("codes[%d] (%s)", i, e.Code)
		if strings.TrimSpace(e.Code) == "" {
			errs = append(errs, fmt.Errorf("codes[%d]: empty code", i))
			continue
		}
		if _, err := ParseCategory(string(e.Category)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if e.Status != 0 && (e.Status < 100 || e.Status > 599) {
			errs = append(errs, fmt.Errorf("%s: status %d out of range", where, e.Status))
		}
		if e.Retryable != nil && *e.Retryable != e.Category.DefaultRetryable() && e.Category != Idempotency {
			errs = append(errs, fmt.Errorf("%s: retryable %v contradicts category %s", where, *e.Retryable, e.Category))
		}
		if e.Endpoint != "" {
			method, p, ok := strings.Cut(strings.TrimSpace(e.Endpoint), " ")
			if !ok || method != strings.ToUpper(method) || !strings.HasPrefix(p, "/") {
				errs = append(errs, fmt.Errorf("%s: endpoint %q: want \"METHOD /path\"", where, e.Endpoint))
			}
			e.method, e.pathSuffix = method, TemplatePath(p)
		}
		k := key{e.Code, e.Endpoint, e.Status}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate of codes[%d] (same code, status and endpoint)", where, j))
		}
		seen[k] = i
		c.byCode[e.Code] = append(c.byCode[e.Code], e)
	}
	return errors.Join(errs...)
}

func validDialect(d Dialect) bool {
	for _, x := range dialects {
		if x == d {
			return true
		}
	}
	return false
}

// Lookup finds the entry documenting code for a response with the given
// status, method and templated endpoint. The most specific entry wins:
// endpoint and status, then endpoint, then status, then any entry for the
// code (a documented code stays known when it arrives with another status).
func (c *Catalog) Lookup(code string, status int, method, endpoint string) *Entry {
	entries := c.byCode[code]
	if entries == nil {
		return nil
	}
	var best *Entry
	bestScore := -1
	for _, e := range entries {
		score := 0
		if e.Endpoint != "" {
			if e.method != method || !endpointMatches(endpoint, e.pathSuffix) {
				continue
			}
			score += 2
		}
		if e.Status != 0 {
			if e.Status == status {
				score++
			} else if e.Endpoint != "" {
				continue
			}
		}
		if score > bestScore {
			best, bestScore = e, score
		}
	}
	return best
}

// StatusRule returns the catalog's rule for an uncoded error with status.
func (c *Catalog) StatusRule(status int) *StatusRule { return c.byStatus[status] }

func (c *Catalog) opaque(status int) bool {
	for _, s := range c.OpaqueStatuses {
		if s == status {
			return true
		}
	}
	return false
}

// Known reports whether code is documented in the catalog.
func (c *Catalog) Known(code string) bool { return c.byCode[code] != nil }

// endpointMatches reports whether endpoint ends with suffix on a segment
// boundary ("/v2.5/client-id/{id}/captures" ends with "/client-id/{id}/captures").
func endpointMatches(endpoint, suffix string) bool {
	if !strings.HasSuffix(endpoint, suffix) {
		return false
	}
	rest := endpoint[:len(endpoint)-len(suffix)]
	return rest == "" || strings.HasSuffix(rest, "/") || strings.HasPrefix(suffix, "/")
}

// Catalogs is the validated set of provider catalogs a Classifier uses.
type Catalogs struct {
	byProvider map[string]*Catalog
	order      []string
}

// BuiltinCatalogs returns the catalogs embedded in the binary.
func BuiltinCatalogs() (*Catalogs, error) {
	sub, err := fs.Sub(builtinFS, "catalogs")
	if err != nil {
		return nil, err
	}
	return LoadCatalogs(sub)
}

// LoadCatalogs loads every *.yaml and *.yml file at the top of fsys.
func LoadCatalogs(fsys fs.FS) (*Catalogs, error) {
	cs := &Catalogs{byProvider: map[string]*Catalog{}}
	if err := cs.AddFS(fsys); err != nil {
		return nil, err
	}
	return cs, nil
}

// AddFS loads every *.yaml and *.yml file at the top of fsys into cs. A
// provider that is already present is an error, as is a host claimed by two
// providers.
func (cs *Catalogs) AddFS(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("read catalogs: %w", err)
	}
	var errs []error
	for _, de := range entries {
		ext := path.Ext(de.Name())
		if de.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		data, err := fs.ReadFile(fsys, de.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("read catalog %s: %w", de.Name(), err))
			continue
		}
		c, err := ParseCatalog(de.Name(), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := cs.Add(c); err != nil {
			errs = append(errs, fmt.Errorf("catalog %s: %w", de.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// OverrideFS loads every *.yaml and *.yml file at the top of fsys into cs,
// each replacing the catalog of the same provider if cs has one: a
// catalog improved without a rebuild. Two files for one provider are an
// error, as is a host claimed by two providers.
func (cs *Catalogs) OverrideFS(fsys fs.FS) error {
	loaded := &Catalogs{}
	if err := loaded.AddFS(fsys); err != nil {
		return err
	}
	for _, name := range loaded.order {
		if _, ok := cs.byProvider[name]; ok {
			delete(cs.byProvider, name)
			cs.order = slices.DeleteFunc(cs.order, func(p string) bool { return p == name })
		}
		if err := cs.Add(loaded.byProvider[name]); err != nil {
			return err
		}
	}
	return nil
}

// Add puts a validated catalog into cs.
func (cs *Catalogs) Add(c *Catalog) error {
	if cs.byProvider == nil {
		cs.byProvider = map[string]*Catalog{}
	}
	if _, dup := cs.byProvider[c.Provider]; dup {
		return fmt.Errorf("duplicate provider %q", c.Provider)
	}
	for _, h := range c.Hosts {
		for _, other := range cs.byProvider {
			for _, oh := range other.Hosts {
				if oh == h {
					return fmt.Errorf("provider %s: host %q already belongs to provider %s", c.Provider, h, other.Provider)
				}
			}
		}
	}
	if c.byCode == nil {
		if err := c.validate(); err != nil {
			return err
		}
	}
	cs.byProvider[c.Provider] = c
	cs.order = append(cs.order, c.Provider)
	sort.Strings(cs.order)
	return nil
}

// Provider returns the catalog of the named provider, or nil.
func (cs *Catalogs) Provider(name string) *Catalog { return cs.byProvider[name] }

// Providers lists the provider names in sorted order.
func (cs *Catalogs) Providers() []string { return append([]string(nil), cs.order...) }
