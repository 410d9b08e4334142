package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/kafkatest"
)

var alertmanagerConfigs = []string{"alertmanager.yml", "alertmanager.local.yml"}

// TestAlertmanagerConfigs checks both configurations with amtool, and the
// example's routing: critical pages and goes to chat, the rest to chat.
func TestAlertmanagerConfigs(t *testing.T) {
	amtool := tool(t, "prometheus-alertmanager", "amtool")
	dir := repo("deploy", "alertmanager")
	for _, c := range alertmanagerConfigs {
		require.Contains(t, runTool(t, dir, amtool, "check-config", c), "SUCCESS", c)
	}
	for _, tc := range []struct {
		receivers string
		labels    []string
	}{
		{"oncall-pager,team-chat", []string{"alertname=FaultlineProviderErrors", "severity=critical", "provider=finix", "source=prometheus"}},
		{"oncall-pager,team-chat", []string{"alertname=decline_spike", "severity=critical", "provider=finix", "category=decline"}},
		{"team-chat", []string{"alertname=FaultlineConsumerLagHigh", "severity=warning", "partition=3"}},
		{"team-chat", []string{"alertname=SomethingElse"}},
	} {
		runTool(t, dir, amtool, append([]string{"config", "routes", "test", "--config.file=alertmanager.yml", "--verify.receivers=" + tc.receivers}, tc.labels...)...)
	}
}

// TestAlertmanagerInhibitions starts a real Alertmanager with each
// configuration, posts alerts to its API and reads which it suppresses.
func TestAlertmanagerInhibitions(t *testing.T) {
	am := tool(t, "prometheus-alertmanager", "alertmanager", "prometheus-alertmanager")
	for _, c := range alertmanagerConfigs {
		t.Run(c, func(t *testing.T) {
			base := startAlertmanager(t, am, repo("deploy", "alertmanager", c))
			post := func(ls ...map[string]string) {
				var alerts []map[string]any
				for _, l := range ls {
					alerts = append(alerts, map[string]any{"labels": l, "annotations": map[string]string{"summary": "test"},
						"startsAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)})
				}
				b, _ := json.Marshal(alerts)
				resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(b))
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
			post(
				// No ingest at all: the per-replica alerts are noise.
				map[string]string{"alertname": "FaultlineIngestAbsent", "severity": "critical", "source": "prometheus"},
				map[string]string{"alertname": "FaultlineIngestDown", "severity": "warning", "source": "prometheus", "instance": "a"},
				map[string]string{"alertname": "FaultlineConsumerLagHigh", "severity": "warning", "source": "prometheus", "partition": "0"},
				// report's decline alert for finix wins over Prometheus' one;
				// paylera's Prometheus alert has no report twin and stays.
				map[string]string{"alertname": "decline_spike", "severity": "critical", "provider": "finix", "category": "decline", "code": "DECLINED"},
				map[string]string{"alertname": "FaultlineDeclineRateHigh", "severity": "critical", "source": "prometheus", "provider": "finix", "category": "decline"},
				map[string]string{"alertname": "FaultlineDeclineRateHigh", "severity": "critical", "source": "prometheus", "provider": "paylera", "category": "decline"},
				// An alert of another system, without provider or category,
				// must not silence faultline's.
				map[string]string{"alertname": "NodeDiskFull", "severity": "critical", "instance": "db-1"},
				map[string]string{"alertname": "FaultlineIngestRetrying", "severity": "warning", "source": "prometheus", "instance": "b", "dependency": "postgres"},
			)
			want := map[string]string{
				"FaultlineIngestAbsent":            "active",
				"FaultlineIngestDown/a":            "suppressed",
				"FaultlineConsumerLagHigh/0":       "suppressed",
				"decline_spike/finix":              "active",
				"FaultlineDeclineRateHigh/finix":   "suppressed",
				"FaultlineDeclineRateHigh/paylera": "active",
				"NodeDiskFull/db-1":                "active",
				"FaultlineIngestRetrying/b":        "suppressed", // by FaultlineIngestAbsent
			}
			// The inhibitor takes the alerts in asynchronously: wait for it.
			var got map[string]string
			testwait.Within(10*time.Second, func() bool { // then require.Equal says what differs
				got = alertStates(t, base)
				return fmt.Sprint(got) == fmt.Sprint(want)
			})
			require.Equal(t, want, got)
		})
	}
}

// alertStates reads the alerts of Alertmanager, keyed by alertname and
// their provider, instance or partition.
func alertStates(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	require.NoError(t, err)
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&alerts))
	out := map[string]string{}
	for _, a := range alerts {
		key := a.Labels["alertname"]
		for _, l := range []string{"provider", "instance", "partition"} {
			if v := a.Labels[l]; v != "" {
				key += "/" + v
			}
		}
		out[key] = a.Status.State
	}
	return out
}

// startAlertmanager runs Alertmanager with config on a loopback port,
// without clustering, until the test ends, and waits until it is ready.
func startAlertmanager(t *testing.T, bin, config string) string {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(kafkatest.FreePort(t))
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--config.file="+config, "--storage.path="+t.TempDir(),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("alertmanager logs:\n%s", logs.tail(3000))
		}
	})
	base := "http://" + addr
	testwait.UntilNil(t, 15*time.Second, "alertmanager's /-/ready", func() error {
		select {
		case err := <-done:
			t.Fatalf("alertmanager exited: %v\n%s", err, logs.tail(3000))
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s; logs: %s", resp.Status, logs.tail(3000))
		}
		return nil
	})
	return base
}
