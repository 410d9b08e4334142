package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/faultline-dev/faultline/pgtest"
)

var (
	// root is the repository's root directory.
	root string
	// bins holds faultline's commands built the way deploy/Dockerfile
	// builds them; every test runs these.
	bins string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	tmp, err := os.MkdirTemp("", "faultline-validate-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = buildAsDockerfile(filepath.Join(root, "deploy", "Dockerfile"), tmp)
	if err != nil {
		fmt.Fprintf(os.Stderr, "validate: building the commands as deploy/Dockerfile does: %v\n", err)
		os.RemoveAll(tmp)
		os.Exit(1)
	}
	code := pgtest.Run(m)
	os.RemoveAll(tmp)
	os.Exit(code)
}

// bin is the path of a built command.
func bin(name string) string { return filepath.Join(bins, name) }

// repo is a path of the repository.
func repo(elem ...string) string { return filepath.Join(append([]string{root}, elem...)...) }
