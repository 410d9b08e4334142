package report_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// The generated traffic: synth records over three ISO weeks, W45 left
// empty, and a few handcrafted records.
var (
	trafficWeeks  = []string{"2026-W43", "2026-W44", "2026-W46"}
	emptyWeek     = "2026-W45"
	recordsPerDay = 864 // one every 100 s
)

// fixture is a database loaded through the real pipeline (ingest.Replay),
// and what the test knows of every record it loaded, read from the records
// themselves with encoding/json, independently of package classify.
type fixture struct {
	url     string
	st      *store.Store
	records []record
}

// record is the test's own reading of one generated record.
type record struct {
	ts                      time.Time
	provider                string
	isError                 bool
	status                  int
	code, subcode, category string
	correlation             string // the provider's id: body field or response header
	correlationFrom         string // request_id, logref, trace_id or header
	traceID                 string
	refs                    []string
}

var hostProvider = map[string]string{
	"api.myfinterra.com": "finterra", "api.cheers.com": "cheers", "api.flexiti.com": "flexiti",
	"finix.live-payments-api.com": "finix", "api.paylera.com": "paylera",
}

// categories is the taxonomy of the codes synth generates, written from
// TAXONOMY.md and the provider docs (not from the classifier).
var categories = map[string]string{
	"finterra/token_expired":                                             "auth_expired",
	"finterra/invalid_request":                                           "validation",
	"finterra/order_not_found":                                           "not_found",
	"finterra/order_already_paid":                                        "conflict",
	"finterra/rate_limit_exceeded":                                       "rate_limit",
	"finterra/internal_error":                                            "provider_error",
	"finterra/idempotency_conflict":                                      "idempotency",
	"finterra/level3_validation_failed":                                  "validation",
	"finterra/location_out_of_scope":                                     "permission",
	"finterra/terminal_offline":                                          "conflict",
	"finterra/brand_new_code":                                            "conflict",
	"cheers/INSUFFICIENT_CREDIT":                                         "decline",
	"cheers/AUTHORIZATION":                                               "auth",
	"cheers/X_TRANSACTION_HAS_EXPIRED":                                   "conflict",
	"cheers/IDEMPOTENCY_KEY_HAS_ALREADY_BEEN_USED_WITH_DIFFERENT_VALUES": "idempotency",
	"cheers/COULD_NOT_MAP_BIG_DECIMAL_TO_VAT_ENUM_VALUE":                 "validation",
	"flexiti/not_enough_credit":                                          "decline",
	"flexiti/wrong_inputs":                                               "validation",
	"flexiti/invalid_token":                                              "auth",
	"flexiti/not_found":                                                  "not_found",
	"flexiti/application_declined":                                       "decline",
	"flexiti/general_error":                                              "provider_error",
	"flexiti/auth_amount_exceeded":                                       "conflict",
	"finix/DECLINED":                                                     "decline",
	"finix/UNKNOWN":                                                      "auth",
	"finix/INVALID_FIELD":                                                "validation",
	"finix/UPSTREAM_PROCESSOR_ERROR":                                     "provider_error",
	"finix/NOT_FOUND":                                                    "not_found",
	"finix/TOO_MANY_REQUESTS":                                            "rate_limit",
	"paylera/auth.expired_token":                                         "auth_expired",
	"paylera/payment.declined":                                           "decline",
	"paylera/validation.failed":                                          "validation",
	"paylera/idempotency.in_flight":                                      "idempotency",
	"paylera/tax.engine_unavailable":                                     "provider_error",
	"paylera/invoice.locked":                                             "conflict",
	"paylera/rate_limit.exceeded":                                        "rate_limit",
}

// handcrafted records: a code never seen before (W46), a Finix transfer,
// and one payment retried under the same trace id over two weeks.
var handcrafted = []string{
	`{"ts":"2026-11-11T09:00:00Z","service":"checkout","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_9Zx/payments","status":409,"response_body":{"error":"brand_new_code","message":"Something new","request_id":"req_01jNEW1"},"trace_id":"trace-new-1"}`,
	`{"ts":"2026-11-12T09:00:00Z","service":"checkout","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_9Zy/payments","status":409,"response_body":{"error":"brand_new_code","message":"Something new","request_id":"req_01jNEW2"},"trace_id":"trace-new-2"}`,
	`{"ts":"2026-11-13T09:00:00Z","service":"checkout","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_9Zz/payments","status":409,"response_body":{"error":"brand_new_code","message":"Something new","request_id":"req_01jNEW3"},"trace_id":"trace-new-3"}`,
	`{"ts":"2026-11-10T15:30:00Z","service":"billing","tenant":"globex","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/transfers","status":402,"response_body":"{\"total\":1,\"_embedded\":{\"errors\":[{\"logref\":\"c0ffee0000000000000000000000beef\",\"code\":\"DECLINED\",\"failure_code\":\"CALL_ISSUER\",\"message\":\"Transfer TRabc123 was declined\",\"transfer\":\"TRabc123\"}]}}","trace_id":"trace-transfer-1"}`,
	`{"ts":"2026-10-28T12:00:00Z","service":"checkout","tenant":"hooli","provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_7Q/pay","status":429,"response_body":{"problem":"rate_limit.exceeded","title":"Too many requests","status":429,"trace_id":"pl-retry-1"},"trace_id":"trace-retried"}`,
	`{"ts":"2026-11-09T08:00:00Z","service":"checkout","tenant":"hooli","provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_7Q/pay","status":429,"response_body":{"problem":"rate_limit.exceeded","title":"Too many requests","status":429,"trace_id":"pl-retry-2"},"trace_id":"trace-retried"}`,
	`{"ts":"2026-11-09T08:00:05Z","service":"checkout","tenant":"hooli","provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_7Q/pay","status":503,"response_body":{"problem":"tax.engine_unavailable","title":"External tax engine returned an error","status":503,"trace_id":"pl-retry-3"},"trace_id":"trace-retried"}`,
}

// loadFixture generates the traffic, replays it through the pipeline into
// a fresh database and reads it back independently.
func loadFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := testCtx(t)
	var buf bytes.Buffer
	for i, w := range trafficWeeks {
		week, err := report.ParseWeek(w)
		require.NoError(t, err)
		g := synth.New(synth.Options{Seed: uint64(100 + i), Start: week.Start(time.UTC).Add(30 * time.Second), Step: 100 * time.Second})
		var line []byte
		for range 7 * recordsPerDay {
			line = g.Next(line[:0])
			buf.Write(line)
			buf.WriteByte('\n')
		}
	}
	for _, h := range handcrafted {
		buf.WriteString(h + "\n")
	}
	path := filepath.Join(t.TempDir(), "traffic.ndjson")
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))

	f := &fixture{url: pgtest.New(t)}
	rw, err := store.Open(ctx, f.url)
	require.NoError(t, err)
	_, err = rw.Migrate(ctx)
	require.NoError(t, err)
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	cls, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	r, err := ingest.NewReplay(ingest.ReplayConfig{Store: rw, Classifier: cls, Builder: ingest.BuilderOptions{Now: func() time.Time { return now }}})
	require.NoError(t, err)
	stats, err := r.File(ctx, path)
	require.NoError(t, err)
	// One alert in W46, as report alerts would store it.
	require.NoError(t, rw.RunAlerts(ctx, true, func(run *store.AlertRun) error {
		start := time.Date(2026, 11, 10, 14, 3, 0, 0, time.UTC)
		return run.SaveAlert(ctx, &store.Alert{
			Rule: "decline_spike", Provider: "finix", Category: "decline", Code: "DECLINED", Subcode: "CALL_ISSUER",
			Severity: "warning", Series: `["DECLINED","CALL_ISSUER"]`, Expected: 0.01, CloseBelow: 0.02,
			Observed: 0.06, ObservedCount: 21, ObservedRequests: 350,
			StartsAt: start, EndsAt: start.Add(77 * time.Minute), DetectedAt: start.Add(5 * time.Minute),
			ResolvedAt: start.Add(77 * time.Minute), LastEvaluated: start.Add(77 * time.Minute),
			Summary: "finix declines (CALL_ISSUER) at 6.0% against 1.0%",
		}, time.Minute)
	}))
	rw.Close()
	require.Zero(t, stats.DeadLetters)
	require.EqualValues(t, len(trafficWeeks)*7*recordsPerDay+len(handcrafted), stats.Stored)

	f.st, err = store.Open(ctx, f.url, store.ReadOnly())
	require.NoError(t, err)
	t.Cleanup(f.st.Close)
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		f.records = append(f.records, readRecord(t, line))
	}
	return f
}

// readRecord reads what the test needs from one record with encoding/json.
func readRecord(t *testing.T, line []byte) record {
	t.Helper()
	var raw struct {
		TS       time.Time         `json:"ts"`
		Provider string            `json:"provider"`
		URL      string            `json:"url"`
		Status   int               `json:"status"`
		Headers  map[string]string `json:"response_headers"`
		Body     json.RawMessage   `json:"response_body"`
		TraceID  string            `json:"trace_id"`
	}
	require.NoError(t, json.Unmarshal(line, &raw), "%s", line)
	u, err := url.Parse(raw.URL)
	require.NoError(t, err)
	r := record{ts: raw.TS.UTC(), provider: cmp.Or(raw.Provider, hostProvider[u.Host]), status: raw.Status, traceID: raw.TraceID}
	require.NotEmpty(t, r.provider, "%s", line)
	r.isError = raw.Status == 0 || raw.Status >= 400
	if !r.isError {
		return r
	}
	body := raw.Body
	var s string
	if json.Unmarshal(body, &s) == nil {
		body = json.RawMessage(s)
	}
	var b struct {
		Error      string `json:"error"`
		RequestID  string `json:"request_id"`
		ErrorModel struct {
			ErrorCode string `json:"errorCode"`
		} `json:"errorModel"`
		FieldErrors []struct {
			Param string `json:"param"`
		} `json:"field_errors"`
		Embedded struct {
			Errors []struct {
				Logref        string `json:"logref"`
				Code          string `json:"code"`
				FailureCode   string `json:"failure_code"`
				Authorization string `json:"authorization"`
				Transfer      string `json:"transfer"`
			} `json:"errors"`
		} `json:"_embedded"`
		Problem string `json:"problem"`
		TraceID string `json:"trace_id"`
	}
	if len(body) > 0 && body[0] == '{' {
		require.NoError(t, json.Unmarshal(body, &b), "%s", line)
	}
	switch r.provider {
	case "finterra":
		r.code, r.correlation, r.correlationFrom = b.Error, b.RequestID, "request_id"
	case "cheers":
		r.code = b.ErrorModel.ErrorCode
	case "flexiti":
		r.code = b.Error
		if len(b.FieldErrors) > 0 {
			r.subcode = b.FieldErrors[0].Param
		}
	case "finix":
		if errs := b.Embedded.Errors; len(errs) > 0 {
			r.code, r.subcode, r.correlation, r.correlationFrom = errs[0].Code, errs[0].FailureCode, errs[0].Logref, "logref"
			for _, e := range errs {
				for _, ref := range []string{e.Authorization, e.Transfer} {
					if ref != "" && !slices.Contains(r.refs, ref) {
						r.refs = append(r.refs, ref)
					}
				}
			}
		}
	case "paylera":
		r.code, r.correlation, r.correlationFrom = b.Problem, b.TraceID, "trace_id"
	}
	if r.correlation == "" {
		for _, h := range []string{"X-Request-Id", "x-request-id", "X-Correlation-Id"} {
			if v := raw.Headers[h]; v != "" {
				r.correlation, r.correlationFrom = v, "header"
				break
			}
		}
	}
	switch {
	case r.status == 0:
		r.category = "timeout"
	case r.code != "":
		r.category = categories[r.provider+"/"+r.code]
		require.NotEmpty(t, r.category, "no category for %s/%s", r.provider, r.code)
	case r.provider == "flexiti" && r.status == 465:
		r.category = "blocked"
	case r.status >= 500:
		r.category = "provider_error"
	default:
		t.Fatalf("no category for %s", line)
	}
	return r
}

// expectedWeek is what the test expects of one provider's week.
type expectedWeek struct {
	Requests, Errors int64
	ByCategory       map[string]int64
	Codes            []report.CodeCount // every code, ordered as the report orders them
	NewCodes         []string           // code/subcode
	Daily            []report.DayCount
}

// expect computes every provider's week from the records, counting days
// in loc.
func (f *fixture) expect(week report.Week, loc *time.Location) map[string]*expectedWeek {
	from, to := week.Start(loc), week.End(loc)
	prevFrom := week.Previous().Start(loc)
	firstSeen := map[string]time.Time{}
	for _, r := range f.records {
		k := r.provider + "/" + r.code + "/" + r.subcode
		if r.isError && r.code != "" && (firstSeen[k].IsZero() || r.ts.Before(firstSeen[k])) {
			firstSeen[k] = r.ts
		}
	}
	out := map[string]*expectedWeek{}
	codes := map[string]map[[3]string]*report.CodeCount{}
	get := func(p string) *expectedWeek {
		if out[p] == nil {
			out[p] = &expectedWeek{ByCategory: map[string]int64{}}
			for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
				out[p].Daily = append(out[p].Daily, report.DayCount{Date: d.Format(time.DateOnly), ByCategory: map[string]int64{}})
			}
			codes[p] = map[[3]string]*report.CodeCount{}
		}
		return out[p]
	}
	for _, r := range f.records {
		inWeek := !r.ts.Before(from) && r.ts.Before(to)
		inPrev := !r.ts.Before(prevFrom) && r.ts.Before(from)
		if !inWeek && !inPrev {
			continue
		}
		e := get(r.provider)
		k := [3]string{r.category, r.code, r.subcode}
		c := codes[r.provider][k]
		if c == nil && r.isError {
			c = &report.CodeCount{Category: r.category, Code: r.code, Subcode: r.subcode}
			codes[r.provider][k] = c
		}
		if inPrev {
			if r.isError {
				c.PreviousCount++
			}
			continue
		}
		day := slices.IndexFunc(e.Daily, func(d report.DayCount) bool { return d.Date == r.ts.In(loc).Format(time.DateOnly) })
		e.Requests++
		e.Daily[day].Requests++
		if r.isError {
			e.Errors++
			e.Daily[day].Errors++
			e.ByCategory[r.category]++
			e.Daily[day].ByCategory[r.category]++
			c.Count++
		}
	}
	for p, e := range out {
		for _, c := range codes[p] {
			if c.Count > 0 {
				e.Codes = append(e.Codes, *c)
			}
		}
		slices.SortFunc(e.Codes, func(a, b report.CodeCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Subcode, b.Subcode), cmp.Compare(a.Category, b.Category))
		})
		for k, seen := range firstSeen {
			if strings.HasPrefix(k, p+"/") && !seen.Before(from) && seen.Before(to) {
				e.NewCodes = append(e.NewCodes, strings.TrimSuffix(strings.TrimPrefix(k, p+"/"), "/"))
			}
		}
		slices.Sort(e.NewCodes)
	}
	return out
}

func (r record) String() string {
	return fmt.Sprintf("%s %s %s/%s %s", r.ts.Format(time.RFC3339), r.provider, r.code, r.subcode, r.correlation)
}
