package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	helpCommand = regexp.MustCompile(`(?m)^  ([a-z]+)(?: [^\n]*)?$`)
	helpFlag    = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)
	helpEnv     = regexp.MustCompile(`\(\$([A-Z_]+)\)`)
)

// TestREADMEListsEveryFlag reads every subcommand's --help of the built
// ingest and report commands and requires each flag, and each environment
// variable that sets one, in the README's configuration section.
func TestREADMEListsEveryFlag(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	text := string(readme)
	start := strings.Index(text, "## Configuration")
	require.GreaterOrEqual(t, start, 0, "README has a Configuration section")
	end := strings.Index(text[start+1:], "\n## ")
	config := text[start : start+1+end]

	reportBin := filepath.Join(t.TempDir(), "report")
	build := exec.Command("go", "build", "-o", reportBin, "./cmd/report")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, bin := range []string{ingestBin, reportBin} {
		top, err := exec.Command(bin, "--help").CombinedOutput()
		require.NoError(t, err)
		commands := helpCommand.FindAllStringSubmatch(string(top), -1)
		require.NotEmpty(t, commands, "%s --help lists its commands", bin)
		for _, c := range commands {
			help, err := exec.Command(bin, c[1], "--help").CombinedOutput()
			require.NoError(t, err, "%s %s --help", bin, c[1])
			for _, f := range helpFlag.FindAllStringSubmatch(string(help), -1) {
				if f[1] == "help" {
					continue
				}
				require.Contains(t, config, "`--"+f[1]+"`", "%s %s --%s is in the README's configuration tables", filepath.Base(bin), c[1], f[1])
			}
			for _, e := range helpEnv.FindAllStringSubmatch(string(help), -1) {
				require.Contains(t, config, "`"+e[1]+"`", "%s %s: $%s is in the README's configuration tables", filepath.Base(bin), c[1], e[1])
			}
		}
	}
}
