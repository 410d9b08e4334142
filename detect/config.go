package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config holds every rule's parameters, per provider where a file says so,
// and the providers' maintenance windows. The zero Config is not usable:
// start from DefaultConfig or ParseConfig.
type Config struct {
	rules       map[Rule]ruleConfig
	maintenance map[string][]Window
}

type ruleConfig struct {
	params    Params
	providers map[string]Params
}

// DefaultConfig returns the built-in configuration: every rule on, with
// defaults that need no file.
func DefaultConfig() *Config {
	c := &Config{rules: map[Rule]ruleConfig{}, maintenance: map[string][]Window{}}
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

// Maintenance returns the provider's declared maintenance windows.
func (c *Config) Maintenance(provider string) []Window { return c.maintenance[provider] }

// maxLookback is the longest a rule looks back from a minute it
// evaluates, besides its hourly baselines: its widest window.
func (c *Config) maxLookback() time.Duration {
	var d time.Duration
	c.each(func(_ Rule, p Params) { d = max(d, p.MaxWindow) })
	return d
}

// maxWeeks is the most weeks of baseline any rule uses.
func (c *Config) maxWeeks() int {
	n := 0
	c.each(func(_ Rule, p Params) { n = max(n, p.Weeks) })
	return n
}

// historyDuration is how far back before an evaluation its alerts are
// learned from: the weeks of recurrence, with their tolerance.
func (c *Config) historyDuration() time.Duration {
	var d time.Duration
	c.each(func(_ Rule, p Params) {
		d = max(d, time.Duration(p.RecurWeeks)*week+p.RecurTolerance+p.MaxWindow)
	})
	return d
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
//	  min_count: 6
//	providers:           # every rule, for one provider
//	  cheers:
//	    enabled: false
//	    maintenance:     # (providers only) alerts opened inside are stored suppressed
//	      - {weekly: "Sun 02:00", for: 30m, time_zone: Europe/Paris}
//	      - {from: 2026-11-03T22:00:00Z, to: 2026-11-04T01:00:00Z}
//	rules:
//	  decline_spike:     # one rule, every provider
//	    min_ratio: 2.5
//	    providers:       # one rule, one provider
//	      finix: {min_count: 30}
//
// Each level overrides the one before: built-in rule defaults, defaults,
// providers, rules, rules' providers.

// level is one mapping of parameters of the file: its path (for errors)
// and its keys' values.
type level struct {
	path   string
	values []keyValue
}

type keyValue struct {
	key  string
	node *yaml.Node
}

// apply decodes the level's values into p, recording where each was set.
func (l *level) apply(p *Params, set map[string]string) error {
	if l == nil {
		return nil
	}
	for _, kv := range l.values {
		s, _ := specByKey(kv.key)
		if err := kv.node.Decode(s.ptr(p)); err != nil {
			return fmt.Errorf("line %d: %s.%s: %s", kv.node.Line, l.path, kv.key, yamlMessage(err))
		}
		set[kv.key] = fmt.Sprintf("line %d: %s.%s", kv.node.Line, l.path, kv.key)
	}
	return nil
}

type file struct {
	defaults      *level
	providers     map[string]*level
	rules         map[Rule]*level
	ruleProviders map[Rule]map[string]*level
	maintenance   map[string][]Window
}

// ParseConfig reads a YAML configuration (see above) over the defaults; an
// empty document is the defaults. An unknown key or rule, a value of the
// wrong type or out of range is an error that names it, with its line:
// "line 7: rules.decline_spike.min_ratio: ...".
func ParseConfig(data []byte) (*Config, error) {
	f, err := decodeFile(data)
	if err != nil {
		return nil, fmt.Errorf("alerts config: %w", err)
	}
	c := &Config{rules: map[Rule]ruleConfig{}, maintenance: f.maintenance}
	for _, r := range Rules {
		build := func(provider string) (Params, error) {
			p := ruleDefaults(r)
			set := map[string]string{}
			levels := []*level{f.defaults}
			if provider != "" {
				levels = append(levels, f.providers[provider])
			}
			levels = append(levels, f.rules[r])
			if provider != "" {
				levels = append(levels, f.ruleProviders[r][provider])
			}
			for _, l := range levels {
				if err := l.apply(&p, set); err != nil {
					return p, err
				}
			}
			if err := p.validate(); err != nil {
				key, _, _ := strings.Cut(err.Error(), ":")
				where := "rules." + string(r)
				if provider != "" {
					where += ", provider " + provider
				}
				if at, ok := set[key]; ok {
					where = at + " (" + where + ")"
				}
				return p, fmt.Errorf("%s: %w", where, err)
			}
			return p, nil
		}
		params, err := build("")
		if err != nil {
			return nil, fmt.Errorf("alerts config: %w", err)
		}
		rc := ruleConfig{params: params, providers: map[string]Params{}}
		var names []string
		for name := range f.providers {
			names = append(names, name)
		}
		for name := range f.ruleProviders[r] {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range slices.Compact(names) {
			if rc.providers[name], err = build(name); err != nil {
				return nil, fmt.Errorf("alerts config: %w", err)
			}
		}
		c.rules[r] = rc
	}
	return c, nil
}

// decodeFile walks the document node by node, naming the path and line of
// whatever does not fit (a decoder's own type errors give the line only).
func decodeFile(data []byte) (file, error) {
	f := file{providers: map[string]*level{}, rules: map[Rule]*level{}, ruleProviders: map[Rule]map[string]*level{},
		maintenance: map[string][]Window{}}
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
		var err error
		switch k {
		case "defaults":
			f.defaults, err = decodeLevel(v, path)
		case "providers":
			err = eachKey(v, path, func(name string, v *yaml.Node, path string) error {
				if f.providers[name], err = decodeLevel(v, path, "maintenance"); err != nil {
					return err
				}
				if mv := mappingValue(v, "maintenance"); mv != nil {
					f.maintenance[name], err = decodeWindows(mv, path+".maintenance")
				}
				return err
			})
		case "rules":
			err = eachKey(v, path, func(name string, v *yaml.Node, path string) error {
				r, err := ParseRule(name)
				if err != nil {
					return fmt.Errorf("line %d: %s: %w", v.Line, path, err)
				}
				if f.rules[r], err = decodeLevel(v, path, "providers"); err != nil {
					return err
				}
				f.ruleProviders[r] = map[string]*level{}
				if pv := mappingValue(v, "providers"); pv != nil {
					return eachKey(pv, path+".providers", func(provider string, v *yaml.Node, path string) error {
						f.ruleProviders[r][provider], err = decodeLevel(v, path)
						return err
					})
				}
				return nil
			})
		default:
			err = fmt.Errorf("line %d: %s: unknown key (known: defaults, providers, rules)", v.Line, path)
		}
		return err
	})
	return f, err
}

// decodeLevel reads a mapping of parameters, checking every key and the
// type of every value; the keys of skip are the caller's.
func decodeLevel(n *yaml.Node, path string, skip ...string) (*level, error) {
	l := &level{path: path}
	err := eachKey(n, path, func(k string, v *yaml.Node, path string) error {
		if slices.Contains(skip, k) {
			return nil
		}
		s, ok := specByKey(k)
		if !ok {
			known := append(paramKeys(), skip...)
			return fmt.Errorf("line %d: %s: unknown key (known: %s)", v.Line, path, strings.Join(known, ", "))
		}
		var probe Params
		if err := v.Decode(s.ptr(&probe)); err != nil {
			return fmt.Errorf("line %d: %s: %s", v.Line, path, yamlMessage(err))
		}
		l.values = append(l.values, keyValue{key: k, node: v})
		return nil
	})
	return l, err
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
