package synth

// The providers of a Scenario: their shares, error mixes and the errors
// they answer with, in their own dialects.

// DefaultProviders are the five providers with realistic shares and error
// mixes (about 7% of calls fail): Finix busy and declining, Finterra with
// no declines (its API has none), Cheers with very little traffic.
func DefaultProviders() []ProviderTraffic {
	return []ProviderTraffic{
		{Name: "finix", Share: 0.35, Growth: 1, Errors: map[string]float64{
			"decline": 0.04, "provider_error": 0.004, "timeout": 0.003, "rate_limit": 0.002, "auth": 0.001,
			"permission": 0.0005, "validation": 0.01, "not_found": 0.003, "conflict": 0.002}},
		{Name: "finterra", Share: 0.30, Growth: 1, Errors: map[string]float64{
			"auth_expired": 0.0005, "auth": 0.001, "permission": 0.001, "provider_error": 0.004, "timeout": 0.003,
			"rate_limit": 0.002, "validation": 0.012, "not_found": 0.004, "conflict": 0.004}},
		{Name: "paylera", Share: 0.20, Growth: 1, Errors: map[string]float64{
			"decline": 0.02, "auth_expired": 0.0005, "auth": 0.0005, "permission": 0.0005, "provider_error": 0.003,
			"timeout": 0.002, "rate_limit": 0.002, "validation": 0.008, "not_found": 0.002, "conflict": 0.004}},
		{Name: "flexiti", Share: 0.145, Growth: 1, Errors: map[string]float64{
			"decline": 0.03, "auth": 0.001, "permission": 0.001, "provider_error": 0.004, "timeout": 0.004,
			"rate_limit": 0.001, "validation": 0.01, "not_found": 0.003, "conflict": 0.003}},
		{Name: "cheers", Share: 0.005, Growth: 1, Errors: map[string]float64{
			"decline": 0.02, "auth": 0.002, "permission": 0.001, "provider_error": 0.005, "timeout": 0.003,
			"validation": 0.01, "conflict": 0.005}},
	}
}

// errorTemplate is one way a provider fails. category is what classifying
// it gives (a test checks); a template without code is rendered by status
// alone (an HTML page, an empty body, no response).
type errorTemplate struct {
	category      string
	status        int
	code, subcode string
	msg           string
}

// templates are each provider's errors by kind (category).
var templates = map[string]map[string][]errorTemplate{
	"finix": {
		"decline": {
			{"decline", 402, "DECLINED", "GENERIC_DECLINE", "The card was declined."},
			{"decline", 402, "DECLINED", "INSUFFICIENT_FUNDS", "Insufficient funds."},
			{"decline", 402, "DECLINED", "EXPIRED_CARD", "The card has expired."},
			{"decline", 402, "DECLINED", "CALL_ISSUER", "Call the issuer."},
		},
		"provider_error": {{"provider_error", 402, "UPSTREAM_PROCESSOR_ERROR", "", "Processor unavailable"}, {"provider_error", 500, "SERVER_ERROR", "", "Internal error"}},
		"timeout":        {{"timeout", 0, "", "", ""}, {"timeout", 504, "", "", ""}},
		"rate_limit":     {{"rate_limit", 429, "TOO_MANY_REQUESTS", "", "Rate limit reached"}},
		"auth":           {{"auth", 401, "UNKNOWN", "", "Unauthorized"}},
		"permission":     {{"permission", 403, "FORBIDDEN", "", "Forbidden"}},
		"validation":     {{"validation", 422, "INVALID_FIELD", "", "amount must be positive"}},
		"not_found":      {{"not_found", 404, "NOT_FOUND", "", "Authorization not found"}},
		"conflict":       {{"conflict", 409, "CONFLICT", "", "Transfer already captured"}},
	},
	"finterra": {
		"auth_expired":   {{"auth_expired", 401, "token_expired", "", "JWT exp claim has passed"}},
		"auth":           {{"auth", 401, "invalid_token", "", "Token signature invalid"}, {"auth", 401, "client_revoked", "", "Client credentials revoked"}},
		"permission":     {{"permission", 403, "insufficient_scope", "", "Scope payments:write required"}},
		"provider_error": {{"provider_error", 500, "internal_error", "", "Unexpected server error"}, {"provider_error", 503, "", "", ""}},
		"timeout":        {{"timeout", 0, "", "", ""}},
		"rate_limit":     {{"rate_limit", 429, "rate_limit_exceeded", "", "Per-client rate limit exceeded"}},
		"validation":     {{"validation", 400, "invalid_request", "", "Missing required field amount_cents"}},
		"not_found":      {{"not_found", 404, "order_not_found", "", "Order not found"}},
		"conflict":       {{"conflict", 409, "order_already_paid", "", "Order has already been fully paid"}},
	},
	"paylera": {
		"decline":        {{"decline", 422, "payment.declined", "", "Provider declined"}, {"decline", 422, "wallet.insufficient_funds", "", "Wallet balance too low"}},
		"auth_expired":   {{"auth_expired", 401, "auth.expired_token", "", "Rotation grace period elapsed"}},
		"auth":           {{"auth", 401, "auth.wrong_environment", "", "Sandbox key used in live mode"}},
		"permission":     {{"permission", 403, "auth.scope_required", "", "Scope invoices:write required"}},
		"provider_error": {{"provider_error", 503, "tax.engine_unavailable", "", "External tax engine returned an error"}},
		"timeout":        {{"timeout", 0, "", "", ""}},
		"rate_limit":     {{"rate_limit", 429, "rate_limit.exceeded", "", "Too many requests"}},
		"validation":     {{"validation", 422, "validation.failed", "", "One or more fields invalid"}},
		"not_found":      {{"not_found", 404, "not_found", "", "No such invoice"}},
		"conflict":       {{"conflict", 422, "invoice.locked", "", "Mutation on a non-draft invoice"}},
	},
	"flexiti": {
		"decline":        {{"decline", 409, "not_enough_credit", "", "Customer does not have enough open to buy"}, {"decline", 409, "application_declined", "", "Customer application declined"}},
		"auth":           {{"auth", 401, "invalid_token", "", "Wrong or expired access token"}},
		"permission":     {{"permission", 409, "not_permitted", "", "Not permitted"}},
		"provider_error": {{"provider_error", 409, "general_error", "", "A generic error covering backend process issues"}, {"provider_error", 503, "", "", ""}},
		"timeout":        {{"timeout", 0, "", "", ""}},
		"rate_limit":     {{"rate_limit", 429, "", "", ""}},
		"validation":     {{"validation", 409, "wrong_inputs", "", "Some inputs are wrong!"}},
		"not_found":      {{"not_found", 404, "not_found", "", "Customer Account not found"}},
		"conflict":       {{"conflict", 409, "auth_amount_exceeded", "", "Capture amount is greater than the remaining amount"}},
	},
	"cheers": {
		"decline":        {{"decline", 400, "INSUFFICIENT_CREDIT", "", "The user does not have enough credits"}},
		"auth":           {{"auth", 401, "AUTHORIZATION", "", "API key disabled"}},
		"permission":     {{"permission", 403, "EXTERNAL_DEVICE_HAS_NO_RIGHT_AUTHORITY", "", "Device has no right authority"}},
		"provider_error": {{"provider_error", 502, "", "", ""}},
		"timeout":        {{"timeout", 0, "", "", ""}},
		"rate_limit":     {{"rate_limit", 429, "", "", ""}},
		"validation":     {{"validation", 400, "COULD_NOT_MAP_BIG_DECIMAL_TO_VAT_ENUM_VALUE", "", "Unsupported VAT rate 8.25"}},
		"conflict":       {{"conflict", 400, "X_TRANSACTION_HAS_EXPIRED", "", "The Transaction Key has expired"}},
	},
}

// incidentKinds are the kinds of error each incident kind adds.
var incidentKinds = map[IncidentKind][]string{
	DeclineSpike:      {"decline"},
	ExpiredTokenStorm: {"auth_expired"},
	ProviderOutage:    {"provider_error", "timeout"},
	RateLimitStorm:    {"rate_limit"},
	AuthFailure:       {"auth"},
}
