package test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// executable reports whether a file starting with head is a compiled
// program: ELF, Mach-O (32 and 64 bits, both byte orders, universal) or
// PE ("MZ" followed by bytes that are not text).
func executable(head []byte) bool {
	for _, m := range [][]byte{
		[]byte("\x7fELF"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
		{0xca, 0xfe, 0xba, 0xbe},
	} {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return len(head) == 4 && head[0] == 'M' && head[1] == 'Z' &&
		(head[2] < 0x20 || head[2] >= 0x7f || head[3] < 0x20 || head[3] >= 0x7f)
}

// TestRepositoryHoldsNoBinaries: the repository holds source, never a
// build output. A bare `go build ./tools/x` at the root writes a binary
// there, and `git add -A` takes it: every tracked file is read, and none
// may start like a compiled program.
func TestRepositoryHoldsNoBinaries(t *testing.T) {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files (the tests run in a clone): %v", err)
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	require.Greater(t, len(files), 100)
	var found []string
	for _, name := range files {
		f, err := os.Open(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue // deleted in the working tree, not yet committed
		}
		require.NoError(t, err)
		head := make([]byte, 4)
		n, _ := io.ReadFull(f, head)
		f.Close()
		if executable(head[:n]) {
			found = append(found, name)
		}
	}
	require.Empty(t, found, "compiled programs tracked in git: remove them (git rm) and ignore them")
}
