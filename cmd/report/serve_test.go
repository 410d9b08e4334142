package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// htpasswd is the console's test file that Apache's htpasswd -B wrote.
var htpasswd = filepath.Join("..", "..", "console", "testdata", "htpasswd")

func TestServeUsageErrors(t *testing.T) {
	db := "postgres://postgres@127.0.0.1:1/x?sslmode=disable"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no authentication", []string{"serve", "--database-url", db}, "every page requires authentication: give --htpasswd FILE, or --trusted-header NAME with --trusted-proxy CIDR"},
		{"two authentications", []string{"serve", "--database-url", db, "--htpasswd", htpasswd, "--trusted-header", "X-User", "--trusted-proxy", "10.0.0.1"}, "give one authentication method, not both"},
		{"a trusted header without proxies", []string{"serve", "--database-url", db, "--trusted-header", "X-User"}, "--trusted-proxy"},
		{"a bad proxy", []string{"serve", "--database-url", db, "--trusted-header", "X-User", "--trusted-proxy", "10.0.0.0/99"}, `trusted proxy "10.0.0.0/99"`},
		{"a proxy without a header", []string{"serve", "--database-url", db, "--htpasswd", htpasswd, "--trusted-proxy", "10.0.0.1"}, "--trusted-proxy goes with --trusted-header"},
		{"an htpasswd file of another scheme", []string{"serve", "--database-url", db, "--htpasswd", filepath.Join("..", "..", "console", "testdata", "htpasswd-md5")}, "line 1: not a bcrypt hash"},
		{"a missing htpasswd file", []string{"serve", "--database-url", db, "--htpasswd", "/nonexistent/htpasswd"}, "--htpasswd"},
		{"every interface", []string{"serve", "--database-url", db, "--htpasswd", htpasswd, "--addr", ":8080"}, "--allow-non-loopback"},
		{"another host's address", []string{"serve", "--database-url", db, "--htpasswd", htpasswd, "--addr", "192.0.2.1:8080"}, "is not loopback"},
		{"a certificate without its key", []string{"serve", "--database-url", db, "--htpasswd", htpasswd, "--tls-cert", htpasswd}, "--tls-cert and --tls-key"},
		{"no lookups allowed", []string{"serve", "--database-url", db, "--htpasswd", htpasswd, "--lookup-burst", "0"}, "--lookup-burst"},
		{"no database", []string{"serve", "--htpasswd", htpasswd}, "--database-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runReport(t, tc.args...)
			require.Equal(t, 2, code, "stderr: %s", stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
	code, out, _ := runReport(t, "serve", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Usage: report serve")
}

func TestServeWarnsOfPasswordsInClearText(t *testing.T) {
	const warning = "passwords cross the network in clear text"
	db := "postgres://postgres@127.0.0.1:1/x?sslmode=disable" // unreachable: the warning comes first
	_, _, stderr := runReport(t, "serve", "--database-url", db, "--htpasswd", htpasswd, "--addr", "0.0.0.0:0", "--allow-non-loopback")
	require.Contains(t, stderr, warning)
	_, _, stderr = runReport(t, "serve", "--database-url", db, "--htpasswd", htpasswd, "--addr", "127.0.0.1:0")
	require.NotContains(t, stderr, warning, "loopback does not cross the network")
	_, _, stderr = runReport(t, "serve", "--database-url", db, "--trusted-header", "X-User", "--trusted-proxy", "10.0.0.1", "--addr", "0.0.0.0:0", "--allow-non-loopback")
	require.NotContains(t, stderr, warning, "no password reaches the console behind a proxy")
}

// TestServe runs report serve as users do, looks an id up through it, and
// stops it with SIGTERM.
func TestServe(t *testing.T) {
	db := loaded(t)
	// The server trusts local connections: a password in the URL is
	// accepted and must never be printed.
	u, err := url.Parse(db)
	require.NoError(t, err)
	u.User = url.UserPassword(u.User.Username(), "pw-never-printed")
	cmd := exec.Command(reportBin, "serve", "--addr", "127.0.0.1:0", "--htpasswd", htpasswd, "--database-url", u.String())
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var logged []string
	next := func(what string) map[string]any {
		t.Helper()
		timeout := time.After(time.Minute)
		for {
			select {
			case line, ok := <-lines:
				require.True(t, ok, "report serve ended before logging %q: %s", what, strings.Join(logged, "\n"))
				logged = append(logged, line)
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == what {
					return rec
				}
			case <-timeout:
				t.Fatalf("report serve did not log %q: %s", what, strings.Join(logged, "\n"))
			}
		}
	}
	addr := next("console listening")["addr"].(string)

	get := func(path, password string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		require.NoError(t, err)
		req.SetBasicAuth("support", password)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	status, body := get("/lookup?id=req_01j2abc", "correct horse battery staple")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "escalation: paste to finterra support\n  request_id: req_01j2abc\n")
	access := next("request")
	require.Equal(t, "GET /lookup", access["route"], "the route, never the query string")
	require.EqualValues(t, 200, access["status"])
	require.Equal(t, "support", access["user"])
	status, _ = get("/alerts", "wrong")
	require.Equal(t, http.StatusUnauthorized, status)
	require.EqualValues(t, 401, next("request")["status"])

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	next("console stopped")
	for range lines {
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.False(t, errors.As(err, &exit), "exit status 0 after SIGTERM: %v", err)
	require.NoError(t, err)
	all := strings.Join(logged, "\n")
	for _, secret := range []string{"pw-never-printed", "correct horse", "req_01j2abc", "Basic "} {
		require.NotContains(t, all, secret)
	}
}
