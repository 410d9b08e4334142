package validate

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The console's user in the stand-in htpasswd file of the tests.
const (
	consoleUser     = "support"
	consolePassword = "correct horse battery staple"
)

// secretStandIn is a file on this machine that stands in for the mounted
// secret name (a compose secret, a key of the Kubernetes Secret), written
// the way the deployment docs tell the operator to write it.
func secretStandIn(t *testing.T, name string) string {
	t.Helper()
	switch name {
	case "console-htpasswd", "htpasswd": // compose's secret, the Kubernetes Secret's key
		if _, err := exec.LookPath("htpasswd"); err != nil {
			t.Fatalf("htpasswd not found: install apache2-utils (CI: .ci/run does)")
		}
		path := filepath.Join(t.TempDir(), "htpasswd")
		out, err := exec.Command("htpasswd", "-cbB", path, consoleUser, consolePassword).CombinedOutput()
		require.NoError(t, err, "htpasswd -cbB: %s", out)
		return path
	}
	t.Fatalf("no stand-in for the secret %q: add one to secretStandIn", name)
	return ""
}

// reportLogin is the URL of a fresh, migrated database as the report user
// of deploy/postgres/login-roles.sql (a member of faultline_reader, in
// read-only transactions), which compose and the Kubernetes Secret give
// the console.
func reportLogin(t *testing.T) string {
	t.Helper()
	return loginRoles(t, 1)("report")
}

// addrPort is the port of the --addr of a `report serve` command line.
func addrPort(t *testing.T, argv []string) string {
	t.Helper()
	i := slices.Index(argv, "--addr")
	require.True(t, i >= 0 && i+1 < len(argv), "%q: no --addr", argv)
	_, port, err := net.SplitHostPort(argv[i+1])
	require.NoError(t, err, "--addr %s", argv[i+1])
	return port
}

// runningConsole is a `report serve` started from a deployment's command
// line.
type runningConsole struct {
	cmd    *exec.Cmd
	port   string // where it listens
	lines  chan string
	logged []string
}

// startConsole runs the image's report binary with argv as a deployment
// states it, but for the paths of files (see hostArgs) and the port of
// --addr (0: any free one; the host is kept, so an address other
// machines can reach must still be allowed by the line), with DATABASE_URL
// dbURL and nothing else from the environment but PATH and HOME.
func startConsole(t *testing.T, argv []string, files map[string]string, dbURL string) *runningConsole {
	t.Helper()
	argv = hostArgs(argv, files)
	i := slices.Index(argv, "--addr")
	require.True(t, i >= 0 && i+1 < len(argv), "%q: no --addr", argv)
	host, _, err := net.SplitHostPort(argv[i+1])
	require.NoError(t, err)
	argv[i+1] = net.JoinHostPort(host, "0")

	cmd := exec.Command(bin(argv[0]), argv[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DATABASE_URL=" + dbURL}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &runningConsole{cmd: cmd, lines: make(chan string, 100)}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	addr, ok := c.next(t, "console listening")["addr"].(string)
	require.True(t, ok, "the listening address is logged: %s", strings.Join(c.logged, "\n"))
	_, c.port, err = net.SplitHostPort(addr)
	require.NoError(t, err)
	return c
}

// next waits for the log line whose message is msg and returns it.
func (c *runningConsole) next(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-c.lines:
			require.True(t, ok, "report serve ended before logging %q:\n%s", msg, strings.Join(c.logged, "\n"))
			c.logged = append(c.logged, line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		case <-timeout:
			t.Fatalf("report serve did not log %q:\n%s", msg, strings.Join(c.logged, "\n"))
		}
	}
}

// url is path on the console, through loopback.
func (c *runningConsole) url(path string) string {
	return "http://" + net.JoinHostPort("127.0.0.1", c.port) + path
}

// get GETs path as user (no credentials when user is empty) and returns
// the status.
func (c *runningConsole) get(t *testing.T, path, user, password string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.url(path), nil)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// stop sends SIGTERM, as docker compose and the kubelet do, and wants a
// clean exit.
func (c *runningConsole) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	for range c.lines { // drain until the pipe closes
	}
	require.NoError(t, c.cmd.Wait(), "report serve stops cleanly on SIGTERM:\n%s", strings.Join(c.logged, "\n"))
}

// checkConsoleRuns starts the console from a deployment's command line
// against the report login of a migrated database, checks its health
// check (argv, with its URL's port, which must be the one of --addr, made
// the running one), that every page but /healthz needs the htpasswd's
// user, and that a page that reads the database answers as the read-only
// report user; then stops it.
func checkConsoleRuns(t *testing.T, argv []string, files map[string]string, health []string) {
	t.Helper()
	port := addrPort(t, argv)
	c := startConsole(t, argv, files, reportLogin(t))
	require.Contains(t, strings.Join(c.logged, "\n"), "passwords cross the network in clear text",
		"basic auth without TLS beyond loopback is warned of")

	var hc []string
	for _, a := range health {
		if u, err := url.Parse(a); err == nil && u.Scheme == "http" {
			require.Equal(t, port, u.Port(), "the health check asks the port of --addr")
			u.Host = net.JoinHostPort(u.Hostname(), c.port)
			a = u.String()
		}
		hc = append(hc, a)
	}
	out, err := exec.Command(bin(hc[0]), hc[1:]...).CombinedOutput()
	require.NoError(t, err, "health check %q: %s", hc, out)

	require.Equal(t, http.StatusUnauthorized, c.get(t, "/", "", ""), "no credentials")
	require.Equal(t, http.StatusUnauthorized, c.get(t, "/alerts", consoleUser, "wrong"), "a wrong password")
	require.Equal(t, http.StatusOK, c.get(t, "/alerts", consoleUser, consolePassword), "the alerts page, read as the report user")
	require.Equal(t, http.StatusOK, c.get(t, "/provider/finix?window=24h", consoleUser, consolePassword), "a provider page, read as the report user")
	c.stop(t)
}
