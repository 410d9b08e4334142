package migrations_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/migrations"
	"github.com/faultline-dev/faultline/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestUpDownUp applies every migration, rolls them all back, and applies
// them again: the Down sections must undo their Up sections exactly.
func TestUpDownUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pgtest.New(t))
	require.NoError(t, err)
	defer db.Close()
	p, err := migrations.NewProvider(db)
	require.NoError(t, err)
	sources := p.ListSources()
	require.NotEmpty(t, sources)
	latest := sources[len(sources)-1].Version

	up, err := p.Up(ctx)
	require.NoError(t, err)
	require.Len(t, up, len(sources))
	tables := func() int {
		var n int
		require.NoError(t, db.QueryRowContext(ctx,
			"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'").Scan(&n))
		return n
	}
	require.Equal(t, 6, tables())

	_, err = p.DownTo(ctx, 0)
	require.NoError(t, err)
	require.Zero(t, tables(), "down leaves nothing behind")
	var seqs int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM pg_sequences WHERE schemaname = 'public' AND sequencename NOT LIKE 'goose%'").Scan(&seqs))
	require.Zero(t, seqs)

	_, err = p.Up(ctx)
	require.NoError(t, err)
	v, err := p.GetDBVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, latest, v)
}
