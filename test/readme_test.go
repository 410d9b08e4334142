package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	helpCommand = regexp.MustCompile(`(?m)^  ([a-z]+)(?: [^\n]*)?$`)
	helpFlag    = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)(?:=("[^"]*"|\S+))?`)
	helpEnv     = regexp.MustCompile(`\(\$([A-Z_]+)\)`)
	// placeholder is what --help shows after a flag without a default:
	// STRING, FILE, KEY=VALUE;..., KAFKA-BROKERS,...
	placeholder = regexp.MustCompile(`^[^a-z0-9"][^a-z]*$`)
	// cellWords splits a README table cell into its words and values.
	cellWords = regexp.MustCompile("[\\s,;()`]+")
)

// TestREADMEListsEveryFlag reads every subcommand's --help of the built
// ingest and report commands and requires each flag, and each environment
// variable that sets one, in the README's configuration section, with the
// default the command has: among the words of the default column of the
// flag's row (in the Shared table or the command's own).
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
	rows := readmeRows(t, config)

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
				def := strings.Trim(f[2], `"`)
				if def == "" || (!strings.HasPrefix(f[2], `"`) && placeholder.MatchString(def)) {
					continue // no default
				}
				var cells []string
				for _, r := range rows[filepath.Base(bin)] {
					if strings.Contains(r.flags, "`--"+f[1]+"`") {
						cells = append(cells, r.def)
					}
				}
				require.NotEmpty(t, cells, "%s %s --%s has a row", filepath.Base(bin), c[1], f[1])
				found := false
				for _, cell := range cells {
					found = found || slices.Contains(cellWords.Split(cell, -1), def)
				}
				require.True(t, found, "%s %s --%s: README's default %q is not the command's, %s", filepath.Base(bin), c[1], f[1], cells, def)
			}
			for _, e := range helpEnv.FindAllStringSubmatch(string(help), -1) {
				require.Contains(t, config, "`"+e[1]+"`", "%s %s: $%s is in the README's configuration tables", filepath.Base(bin), c[1], e[1])
			}
		}
	}
}

// readmeRow is a row of a configuration table: its flags and its default.
type readmeRow struct{ flags, def string }

// readmeRows returns the rows of the configuration tables that hold for
// each command: the Shared table's and its own (**ingest**, **report**).
func readmeRows(t *testing.T, config string) map[string][]readmeRow {
	rows := map[string][]readmeRow{}
	table := ""
	for _, line := range strings.Split(config, "\n") {
		if name, ok := strings.CutPrefix(line, "**"); ok {
			table = strings.TrimSuffix(name, "**")
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|") // "", flags, environment, default, …
		require.GreaterOrEqual(t, len(cells), 4, line)
		r := readmeRow{flags: cells[1], def: cells[3]}
		switch table {
		case "Shared":
			rows["ingest"] = append(rows["ingest"], r)
			rows["report"] = append(rows["report"], r)
		case "ingest", "report":
			rows[table] = append(rows[table], r)
		default:
			t.Fatalf("README's configuration table %q is neither Shared, ingest nor report", table)
		}
	}
	require.NotEmpty(t, rows["ingest"])
	require.NotEmpty(t, rows["report"])
	return rows
}
