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
	in = append(in, []byte("garbage\n\n{\"ts\":\"x\"}\n")...)
	code, out, stderr := runIngest(t, in, nil, "classify")
	require.Equal(t, 0, code, stderr)
	inLines := strings.Split(strings.TrimSuffix(string(in), "\n"), "\n")
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, outLines, len(inLines))
	require.Contains(t, outLines[len(outLines)-1], `"reason":"bad_timestamp"`)
	require.Contains(t, outLines[len(outLines)-2], `"reason":"empty"`)
	require.Contains(t, outLines[len(outLines)-3], `"reason":"not_json"`)
}
