package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/store"
)

// A sample that ingestion replaces while RedactGroupSamples runs is the
// newer one: the pass only changes the sample it read.
func TestRedactGroupSamplesLeavesANewerSample(t *testing.T) {
	st, pool := migrated(t)
	ctx := testCtx(t)
	now := time.Now().UTC()
	for _, fp := range []string{"a", "b"} {
		_, err := pool.Exec(ctx, `INSERT INTO error_groups (fingerprint, provider, category, first_seen, last_seen, count,
			sample_message, sample_correlation_id) VALUES ($1, 'finix', 'declined', $2, $2, 1, 'key SECRET-'||$1, 'id-'||$1)`, fp, now)
		require.NoError(t, err)
	}
	same := func(s string) string { return s }
	res, err := st.RedactGroupSamples(ctx, store.Redaction{Text: func(msg string) string {
		if strings.HasSuffix(msg, "-a") {
			// Ingestion stores a newer sample of group a meanwhile.
			_, err := pool.Exec(ctx, `UPDATE error_groups SET sample_message = 'newer', sample_correlation_id = NULL WHERE fingerprint = 'a'`)
			require.NoError(t, err)
		}
		return strings.ReplaceAll(msg, "SECRET", "[REDACTED]")
	}, Body: same, ID: same})
	require.NoError(t, err)
	require.Equal(t, store.Redacted{Read: 2, Changed: 1}, res)
	got := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT fingerprint, sample_message || '|' || coalesce(sample_correlation_id, '') FROM error_groups`)
	require.NoError(t, err)
	for rows.Next() {
		var fp, v string
		require.NoError(t, rows.Scan(&fp, &v))
		got[fp] = v
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]string{"a": "newer|", "b": "key [REDACTED]-b|id-b"}, got)
}
