package classify

import "fmt"

// Category is one of the canonical error categories of faultline's taxonomy.
type Category string

// The canonical categories (TAXONOMY.md).
const (
	Auth          Category = "auth"
	AuthExpired   Category = "auth_expired"
	Permission    Category = "permission"
	Validation    Category = "validation"
	Idempotency   Category = "idempotency"
	Conflict      Category = "conflict"
	NotFound      Category = "not_found"
	Decline       Category = "decline"
	RateLimit     Category = "rate_limit"
	Blocked       Category = "blocked"
	ProviderError Category = "provider_error"
	Timeout       Category = "timeout"
	Unknown       Category = "unknown"
)

// Categories lists every canonical category in the taxonomy's order.
var Categories = []Category{
	Auth, AuthExpired, Permission, Validation, Idempotency, Conflict, NotFound,
	Decline, RateLimit, Blocked, ProviderError, Timeout, Unknown,
}

// ParseCategory returns the category named s, or an error naming s.
func ParseCategory(s string) (Category, error) {
	for _, c := range Categories {
		if string(c) == s {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown category %q", s)
}

// DefaultRetryable is the taxonomy's retry rule for a category: true for
// rate_limit, provider_error and timeout. (An idempotency request still in
// flight is the documented exception; catalogs mark it explicitly.)
func (c Category) DefaultRetryable() bool {
	return c == RateLimit || c == ProviderError || c == Timeout
}

// StatusCategory is the taxonomy's fallback for an error without a documented
// code: 400/422 validation, 401 auth, 403 permission, 404 not_found,
// 409 conflict, 429 rate_limit, 408/504 timeout, other 5xx provider_error,
// and 0 (no response) timeout. Anything else is unknown.
func StatusCategory(status int) Category {
	switch {
	case status <= 0:
		return Timeout
	case status == 400 || status == 422:
		return Validation
	case status == 401:
		return Auth
	case status == 403:
		return Permission
	case status == 404:
		return NotFound
	case status == 409:
		return Conflict
	case status == 429:
		return RateLimit
	case status == 408 || status == 504:
		return Timeout
	case status >= 500 && status <= 599:
		return ProviderError
	}
	return Unknown
}
