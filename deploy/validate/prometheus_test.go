package validate

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tool finds a command of a Debian package, failing clearly without it.
func tool(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found: apt-get install -y %s (CI: .ci/run installs it)", strings.Join(names, " or "), pkg)
	return ""
}

func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), out)
	return string(out)
}

type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestPrometheusRules runs promtool on the rules, their unit tests and the
// compose stack's configuration, and checks that every alert is tested
// firing with its notification text, and has a runbook.
func TestPrometheusRules(t *testing.T) {
	promtool := tool(t, "prometheus", "promtool")
	dir := repo("deploy", "prometheus")
	require.Contains(t, runTool(t, dir, promtool, "check", "config", "prometheus.yml"), "SUCCESS")
	require.Contains(t, runTool(t, dir, promtool, "check", "rules", "faultline.rules.yml"), "SUCCESS")
	require.Contains(t, runTool(t, dir, promtool, "test", "rules", "faultline.rules.test.yml"), "SUCCESS")

	tests := readYAML[ruleTests](t, filepath.Join(dir, "faultline.rules.test.yml"))
	require.Equal(t, []string{"faultline.rules.yml"}, tests.RuleFiles)
	firing := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			for _, e := range a.ExpAlerts {
				if len(e.ExpAnnotations) > 0 {
					firing[a.Alertname] = true
				}
			}
		}
	}

	runbooks, err := os.ReadFile(repo("deploy", "README.md"))
	require.NoError(t, err)
	alerts := 0
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			require.True(t, firing[r.Alert], "%s: no unit test shows it firing with its annotations", r.Alert)
			require.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], r.Alert)
			require.Equal(t, "prometheus", r.Labels["source"], "%s: Alertmanager's inhibitions tell these by source", r.Alert)
			for _, a := range []string{"summary", "description", "runbook_url"} {
				require.NotEmpty(t, r.Annotations[a], "%s: %s", r.Alert, a)
			}
			anchor := strings.ToLower(r.Alert)
			require.True(t, strings.HasSuffix(r.Annotations["runbook_url"], "/deploy/README.md#"+anchor), "%s: runbook_url %s", r.Alert, r.Annotations["runbook_url"])
			require.Contains(t, string(runbooks), "\n### "+r.Alert+"\n", "%s: no runbook section in deploy/README.md", r.Alert)
		}
	}
	require.Greater(t, alerts, 8)
}
