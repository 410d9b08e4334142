package detect

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/alerts.md's table of parameters")

func TestDefaultConfigNeedsNoFile(t *testing.T) {
	for _, doc := range []string{"", "\n", "# nothing\n", "---\n", "null\n"} {
		c, err := ParseConfig([]byte(doc))
		require.NoError(t, err, "%q", doc)
		require.Equal(t, DefaultConfig().rules, c.rules, "%q", doc)
	}
	d := DefaultConfig()
	for _, r := range Rules {
		p := d.Params(r, "finix")
		require.True(t, p.Enabled, r)
		require.NoError(t, p.validate(), r)
		require.Equal(t, RunbookBase+string(r), p.RunbookURL)
	}
	require.Equal(t, "critical", d.Params(ProviderOutage, "x").Severity)
	require.Equal(t, 2.0, d.Params(DeclineSpike, "x").MinRatio)
	require.Equal(t, int64(1), d.Params(NewCode, "x").MinCount)
	require.Equal(t, int64(4), d.Params(AuthFailure, "x").MinCount)
}

// TestEveryParameterIsDescribedOnce: each field of Params has one spec,
// whose key decodes into it, whose default the rules' defaults hold, and
// whose check refuses a bad value.
func TestEveryParameterIsDescribedOnce(t *testing.T) {
	var p Params
	seen := map[uintptr]string{}
	for _, s := range paramSpecs {
		ptr := reflect.ValueOf(s.ptr(&p)).Pointer()
		require.NotContains(t, seen, ptr, "%s and %s are the same field", s.key, seen[ptr])
		seen[ptr] = s.key
		require.NotEmpty(t, s.doc, s.key)
		require.NotEmpty(t, s.defaults, s.key)
	}
	require.Len(t, seen, 20, "every field of Params has its spec")
	require.Equal(t, paramKeys(), strings.Fields(strings.Join(paramKeys(), " ")))
}

// TestDocsListEveryParameter: docs/alerts.md holds the table of every
// parameter as the specs write it (go test ./detect -run DocsList -update
// rewrites it).
func TestDocsListEveryParameter(t *testing.T) {
	docs, err := os.ReadFile("../docs/alerts.md")
	require.NoError(t, err)
	table := ParamsTable()
	if *update {
		start := strings.Index(string(docs), "| key | default | meaning |")
		require.GreaterOrEqual(t, start, 0)
		end := start + strings.Index(string(docs[start:]), "\n\n") + 1
		docs = []byte(string(docs[:start]) + table + string(docs[end:]))
		require.NoError(t, os.WriteFile("../docs/alerts.md", docs, 0o644))
	}
	require.Contains(t, string(docs), table, "docs/alerts.md lists every parameter (-update)")
}

func TestConfigLevelsOverrideInOrder(t *testing.T) {
	c, err := ParseConfig([]byte(`
defaults:
  min_count: 20
  max_window: 2h
providers:
  cheers:
    enabled: false
    min_count: 30
rules:
  decline_spike:
    min_count: 40
    providers:
      finix:
        min_ratio: 2.5
        max_window: 1h
      cheers:
        enabled: true
  new_code: {min_history: 72h}
`))
	require.NoError(t, err)
	p := c.Params(ProviderOutage, "paylera")
	require.Equal(t, int64(20), p.MinCount, "defaults")
	require.Equal(t, 2*time.Hour, p.MaxWindow)
	require.Equal(t, "critical", p.Severity, "a rule's own default stays unless set")

	require.False(t, c.Params(ProviderOutage, "cheers").Enabled, "providers")
	require.Equal(t, int64(30), c.Params(ProviderOutage, "cheers").MinCount)

	require.Equal(t, int64(40), c.Params(DeclineSpike, "paylera").MinCount, "rules over defaults")
	require.Equal(t, int64(40), c.Params(DeclineSpike, "cheers").MinCount, "rules over providers")
	require.True(t, c.Params(DeclineSpike, "cheers").Enabled, "rules' providers over providers")
	f := c.Params(DeclineSpike, "finix")
	require.Equal(t, 2.5, f.MinRatio)
	require.Equal(t, time.Hour, f.MaxWindow)
	require.Equal(t, int64(40), f.MinCount)
	require.Equal(t, 72*time.Hour, c.Params(NewCode, "finix").MinHistory)
	require.Equal(t, 2*time.Hour, c.maxLookback())
}

func TestMaintenanceConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`
providers:
  flexiti:
    maintenance:
      - {weekly: "Sun 02:00", for: 30m}
      - {weekly: "sat 23:30", for: 1h, time_zone: America/Toronto}
      - {from: 2026-11-03T22:00:00Z, to: 2026-11-04T01:00:00Z}
`))
	require.NoError(t, err)
	w := c.Maintenance("flexiti")
	require.Len(t, w, 3)
	require.Empty(t, c.Maintenance("finix"))
	require.True(t, c.Params(ProviderOutage, "flexiti").Enabled)

	sunday := time.Date(2026, 11, 8, 2, 10, 0, 0, time.UTC)
	from, to, ok := w[0].Covering(sunday)
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 11, 8, 2, 0, 0, 0, time.UTC), from)
	require.Equal(t, time.Date(2026, 11, 8, 2, 30, 0, 0, time.UTC), to)
	_, _, ok = w[0].Covering(sunday.Add(20 * time.Minute))
	require.False(t, ok, "the window's end is outside it")
	_, _, ok = w[0].Covering(sunday.Add(24 * time.Hour))
	require.False(t, ok)

	// Saturday 23:30 in Toronto (EST, UTC-5) to 00:30 on Sunday: 04:30 to
	// 05:30 UTC on Sunday, across the week's end.
	_, to, ok = w[1].Covering(time.Date(2026, 11, 8, 5, 0, 0, 0, time.UTC))
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 11, 8, 5, 30, 0, 0, time.UTC), to)
	_, _, ok = w[2].Covering(time.Date(2026, 11, 4, 0, 59, 0, 0, time.UTC))
	require.True(t, ok)
	require.Equal(t, "every Sat 23:30 America/Toronto for 1h", w[1].String())
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "defaults:\n  min_cnt: 3\n", []string{"line 2", "defaults.min_cnt", "unknown key", "min_count"}},
		{"a floor that is gone", "defaults:\n  min_requests: 100\n", []string{"line 2", "defaults.min_requests", "unknown key"}},
		{"unknown top-level key", "rule:\n  decline_spike: {}\n", []string{"line 2", "rule", "unknown key"}},
		{"unknown rule", "rules:\n  declne_spike:\n    min_count: 3\n", []string{"line 3", "rules.declne_spike", "unknown rule", "decline_spike"}},
		{"unknown key under a rule's provider", "rules:\n  decline_spike:\n    providers:\n      finix: {min_ratios: 2}\n", []string{"line 4", "rules.decline_spike.providers.finix.min_ratios"}},
		{"wrong type", "rules:\n  provider_outage:\n    min_ratio: lots\n", []string{"line 3", "rules.provider_outage.min_ratio", "lots"}},
		{"duration as a number", "defaults:\n  max_window: 5\n", []string{"line 2", "defaults.max_window"}},
		{"bad duration", "defaults:\n  for: soon\n", []string{"line 2", "defaults.for", "soon"}},
		{"out of range", "rules:\n  auth_failure:\n    evidence: 0.5\n", []string{"line 3", "rules.auth_failure.evidence", "between 2 and 100"}},
		{"bad severity", "providers:\n  finix:\n    severity: loud\n", []string{"line 3", "providers.finix.severity", "provider finix", "loud"}},
		{"window not in minutes", "defaults:\n  max_window: 90s\n", []string{"max_window", "whole minutes"}},
		{"for over the window", "defaults:\n  for: 2h\n", []string{"for", "max_window"}},
		{"given twice", "defaults:\n  min_count: 3\n  min_count: 4\n", []string{"defaults.min_count", "twice"}},
		{"not a mapping", "providers: [finix]\n", []string{"line 1", "providers", "mapping"}},
		{"not yaml", "defaults: {min_count: 3\n", []string{"yaml"}},
		{"maintenance under defaults", "defaults:\n  maintenance: []\n", []string{"defaults.maintenance", "unknown key"}},
		{"maintenance not a list", "providers:\n  finix:\n    maintenance: {weekly: Sun 02:00}\n", []string{"line 3", "providers.finix.maintenance", "list"}},
		{"bad weekday", "providers:\n  finix:\n    maintenance:\n      - {weekly: Sunday 02:00, for: 30m}\n", []string{"line 4", "Sunday 02:00"}},
		{"weekly without for", "providers:\n  finix:\n    maintenance:\n      - {weekly: Sun 02:00}\n", []string{"line 4", "for"}},
		{"one-off backwards", "providers:\n  finix:\n    maintenance:\n      - {from: 2026-11-04T01:00:00Z, to: 2026-11-03T22:00:00Z}\n", []string{"line 4", "to after from"}},
		{"unknown window key", "providers:\n  finix:\n    maintenance:\n      - {weekly: Sun 02:00, for: 30m, tz: UTC}\n", []string{"line 4", "tz"}},
		{"bad time zone", "providers:\n  finix:\n    maintenance:\n      - {weekly: Sun 02:00, for: 30m, time_zone: Mars/Base}\n", []string{"line 4", "Mars/Base"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.doc))
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
