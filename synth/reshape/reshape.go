// Package reshape writes integration log records the way the logging
// stacks teams already run write them: structured loggers (zap, zerolog,
// slog, logrus, ecszap's Elastic Common Schema, logstash-logback),
// container envelopes (Docker json-file, Fluent Bit, Fluentd, Vector, CRI)
// and CRI log lines as container runtimes write them, and OpenTelemetry
// logs as the Collector's Kafka exporter sends them (otlp_proto,
// otlp_json). Where the writer is a Go library it is the real
// library writing to a buffer, so that tests, benchmarks and loggen see
// what production sees, not what faultline's authors assume.
//
// A record in the contract's shape (DESIGN.md) is parsed into a Call; a
// Style writes a Call.
package reshape

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Call is one provider call, the facts of a contract record.
type Call struct {
	TS              time.Time
	Service, Env    string
	Tenant          string
	Provider        string
	Method, URL     string
	Status          int
	Error           string // transport error, when no response arrived
	DurationMS      float64
	ResponseHeaders map[string]string
	ResponseBody    string // raw: JSON, HTML, text or empty
	TraceID         string
}

// contract is a contract record as encoding/json reads it.
type contract struct {
	TS              string            `json:"ts"`
	Service         string            `json:"service"`
	Env             string            `json:"env"`
	Tenant          string            `json:"tenant"`
	Provider        string            `json:"provider"`
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	Status          int               `json:"status"`
	Error           string            `json:"error"`
	DurationMS      float64           `json:"duration_ms"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    json.RawMessage   `json:"response_body"`
	TraceID         string            `json:"trace_id"`
}

// Parse reads a record in the contract's shape.
func Parse(record []byte) (Call, error) {
	var r contract
	if err := json.Unmarshal(record, &r); err != nil {
		return Call{}, fmt.Errorf("reshape: %w", err)
	}
	ts, err := time.Parse(time.RFC3339Nano, r.TS)
	if err != nil {
		return Call{}, fmt.Errorf("reshape: ts: %w", err)
	}
	c := Call{
		TS: ts.UTC(), Service: r.Service, Env: r.Env, Tenant: r.Tenant, Provider: r.Provider,
		Method: r.Method, URL: r.URL, Status: r.Status, Error: r.Error, DurationMS: r.DurationMS,
		ResponseHeaders: r.ResponseHeaders, TraceID: r.TraceID,
	}
	if len(r.ResponseBody) > 0 && string(r.ResponseBody) != "null" {
		var s string
		if json.Unmarshal(r.ResponseBody, &s) == nil {
			c.ResponseBody = s
		} else {
			c.ResponseBody = string(r.ResponseBody)
		}
	}
	return c, nil
}

// Contract writes c in the contract's shape.
func Contract(c Call) []byte {
	r := contract{
		TS: c.TS.Format(time.RFC3339Nano), Service: c.Service, Env: c.Env, Tenant: c.Tenant,
		Provider: c.Provider, Method: c.Method, URL: c.URL, Status: c.Status, Error: c.Error,
		DurationMS: c.DurationMS, ResponseHeaders: c.ResponseHeaders, TraceID: c.TraceID,
	}
	if c.ResponseBody != "" {
		r.ResponseBody, _ = json.Marshal(c.ResponseBody)
	}
	b, _ := json.Marshal(r)
	return b
}

// A Style writes one call as one message (a line, or a Kafka message's
// value). Shape is the shape faultline must read it as. WriteMany, set
// only for the styles whose messages carry many records (OpenTelemetry:
// the Collector batches log records), writes calls as one message.
type Style struct {
	Name      string
	Shape     string
	Write     func(Call) ([]byte, error)
	WriteMany func([]Call) ([]byte, error)
}

// otlpStyle is an OpenTelemetry style: a message of one log record, or
// of many.
func otlpStyle(name string, enc Encoding, layout Layout) Style {
	many := func(cs []Call) ([]byte, error) { return OTLP(cs, enc, layout) }
	return Style{Name: name, Shape: string(enc), Write: func(c Call) ([]byte, error) { return many([]Call{c}) }, WriteMany: many}
}

// Styles lists every style, by name.
func Styles() []Style {
	out := make([]Style, 0, len(styles))
	for _, s := range styles {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the style named name.
func Lookup(name string) (Style, error) {
	if s, ok := styles[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(styles))
	for n := range styles {
		names = append(names, n)
	}
	sort.Strings(names)
	return Style{}, fmt.Errorf("reshape: unknown style %q (want one of %s)", name, strings.Join(names, ", "))
}

// contractLine writes a call as the contract's record.
func contractLine(c Call) ([]byte, error) { return Contract(c), nil }

// inner wraps a logger style's line in an envelope.
func inner(line func(Call) ([]byte, error), wrap func([]byte, time.Time) []byte) func(Call) ([]byte, error) {
	return func(c Call) ([]byte, error) {
		b, err := line(c)
		if err != nil {
			return nil, err
		}
		return wrap(b, c.TS), nil
	}
}

var styles = map[string]Style{
	"contract":         {Name: "contract", Shape: "contract", Write: contractLine},
	"zap":              {Name: "zap", Shape: "logger", Write: Zap},
	"zap-nested":       {Name: "zap-nested", Shape: "logger", Write: ZapNested},
	"zerolog":          {Name: "zerolog", Shape: "logger", Write: Zerolog},
	"slog":             {Name: "slog", Shape: "logger", Write: Slog},
	"logrus":           {Name: "logrus", Shape: "logger", Write: Logrus},
	"ecszap":           {Name: "ecszap", Shape: "ecs", Write: ECS},
	"ecs-nested":       {Name: "ecs-nested", Shape: "ecs", Write: ECSNested},
	"logstash":         {Name: "logstash", Shape: "logger", Write: Logstash},
	"docker":           {Name: "docker", Shape: "container", Write: inner(Slog, Docker)},
	"fluentbit":        {Name: "fluentbit", Shape: "container", Write: inner(Zap, FluentBit)},
	"fluentbit-merged": {Name: "fluentbit-merged", Shape: "container", Write: inner(Zerolog, FluentBitMerged)},
	"fluentd":          {Name: "fluentd", Shape: "container", Write: inner(Logrus, Fluentd)},
	"vector":           {Name: "vector", Shape: "container", Write: inner(ZapNested, Vector)},
	"cri":              {Name: "cri", Shape: "container", Write: inner(contractLine, CRI)},
	"cri-line":         {Name: "cri-line", Shape: "container", Write: inner(Zerolog, CRILine)},
	"fluentbit-tail":   {Name: "fluentbit-tail", Shape: "container", Write: inner(contractLine, FluentBitTail)},
	"otlp_json":        otlpStyle("otlp_json", OTLPJSON, SemconvCurrent),
	"otlp_proto":       otlpStyle("otlp_proto", OTLPProto, SemconvCurrent),
	"otlp_old_semconv": otlpStyle("otlp_old_semconv", OTLPProto, SemconvOld),
	"otlp_filelog":     otlpStyle("otlp_filelog", OTLPProto, Filelog),
}

// headerNames returns h's names sorted, for stable output.
func headerNames(h map[string]string) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
