package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bin is fakekafka, built by TestMain.
var bin string

// build returns the fakekafka binary.
func build(t *testing.T) string {
	t.Helper()
	require.NotEmpty(t, bin)
	return bin
}

// broker is a running fakekafka process.
type broker struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
}

// start runs bin with args and waits for its "ready ADDR" line.
func start(t *testing.T, bin string, args ...string) *broker {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	b := &broker{cmd: cmd, stderr: stderr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- addr
			}
		}
	}()
	select {
	case b.addr = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("fakekafka did not print ready within 10s; stderr:\n%s", stderr)
	}
	return b
}

// stop sends SIGTERM and expects exit status 0.
func (b *broker) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "fakekafka exit after SIGTERM; stderr:\n%s", b.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("fakekafka did not stop within 10s of SIGTERM")
	}
}

func produce(t *testing.T, addr, topic string, values []string) {
	t.Helper()
	w := &kafka.Writer{
		Addr: kafka.TCP(addr), Topic: topic, Balancer: &kafka.RoundRobin{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond,
		Transport: &kafka.Transport{},
	}
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Value: []byte(v)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.WriteMessages(ctx, msgs...))
	require.NoError(t, w.Close())
}

// kcat reads the whole topic with kcat, a third-party Kafka client, and
// returns the values sorted.
func kcat(t *testing.T, addr, topic string) []string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is required by this test and was not found: apt-get install -y kcat (.ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "kcat: %s", stderr.String())
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	slices.Sort(got)
	return got
}

func TestKcatReadsWhatKafkaGoWrote(t *testing.T) {
	bin := build(t)
	dir := filepath.Join(t.TempDir(), "data")
	b := start(t, bin, "--listen", "127.0.0.1:0", "--topic", "logs:3", "--topic", "other:1",
		"--group-min-session-timeout", "100ms", "--data-dir", dir)
	require.True(t, strings.HasPrefix(b.addr, "127.0.0.1:"), b.addr)

	want := make([]string, 3000)
	for i := range want {
		want[i] = fmt.Sprintf(`{"ts":"2026-11-02T10:00:00Z","provider":"finix","n":%d}`, i)
	}
	produce(t, b.addr, "logs", want)
	slices.Sort(want)
	assert.Equal(t, want, kcat(t, b.addr, "logs"))
	b.stop(t)
	assert.Empty(t, strings.TrimSpace(strings.ReplaceAll(b.stderr.String(), "fakekafka: saving state and stopping", "")), "quiet by default")

	// The state survives a restart with the same --data-dir.
	b = start(t, bin, "--listen", "127.0.0.1:0", "--data-dir", dir)
	assert.Equal(t, want, kcat(t, b.addr, "logs"))
	b.stop(t)
}

// TestDefaultTopic: without --topic, the topic ingest and loggen use by
// default exists, so that producing to it works at once.
func TestDefaultTopic(t *testing.T) {
	b := start(t, build(t), "--listen", "127.0.0.1:0")
	conn, err := kafka.Dial("tcp", b.addr)
	require.NoError(t, err)
	defer conn.Close()
	parts, err := conn.ReadPartitions("integration-logs")
	require.NoError(t, err)
	assert.Len(t, parts, 4)
	produce(t, b.addr, "integration-logs", []string{"a", "b"})
	assert.Equal(t, []string{"a", "b"}, kcat(t, b.addr, "integration-logs"))
	b.stop(t)
}

func TestRefusesBadFlags(t *testing.T) {
	bin := build(t)
	for _, args := range [][]string{
		{"--listen", "0.0.0.0:9092"},
		{"--listen", "10.1.2.3:9092"},
		{"--listen", "example.com:9092"},
		{"--listen", "127.0.0.1"},
		{"--topic", "logs"},
		{"--topic", "logs:0"},
		{"--topic", ":3"},
		{"--topic", "a:1", "--topic", "a:2"},
		{"--group-min-session-timeout", "0s"},
		{"--log-level", "loud"},
	} {
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Stdout = io.Discard
		err := cmd.Run()
		var exit *exec.ExitError
		if assert.ErrorAs(t, err, &exit, "%v must be refused", args) {
			assert.Equal(t, 2, exit.ExitCode(), "%v", args)
		}
		assert.Contains(t, stderr.String(), "fakekafka: ", "%v", args)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9092": "127.0.0.1",
		"127.0.0.2:0":    "127.0.0.2",
		"localhost:9092": "127.0.0.1",
		"[::1]:9092":     "::1",
	} {
		host, _, err := loopback(addr)
		require.NoError(t, err, addr)
		assert.Equal(t, want, host, addr)
	}
	for _, addr := range []string{"0.0.0.0:9092", "[::]:9092", ":9092", "192.168.1.1:9092", "127.0.0.1:99999", "127.0.0.1:x"} {
		_, _, err := loopback(addr)
		assert.Error(t, err, addr)
	}
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakekafka-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "fakekafka")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
