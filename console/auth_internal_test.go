package console

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// htpasswdB runs the real `htpasswd -B` of Apache (Debian apache2-utils;
// CI installs it) to write or add user to path.
func htpasswdB(t *testing.T, path, user, password string, create bool) {
	t.Helper()
	bin, err := exec.LookPath("htpasswd")
	require.NoError(t, err, "Apache's htpasswd is needed: apt-get install apache2-utils")
	args := []string{"-bB"}
	if create {
		args = []string{"-cbB"}
	}
	out, err := exec.Command(bin, append(args, path, user, password)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func TestHtpasswdFileOfApacheHtpasswd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdB(t, path, "support", "s3cret pass", true)
	htpasswdB(t, path, "oncall", "another:one", false)
	h, err := LoadHtpasswd(path, nil)
	require.NoError(t, err)
	require.NoError(t, h.Verify("support", "s3cret pass"))
	require.NoError(t, h.Verify("oncall", "another:one"), "a colon in a password")
	require.ErrorIs(t, h.Verify("support", "s3cret pass "), ErrUnauthenticated)
	require.ErrorIs(t, h.Verify("oncall", "s3cret pass"), ErrUnauthenticated, "another user's password")
	require.ErrorIs(t, h.Verify("nobody", "s3cret pass"), ErrUnauthenticated)
	require.ErrorIs(t, h.Verify("", ""), ErrUnauthenticated)
}

func TestHtpasswdRefusesOtherSchemes(t *testing.T) {
	dir := t.TempDir()
	const ok = "ok:$2y$05$vQhGojuCEXIhdn/AjClJBeKimj/JdTmDBrnEwwDNK5rtcb8k7jNxq\n"
	for _, tc := range []struct {
		name, content string
		line          int
		secret        string // what the error must not show
	}{
		{"md5", "# users\n" + ok + "md5user:$apr1$Opjq0OnW$BeeDmoEDSMuWQEaUgAMl1/\n", 3, "Opjq0OnW"},
		{"sha1", "\n\n" + ok + "sha:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 4, "W6ph5Mm5"},
		{"plain", ok + "plain:hunter2hunter2\n", 2, "hunter2"},
		{"no colon", ok + "hunter2hunter2\n", 2, "hunter2"},
		{"truncated", ok + "cut:$2y$05$vQhGojuCEXIhdn\n", 2, "vQhGoj"},
		{"duplicated", ok + ok, 2, "vQhGoj"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			_, err := LoadHtpasswd(path, nil)
			require.ErrorContains(t, err, fmt.Sprintf("line %d: ", tc.line))
			require.NotContains(t, err.Error(), tc.secret, "the error never shows the line's content")
		})
	}
	t.Run("the committed file of htpasswd -m", func(t *testing.T) {
		_, err := LoadHtpasswd("testdata/htpasswd-md5", nil)
		require.ErrorContains(t, err, "line 1: not a bcrypt hash ($2y$, $2a$ or $2b$): write the file with htpasswd -B")
		require.NotContains(t, err.Error(), "$apr1$")
	})
	t.Run("an empty file", func(t *testing.T) {
		path := filepath.Join(dir, "empty")
		require.NoError(t, os.WriteFile(path, []byte("# nobody\n"), 0o600))
		_, err := LoadHtpasswd(path, nil)
		require.ErrorContains(t, err, "no users")
	})
}

func TestHtpasswdCachesAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "htpasswd")
	write := func(user, password string) {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path+".new", []byte(user+":"+strings.Replace(string(hash), "$2a$", "$2y$", 1)+"\n"), 0o600))
		require.NoError(t, os.Rename(path+".new", path))
	}
	write("support", "first password")
	h, err := LoadHtpasswd(path, nil)
	require.NoError(t, err)
	clock := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return clock }

	require.NoError(t, h.Verify("support", "first password"))
	require.Len(t, h.verified, 1, "a success is remembered")
	require.ErrorIs(t, h.Verify("support", "wrong"), ErrUnauthenticated)
	require.Len(t, h.verified, 1, "a failure is not")

	// The password changes: within ReloadCheck the file is not read again;
	// after it, the old password stops working and the new one works.
	write("support", "second password, longer")
	require.NoError(t, h.Verify("support", "first password"), "not checked again yet")
	clock = clock.Add(ReloadCheck)
	require.ErrorIs(t, h.Verify("support", "first password"), ErrUnauthenticated)
	require.NoError(t, h.Verify("support", "second password, longer"))

	// A remembered password is verified again after CacheTTL.
	clock = clock.Add(CacheTTL)
	key := verifiedKey("support", "second password, longer")
	require.False(t, clock.Before(h.verified[key]), "expired")
	require.NoError(t, h.Verify("support", "second password, longer"))
	require.True(t, clock.Before(h.verified[key]), "remembered again")

	// A file broken by an edit lets nobody in, and logs; fixed, it works again.
	require.NoError(t, os.WriteFile(path, []byte("support:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"), 0o600))
	clock = clock.Add(ReloadCheck)
	require.ErrorIs(t, h.Verify("support", "second password, longer"), ErrUnauthenticated)
	write("support", "third")
	clock = clock.Add(ReloadCheck)
	require.NoError(t, h.Verify("support", "third"))
}
