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

// TestReclassifyRedactsWhatOlderBuildsStored plants, by SQL, what an older
// build let through (vendor keys, a PEM block, an IBAN, a CVV in XML, an
// id-shaped token as a correlation id or reference) into error groups'
// samples, events (and event_ids) and dead letters, beside clean rows; runs
// `ingest reclassify`, and reads everything back: the secrets are gone,
// clean rows and the ids an escalation needs are untouched, and a second
// run changes nothing.
func TestReclassifyRedactsWhatOlderBuildsStored(t *testing.T) {
	dbURL := newDatabase(t)
	out, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "%s", out)
	db, err := pgxpoolNew(dbURL)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	now := time.Now().UTC()

	// Events and dead letters stored by this build, clean; then made what
	// an older build would have stored.
	ts := now.Add(-time.Hour).Format(time.RFC3339)
	recs := []string{
		`{"ts":"` + ts + `","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_1","status":402,"response_body":{"error":"card_declined","request_id":"req_01jPlantedAaaaaaaaaaaa"},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
		`{"ts":"` + ts + `","provider":"finix","method":"POST","url":"https://finix.com/transfers","status":402,"response_body":{"_embedded":{"errors":[{"logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","code":"DECLINED","authorization":"AUst6ZdywPwe4fbYWrH1zTNJ"}]}},"trace_id":"0af7651916cd43dd8448eb211c80319c"}`,
		`{"ts":"` + ts + `","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_2","status":404,"response_body":{"error":"order_not_found","request_id":"req_01jCleanBbbbbbbbbbbbbb"}}`,
		`not json at all`,
		`{"provider":"finterra","status":400}`,
	}
	file := filepath.Join(t.TempDir(), "records.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(recs, "\n")+"\n"), 0o644))
	out, err = exec.Command(ingestBin, "replay", "--database-url", dbURL, file).CombinedOutput()
	require.NoError(t, err, "%s", out)
	exec1 := func(sql string, args ...any) {
		t.Helper()
		_, err := db.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	const (
		stripeKey = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
		githubKey = "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"
		slackKey  = "xoxb-2345678901-2345678901234-AbCdEfGhIjKlMnOpQrStUvWx"
		awsKey    = "AKIAIOSFODNN7EXAMPLE"
		pemLine   = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi"
		iban      = "GB82 WEST 1234 5698 7654 32"
	)
	exec1(`UPDATE events SET message = 'Invalid API key provided: `+stripeKey+`', correlation_id = $1, tenant = $2,
		body = '{"error":"x","note":"-----BEGIN RSA PRIVATE KEY-----\n`+pemLine+`\n-----END RSA PRIVATE KEY-----"}'
		WHERE correlation_id = 'req_01jPlantedAaaaaaaaaaaa'`, githubKey, awsKey)
	exec1(`UPDATE event_ids SET id = $1 WHERE id = 'req_01jPlantedAaaaaaaaaaaa'`, githubKey)
	exec1(`UPDATE events SET refs = ARRAY['AUst6ZdywPwe4fbYWrH1zTNJ', $1] WHERE correlation_id = 'd4ee0b6cdb67686f0c1ec0780e5b4296'`, slackKey)
	exec1(`INSERT INTO event_ids (id, ts, event_id, kind) SELECT $1, ts, id, 3 FROM events WHERE correlation_id = 'd4ee0b6cdb67686f0c1ec0780e5b4296'`, slackKey)
	exec1(`UPDATE dead_letters SET raw = 'payout to ` + iban + ` failed', detail = 'key ` + stripeKey + `' WHERE raw = 'not json at all'`)

	type sample struct {
		fingerprint, message, correlationID string
		wantMessage, wantCorrelationID      string
	}
	samples := []sample{
		{"fp-stripe", "Invalid API key provided: " + stripeKey, "req_01j2abc7k9x8f3m4n5p6q7r8s9", "Invalid API key provided: [REDACTED]", "req_01j2abc7k9x8f3m4n5p6q7r8s9"},
		{"fp-token-id", "declined", githubKey, "declined", "[REDACTED]"},
		{"fp-pem", "bad key -----BEGIN RSA PRIVATE KEY-----\n" + pemLine + "\n-----END RSA PRIVATE KEY-----", "", "bad key [REDACTED]", ""},
		{"fp-iban", "payout to " + iban + " failed", "d4ee0b6cdb67686f0c1ec0780e5b4296", "payout to [REDACTED] failed", "d4ee0b6cdb67686f0c1ec0780e5b4296"},
		{"fp-xml-cvv", "<Card><cvv>847</cvv></Card>", "", "<Card><cvv>[REDACTED]</cvv></Card>", ""},
		{"fp-clean", "Authorization AUst6ZdywPwe4fbYWrH1zTNJ was declined", "4bf92f3577b34da6a3ce929d0e0e4736",
			"Authorization AUst6ZdywPwe4fbYWrH1zTNJ was declined", "4bf92f3577b34da6a3ce929d0e0e4736"},
	}
	// More groups than one page, so that paging is exercised: clean ones.
	for i := 0; i < 1500; i++ {
		samples = append(samples, sample{fmt.Sprintf("fp-bulk-%04d", i), "order not found", fmt.Sprintf("req_%04d", i),
			"order not found", fmt.Sprintf("req_%04d", i)})
	}
	samples = append(samples, sample{"fp-zz-last-page", "HMAC secret is 8f2kQ9xLm3", "", "HMAC secret is [REDACTED]", ""})
	for _, s := range samples {
		exec1(`INSERT INTO error_groups (fingerprint, provider, code, category, first_seen, last_seen, count,
			sample_message, sample_correlation_id) VALUES ($1, 'finix', 'X', 'declined', $2, $2, 1, $3, nullif($4, ''))`,
			s.fingerprint, now, s.message, s.correlationID)
	}
	var groups int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM error_groups`).Scan(&groups))

	run := func() string {
		out, err := exec.Command(ingestBin, "reclassify", "--database-url", dbURL,
			"--from", now.Add(-2*time.Hour).Format(time.RFC3339), "--to", now.Add(time.Minute).Format(time.RFC3339)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, run(), fmt.Sprintf("redacted again: 2 of 3 events, 1 of 2 dead letters, 6 of %d error groups", groups))

	// No secret anywhere; what an escalation needs is kept.
	var dump string
	require.NoError(t, db.QueryRow(ctx, `SELECT concat_ws(' ',
		(SELECT string_agg(concat_ws(' ', correlation_id, trace_id, array_to_string(refs, ' '), tenant, message, body), ' ') FROM events),
		(SELECT string_agg(id, ' ') FROM event_ids),
		(SELECT string_agg(concat_ws(' ', detail, raw), ' ') FROM dead_letters),
		(SELECT string_agg(concat_ws(' ', sample_message, sample_correlation_id), ' ') FROM error_groups WHERE fingerprint NOT LIKE 'fp-bulk-%'))`).Scan(&dump))
	for _, secret := range []string{stripeKey, githubKey, slackKey, awsKey, pemLine, iban, ">847<", "8f2kQ9xLm3"} {
		require.NotContains(t, dump, secret)
	}
	for _, kept := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c", "d4ee0b6cdb67686f0c1ec0780e5b4296",
		"AUst6ZdywPwe4fbYWrH1zTNJ", "req_01jCleanBbbbbbbbbbbbbb"} {
		require.Contains(t, dump, kept)
	}
	var n int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM event_ids WHERE id IN ('4bf92f3577b34da6a3ce929d0e0e4736', 'AUst6ZdywPwe4fbYWrH1zTNJ', '[REDACTED]')`).Scan(&n))
	require.Equal(t, 4, n, "the planted event keeps its trace id; the Finix event its AU reference; each token id became [REDACTED]")
	for _, s := range samples {
		var msg, id string
		require.NoError(t, db.QueryRow(ctx, `SELECT sample_message, coalesce(sample_correlation_id, '') FROM error_groups WHERE fingerprint = $1`,
			s.fingerprint).Scan(&msg, &id))
		require.Equal(t, s.wantMessage, msg, s.fingerprint)
		require.Equal(t, s.wantCorrelationID, id, s.fingerprint)
	}
	require.Contains(t, run(), fmt.Sprintf("redacted again: 0 of 3 events, 0 of 2 dead letters, 0 of %d error groups", groups),
		"a second run changes nothing")
}
