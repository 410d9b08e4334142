package validate

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// runtimeEnv are variables read by the Go runtime rather than by the
// command.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// checkInvocation checks a faultline command line as a deployment states
// it: the command is one the image holds, its subcommand and every flag
// exist (the command itself parses the line), and every environment
// variable given is one the command reads, or one the line refers to as
// $(NAME) (Kubernetes expands those in arguments). files maps paths that
// exist only in the container (mounted secrets) to stand-ins on this
// machine, so that flags that want an existing file can be parsed.
func checkInvocation(t *testing.T, argv []string, env []string, files map[string]string) {
	t.Helper()
	require.NotEmpty(t, argv)
	argv = hostArgs(argv, files)
	if _, err := os.Stat(bin(argv[0])); err != nil {
		if _, err := os.Stat(repo("cmd", argv[0])); os.IsNotExist(err) {
			// cmd/report is written on another branch: the lines that use
			// it are checked once it is merged.
			t.Skipf("cmd/%s is not in this tree yet: %q not checked", argv[0], argv)
		}
		require.NoError(t, err, "%s: not a command of the image", argv[0])
	}
	h := help(t, argv)
	var words []string
	for _, a := range argv {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	require.True(t, strings.HasPrefix(h, "Usage: "+strings.Join(words, " ")), "%q selects the command %q:\n%s", argv, words, h)
	line := strings.Join(argv, " ")
	for _, e := range env {
		if runtimeEnv[e] || strings.Contains(line, "$("+e+")") {
			continue
		}
		require.Contains(t, h, "($"+e+")", "%q does not read %s", words, e)
	}
}

// hostArgs is argv with the container paths of files (as arguments or as
// --flag=path) replaced by their stand-ins on this machine.
func hostArgs(argv []string, files map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = a
		if host, ok := files[a]; ok {
			out[i] = host
			continue
		}
		if flag, path, ok := strings.Cut(a, "="); ok && strings.HasPrefix(flag, "-") {
			if host, ok := files[path]; ok {
				out[i] = flag + "=" + host
			}
		}
	}
	return out
}
