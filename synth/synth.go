// Package synth generates realistic integration log records, the JSON our
// services write to Kafka for every provider call, for the demo, end-to-end
// tests and benchmarks. Output is deterministic for a seed.
//
// The mix mirrors production: about 93% successes; errors from all five
// providers in their own dialects (Finix multi-error declines, Flexiti field
// errors, Paylera problem+json, Cheers errorModel with the request id in a
// header, Finterra flat errors), HTML pages from proxies, empty bodies and
// timeouts; bodies half raw strings, half parsed objects. Some records carry
// planted personal data (card numbers, tokens, e-mail addresses) that must
// never reach storage.
//
// Generator makes a steady mix, a record every Step. Scenario makes weeks
// of traffic the way production has it, for the alert detectors' tests and
// the demo: volume with daily and weekly seasonality, growth, surges and a
// Monday-morning ramp; each provider's usual errors; incidents of every
// kind the detectors look for (decline spikes, expired-token storms,
// outages, rate-limit storms, auth failures, new codes) and decoys that
// must page nobody. It reads from YAML (ParseScenario).
package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/internal/jsonstr"
)

// Options shape a Generator.
type Options struct {
	Seed uint64
	// Start is the timestamp of the first record.
	Start time.Time
	// Step is the time between records (default 10ms).
	Step time.Duration
	// ErrorRate is the share of failed calls (default 0.07); 1 makes every
	// record an error.
	ErrorRate float64
}

// Generator produces records. It is not safe for concurrent use.
type Generator struct {
	rng       *rand.Rand
	ts        time.Time
	step      time.Duration
	errorRate float64
	n         uint64
}

// New returns a Generator.
func New(o Options) *Generator {
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	if o.Step == 0 {
		o.Step = 10 * time.Millisecond
	}
	if o.ErrorRate == 0 {
		o.ErrorRate = 0.07
	}
	return &Generator{
		rng:       rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		ts:        o.Start.UTC(),
		step:      o.Step,
		errorRate: o.ErrorRate,
	}
}

// Planted personal data that the generator places in some records; tests
// assert none of it is ever stored.
var (
	PlantedCard  = "4111 1111 1111 1111"
	PlantedEmail = "jane.doe@example.com"
	PlantedToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYXVsdGxpbmUifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
	PlantedPIW   = "bluebird"
)

type provider struct {
	name, host string
	endpoints  []endpoint
}

type endpoint struct {
	method, path string // path with %s for ids
}

var providers = []provider{
	{"finterra", "api.myfinterra.com", []endpoint{
		{"POST", "/pos/v1/orders/ord_%s/payments"}, {"GET", "/pos/v1/orders/ord_%s"}, {"POST", "/pos/v1/payments/pay_%s/refunds"},
	}},
	{"cheers", "api.cheers.com", []endpoint{
		{"POST", "/loyalty/v2/transactions/%s/preview"}, {"POST", "/loyalty/v2/transactions/%s/finalize"},
	}},
	{"flexiti", "api.flexiti.com", []endpoint{
		{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/customers/%s/verify"},
		{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/authorization/%s/capture"},
		{"POST", "/flexiti/pos-api/v2.5/client-id/flexitidemo/transactions"},
	}},
	{"finix", "finix.live-payments-api.com", []endpoint{
		{"POST", "/authorizations"}, {"POST", "/transfers"}, {"PUT", "/authorizations/AU%s"},
	}},
	{"paylera", "api.paylera.com", []endpoint{
		{"POST", "/v1/invoices/inv_%s/pay"}, {"POST", "/v1/subscriptions/sub_%s/cancel"}, {"GET", "/v1/wallets/wal_%s"},
	}},
}

var services = []string{"checkout", "pos-gateway", "billing", "loyalty-sync"}
var tenants = []string{"acme-foods", "northwind", "globex", "initech", "umbrella", "hooli"}

// Next appends one record (without a newline) to dst and returns it.
func (g *Generator) Next(dst []byte) []byte {
	g.n++
	ts := g.ts
	g.ts = g.ts.Add(g.step)
	p := &providers[g.rng.IntN(len(providers))]
	ep := p.endpoints[g.rng.IntN(len(p.endpoints))]
	id := g.id(12)
	path := ep.path
	if strings.Contains(path, "%s") {
		path = fmt.Sprintf(path, id)
	}
	isErr := g.rng.Float64() < g.errorRate
	status, body, headers, transport := 200, "", "", ""
	if ep.method == "POST" {
		status = 201
	}
	if isErr {
		status, body, headers, transport = g.failure(p.name)
	} else if g.rng.IntN(2) == 0 {
		body = `{"id":"` + id + `","state":"SUCCEEDED"}`
	}

	dst = append(dst, `{"ts":"`...)
	dst = ts.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","service":"`...)
	dst = append(dst, services[g.rng.IntN(len(services))]...)
	dst = append(dst, `","env":"prod","tenant":"`...)
	dst = append(dst, tenants[g.rng.IntN(len(tenants))]...)
	if g.rng.IntN(10) != 0 { // a tenth of records leave the provider to be recognised
		dst = append(dst, `","provider":"`...)
		dst = append(dst, p.name...)
	}
	dst = append(dst, `","method":"`...)
	dst = append(dst, ep.method...)
	dst = append(dst, `","url":"https://`...)
	dst = append(dst, p.host...)
	dst = append(dst, path...)
	dst = append(dst, '"')
	if status != 0 {
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(status), 10)
	}
	if transport != "" {
		dst = append(dst, `,"error":`...)
		dst = strconv.AppendQuote(dst, transport)
	}
	dst = append(dst, `,"duration_ms":`...)
	dst = strconv.AppendInt(dst, int64(20+g.rng.IntN(900)), 10)
	dst = append(dst, `,"request_headers":{"Authorization":"Bearer `...)
	dst = append(dst, PlantedToken...)
	dst = append(dst, `","Content-Type":"application/json","Idempotency-Key":"`...)
	dst = append(dst, g.id(16)...)
	dst = append(dst, `"},"response_headers":{"content-type":"application/json"`...)
	dst = append(dst, headers...)
	dst = append(dst, '}')
	if body != "" {
		dst = append(dst, `,"response_body":`...)
		if isErr && g.rng.IntN(2) == 0 && body[0] == '{' {
			dst = append(dst, body...) // already parsed object
		} else {
			dst = appendJSONString(dst, body) // raw string
		}
	}
	dst = append(dst, `,"trace_id":"`...)
	dst = append(dst, g.hex(32)...)
	dst = append(dst, `"}`...)
	return dst
}

// failure returns the status, body, extra response headers (a JSON
// fragment starting with a comma) and transport error of a failed call.
func (g *Generator) failure(provider string) (int, string, string, string) {
	switch r := g.rng.IntN(100); {
	case r < 4:
		return 0, "", "", "context deadline exceeded"
	case r < 7:
		return 502, `<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>`, `,"X-Request-Id":"` + g.hex(16) + `"`, ""
	case r < 9:
		return 503, "", `,"x-request-id":"` + g.hex(16) + `"`, ""
	}
	switch provider {
	case "finterra":
		c := finterraErrors[g.rng.IntN(len(finterraErrors))]
		msg := c.msg
		if c.code == "invalid_request" && g.rng.IntN(3) == 0 {
			msg = "customer email " + PlantedEmail + " is not a valid receipt address"
		}
		return c.status, `{"error":"` + c.code + `","message":"` + msg + `","request_id":"req_01j` + g.id(20) + `"}`, "", ""
	case "cheers":
		c := cheersErrors[g.rng.IntN(len(cheersErrors))]
		return c.status, `{"errorModel":{"errorCode":"` + c.code + `","message":"` + c.msg + `","descriptors":["transaction","` + g.hex(8) + `"]}}`, `,"X-Correlation-Id":"` + g.uuid() + `"`, ""
	case "flexiti":
		c := flexitiErrors[g.rng.IntN(len(flexitiErrors))]
		if c.code == "wrong_inputs" {
			return c.status, `{"url":"/flexiti/pos-api/v2.5/client-id/flexitidemo/customers/828930/verify","message":"Some inputs are wrong!","error":"wrong_inputs","field_errors":[{"param":"email","msg":"invalid","value":"` + PlantedEmail + `"},{"param":"piw","msg":"length","value":"` + PlantedPIW + `"}]}`, `,"X-Request-Id":"` + g.uuid() + `"`, ""
		}
		return c.status, `{"error":"` + c.code + `","message":"` + c.msg + `"}`, `,"X-Request-Id":"` + g.uuid() + `"`, ""
	case "finix":
		c := finixErrors[g.rng.IntN(len(finixErrors))]
		au := "AU" + g.id(22)
		if c.code == "DECLINED" {
			fc := finixFailures[g.rng.IntN(len(finixFailures))]
			return c.status, `{"total":2,"_embedded":{"errors":[{"logref":"` + g.hex(16) + `","message":"Authorization ` + au + ` was declined","code":"DECLINED","authorization":"` + au + `","failure_code":"` + fc + `","failure_message":"The card was declined for an unknown reason.","_links":{"self":{"href":"https://finix.live-payments-api.com/authorizations"}}},{"logref":"` + g.hex(16) + `","code":"INVALID_FIELD","message":"card ` + PlantedCard + ` is invalid"}]}}`, "", ""
		}
		return c.status, `{"total":1,"_embedded":{"errors":[{"logref":"` + g.hex(32) + `","message":"` + c.msg + `","code":"` + c.code + `","_links":{"self":{"href":"https://finix.live-payments-api.com/transfers"}}}]}}`, "", ""
	default:
		c := payleraErrors[g.rng.IntN(len(payleraErrors))]
		return c.status, `{"type":"https://docs.paylera.com/problems/` + c.code + `","problem":"` + c.code + `","title":"` + c.msg + `","status":` + strconv.Itoa(c.status) + `,"trace_id":"` + g.hex(32) + `"}`, "", ""
	}
}

type sampleError struct {
	status    int
	code, msg string
}

var finterraErrors = []sampleError{
	{401, "token_expired", "JWT exp claim has passed"}, {401, "token_expired", "JWT exp claim has passed"},
	{400, "invalid_request", "Missing required field amount_cents"}, {404, "order_not_found", "Order not found"},
	{409, "order_already_paid", "Order has already been fully paid"}, {429, "rate_limit_exceeded", "Per-client rate limit exceeded"},
	{500, "internal_error", "Unexpected server error"}, {409, "idempotency_conflict", "Idempotency-Key reused"},
	{400, "level3_validation_failed", "description exceeds 40 chars"}, {403, "location_out_of_scope", "location not in subtree"},
	{409, "terminal_offline", "The payment terminal is offline"}, // undocumented: a new code
}

var cheersErrors = []sampleError{
	{400, "INSUFFICIENT_CREDIT", "The user does not have enough credits"}, {401, "AUTHORIZATION", "API key disabled"},
	{400, "X_TRANSACTION_HAS_EXPIRED", "The Transaction Key has expired"}, {409, "IDEMPOTENCY_KEY_HAS_ALREADY_BEEN_USED_WITH_DIFFERENT_VALUES", "key reused"},
	{400, "COULD_NOT_MAP_BIG_DECIMAL_TO_VAT_ENUM_VALUE", "Unsupported VAT rate 8.25"},
}

var flexitiErrors = []sampleError{
	{409, "not_enough_credit", "Customer does not have enough open to buy"}, {409, "wrong_inputs", ""},
	{401, "invalid_token", "Wrong or expired access token"}, {404, "not_found", "Customer Account not found"},
	{409, "application_declined", "Customer application declined"}, {409, "general_error", "A generic error covering backend process issues"},
	{465, "", ""}, {409, "auth_amount_exceeded", "Capture amount is greater than the remaining amount"},
}

var finixErrors = []sampleError{
	{402, "DECLINED", ""}, {402, "DECLINED", ""}, {402, "DECLINED", ""}, {401, "UNKNOWN", "Unauthorized"},
	{422, "INVALID_FIELD", "amount must be positive"}, {402, "UPSTREAM_PROCESSOR_ERROR", "Processor unavailable"},
	{404, "NOT_FOUND", "Authorization not found"}, {429, "TOO_MANY_REQUESTS", "Rate limit reached"},
}

var finixFailures = []string{"GENERIC_DECLINE", "INSUFFICIENT_FUNDS", "EXPIRED_CARD", "CALL_ISSUER"}

var payleraErrors = []sampleError{
	{401, "auth.expired_token", "Rotation grace period elapsed"}, {422, "payment.declined", "Provider declined"},
	{422, "validation.failed", "One or more fields invalid"}, {409, "idempotency.in_flight", "Same key request currently executing"},
	{503, "tax.engine_unavailable", "External tax engine returned an error"}, {422, "invoice.locked", "Mutation on a non-draft invoice"},
	{429, "rate_limit.exceeded", "Too many requests"},
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func (g *Generator) id(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	b[0] = '0' + byte(g.rng.IntN(10)) // ids carry digits
	return string(b)
}

func (g *Generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *Generator) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	return append(jsonstr.AppendEscaped(append(dst, '"'), s), '"')
}
