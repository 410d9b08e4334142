package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// now is the console's clock in the tests: the records are of the week
// before (2026-W46) and the days after.
var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// The payload of the XSS test: stored text that would run if it were not
// escaped.
const (
	scriptPayload = `<script>window.__pwned=1</script>`
	imgPayload    = `<img src=x onerror="window.__pwned=1">`
)

// records are integration log records stored through the real pipeline.
var records = []string{
	`{"ts":"2026-11-10T09:00:00Z","service":"checkout","env":"prod","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_01J2ZK/payments","status":401,"response_body":"{\"error\":\"token_expired\",\"message\":\"JWT exp claim has passed\",\"request_id\":\"req_01j2abc\"}","trace_id":"trace-aaa"}`,
	`{"ts":"2026-11-10T09:00:01Z","service":"checkout","env":"prod","tenant":"acme-foods","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_01J2ZK/payments","status":201,"trace_id":"trace-aaa"}`,
	`{"ts":"2026-11-11T10:00:00Z","service":"billing","env":"prod","tenant":"globex","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/authorizations","status":402,"response_body":{"total":1,"_embedded":{"errors":[{"logref":"d4ee0b6cdb67686f0c1ec0780e5b4296","code":"DECLINED","failure_code":"INSUFFICIENT_FUNDS","message":"Authorization AUabc was declined","authorization":"AUabc"}]}},"trace_id":"trace-bbb"}`,
	`{"ts":"2026-11-11T10:05:00Z","service":"billing","env":"prod","tenant":"globex","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/authorizations","status":201,"trace_id":"trace-bbb2"}`,
	`{"ts":"2026-11-11T10:06:00Z","service":"billing","env":"prod","tenant":"globex","provider":"finix","method":"POST","url":"https://finix.live-payments-api.com/authorizations","status":201,"trace_id":"trace-bbb3"}`,
	`{"ts":"2026-11-12T11:00:00Z","service":"loyalty-sync","env":"prod","tenant":"hooli","method":"POST","url":"https://api.cheers.com/loyalty/v2/transactions/1/preview","status":400,"response_headers":{"X-Request-Id":"chr-0001"},"response_body":{"errorModel":{"errorCode":"INSUFFICIENT_CREDIT","message":"not enough","descriptors":[]}},"trace_id":"trace-ccc"}`,
	// Stored text that is markup: it must show as text and never run.
	`{"ts":"2026-11-19T08:00:00Z","service":"checkout","env":"prod","tenant":"initech","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_X/payments","status":400,"response_body":{"error":"invalid_request","message":"` + jsonEscape(scriptPayload+imgPayload) + `","request_id":"req_xss"},"trace_id":"trace-xss"}`,
	`{"ts":"2026-11-20T11:30:00Z","service":"checkout","env":"prod","tenant":"initech","provider":"finterra","method":"POST","url":"https://api.myfinterra.com/pos/v1/orders/ord_Y/payments","status":201,"trace_id":"trace-recent"}`,
	// Paylera's expired tokens: once on 10-30, then 90 on 11-18 from 10:00
	// (the incident of the third alert): the group regressed.
	`{"ts":"2026-10-30T10:00:00Z","service":"billing","env":"prod","tenant":"acme-foods","provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_8Hq2Lx/pay","status":401,"response_body":{"problem":"auth.expired_token","title":"Rotation grace period elapsed","trace_id":"pl-old"}}`,
	// Stored text that is markup, in a tenant, a service and a code.
	`{"ts":"2026-11-18T09:00:00Z","service":"` + jsonEscape(imgPayload) + `","env":"prod","tenant":"` + jsonEscape(scriptPayload) + `","provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_9Kq2Lx/pay","status":409,"response_body":{"problem":"` + jsonEscape(codePayload) + `","title":"` + jsonEscape(scriptPayload) + `","trace_id":"pl-xss"}}`,
}

// codePayload is a code that is markup.
const codePayload = `<b onmouseover=window.__pwned=1>x</b>`

// pagedRecords are the 90 expired tokens of 11-18, two tenants of three
// "paged-tenant": more than a page of search results.
func pagedRecords() []string {
	var out []string
	start := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	for i := range 90 {
		tenant := "paged-tenant"
		if i%3 == 0 {
			tenant = "umbrella"
		}
		out = append(out, fmt.Sprintf(`{"ts":%q,"service":"billing","env":"prod","tenant":%q,"provider":"paylera","method":"POST","url":"https://api.paylera.com/v1/invoices/inv_%dAb/pay","status":401,"response_body":{"problem":"auth.expired_token","title":"Rotation grace period elapsed","trace_id":"pl-%02d"}}`,
			start.Add(time.Duration(i)*30*time.Second).Format(time.RFC3339), tenant, 100+i, i))
	}
	return out
}

func jsonEscape(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }

// fixture is a database holding the records and two alerts, and a console
// on it.
type fixture struct {
	url      string
	st       *store.Store
	resolved store.Alert // a finix decline spike of the past week
	firing   store.Alert // a finterra alert firing now
	tokens   store.Alert // paylera's expired tokens on 11-18, with 90 events
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := testCtx(t)
	url := pgtest.New(t)
	st, err := store.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	cls, err := classify.New(cats, classify.Options{})
	require.NoError(t, err)
	all := append(append([]string(nil), records...), pagedRecords()...)
	path := filepath.Join(t.TempDir(), "records.ndjson")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(all, "\n")+"\n"), 0o600))
	r, err := ingest.NewReplay(ingest.ReplayConfig{Store: st, Classifier: cls, Builder: ingest.BuilderOptions{Now: func() time.Time { return now }}})
	require.NoError(t, err)
	stats, err := r.File(ctx, path)
	require.NoError(t, err)
	require.EqualValues(t, len(all), stats.Stored)

	f := &fixture{url: url}
	start := time.Date(2026, 11, 14, 13, 8, 0, 0, time.UTC)
	f.resolved = store.Alert{
		Rule: "decline_spike", Provider: "finix", Category: "decline", Severity: "warning", Series: "finix",
		Expected: 0.039, CloseBelow: 0.08, Observed: 0.32, ObservedCount: 88, ObservedRequests: 278,
		StartsAt: start, EndsAt: start.Add(40 * time.Minute), DetectedAt: start.Add(5 * time.Minute),
		ResolvedAt: start.Add(41 * time.Minute), LastEvaluated: start.Add(40 * time.Minute),
		Summary: "finix decline rate at 32% of requests (88 of 278 in 5m), 8.0× the expected 3.9%",
		Context: store.AlertContext{
			From: start, To: start.Add(40 * time.Minute),
			TopCodes:            []store.CodeCount{{Code: "DECLINED", Subcode: "INSUFFICIENT_FUNDS", Count: 80}, {Code: "DECLINED", Subcode: "CALL_ISSUER", Count: 8}},
			TopEndpoints:        []store.EndpointCount{{Method: "POST", Endpoint: "/authorizations", Count: 88}},
			TenantsAffected:     3,
			SampleCorrelationID: "d4ee0b6cdb67686f0c1ec0780e5b4296",
			SampledEvents:       88,
		},
	}
	fstart := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	f.firing = store.Alert{
		Rule: "expired_token_storm", Provider: "finterra", Category: "auth_expired", Code: "token_expired", Severity: "critical",
		Expected: 0.001, CloseBelow: 0.01, Observed: 0.2, ObservedCount: 20, ObservedRequests: 100,
		StartsAt: fstart, DetectedAt: fstart.Add(3 * time.Minute), LastEvaluated: fstart.Add(59 * time.Minute),
		Summary: "finterra: 400 token_expired a minute",
		Context: store.AlertContext{From: fstart, To: fstart.Add(time.Hour), TenantsAffected: 1, SampleCorrelationID: "req_01j2abc", SampledEvents: 1,
			TopCodes: []store.CodeCount{{Code: "token_expired", Count: 20}}},
	}
	pstart := time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	f.tokens = store.Alert{
		Rule: "expired_token_storm", Provider: "paylera", Category: "auth_expired", Severity: "critical",
		Expected: 0.001, CloseBelow: 0.01, Observed: 0.9, ObservedCount: 90, ObservedRequests: 100,
		StartsAt: pstart, EndsAt: pstart.Add(45 * time.Minute), DetectedAt: pstart.Add(2 * time.Minute),
		ResolvedAt: pstart.Add(46 * time.Minute), LastEvaluated: pstart.Add(45 * time.Minute),
		Summary: "paylera: expired tokens, 90% of requests",
		Context: store.AlertContext{From: pstart, To: pstart.Add(45 * time.Minute), TenantsAffected: 2, SampleCorrelationID: "pl-89", SampledEvents: 90},
	}
	require.NoError(t, st.RunAlerts(ctx, true, func(run *store.AlertRun) error {
		for _, a := range []*store.Alert{&f.resolved, &f.firing, &f.tokens} {
			if err := run.SaveAlert(ctx, a, time.Minute); err != nil {
				return err
			}
		}
		return nil
	}))
	st.Close()

	// The console opens the database read-only, as report serve does.
	f.st, err = store.Open(ctx, url, store.ReadOnly())
	require.NoError(t, err)
	t.Cleanup(f.st.Close)
	return f
}

// htpasswdFile is the committed file `htpasswd -B` wrote: users support
// and oncall.
const (
	htpasswdFile    = "testdata/htpasswd"
	supportPassword = "correct horse battery staple"
	oncallPassword  = "pager duty 7"
)

// consoleOptions are the options of the tests' consoles: basic auth
// against the committed htpasswd file, the fixed clock.
func (f *fixture) options(t testing.TB) console.Options {
	t.Helper()
	auth, err := console.LoadHtpasswd(htpasswdFile, nil)
	require.NoError(t, err)
	return console.Options{Store: f.st, Auth: auth, Now: func() time.Time { return now }}
}

// server starts the console on a loopback port.
func (f *fixture) server(t testing.TB, o console.Options) *httptest.Server {
	t.Helper()
	c, err := console.New(o)
	require.NoError(t, err)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv
}

// get requests path as user (no credentials when user is "").
func get(t testing.TB, srv *httptest.Server, path, user, password string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	require.NoError(t, err)
	return resp, b.String()
}
