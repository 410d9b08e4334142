package validate

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// watcherGroup is the rule group that watches `report alerts --watch`.
const watcherGroup = "faultline-alerts"

// TestWatcherRulesAgainstRealReportAlerts runs the image's `report alerts
// --watch` over the database a real ingest filled, as the Kubernetes
// manifest does (--http-addr), waits for an evaluation, and checks the
// rules that watch it against its real /metrics: every metric they select
// is exported, with the labels and values they match, under the scrape job
// prometheus.yml names.
func TestWatcherRulesAgainstRealReportAlerts(t *testing.T) {
	ingest := startRealIngest(t)
	ingest.waitStored(t)

	w := &realIngest{logs: &syncBuffer{}, done: make(chan error, 1)}
	w.proc = exec.Command(bin("report"), "alerts", "--watch", "--database-url", ingest.dbURL, "--http-addr", "127.0.0.1:0")
	w.proc.Stdout, w.proc.Stderr = w.logs, w.logs
	require.NoError(t, w.proc.Start())
	go func() { w.done <- w.proc.Wait() }()
	t.Cleanup(func() {
		_ = w.proc.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			_ = w.proc.Process.Kill()
			<-w.done
		}
		if t.Failed() {
			t.Logf("report alerts logs:\n%s", w.logs.tail(4000))
		}
	})
	w.base = "http://" + w.waitLog(t, regexp.MustCompile(`"msg":"serving http","addr":"([^"]+)"`))
	w.waitLog(t, regexp.MustCompile(`"msg":"(alerts evaluated)"`))
	s := w.scrape(t)
	require.Equal(t, 1.0, s.value("faultline_alert_evaluations_total", map[string]string{"outcome": "ok"}))
	require.Positive(t, s.value("faultline_alert_last_success_timestamp_seconds", nil))
	out, err := exec.Command(bin("healthcheck"), w.base+"/healthz").CombinedOutput()
	require.NoError(t, err, "healthcheck /healthz: %s", out)

	prom := readYAML[prometheusConfig](t, repo("deploy", "prometheus", "prometheus.yml"))
	c := metricCheck{series: s.series(), recorded: map[string]bool{}, job: prom.job(t, watcherGroup).JobName, category: taxonomy()}
	n := 0
	for _, g := range readRules(t).Groups {
		if g.Name != watcherGroup {
			continue
		}
		for _, rule := range g.Rules {
			e, err := parser.NewParser(parser.Options{}).ParseExpr(rule.Expr)
			require.NoError(t, err, rule.Alert)
			c.check(t, fmt.Sprintf("rule %s", rule.Alert), e)
			require.True(t, strings.Contains(rule.Expr, `job="`+c.job+`"`), "%s selects the watcher's job", rule.Alert)
			n++
		}
	}
	require.Equal(t, 3, n, "the watcher's rules")
}
