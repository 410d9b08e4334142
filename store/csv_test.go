package store_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/store"
)

// TestWriteEventsCSV loads WriteEventsCSV's output with COPY ... CSV (what
// psql's \copy does) and checks that it stores exactly the rows WriteBatch
// stores.
func TestWriteEventsCSV(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	evs := events(base.Add(123456789*time.Nanosecond), "finix", 0, 6)
	evs[0].Message = "quotes \" and, commas\nnewlines \\ backslashes"
	evs[0].Body = `{"x":"a,b","y":"\"q\""}` + "\r\n"
	evs[1].References = []string{`with "quote"`, `back\slash`, "comma,brace{}", "NULL", ""}
	evs[1].Subcode = ""
	evs[2].CorrelationID, evs[2].TraceID, evs[2].References = "", "", nil
	evs[2].DurationMS = math.NaN()
	evs[3].DurationMS = math.Inf(1)
	evs[3].Status = 0
	evs[4].Message = "NUL \x00 and bad \xff bytes"
	evs[5].Message = ""
	evs[5].Body = ""

	stA, dbA := migrated(t)
	require.NoError(t, stA.WriteBatch(ctx, batchOf(src(0), store.NoOffset, 6, evs)))

	var csv bytes.Buffer
	require.NoError(t, store.WriteEventsCSV(&csv, evs))

	stB, dbB := migrated(t)
	require.NoError(t, stB.EnsurePartitions(ctx, base, base))
	conn, err := dbB.Acquire(ctx)
	require.NoError(t, err)
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(csv.Bytes()),
		"COPY events ("+strings.Join(store.CopyColumns(), ", ")+") FROM STDIN WITH (FORMAT csv)")
	conn.Release()
	require.NoError(t, err)
	require.EqualValues(t, len(evs), tag.RowsAffected())

	require.Equal(t, rowTexts(t, dbA), rowTexts(t, dbB))
}

func rowTexts(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(testCtx(t), "SELECT ROW("+strings.Join(store.CopyColumns(), ", ")+")::text FROM events ORDER BY src_offset")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}
