package validate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

// TestLoginRoles runs deploy/postgres/login-roles.sql (as compose and the
// Kubernetes docs run it) twice on a migrated database, then connects as
// each user: ingest's may write offsets and not drop a table, report's
// reads and writes nothing, alerts' stores an alert.
// loginRoles migrates a fresh database and runs
// deploy/postgres/login-roles.sql on it (as compose and the Kubernetes docs
// run it) times times, with users of their own, dropped when the test
// ends. It returns the URL of the database logged in as who ("ingest",
// "report" or "alerts").
func loginRoles(t *testing.T, times int) (login func(who string) string) {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Fatalf("psql not found: install postgresql-client (CI: .ci/run does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL := pgtest.New(t)
	st, err := store.Open(ctx, dbURL)
	require.NoError(t, err)
	_, err = st.Migrate(ctx)
	st.Close()
	require.NoError(t, err)

	b := make([]byte, 5)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	users := map[string]string{"ingest": "fl_ingest_" + suffix, "report": "fl_report_" + suffix, "alerts": "fl_alerts_" + suffix}
	args := []string{"-v", "ON_ERROR_STOP=1"}
	for k, u := range users {
		args = append(args, "-v", k+"_user="+u, "-v", k+"_password="+u+"-pw")
	}
	args = append(args, "-f", repo("deploy", "postgres", "login-roles.sql"), dbURL)
	for range times {
		out, err := exec.Command("psql", args...).CombinedOutput()
		require.NoError(t, err, "login-roles.sql: %s", out)
	}
	t.Cleanup(func() {
		for _, u := range users {
			_ = exec.Command("psql", "-c", fmt.Sprintf(`DROP OWNED BY %q`, u), "-c", fmt.Sprintf(`DROP ROLE %q`, u), dbURL).Run()
		}
	})
	return func(who string) string {
		u, err := url.Parse(dbURL)
		require.NoError(t, err)
		u.User = url.UserPassword(users[who], users[who]+"-pw")
		return u.String()
	}
}

// TestLoginRoles runs deploy/postgres/login-roles.sql twice on a migrated
// database, then connects as each user: ingest's may write offsets and not
// drop a table, report's reads and writes nothing, alerts' stores an alert.
func TestLoginRoles(t *testing.T) {
	login := loginRoles(t, 2) // idempotent
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// run runs sql with psql, logged in as who's user, and returns what
	// psql said and whether it succeeded.
	run := func(who, sql string) (string, bool) {
		out, err := exec.CommandContext(ctx, "psql", "-v", "ON_ERROR_STOP=1", "-c", sql, login(who)).CombinedOutput()
		return string(out), err == nil
	}
	ok := func(who, sql string) {
		out, succeeded := run(who, sql)
		require.True(t, succeeded, "%s may: %s\n%s", who, sql, out)
	}
	refused := func(who, sql, why string) {
		out, succeeded := run(who, sql)
		require.False(t, succeeded, "%s may not: %s", who, sql)
		require.Contains(t, out, why, "%s: %s", who, sql)
	}
	ok("ingest", `INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ('g', 't', 0, 1)`)
	refused("ingest", `DROP TABLE consumer_offsets`, "must be owner")
	ok("report", `SELECT count(*) FROM events`)
	refused("report", `UPDATE consumer_offsets SET next_offset = 2`, "read-only transaction")
	refused("report", `BEGIN READ WRITE; DELETE FROM consumer_offsets; COMMIT`, "permission denied")
	ok("alerts", `SELECT count(*) FROM rollup_errors`)
	refused("alerts", `DELETE FROM consumer_offsets`, "permission denied")
}
