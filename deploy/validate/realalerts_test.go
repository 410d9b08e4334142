package validate

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkatest"
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

	addr := fmt.Sprintf("127.0.0.1:%d", kafkatest.FreePort(t))
	w := &realIngest{base: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	w.proc = exec.Command(bin("report"), "alerts", "--watch", "--database-url", ingest.dbURL, "--http-addr", addr)
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
	w.waitOK(t, "/healthz")
	var s scrape
	testwait.UntilNil(t, 20*time.Second, "an evaluation", func() error {
		w.requireRunning(t)
		if s = w.scrape(t); s.value("faultline_alert_evaluations_total", map[string]string{"outcome": "ok"}) < 1 {
			return errors.New("none yet")
		}
		return nil
	})
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
