package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/internal/testwait"
	"github.com/faultline-dev/faultline/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestNewGivesAnEmptyDatabaseDroppedAtCleanup(t *testing.T) {
	ctx := context.Background()
	var dbName string
	t.Run("use", func(t *testing.T) {
		url := pgtest.New(t)
		conn, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var tables int
		require.NoError(t, conn.QueryRow(ctx,
			"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables))
		require.Zero(t, tables)
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&dbName))
		require.Regexp(t, `^faultline_[0-9a-f]{16}$`, dbName)
		// A connection left open must not stop the drop.
		_, err = conn.Exec(ctx, "CREATE TABLE t (x int)")
		require.NoError(t, err)
	})
	conn, err := pgx.Connect(ctx, pgtest.Server(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	// Under Main the drop runs in the background.
	testwait.Until(t, 30*time.Second, "database "+dbName+" dropped after its test", func() bool {
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", dbName).Scan(&n))
		return n == 0
	})
}

// TestPrivateServer forces the throwaway path: initdb and pg_ctl in a
// temporary directory, stopped and started again on the same data.
func TestPrivateServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := pgtest.NewPrivate(t)

	url := p.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
	require.NoError(t, err)

	p.Stop(t)
	_, err = conn.Exec(ctx, "SELECT 1")
	require.Error(t, err, "the server is down")
	conn.Close(ctx)
	_, err = pgx.Connect(ctx, url)
	require.Error(t, err, "the server is down")

	p.Start(t)
	conn, err = pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var x int
	require.NoError(t, conn.QueryRow(ctx, "SELECT x FROM kept").Scan(&x))
	require.Equal(t, 42, x, "data survives a restart")
}
