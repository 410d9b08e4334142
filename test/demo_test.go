package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
)

// demoCommand is `scripts/demo.sh` with a small traffic, in its own
// process group (as a terminal runs it), with the environment given.
func demoCommand(t *testing.T, env ...string) *exec.Cmd {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// withoutDatabaseURL is the environment without DATABASE_URL: the demo
// then starts a throwaway server of its own.
func withoutDatabaseURL() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

var demoWorkDir = regexp.MustCompile(`starting a throwaway PostgreSQL in (\S+)`)

// TestDemoInterruptedLeavesNothingRunning interrupts `make demo` with
// Ctrl-C (SIGINT to its process group) while it ingests: it says so, exits,
// and leaves no process of its own and no temporary directory behind.
func TestDemoInterruptedLeavesNothingRunning(t *testing.T) {
	cmd := demoCommand(t)
	cmd.Env = append(withoutDatabaseURL(), "DEMO_DAYS=2", "DEMO_RATE=400")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

	var work string
	var log strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := demoWorkDir.FindStringSubmatch(sc.Text()); m != nil {
			work = m[1]
		}
		if strings.Contains(sc.Text(), "ingesting with ingest run") {
			break
		}
	}
	require.NotEmpty(t, work, "the demo started its own server:\n%s", log.String())
	require.DirExists(t, work, "the demo runs on:\n%s", log.String())
	require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT), "Ctrl-C")
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	require.Error(t, err, "an interrupted demo does not succeed")
	require.Contains(t, log.String(), "demo: interrupted")
	require.NoDirExists(t, work, "its temporary directory is removed")
	require.Empty(t, processesMentioning(t, work), "nothing it started runs on:\n%s", log.String())
}

// processesMentioning lists the command lines of running processes that
// mention s.
func processesMentioning(t *testing.T, s string) []string {
	var found []string
	// A server stopping (-m immediate) may take a moment to exit.
	testwait.Within(10*time.Second, func() bool {
		found = found[:0]
		procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
		require.NoError(t, err)
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err == nil && strings.Contains(string(b), s) {
				found = append(found, strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
		return len(found) == 0
	})
	return found
}

// TestDemo runs `make demo`'s script on a fresh database: the two planted
// incidents are the alerts of the period, the lookup of a sample id shows
// its escalation block, the weekly summary and HTML report are there.
func TestDemo(t *testing.T) {
	dbURL := newDatabase(t)
	cmd := demoCommand(t)
	cmd.Env = append(withoutDatabaseURL(), "DATABASE_URL="+dbURL, "DEMO_DAYS=3", "DEMO_RATE=300")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	s := string(out)
	for _, want := range []string{
		"decline_spike finix",
		"expired_token_storm finterra",
		"escalation: paste to",
		"# Weekly error report",
		"| provider | requests | errors | error rate |",
		"the weekly HTML report is in ",
	} {
		require.Contains(t, s, want)
	}
	require.Equal(t, 2, strings.Count(s, "RESOLVED  "), "one alert per incident, nothing else:\n%s", s)
	html := regexp.MustCompile(`the weekly HTML report is in (\S+):`).FindStringSubmatch(s)
	require.Len(t, html, 2)
	_, file, _, _ := runtime.Caller(0)
	page, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", html[1]))
	require.NoError(t, err)
	require.Contains(t, string(page), "<svg")
}
