package detect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/faultline-dev/faultline/classify"
)

// Rule names a detector. Its value is what alerts store and print.
type Rule string

// The rules. The rate rules follow a provider's rate of some categories of
// errors among its requests; NewCode follows codes never seen before.
const (
	DeclineSpike      Rule = "decline_spike"
	ExpiredTokenStorm Rule = "expired_token_storm"
	ProviderOutage    Rule = "provider_outage"
	RateLimitStorm    Rule = "rate_limit_storm"
	AuthFailure       Rule = "auth_failure"
	NewCode           Rule = "new_code"
)

// Rules lists every rule.
var Rules = []Rule{DeclineSpike, ExpiredTokenStorm, ProviderOutage, RateLimitStorm, AuthFailure, NewCode}

// ParseRule returns the rule named s, or an error that lists the rules.
func ParseRule(s string) (Rule, error) {
	if slices.Contains(Rules, Rule(s)) {
		return Rule(s), nil
	}
	names := make([]string, len(Rules))
	for i, r := range Rules {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown rule %q (rules: %s)", s, strings.Join(names, ", "))
}

// Categories returns the error categories whose rate a rate rule follows;
// nil for NewCode, which follows codes of any category.
func (r Rule) Categories() []classify.Category {
	switch r {
	case DeclineSpike:
		return []classify.Category{classify.Decline}
	case ExpiredTokenStorm:
		return []classify.Category{classify.AuthExpired}
	case ProviderOutage:
		return []classify.Category{classify.ProviderError, classify.Timeout}
	case RateLimitStorm:
		return []classify.Category{classify.RateLimit}
	case AuthFailure:
		return []classify.Category{classify.Auth, classify.Permission}
	}
	return nil
}

// AlertName is the rule's Alertmanager alertname.
func (r Rule) AlertName() string {
	switch r {
	case DeclineSpike:
		return "ProviderDeclineSpike"
	case ExpiredTokenStorm:
		return "ProviderExpiredTokenStorm"
	case ProviderOutage:
		return "ProviderOutage"
	case RateLimitStorm:
		return "ProviderRateLimitStorm"
	case AuthFailure:
		return "ProviderAuthFailure"
	case NewCode:
		return "ProviderNewErrorCode"
	}
	return string(r)
}

// Description says what the rule watches, for people.
func (r Rule) Description() string {
	switch r {
	case DeclineSpike:
		return "the provider's decline rate (declines per request), and each decline code's, far above its baseline"
	case ExpiredTokenStorm:
		return "expired credentials or access tokens of our own (auth_expired), normally near zero"
	case ProviderOutage:
		return "the rate of the provider's own failures (provider_error) and timeouts"
	case RateLimitStorm:
		return "the rate of throttled requests (rate_limit)"
	case AuthFailure:
		return "the rate of authentication and permission failures (a revoked client, a wrong pool or environment)"
	case NewCode:
		return "a provider code never seen before in the stored history, once it is more than noise"
	}
	return string(r)
}

// what names the errors a rate rule counts, in summaries.
func (r Rule) what() string {
	switch r {
	case DeclineSpike:
		return "decline rate"
	case ExpiredTokenStorm:
		return "expired-token errors"
	case ProviderOutage:
		return "provider errors and timeouts"
	case RateLimitStorm:
		return "rate-limited requests"
	case AuthFailure:
		return "auth and permission failures"
	}
	return string(r)
}

// monitored are the categories of every rate rule; detailed those whose
// codes and subcodes are series of their own (decline codes).
func monitored() (all, detailed []classify.Category) {
	for _, r := range Rules {
		all = append(all, r.Categories()...)
	}
	return all, []classify.Category{classify.Decline}
}
