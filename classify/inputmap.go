package classify

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fastjson"
	"go.yaml.in/yaml/v3"
)

// InputMap reads records of a shape faultline does not recognise by
// itself: where each of the contract's fields is in them (a path of
// names, nested or dotted, as knownPaths), and optionally a string field
// that holds the record as JSON. A record the map applies to (one of its
// fields is found) is read through it, with shape "mapped"; fields it does
// not name are looked up where the recognised shapes write them.
//
//	# the payments gateway's audit log
//	unwrap: payload          # a string field holding the record as JSON
//	fields:
//	  ts: event.at
//	  status: outcome.http_code
//	  url: request.target
//	  provider: partner
type InputMap struct {
	unwrap keyPath
	fields [numFields]keyPath
}

// inputMapFile is the YAML document of an input map.
type inputMapFile struct {
	Unwrap string    `yaml:"unwrap"`
	Fields yaml.Node `yaml:"fields"`
}

// ParseInputMap decodes and validates an input map. name is used in error
// messages (a file name); errors name the key and its line.
func ParseInputMap(name string, data []byte) (*InputMap, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("input map %s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("input map %s: empty document: want fields", name)
	}
	var f inputMapFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("input map %s: %w", name, err)
	}
	m := &InputMap{}
	var errs []error
	if f.Unwrap != "" {
		p, err := parseMapPath(f.Unwrap)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: unwrap: %w", lineOf(doc.Content[0], "unwrap"), err))
		}
		m.unwrap = p
	}
	if f.Fields.Kind != yaml.MappingNode || len(f.Fields.Content) == 0 {
		line := f.Fields.Line
		if line == 0 {
			line = doc.Content[0].Line
		}
		errs = append(errs, fmt.Errorf("line %d: fields: want a mapping of the contract's fields to paths (%s)", line, strings.Join(fieldNames[:], ", ")))
	}
	for i := 0; i+1 < len(f.Fields.Content); i += 2 {
		k, v := f.Fields.Content[i], f.Fields.Content[i+1]
		fld, ok := fieldNamed(k.Value)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("line %d: fields: unknown field %q (want one of %s)", k.Line, k.Value, strings.Join(fieldNames[:], ", ")))
			continue
		case m.fields[fld] != nil:
			errs = append(errs, fmt.Errorf("line %d: fields: %s given twice", k.Line, k.Value))
			continue
		case v.Kind != yaml.ScalarNode || v.Tag != "!!str":
			errs = append(errs, fmt.Errorf("line %d: fields: %s: want a path such as http.status_code", v.Line, k.Value))
			continue
		}
		p, err := parseMapPath(v.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: fields: %s: %w", v.Line, k.Value, err))
			continue
		}
		m.fields[fld] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("input map %s: %w", name, err)
	}
	return m, nil
}

func fieldNamed(s string) (field, bool) {
	for f, n := range fieldNames {
		if n == s {
			return field(f), true
		}
	}
	return 0, false
}

// parseMapPath checks and splits a path of an input map.
func parseMapPath(s string) (keyPath, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty path")
	}
	for _, part := range strings.Split(s, ".") {
		if normName(part) == "" {
			return nil, fmt.Errorf("path %q has an empty name", s)
		}
	}
	return parsePath(s), nil
}

// lineOf is the line of key in the mapping n, or n's.
func lineOf(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// read reads v through the map into r; it reports false when the map does
// not apply to v (none of its fields is there), r then unchanged.
func (m *InputMap) read(st *state, v *fastjson.Value, r *raw) bool {
	rec := v
	if m.unwrap != nil {
		inner := find(v, m.unwrap)
		if inner == nil {
			return false
		}
		if inner.Type() == fastjson.TypeString {
			s, _ := inner.StringBytes()
			var err error
			if inner, err = st.inner.ParseBytes(bytes.TrimSpace(trimBOM(s))); err != nil {
				return false
			}
		}
		if inner.Type() != fastjson.TypeObject {
			return false
		}
		rec = inner
	}
	var ls layers
	ls.add(rec)
	var f found
	var text [numFields][]byte
	st.readLayers(&ls, r, &f, &text)
	matched := false
	for fld, p := range m.fields {
		if p == nil {
			continue
		}
		v := find(rec, p)
		if fld == int(fieldStatus) {
			if v != nil {
				r.status, r.badStatus = statusOf(v)
				matched = true
			}
			continue
		}
		if b := st.accept(field(fld), v); b != nil {
			text[fld], matched = b, true
		}
	}
	if !matched {
		*r = raw{}
		return false
	}
	if m.fields[fieldURL] == nil && (m.fields[fieldHost] != nil || m.fields[fieldURLPath] != nil) {
		text[fieldURL] = nil // the map builds the URL from its parts
	}
	r.fill(&text)
	return true
}
