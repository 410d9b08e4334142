package detect

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Params tune one rule for one provider.
type Params struct {
	// Enabled turns the rule on.
	Enabled bool
	// Severity labels the rule's alerts (critical, warning, info).
	Severity string
	// RunbookURL is where on-call reads what to do.
	RunbookURL string
	// Window is the shortest window a rate is measured over. Windows widen
	// (doubling, up to MaxWindow) until they hold MinRequests requests, so
	// that quiet hours are judged on enough traffic.
	Window    time.Duration
	MaxWindow time.Duration
	// MinRequests: a provider with fewer requests in MaxWindow is not
	// judged at all. MinCount: fewer errors in the window page nobody.
	MinRequests int64
	MinCount    int64
	// An alert needs a rate at least MinRatio times the baseline, at least
	// MinDelta (a share of requests) above it, and so far above the
	// baseline's upper band (baseline plus MADs of its spread) that a
	// binomial test puts the chance of it at most Alpha.
	MinRatio float64
	MinDelta float64
	MADs     float64
	Alpha    float64
	// For is how long (consecutive minutes) the condition must hold to
	// open an alert; ResolveAfter how long the rate must stay under the
	// closing threshold (the baseline plus CloseFraction of the way to the
	// opening threshold) to close it.
	For           time.Duration
	ResolveAfter  time.Duration
	CloseFraction float64
	// Weeks of the same hour of the week to learn the baseline from, and
	// the fewest requests a baseline sample needs to count; MinBaselines
	// is the fewest samples a baseline needs.
	Weeks               int
	MinBaselineRequests int64
	MinBaselines        int
	// NewCode: a code is new during Novelty after it was first seen, when
	// the stored history began at least MinHistory before that.
	Novelty    time.Duration
	MinHistory time.Duration
}

// defaultParams are every rule's defaults before its own.
var defaultParams = Params{
	Enabled:             true,
	Severity:            "warning",
	Window:              5 * time.Minute,
	MaxWindow:           30 * time.Minute,
	MinRequests:         100,
	MinCount:            10,
	MinRatio:            3,
	MinDelta:            0.01,
	MADs:                3,
	Alpha:               1e-5,
	For:                 2 * time.Minute,
	ResolveAfter:        10 * time.Minute,
	CloseFraction:       0.5,
	Weeks:               3,
	MinBaselineRequests: 300,
	MinBaselines:        2,
	Novelty:             24 * time.Hour,
	MinHistory:          7 * 24 * time.Hour,
}

// RunbookBase is where the default runbook URLs point: the section of
// docs/alerts.md named after the rule.
const RunbookBase = "https://github.com/faultline-dev/faultline/blob/main/docs/alerts.md#"

// ruleDefaults returns a rule's built-in parameters.
func ruleDefaults(r Rule) Params {
	p := defaultParams
	p.RunbookURL = RunbookBase + string(r)
	switch r {
	case DeclineSpike:
		// Declines are common; a spike is a doubling of a few points.
		p.MinRatio, p.MinDelta = 2, 0.02
	case ExpiredTokenStorm:
		p.Severity, p.MinDelta = "critical", 0.005
	case ProviderOutage:
		p.Severity, p.MinDelta = "critical", 0.02
	case RateLimitStorm:
		p.MinDelta = 0.01
	case AuthFailure:
		p.Severity, p.MinDelta = "critical", 0.01
	case NewCode:
		// More than noise: MinCount errors with the code within the
		// window, MinDelta of the provider's requests.
		p.Window, p.MaxWindow, p.MinRequests = 10*time.Minute, 30*time.Minute, 1
		p.MinCount, p.MinDelta, p.For, p.ResolveAfter = 10, 0.002, time.Minute, 30*time.Minute
	}
	return p
}

// Config holds every rule's parameters, per provider where a file says so.
// The zero Config is not usable: start from DefaultConfig or ParseConfig.
type Config struct {
	rules map[Rule]ruleConfig
}

type ruleConfig struct {
	params    Params
	providers map[string]Params
}

// DefaultConfig returns the built-in configuration: every rule on, with
// defaults that need no file.
func DefaultConfig() *Config {
	c := &Config{rules: map[Rule]ruleConfig{}}
	for _, r := range Rules {
		c.rules[r] = ruleConfig{params: ruleDefaults(r), providers: map[string]Params{}}
	}
	return c
}

// Params returns the parameters of rule r for provider.
func (c *Config) Params(r Rule, provider string) Params {
	rc := c.rules[r]
	if p, ok := rc.providers[provider]; ok {
		return p
	}
	return rc.params
}

// MaxLookback is the longest a rule looks back from a minute it
// evaluates, besides its hourly baselines: its widest window plus the
// longer of For and ResolveAfter.
func (c *Config) MaxLookback() time.Duration {
	var d time.Duration
	c.each(func(_ Rule, p Params) {
		d = max(d, p.MaxWindow+max(p.For, p.ResolveAfter))
	})
	return d
}

// maxWeeks is the most weeks of baseline any rule uses.
func (c *Config) maxWeeks() int {
	n := 0
	c.each(func(_ Rule, p Params) { n = max(n, p.Weeks) })
	return n
}

// maxNovelty is the longest novelty period of NewCode.
func (c *Config) maxNovelty() time.Duration {
	var d time.Duration
	c.each(func(r Rule, p Params) {
		if r == NewCode {
			d = max(d, p.Novelty)
		}
	})
	return d
}

func (c *Config) each(fn func(Rule, Params)) {
	for _, r := range Rules {
		rc := c.rules[r]
		fn(r, rc.params)
		for _, p := range rc.providers {
			fn(r, p)
		}
	}
}

// The YAML file:
//
//	defaults:            # every rule, every provider
//	  min_requests: 200
//	providers:           # every rule, for one provider
//	  cheers: {enabled: false}
//	rules:
//	  decline_spike:     # one rule, every provider
//	    min_ratio: 2.5
//	    providers:       # one rule, one provider
//	      finix: {min_count: 30}
//
// Each level overrides the one before: built-in rule defaults, defaults,
// providers, rules, rules' providers.
type fileYAML struct {
	Defaults  paramsYAML            `yaml:"defaults"`
	Providers map[string]paramsYAML `yaml:"providers"`
	Rules     map[string]ruleYAML   `yaml:"rules"`
}

type ruleYAML struct {
	paramsYAML `yaml:",inline"`
	Providers  map[string]paramsYAML `yaml:"providers"`
}

type paramsYAML struct {
	Enabled             *bool          `yaml:"enabled"`
	Severity            *string        `yaml:"severity"`
	RunbookURL          *string        `yaml:"runbook_url"`
	Window              *time.Duration `yaml:"window"`
	MaxWindow           *time.Duration `yaml:"max_window"`
	MinRequests         *int64         `yaml:"min_requests"`
	MinCount            *int64         `yaml:"min_count"`
	MinRatio            *float64       `yaml:"min_ratio"`
	MinDelta            *float64       `yaml:"min_delta"`
	MADs                *float64       `yaml:"mads"`
	Alpha               *float64       `yaml:"alpha"`
	For                 *time.Duration `yaml:"for"`
	ResolveAfter        *time.Duration `yaml:"resolve_after"`
	CloseFraction       *float64       `yaml:"close_fraction"`
	Weeks               *int           `yaml:"weeks"`
	MinBaselineRequests *int64         `yaml:"min_baseline_requests"`
	MinBaselines        *int           `yaml:"min_baselines"`
	Novelty             *time.Duration `yaml:"novelty"`
	MinHistory          *time.Duration `yaml:"min_history"`
}

func (y *paramsYAML) apply(p *Params) {
	set(&p.Enabled, y.Enabled)
	set(&p.Severity, y.Severity)
	set(&p.RunbookURL, y.RunbookURL)
	set(&p.Window, y.Window)
	set(&p.MaxWindow, y.MaxWindow)
	set(&p.MinRequests, y.MinRequests)
	set(&p.MinCount, y.MinCount)
	set(&p.MinRatio, y.MinRatio)
	set(&p.MinDelta, y.MinDelta)
	set(&p.MADs, y.MADs)
	set(&p.Alpha, y.Alpha)
	set(&p.For, y.For)
	set(&p.ResolveAfter, y.ResolveAfter)
	set(&p.CloseFraction, y.CloseFraction)
	set(&p.Weeks, y.Weeks)
	set(&p.MinBaselineRequests, y.MinBaselineRequests)
	set(&p.MinBaselines, y.MinBaselines)
	set(&p.Novelty, y.Novelty)
	set(&p.MinHistory, y.MinHistory)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ParseConfig reads a YAML configuration (see fileYAML) over the
// defaults; an empty document is the defaults. An unknown key or rule, a
// value of the wrong type or out of range is an error that names it, with
// its line: "line 7: rules.decline_spike.min_ratio: ...".
//
// The document is walked node by node instead of decoded at once (with
// KnownFields): that names unknown keys too, and also the key of a value
// that does not decode, which a decoder's type error only gives by line.
func ParseConfig(data []byte) (*Config, error) {
	f, err := decodeFile(data)
	if err != nil {
		return nil, fmt.Errorf("alerts config: %w", err)
	}
	c := &Config{rules: map[Rule]ruleConfig{}}
	for _, r := range Rules {
		ry := f.Rules[string(r)]
		build := func(provider string) Params {
			p := ruleDefaults(r)
			f.Defaults.apply(&p)
			if provider != "" {
				if py, ok := f.Providers[provider]; ok {
					py.apply(&p)
				}
			}
			ry.paramsYAML.apply(&p)
			if provider != "" {
				if py, ok := ry.Providers[provider]; ok {
					py.apply(&p)
				}
			}
			return p
		}
		rc := ruleConfig{params: build(""), providers: map[string]Params{}}
		for _, provider := range providerNames(f.Providers, ry.Providers) {
			rc.providers[provider] = build(provider)
		}
		c.rules[r] = rc
	}
	for _, r := range Rules {
		rc := c.rules[r]
		if err := rc.params.validate(); err != nil {
			return nil, fmt.Errorf("alerts config: rules.%s: %w", r, err)
		}
		for _, provider := range sortedKeys(rc.providers) {
			if err := rc.providers[provider].validate(); err != nil {
				return nil, fmt.Errorf("alerts config: rules.%s, provider %s: %w", r, provider, err)
			}
		}
	}
	return c, nil
}

// decodeFile decodes the document into a fileYAML, naming the path of
// whatever does not fit.
func decodeFile(data []byte) (fileYAML, error) {
	var f fileYAML
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return f, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil // empty
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil
	}
	err := eachKey(root, "", func(k string, v *yaml.Node, path string) error {
		switch k {
		case "defaults":
			return decodeParams(v, path, &f.Defaults)
		case "providers":
			f.Providers = map[string]paramsYAML{}
			return eachKey(v, path, func(name string, v *yaml.Node, path string) error {
				var p paramsYAML
				err := decodeParams(v, path, &p)
				f.Providers[name] = p
				return err
			})
		case "rules":
			f.Rules = map[string]ruleYAML{}
			return eachKey(v, path, func(name string, v *yaml.Node, path string) error {
				if _, err := ParseRule(name); err != nil {
					return fmt.Errorf("line %d: %s: %w", v.Line, path, err)
				}
				var r ruleYAML
				r.Providers = map[string]paramsYAML{}
				err := decodeParams(v, path, &r.paramsYAML, "providers")
				if err != nil {
					return err
				}
				if pv := mappingValue(v, "providers"); pv != nil {
					err = eachKey(pv, path+".providers", func(provider string, v *yaml.Node, path string) error {
						var p paramsYAML
						err := decodeParams(v, path, &p)
						r.Providers[provider] = p
						return err
					})
				}
				f.Rules[name] = r
				return err
			})
		}
		return fmt.Errorf("line %d: %s: unknown key (known: defaults, providers, rules)", v.Line, path)
	})
	return f, err
}

// eachKey calls fn with each key of a mapping, its value and its path.
func eachKey(n *yaml.Node, path string, fn func(key string, v *yaml.Node, path string) error) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		where := path
		if where == "" {
			where = "the document"
		}
		return fmt.Errorf("line %d: %s: must be a mapping of keys to values", n.Line, where)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := k.Value
		if path != "" {
			p = path + "." + k.Value
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: %s: given twice", k.Line, p)
		}
		seen[k.Value] = true
		if err := fn(k.Value, v, p); err != nil {
			return err
		}
	}
	return nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// paramKeys are the YAML keys of paramsYAML's fields.
var paramKeys = func() []string {
	t := reflect.TypeFor[paramsYAML]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i], _, _ = strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
	}
	return keys
}()

// decodeParams decodes a mapping of parameters into p, each value on its
// own so that an error names its key; the keys of skip are left to the
// caller.
func decodeParams(n *yaml.Node, path string, p *paramsYAML, skip ...string) error {
	v := reflect.ValueOf(p).Elem()
	return eachKey(n, path, func(k string, val *yaml.Node, path string) error {
		if slices.Contains(skip, k) {
			return nil
		}
		i := slices.Index(paramKeys, k)
		if i < 0 {
			known := append(slices.Clone(paramKeys), skip...)
			return fmt.Errorf("line %d: %s: unknown key (known: %s)", val.Line, path, strings.Join(known, ", "))
		}
		field := v.Field(i)
		ptr := reflect.New(field.Type().Elem())
		if err := val.Decode(ptr.Interface()); err != nil {
			return fmt.Errorf("line %d: %s: %s", val.Line, path, yamlMessage(err))
		}
		field.Set(ptr)
		return nil
	})
}

// yamlMessage is a decoding error without yaml's own prefix and line.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
		return msg
	}
	return err.Error()
}

func providerNames(maps ...map[string]paramsYAML) []string {
	var names []string
	for _, m := range maps {
		for k := range m {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validate names the first parameter with a value no evaluation can use.
func (p Params) validate() error {
	bad := func(key, want string, got any) error {
		return fmt.Errorf("%s: must be %s, got %v", key, want, got)
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	switch {
	case !slices.Contains([]string{"critical", "warning", "info"}, p.Severity):
		return bad("severity", "critical, warning or info", p.Severity)
	case p.RunbookURL != "" && !strings.HasPrefix(p.RunbookURL, "https://") && !strings.HasPrefix(p.RunbookURL, "http://"):
		return bad("runbook_url", "an http(s) URL", p.RunbookURL)
	case p.Window < time.Minute || p.Window%time.Minute != 0:
		return bad("window", "whole minutes, at least 1m", p.Window)
	case p.MaxWindow < p.Window || p.MaxWindow%time.Minute != 0 || p.MaxWindow > 24*time.Hour:
		return bad("max_window", "whole minutes between window and 24h", p.MaxWindow)
	case p.MinRequests < 1:
		return bad("min_requests", "at least 1", p.MinRequests)
	case p.MinCount < 1:
		return bad("min_count", "at least 1", p.MinCount)
	case !finite(p.MinRatio) || p.MinRatio < 1:
		return bad("min_ratio", "at least 1", p.MinRatio)
	case !finite(p.MinDelta) || p.MinDelta < 0 || p.MinDelta >= 1:
		return bad("min_delta", "a share of requests in [0, 1)", p.MinDelta)
	case !finite(p.MADs) || p.MADs < 0:
		return bad("mads", "at least 0", p.MADs)
	case !finite(p.Alpha) || p.Alpha <= 0 || p.Alpha >= 1:
		return bad("alpha", "in (0, 1)", p.Alpha)
	case p.For < time.Minute || p.For%time.Minute != 0 || p.For > time.Hour:
		return bad("for", "whole minutes between 1m and 1h", p.For)
	case p.ResolveAfter < time.Minute || p.ResolveAfter%time.Minute != 0 || p.ResolveAfter > 24*time.Hour:
		return bad("resolve_after", "whole minutes between 1m and 24h", p.ResolveAfter)
	case !finite(p.CloseFraction) || p.CloseFraction < 0 || p.CloseFraction > 1:
		return bad("close_fraction", "in [0, 1]", p.CloseFraction)
	case p.Weeks < 0 || p.Weeks > 12:
		return bad("weeks", "between 0 and 12", p.Weeks)
	case p.MinBaselineRequests < 1:
		return bad("min_baseline_requests", "at least 1", p.MinBaselineRequests)
	case p.MinBaselines < 1 || p.MinBaselines > p.Weeks+2:
		return bad("min_baselines", fmt.Sprintf("between 1 and weeks+2 (%d)", p.Weeks+2), p.MinBaselines)
	case p.Novelty < time.Minute || p.Novelty > 90*24*time.Hour:
		return bad("novelty", "between 1m and 90 days", p.Novelty)
	case p.MinHistory < 0:
		return bad("min_history", "at least 0", p.MinHistory)
	}
	return nil
}
