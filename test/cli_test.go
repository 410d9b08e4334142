package test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runIngest runs the binary and returns its exit code, stdout and stderr.
func runIngest(t *testing.T, stdin []byte, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(ingestBin, args...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errOut.String()
	}
	require.NoError(t, err)
	return 0, out.String(), errOut.String()
}

func TestCommandLineErrorsNameTheFlag(t *testing.T) {
	noEnv := []string{"KAFKA_BROKERS=", "DATABASE_URL="}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"classify", "--bogus"}, 2, "--bogus"},
		{"run without brokers", []string{"run", "--database-url", "postgres://127.0.0.1:1/x"}, 2, "--kafka-brokers"},
		{"run without database", []string{"run", "--kafka-brokers", "127.0.0.1:9092"}, 2, "--database-url"},
		{"broker without port", []string{"run", "--kafka-brokers", "localhost", "--database-url", "postgres://127.0.0.1:1/x"}, 2, "--kafka-brokers"},
		{"zero batch size", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--batch-size", "0"}, 2, "--batch-size"},
		{"bad retention", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--keep", "forever"}, 2, "--keep"},
		{"bad sasl mechanism", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--kafka-sasl-mechanism", "kerberos"}, 2, "--kafka-sasl-mechanism"},
		{"sasl without user", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--kafka-sasl-mechanism", "plain"}, 2, "--kafka-sasl-user"},
		{"bad window", []string{"status", "--database-url", "postgres://127.0.0.1:1/x", "--from", "last tuesday"}, 2, "--from"},
		{"missing catalog dir", []string{"classify", "--catalog-dir", "/does/not/exist"}, 2, "--catalog-dir"},
		{"zero record bound", []string{"classify", "--max-record-bytes", "0"}, 2, "--max-record-bytes"},
		{"negative record bound", []string{"classify", "--max-record-bytes=-5"}, 2, "--max-record-bytes"},
		{"negative body bound", []string{"replay", "--database-url", "postgres://127.0.0.1:1/x", "--max-body-bytes=-1", "x.ndjson"}, 2, "--max-body-bytes"},
		{"negative drain timeout", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--drain-timeout=-1s"}, 2, "--drain-timeout"},
		{"negative batch wait", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--batch-wait=-1s"}, 2, "--batch-wait"},
		{"negative session timeout", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--kafka-session-timeout=-1s"}, 2, "--kafka-session-timeout"},
		{"zero rebalance timeout", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--kafka-rebalance-timeout=0s"}, 2, "--kafka-rebalance-timeout"},
		{"negative rollup retention", []string{"run", "--kafka-brokers", "127.0.0.1:9092", "--database-url", "postgres://127.0.0.1:1/x", "--rollup-keep=-5d"}, 2, "--rollup-keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runIngest(t, nil, noEnv, tt.args...)
			require.Equal(t, tt.code, code, "stderr: %s", stderr)
			require.Contains(t, stderr, tt.want)
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, cmd := range []string{"classify", "run", "replay", "migrate", "status"} {
		code, out, _ := runIngest(t, nil, nil, cmd, "--help")
		require.Equal(t, 0, code, cmd)
		require.Contains(t, out, "Usage: ingest "+cmd)
	}
	_, out, _ := runIngest(t, nil, nil, "run", "--help")
	require.Contains(t, out, `--http-addr="127.0.0.1:9464"`, "metrics listen on loopback by default")
	require.Contains(t, out, `--batch-size=5000`)
	require.Contains(t, out, `--kafka-session-timeout=30s`)
}

func TestStatusOnAnUnmigratedDatabaseNamesMigrate(t *testing.T) {
	code, _, stderr := runIngest(t, nil, nil, "status", "--database-url", newDatabase(t))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "run `ingest migrate`")
	require.NotContains(t, stderr, "SQLSTATE")
}

func TestReplaySummaryCountsInWords(t *testing.T) {
	db := newDatabase(t)
	code, _, stderr := runIngest(t, nil, nil, "migrate", "--database-url", db)
	require.Equal(t, 0, code, stderr)
	file := filepath.Join(t.TempDir(), "one.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(`{"ts":"`+time.Now().UTC().Format(time.RFC3339)+`","provider":"finix","status":201}`+"\n"), 0o644))
	code, out, stderr := runIngest(t, nil, nil, "replay", "--database-url", db, file)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, file+": 1 line, 0 already stored, 1 record stored, 0 dead letters\n", out)
}

func TestRunRefusesASchemaThatIsBehind(t *testing.T) {
	db := newDatabase(t)
	code, _, stderr := runIngest(t, nil, nil, "run", "--kafka-brokers", "127.0.0.1:9", "--database-url", db, "--http-addr", "")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "ingest migrate")

	code, out, stderr := runIngest(t, nil, nil, "migrate", "status", "--database-url", db)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "pending")
	code, out, stderr = runIngest(t, nil, nil, "migrate", "--database-url", db)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "up to date")
}

func TestClassifyCommandOneLinePerInputLine(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	in, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "classify", "testdata", "records.ndjson"))
	require.NoError(t, err)
	in = append(in, []byte("garbage\n\n{\"ts\":\"x\",\"provider\":\"finix\",\"status\":500}\n{\"ts\":\"2026-11-02T10:00:00Z\",\"msg\":\"user logged in\"}\n")...)
	code, out, stderr := runIngest(t, in, nil, "classify")
	require.Equal(t, 0, code, stderr)
	inLines := strings.Split(strings.TrimSuffix(string(in), "\n"), "\n")
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, outLines, len(inLines))
	require.Contains(t, outLines[len(outLines)-1], `"reason":"not_a_call"`)
	require.Contains(t, outLines[len(outLines)-2], `"reason":"bad_timestamp"`)
	require.Contains(t, outLines[len(outLines)-3], `"reason":"empty"`)
	require.Contains(t, outLines[len(outLines)-4], `"reason":"not_json"`)
	require.Contains(t, outLines[0], `"shape":"contract"`)
}

// A keyword/value connection string holds its password in the clear: no
// message may show it.
func TestConnectionStringNeverPrinted(t *testing.T) {
	out, err := exec.Command(ingestBin, "migrate", "--database-url", "host=127.0.0.1 port=1 user=x password=hunter2 connect_timeout=1").CombinedOutput()
	require.Error(t, err)
	require.NotContains(t, string(out), "hunter2")
	require.Contains(t, string(out), "not shown")
}
