package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReclassifyFollowsAnImprovedCatalog stores Finix errors, improves the
// Finix catalog (DECLINED gets another category; uncoded 503s get a status
// rule, which moves them to another error group), runs `ingest
// reclassify`, and checks events, rollups and groups; a second run changes
// nothing.
func TestReclassifyFollowsAnImprovedCatalog(t *testing.T) {
	dbURL := newDatabase(t)
	out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "%s", out)
	db, err := pgxpoolNew(dbURL)
	require.NoError(t, err)
	defer db.Close()

	base := time.Now().UTC().Add(-26 * time.Hour).Truncate(time.Hour) // two UTC days or three
	var recs []string
	for i := 0; i < 60; i++ {
		ts := base.Add(time.Duration(i) * 25 * time.Minute).Format(time.RFC3339)
		switch i % 3 {
		case 0:
			recs = append(recs, `{"ts":"`+ts+`","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":402,"response_body":{"_embedded":{"errors":[{"logref":"L`+strconv.Itoa(i)+`","code":"DECLINED","failure_code":"CALL_ISSUER"}]}}}`)
		case 1:
			recs = append(recs, `{"ts":"`+ts+`","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":503,"response_body":"<html><title>down</title></html>"}`)
		default:
			recs = append(recs, `{"ts":"`+ts+`","provider":"finterra","method":"GET","url":"https://api.myfinterra.com/pos/v1/orders/ord_1","status":404,"response_body":{"error":"order_not_found","request_id":"r`+strconv.Itoa(i)+`"}}`)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "records.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(recs, "\n")+"\n"), 0o644))
	out, err = exec.Command(ingestBin, "replay", "--database-url", dbURL, file).CombinedOutput()
	require.NoError(t, err, "%s", out)

	type counts map[string]int64
	read := func(query string) counts {
		c := counts{}
		rows, err := db.Query(context.Background(), query)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int64
			require.NoError(t, rows.Scan(&k, &n))
			c[k] = n
		}
		require.NoError(t, rows.Err())
		return c
	}
	eventsBy := `SELECT provider||'/'||code||'/'||status||'/'||category||'/'||known, count(*) FROM events GROUP BY 1`
	rollupsBy := `SELECT provider||'/'||code||'/'||category, sum(count)::bigint FROM rollup_errors GROUP BY 1`
	groupsBy := `SELECT provider||'/'||code||'/'||category, sum(count)::bigint FROM error_groups GROUP BY 1`
	require.Equal(t, counts{"finix/DECLINED/402/decline/true": 20, "finix//503/provider_error/false": 20, "finterra/order_not_found/404/not_found/true": 20}, read(eventsBy))
	require.Equal(t, counts{"finix/DECLINED/decline": 20, "finix//provider_error": 20, "finterra/order_not_found/not_found": 20}, read(rollupsBy))
	requestsBefore := read(`SELECT provider, sum(requests)::bigint FROM rollup_requests GROUP BY 1`)

	// The improved catalog: DECLINED is now (for the test) a validation
	// error, and Finix documents what an uncoded 503 is.
	orig, err := os.ReadFile(filepath.Join("..", "classify", "catalogs", "finix.yaml"))
	require.NoError(t, err)
	improved := strings.Replace(string(orig), "  - code: DECLINED\n    status: 402\n    category: decline\n", "  - code: DECLINED\n    status: 402\n    category: validation\n", 1)
	require.NotEqual(t, string(orig), improved, "the catalog entry to change was found")
	improved = strings.Replace(improved, "codes:\n", "statuses:\n  - {status: 503, category: rate_limit, remediation: Finix sheds load with 503s.}\ncodes:\n", 1)
	catDir := filepath.Join(dir, "catalogs")
	require.NoError(t, os.Mkdir(catDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(catDir, "finix.yaml"), []byte(improved), 0o644))

	run := func() string {
		out, err := exec.Command(ingestBin, "reclassify", "--database-url", dbURL, "--catalog-dir", catDir,
			"--from", base.Add(-time.Hour).Format(time.RFC3339), "--to", time.Now().UTC().Format(time.RFC3339)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, run(), "60 error events read, 40 reclassified")
	wantEvents := counts{"finix/DECLINED/402/validation/true": 20, "finix//503/rate_limit/true": 20, "finterra/order_not_found/404/not_found/true": 20}
	wantRollups := counts{"finix/DECLINED/validation": 20, "finix//rate_limit": 20, "finterra/order_not_found/not_found": 20}
	require.Equal(t, wantEvents, read(eventsBy))
	require.Equal(t, wantRollups, read(rollupsBy))
	require.Equal(t, wantRollups, read(groupsBy), "groups follow, the 503s into a group of their own")
	require.Equal(t, wantRollups, read(`SELECT provider||'/'||code||'/'||category, sum(count)::bigint FROM rollup_errors_hourly GROUP BY 1`),
		"the hourly rollups follow as the per-minute ones do")
	require.Equal(t, int64(0), read(`SELECT 'n', count(*) FROM rollup_errors_hourly WHERE count <= 0`)["n"])
	require.Equal(t, int64(0), read(`SELECT 'n', count(*) FROM rollup_errors WHERE count <= 0`)["n"], "no empty rollup rows left")
	require.Equal(t, int64(3), read(`SELECT 'n', count(*) FROM error_groups`)["n"], "the 503s' old group is gone")
	require.Equal(t, int64(0), read(`SELECT 'n', count(*) FROM events e WHERE NOT EXISTS (SELECT FROM error_groups g WHERE g.fingerprint = e.fingerprint)`)["n"],
		"every event's fingerprint names a group")
	require.Equal(t, requestsBefore, read(`SELECT provider, sum(requests)::bigint FROM rollup_requests GROUP BY 1`), "request counts do not change")

	require.Contains(t, run(), "60 error events read, 0 reclassified", "a second run changes nothing")
	require.Equal(t, read(`SELECT to_char(date_trunc('hour', minute AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24')||'/'||provider||'/'||category||'/'||code||'/'||subcode, sum(count)::bigint FROM rollup_errors GROUP BY 1`),
		read(`SELECT to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')||'/'||provider||'/'||category||'/'||code||'/'||subcode, count FROM rollup_errors_hourly`),
		"every hour of the hourly rollup is the sum of its minutes")
	require.Equal(t, wantEvents, read(eventsBy))
	require.Equal(t, wantRollups, read(rollupsBy))
	require.Equal(t, wantRollups, read(groupsBy))
}
