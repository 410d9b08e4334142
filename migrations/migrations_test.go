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
	require.Equal(t, 14, tables())

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

// TestSubcodeMigrationKeepsRows applies migration 1, stores error rollup
// rows, applies 2: the rows keep their counts (empty subcode), and counting per
// subcode works; rolling 2 back merges the subcodes again.
func TestSubcodeMigrationKeepsRows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pgtest.New(t))
	require.NoError(t, err)
	defer db.Close()
	p, err := migrations.NewProvider(db)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 1)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO rollup_errors (minute, provider, category, code, count)
		VALUES ('2026-11-02T10:00:00Z', 'finix', 'decline', 'DECLINED', 5)`)
	require.NoError(t, err)

	_, err = p.UpTo(ctx, 2)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO rollup_errors (minute, provider, category, code, subcode, count)
		VALUES ('2026-11-02T10:00:00Z', 'finix', 'decline', 'DECLINED', 'CALL_ISSUER', 2)
		ON CONFLICT (minute, provider, category, code, subcode) DO UPDATE SET count = rollup_errors.count + excluded.count`)
	require.NoError(t, err)
	var rows, total int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*), sum(count) FROM rollup_errors`).Scan(&rows, &total))
	require.Equal(t, 2, rows, "the old row and the subcode's row")
	require.Equal(t, 7, total)

	_, err = p.DownTo(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*), sum(count) FROM rollup_errors`).Scan(&rows, &total))
	require.Equal(t, 1, rows, "merged back")
	require.Equal(t, 7, total)
}

// TestEndpointTemplatesMigrationRegistersStoredEndpoints stores request
// rollups before 00010 and finds their endpoints registered after it, with
// the method unknown, ready to be learned from and folded.
func TestEndpointTemplatesMigrationRegistersStoredEndpoints(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("pgx", pgtest.New(t))
	require.NoError(t, err)
	defer db.Close()
	p, err := migrations.NewProvider(db)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 8)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO rollup_requests (minute, provider, endpoint, requests, errors) VALUES
		('2026-11-02T10:00:00Z', 'paylera', '/v1/invoices/inv_ahxdybwyej/pay', 1, 0),
		('2026-11-02T10:01:00Z', 'paylera', '/v1/invoices/inv_hnnyockcxr/pay', 1, 1);
		INSERT INTO rollup_requests_hourly (hour, provider, endpoint, requests, errors) VALUES
		('2026-11-02T10:00:00Z', 'paylera', '/v1/invoices/inv_ahxdybwyej/pay', 1, 0),
		('2026-11-02T10:00:00Z', 'paylera', '/v1/invoices/inv_hnnyockcxr/pay', 1, 1)`)
	require.NoError(t, err)
	_, err = p.UpTo(ctx, 10)
	require.NoError(t, err)
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE provider = 'paylera' AND method = ''`).Scan(&n))
	require.Equal(t, 2, n)
}
