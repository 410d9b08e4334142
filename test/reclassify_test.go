package test

import (
	"context"
	"fmt"
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

// TestReclassifyRedactsErrorGroups plants error groups by SQL whose samples
// hold what an older build let through (vendor keys, a PEM block, an IBAN,
// a CVV in XML, an id-shaped token as the sample correlation id) beside
// groups whose samples are clean, runs `ingest reclassify`, and reads every
// sample back: the secrets are gone, the clean samples and the ids an
// escalation needs are untouched, and a second run changes nothing.
func TestReclassifyRedactsErrorGroups(t *testing.T) {
	dbURL := newDatabase(t)
	out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "%s", out)
	db, err := pgxpoolNew(dbURL)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()

	type sample struct {
		fingerprint, message, correlationID string
		secrets                             []string // must be gone after the pass
		wantMessage, wantCorrelationID      string   // "" for the message: any without the secrets
	}
	samples := []sample{
		{fingerprint: "fp-stripe", message: "Invalid API key provided: sk_live_4eC39HqLyjWDarjtT1zdp7dc", correlationID: "req_01j2abc7k9x8f3m4n5p6q7r8s9",
			secrets: []string{"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, wantMessage: "Invalid API key provided: [REDACTED]", wantCorrelationID: "req_01j2abc7k9x8f3m4n5p6q7r8s9"},
		{fingerprint: "fp-token-id", message: "declined", correlationID: "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",
			secrets: []string{"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"}, wantMessage: "declined", wantCorrelationID: "[REDACTED]"},
		{fingerprint: "fp-pem", message: "bad key -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\n-----END RSA PRIVATE KEY-----",
			secrets: []string{"MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi"}, wantMessage: "bad key [REDACTED]"},
		{fingerprint: "fp-iban", message: "payout to GB82 WEST 1234 5698 7654 32 failed", correlationID: "d4ee0b6cdb67686f0c1ec0780e5b4296",
			secrets: []string{"GB82 WEST 1234 5698 7654 32"}, wantMessage: "payout to [REDACTED] failed", wantCorrelationID: "d4ee0b6cdb67686f0c1ec0780e5b4296"},
		{fingerprint: "fp-xml-cvv", message: "<Card><cvv>847</cvv></Card>", secrets: []string{">847<"}, wantMessage: "<Card><cvv>[REDACTED]</cvv></Card>"},
		{fingerprint: "fp-clean", message: "Authorization AUst6ZdywPwe4fbYWrH1zTNJ was declined", correlationID: "4bf92f3577b34da6a3ce929d0e0e4736",
			wantMessage: "Authorization AUst6ZdywPwe4fbYWrH1zTNJ was declined", wantCorrelationID: "4bf92f3577b34da6a3ce929d0e0e4736"},
	}
	// More groups than one page, so that paging is exercised: clean ones.
	for i := 0; i < 1500; i++ {
		samples = append(samples, sample{fingerprint: fmt.Sprintf("fp-bulk-%04d", i), message: "order not found", correlationID: fmt.Sprintf("req_%04d", i),
			wantMessage: "order not found", wantCorrelationID: fmt.Sprintf("req_%04d", i)})
	}
	samples = append(samples, sample{fingerprint: "fp-zz-last-page", message: "HMAC secret is 8f2kQ9xLm3", secrets: []string{"8f2kQ9xLm3"},
		wantMessage: "HMAC secret is [REDACTED]"})
	now := time.Now().UTC()
	for _, s := range samples {
		_, err := db.Exec(ctx, `INSERT INTO error_groups (fingerprint, provider, code, category, first_seen, last_seen, count,
			sample_message, sample_correlation_id) VALUES ($1, 'finix', 'X', 'declined', $2, $2, 1, $3, nullif($4, ''))`,
			s.fingerprint, now, s.message, s.correlationID)
		require.NoError(t, err)
	}

	run := func() string {
		out, err := exec.Command(ingestBin, "reclassify", "--database-url", dbURL,
			"--from", now.Add(-time.Hour).Format(time.RFC3339), "--to", now.Add(time.Minute).Format(time.RFC3339)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, run(), "error groups: 6 samples redacted again")

	for _, s := range samples {
		var msg, id string
		require.NoError(t, db.QueryRow(ctx, `SELECT sample_message, coalesce(sample_correlation_id, '') FROM error_groups WHERE fingerprint = $1`,
			s.fingerprint).Scan(&msg, &id))
		for _, secret := range s.secrets {
			require.NotContains(t, msg, secret, s.fingerprint)
			require.NotContains(t, id, secret, s.fingerprint)
		}
		require.Equal(t, s.wantMessage, msg, s.fingerprint)
		require.Equal(t, s.wantCorrelationID, id, s.fingerprint)
	}
	require.Contains(t, run(), "error groups: 0 samples redacted again", "a second run changes nothing")
}
