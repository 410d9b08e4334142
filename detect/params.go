package detect

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Params tune one rule for one provider. Each field is described once, in
// paramSpecs: its key in the YAML file, its meaning, its default (and the
// rules' own) and the values it takes. docs/alerts.md's table is written
// from it (TestDocsListEveryParameter).
type Params struct {
	Enabled        bool
	Severity       string
	RunbookURL     string
	Evidence       float64
	For            time.Duration
	MinCount       int64
	MinRatio       float64
	MinDelta       float64
	MaxWindow      time.Duration
	ResolveAfter   time.Duration
	MADs           float64
	Weeks          int
	MinBaselines   int
	PriorRequests  float64
	RecurAfter     int
	RecurWeeks     int
	RecurTolerance time.Duration
	Novelty        time.Duration
	MinHistory     time.Duration
	CriticalRate   float64
}

// spec is one parameter: where it lives in Params, its YAML key, what it
// means, its default and the rules' own, and the values it takes.
type spec struct {
	key, doc string
	// ptr is a pointer to the parameter's field of p, for decoding.
	ptr func(p *Params) any
	// setDefault sets the default of rule r (the rule's own or the
	// common one).
	setDefault func(p *Params, r Rule)
	// defaults describes the defaults for people: "3 (decline_spike 2)".
	defaults string
	// check returns what the value must be when it is not, else "".
	check func(p *Params) string
}

// param describes a parameter of type T (see spec); rules lists the
// rules' own defaults.
func param[T comparable](key string, field func(*Params) *T, def T, rules map[Rule]T, valid func(v T, p *Params) string, doc string) spec {
	text := formatValue(def)
	var own []string
	for _, r := range Rules {
		if v, ok := rules[r]; ok && v != def {
			own = append(own, string(r)+" "+formatValue(v))
		}
	}
	if len(own) > 0 {
		text += " (" + strings.Join(own, ", ") + ")"
	}
	return spec{
		key: key, doc: doc, defaults: text,
		ptr: func(p *Params) any { return field(p) },
		setDefault: func(p *Params, r Rule) {
			v, ok := rules[r]
			if !ok {
				v = def
			}
			*field(p) = v
		},
		check: func(p *Params) string {
			if valid == nil {
				return ""
			}
			return valid(*field(p), p)
		},
	}
}

func formatValue(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return fmtDuration(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		if x == "" {
			return `""`
		}
		return x
	}
	return fmt.Sprint(v)
}

// withDefaults replaces how a parameter's defaults read.
func withDefaults(text string, s spec) spec {
	s.defaults = text
	return s
}

// The validators: each returns what the value must be, or "" when it is
// fine.
func between[T int | int64 | float64](lo, hi T) func(T, *Params) string {
	return func(v T, _ *Params) string {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) || v < lo || v > hi {
			return fmt.Sprintf("between %v and %v", lo, hi)
		}
		return ""
	}
}

func minutes(lo, hi time.Duration) func(time.Duration, *Params) string {
	return func(v time.Duration, _ *Params) string {
		if v < lo || v > hi || v%time.Minute != 0 {
			return fmt.Sprintf("whole minutes between %s and %s", fmtDuration(lo), fmtDuration(hi))
		}
		return ""
	}
}

// minutesUpToMaxWindow bounds a parameter by max_window.
func minutesUpToMaxWindow(v time.Duration, p *Params) string {
	if v < time.Minute || v%time.Minute != 0 || v > p.MaxWindow {
		return "whole minutes between 1m and max_window"
	}
	return ""
}

func oneOf(values ...string) func(string, *Params) string {
	return func(v string, _ *Params) string {
		if !slices.Contains(values, v) {
			return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
		}
		return ""
	}
}

// RunbookBase is where the default runbook URLs point: the section of
// docs/alerts.md named after the rule.
const RunbookBase = "https://github.com/faultline-dev/faultline/blob/main/docs/alerts.md#"

// paramSpecs lists every parameter once. The numbers are justified in
// docs/alerts.md ("How the rules decide").
var paramSpecs = []spec{
	param("enabled", func(p *Params) *bool { return &p.Enabled }, true, nil, nil,
		"the rule runs"),
	param("severity", func(p *Params) *string { return &p.Severity }, "warning",
		map[Rule]string{ExpiredTokenStorm: "critical", ProviderOutage: "critical", AuthFailure: "critical"},
		oneOf("critical", "warning", "info"),
		"the `severity` label (new_code: the severity of a code between `min_delta` and `critical_rate` of requests)"),
	withDefaults("this page's section of the rule", param("runbook_url", func(p *Params) *string { return &p.RunbookURL }, "", nil,
		func(v string, _ *Params) string {
			if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return "an http(s) URL"
			}
			return ""
		},
		"the `runbook_url` annotation")),
	param("evidence", func(p *Params) *float64 { return &p.Evidence }, 12, nil, between(2.0, 100),
		"the log-likelihood ratio, in nats, of an elevated rate against the baseline's band that opens an alert: a false alarm per chart at most once in e^evidence minutes"),
	param("for", func(p *Params) *time.Duration { return &p.For }, 2*time.Minute, map[Rule]time.Duration{NewCode: time.Minute},
		minutesUpToMaxWindow,
		"the fewest minutes the evidence comes from: one minute counts for at most evidence/for"),
	param("min_count", func(p *Params) *int64 { return &p.MinCount }, 4, map[Rule]int64{NewCode: 1}, between[int64](1, 1e9),
		"the fewest errors that open an alert, whatever the evidence: more than one client's retries of one failed call"),
	param("min_ratio", func(p *Params) *float64 { return &p.MinRatio }, 3, map[Rule]float64{DeclineSpike: 2}, between(1.0, 1e6),
		"the smallest rise worth a page, as a multiple of the baseline"),
	param("min_delta", func(p *Params) *float64 { return &p.MinDelta }, 0.005,
		map[Rule]float64{DeclineSpike: 0.02, ProviderOutage: 0.02, RateLimitStorm: 0.01, AuthFailure: 0.01, NewCode: 0.001},
		between(0.0, 0.99),
		"the smallest rise worth a page, as a share of requests above the baseline (new_code: below it, a code is `info`)"),
	param("max_window", func(p *Params) *time.Duration { return &p.MaxWindow }, time.Hour, nil, minutes(time.Minute, 24*time.Hour),
		"the longest stretch of minutes evidence is gathered over, to open and to close"),
	param("resolve_after", func(p *Params) *time.Duration { return &p.ResolveAfter }, 10*time.Minute, map[Rule]time.Duration{NewCode: 30 * time.Minute},
		minutesUpToMaxWindow,
		"an alert closes once this many minutes (or more, at low traffic) show 100:1 evidence that its rate is back (new_code: once the code has not been seen for this long)"),
	param("mads", func(p *Params) *float64 { return &p.MADs }, 3, nil, between(0.0, 100),
		"the baseline's band: its rate plus this many spreads (median absolute deviations of the samples, scaled to a standard deviation)"),
	param("weeks", func(p *Params) *int { return &p.Weeks }, 4, nil, between(0, 12),
		"baseline samples of the same hour of the week, one per past week (besides the same hour of the 6 days before and the 2 hours before)"),
	param("min_baselines", func(p *Params) *int { return &p.MinBaselines }, 2, nil,
		func(v int, p *Params) string {
			if n := p.Weeks + baselineDays + 1; v < 1 || v > n {
				return fmt.Sprintf("between 1 and weeks+%d (%d)", baselineDays+1, n)
			}
			return ""
		},
		"the fewest baseline samples with traffic a rate is judged on"),
	param("prior_requests", func(p *Params) *float64 { return &p.PriorRequests }, 200, nil, between(0.0, 1e9),
		"how many requests the provider's rate of the past week counts for in each baseline sample: a quiet hour borrows from the week"),
	param("recur_after", func(p *Params) *int { return &p.RecurAfter }, 2, nil,
		func(v int, p *Params) string {
			if v < 1 || v > p.RecurWeeks {
				return "between 1 and recur_weeks"
			}
			return ""
		},
		"an alert that started at the same minute of the week (within `recur_tolerance`) as alerts of the same rule, provider and subject in this many of the last `recur_weeks` weeks is expected: stored as suppressed, not sent"),
	param("recur_weeks", func(p *Params) *int { return &p.RecurWeeks }, 4, nil, between(1, 12),
		"how many past weeks of alerts recurrence is learned from"),
	param("recur_tolerance", func(p *Params) *time.Duration { return &p.RecurTolerance }, 10*time.Minute, nil, minutes(0, time.Hour),
		"how far apart two weeks' starts (or detections: a start is uncertain where calls are minutes apart) may be and still be the same minute of the week"),
	param("novelty", func(p *Params) *time.Duration { return &p.Novelty }, 24*time.Hour, nil, minutes(time.Minute, 90*24*time.Hour),
		"new_code: how long after its first sighting a code is new"),
	param("min_history", func(p *Params) *time.Duration { return &p.MinHistory }, 7*24*time.Hour, nil,
		func(v time.Duration, _ *Params) string {
			if v < 0 {
				return "at least 0"
			}
			return ""
		},
		"new_code: the stored history a code needs before its first sighting to be new (a fresh database does not call everything new)"),
	param("critical_rate", func(p *Params) *float64 { return &p.CriticalRate }, 0.05, nil, between(0.0, 1),
		"new_code: a code at least this share of requests (the lower 90% bound of its rate) is `critical`"),
}

// specByKey finds a parameter by its YAML key.
func specByKey(key string) (spec, bool) {
	for _, s := range paramSpecs {
		if s.key == key {
			return s, true
		}
	}
	return spec{}, false
}

func paramKeys() []string {
	keys := make([]string, len(paramSpecs))
	for i, s := range paramSpecs {
		keys[i] = s.key
	}
	return keys
}

// ruleDefaults returns a rule's built-in parameters.
func ruleDefaults(r Rule) Params {
	var p Params
	for _, s := range paramSpecs {
		s.setDefault(&p, r)
	}
	if p.RunbookURL == "" {
		p.RunbookURL = RunbookBase + string(r)
	}
	return p
}

// validate names the first parameter with a value no evaluation can use.
func (p *Params) validate() error {
	for _, s := range paramSpecs {
		if want := s.check(p); want != "" {
			return fmt.Errorf("%s: must be %s, got %s", s.key, want, formatValue(reflectValue(s.ptr(p))))
		}
	}
	return nil
}

func reflectValue(ptr any) any {
	switch v := ptr.(type) {
	case *bool:
		return *v
	case *string:
		return *v
	case *float64:
		return *v
	case *int:
		return *v
	case *int64:
		return *v
	case *time.Duration:
		return *v
	}
	return ptr
}

// ParamsTable is the Markdown table of every parameter: key, default,
// meaning. docs/alerts.md holds it.
func ParamsTable() string {
	var b strings.Builder
	b.WriteString("| key | default | meaning |\n|---|---|---|\n")
	for _, s := range paramSpecs {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.key, s.defaults, s.doc)
	}
	return b.String()
}
