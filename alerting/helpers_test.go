package alerting_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	dropBenchDatabase()
	os.Exit(code)
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// migrated returns a store on a fresh migrated database, and a pool of
// the test's own on it.
func migrated(t testing.TB) (*store.Store, *pgxpool.Pool, string) {
	t.Helper()
	url := pgtest.New(t)
	ctx := testCtx(t, time.Minute)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	db, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return st, db, url
}

// ingestScenario stores the scenario's traffic through the real pipeline:
// its records, a day per NDJSON file, replayed by ingest.Replay (classify,
// redact, batch, write with rollups and groups). It returns the records
// stored.
func ingestScenario(t testing.TB, st *store.Store, s synth.Scenario) int64 {
	t.Helper()
	ctx := testCtx(t, 5*time.Minute)
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	cls, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	end := s.Start.Add(s.Duration)
	r, err := ingest.NewReplay(ingest.ReplayConfig{Store: st, Classifier: cls, BatchSize: 20000,
		Builder: ingest.BuilderOptions{Now: func() time.Time { return end }}})
	require.NoError(t, err)
	stream, err := s.Stream()
	require.NoError(t, err)
	dir := t.TempDir()
	var stored int64
	var line []byte
	var ts time.Time
	ok := true
	line, ts, ok = stream.Next(line[:0])
	for day := 0; ok; day++ {
		dayEnd := s.Start.Add(time.Duration(day+1) * 24 * time.Hour)
		path := filepath.Join(dir, "day.ndjson")
		f, err := os.Create(path)
		require.NoError(t, err)
		w := bufio.NewWriterSize(f, 1<<20)
		for ok && ts.Before(dayEnd) {
			line = append(line, '\n')
			_, err := w.Write(line)
			require.NoError(t, err)
			line, ts, ok = stream.Next(line[:0])
		}
		require.NoError(t, w.Flush())
		require.NoError(t, f.Close())
		stats, err := r.File(ctx, path)
		require.NoError(t, err)
		require.Zero(t, stats.DeadLetters, "day %d", day)
		stored += stats.Stored
	}
	return stored
}

// analyze refreshes the planner's statistics after a bulk load, as
// autovacuum does a minute later on a live database: a never-analysed
// table looks empty to the planner, which then scans it whole.
func analyze(t testing.TB, db *pgxpool.Pool) {
	t.Helper()
	_, err := db.Exec(testCtx(t, time.Minute), "ANALYZE rollup_requests, rollup_errors, error_groups")
	require.NoError(t, err)
}

// readScenario reads a scenario from testdata.
func readScenario(t testing.TB, name string) synth.Scenario {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	s, err := synth.ParseScenario(data)
	require.NoError(t, err)
	return s
}

// classifierFunc adapts the real classifier to synth's NextMinute.
func classifierFunc(t testing.TB) synth.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	return func(rec []byte) (synth.Classification, error) {
		ev, err := c.Classify(rec)
		if err != nil {
			return synth.Classification{}, err
		}
		return synth.Classification{IsError: ev.IsError, Category: string(ev.Category), Code: ev.Code, Subcode: ev.Subcode,
			Method: ev.Method, Endpoint: ev.Endpoint}, nil
	}
}

func classifyCategory(s string) classify.Category { return classify.Category(s) }
