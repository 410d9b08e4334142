package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestClassifyAndStoredEventsAgree: records in the shapes real logging
// code writes (header arrays, HAR lists, bodies behind a BOM or encoded
// twice, epoch timestamps) give the same classification from `ingest
// classify` as what `ingest replay` stores.
func TestClassifyAndStoredEventsAgree(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	sec := fmt.Sprint(now.Unix())
	ms := fmt.Sprint(now.UnixMilli())
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	recs := []string{
		`{"ts":` + sec + `,"provider":"cheers","method":"POST","url":"https://api.cheers.com/loyalty/v2/transactions/t1/finalize","status":401,"response_headers":{"X-Request-Id":["chr-arr-1"]},"response_body":{"errorModel":{"errorCode":"AUTHORIZATION","message":"bad key"}}}`,
		`{"ts":` + ms + `,"method":"POST","url":"https://api.flexiti.com/flexiti/pos-api/v2.5/client-id/flexitidemo/transactions","status":409,"response_headers":[{"name":"x-request-id","value":"flx-har-1"}],"response_body":` + q(`{"error":"credit_exceeded","message":"over"}`) + `}`,
		`{"ts":"` + sec + `","provider":"flexiti","method":"POST","url":"https://api.flexiti.com/x","status":409,"response_headers":[["X-Correlation-Id","flx-pair-1"]],"response_body":` + q("\ufeff"+`{"error":"wrong_input","field_errors":[{"param":"piw","value":"bluebird"}]}`) + `}`,
		`{"@timestamp":` + sec + `.25,"provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/transfers","status":402,"response_body":` + q(q(`{"_embedded":{"errors":[{"logref":"fx-dbl-1","code":"DECLINED","failure_code":"INSUFFICIENT_FUNDS"}]}}`)) + `}`,
		`{"ts":"` + now.Format(time.RFC3339) + `","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_9/pay","status":402,"response_body":` + q(q("\ufeff"+`{"problem":"payment.declined","trace_id":"pl-dbl-1"}`)) + `}`,
		`{"ts":` + ms + `,"provider":"finterra","url":"https://api.myfinterra.com/pos/v1/orders/ord_1","status":404,"response_body":` + q(q(`{"error":"order_not_found","request_id":"req_dbl_1"}`)) + `}`,
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "shapes.ndjson")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(recs, "\n")+"\n"), 0o644))

	// What ingest classify says.
	cmd := exec.Command(ingestBin, "classify")
	in, err := os.Open(file)
	require.NoError(t, err)
	defer in.Close()
	cmd.Stdin = in
	out, err := cmd.Output()
	require.NoError(t, err)
	type line struct {
		Line          int       `json:"line"`
		TS            time.Time `json:"ts"`
		Provider      string    `json:"provider"`
		Category      string    `json:"category"`
		Code          string    `json:"code"`
		Subcode       string    `json:"subcode"`
		CorrelationID string    `json:"correlation_id"`
		Fingerprint   string    `json:"fingerprint"`
		Error         string    `json:"error"`
	}
	var classified []line
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		require.Empty(t, l.Error, "line %d", l.Line)
		require.NotEmpty(t, l.CorrelationID, "line %d: %s", l.Line, sc.Text())
		classified = append(classified, l)
	}
	require.Len(t, classified, len(recs))

	// What ingest replay stores.
	dbURL := newDatabase(t)
	mig, err := exec.Command(ingestBin, "migrate", "--database-url", dbURL).CombinedOutput()
	require.NoError(t, err, "%s", mig)
	rep, err := exec.Command(ingestBin, "replay", "--database-url", dbURL, file).CombinedOutput()
	require.NoError(t, err, "%s", rep)
	db, err := pgxpoolNew(dbURL)
	require.NoError(t, err)
	defer db.Close()
	for _, want := range classified {
		var got line
		err := db.QueryRow(context.Background(), `SELECT ts, provider, category, code, subcode, coalesce(correlation_id, ''), fingerprint
			FROM events WHERE src_offset = $1`, want.Line-1).
			Scan(&got.TS, &got.Provider, &got.Category, &got.Code, &got.Subcode, &got.CorrelationID, &got.Fingerprint)
		require.NoError(t, err, "line %d is stored", want.Line)
		got.Line = want.Line
		require.True(t, want.TS.Equal(got.TS), "line %d: ts %s stored %s", want.Line, want.TS, got.TS)
		got.TS = want.TS
		require.Equal(t, want, got)
	}
}
