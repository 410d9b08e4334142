// Package amtest starts a real Alertmanager for tests: the binary of the
// Debian package prometheus-alertmanager (or `alertmanager` from PATH), on
// loopback, on a free port, with a temporary configuration and storage
// path, clustering off, stopped when the test ends. Code under test talks
// to it over HTTP exactly as to a production one; the helpers read its API
// v2 with Alertmanager's own models.
package amtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/api/v2/models"
)

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	// URL is its base URL, http://127.0.0.1:port.
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []byte
}

// config routes every alert to a receiver that sends nowhere.
const config = `route:
  receiver: nowhere
  group_wait: 1s
receivers:
  - name: nowhere
`

// Binary returns the path of the Alertmanager binary, or an error saying
// how to install it.
func Binary() (string, error) {
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no Alertmanager binary: apt-get install -y prometheus-alertmanager")
}

// Start starts an Alertmanager and waits until it is ready; it is stopped
// when the test ends.
func Start(t testing.TB) *Alertmanager {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		am := &Alertmanager{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
		am.cmd = exec.Command(bin,
			"--config.file="+cfg,
			"--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
			"--cluster.listen-address=",
			"--log.level=warn",
		)
		am.cmd.Stdout, am.cmd.Stderr = am, am
		if err := am.cmd.Start(); err != nil {
			t.Fatalf("amtest: start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = am.cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = am.cmd.Process.Kill()
			<-exited
		})
		err = am.waitReady(exited, 30*time.Second)
		if err == nil {
			return am
		}
		if attempt >= 2 {
			t.Fatalf("amtest: %v\n%s", err, am.output())
		}
		t.Logf("amtest: %v; trying another port", err)
	}
}

// Write collects the process's output.
func (am *Alertmanager) Write(p []byte) (int, error) {
	am.mu.Lock()
	defer am.mu.Unlock()
	am.logs = append(am.logs, p...)
	return len(p), nil
}

func (am *Alertmanager) output() string {
	am.mu.Lock()
	defer am.mu.Unlock()
	return string(am.logs)
}

// waitReady polls /-/ready until it answers 200, the process exits, or
// the timeout passes.
func (am *Alertmanager) waitReady(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(am.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("alertmanager exited before it was ready")
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("alertmanager not ready after %s", timeout)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Alerts returns the alerts the API v2 lists: the active ones (firing, not
// resolved).
func (am *Alertmanager) Alerts(ctx context.Context) (models.GettableAlerts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, am.URL+"/api/v2/alerts", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v2/alerts: %s", resp.Status)
	}
	var out models.GettableAlerts
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("GET /api/v2/alerts: %w", err)
	}
	return out, nil
}
