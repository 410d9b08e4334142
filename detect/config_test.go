package detect

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
}

func TestConfigLevelsOverrideInOrder(t *testing.T) {
	c, err := ParseConfig([]byte(`
defaults:
  min_requests: 200
  min_count: 20
  window: 10m
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
	require.Equal(t, int64(200), p.MinRequests, "defaults")
	require.Equal(t, int64(20), p.MinCount)
	require.Equal(t, 10*time.Minute, p.Window)
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
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "defaults:\n  min_cnt: 3\n", []string{"line 2", "defaults.min_cnt", "unknown key", "min_count"}},
		{"unknown top-level key", "rule:\n  decline_spike: {}\n", []string{"line 2", "rule", "unknown key"}},
		{"unknown rule", "rules:\n  declne_spike:\n    min_count: 3\n", []string{"line 3", "rules.declne_spike", "unknown rule", "decline_spike"}},
		{"unknown key under a rule's provider", "rules:\n  decline_spike:\n    providers:\n      finix: {min_ratios: 2}\n", []string{"line 4", "rules.decline_spike.providers.finix.min_ratios"}},
		{"wrong type", "rules:\n  provider_outage:\n    min_ratio: lots\n", []string{"line 3", "rules.provider_outage.min_ratio", "lots"}},
		{"duration as a number", "defaults:\n  window: 5\n", []string{"line 2", "defaults.window"}},
		{"bad duration", "defaults:\n  for: soon\n", []string{"line 2", "defaults.for", "soon"}},
		{"out of range", "rules:\n  auth_failure:\n    alpha: 2\n", []string{"rules.auth_failure", "alpha", "in (0, 1)"}},
		{"bad severity", "providers:\n  finix:\n    severity: loud\n", []string{"provider finix", "severity", "loud"}},
		{"window not in minutes", "defaults:\n  window: 90s\n", []string{"window", "whole minutes"}},
		{"max window under window", "defaults:\n  window: 10m\n  max_window: 5m\n", []string{"max_window"}},
		{"given twice", "defaults:\n  min_count: 3\n  min_count: 4\n", []string{"defaults.min_count", "twice"}},
		{"not a mapping", "providers: [finix]\n", []string{"line 1", "providers", "mapping"}},
		{"not yaml", "defaults: {min_count: 3\n", []string{"yaml"}},
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
