package classify

import "testing"

// A vendor credential in a path segment is no part of an endpoint, even
// when nothing but its shape tells it (no digits, no mixed case).
func TestTemplatePathRemovesVendorCredentials(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/v1/keys/sk_live_AbCdEfGhIjKlMnOpQrStUvWx/rotate", "/v1/keys/{id}/rotate"},
		{"/hooks/xoxb-abcdefghij-klmnopqrst-AbCdEfGhIjKlMnOpQrStUvWx", "/hooks/{id}"},
		{"/v1/whsec_abcdefghijklmnopqrstuvwxyzABCD", "/v1/{id}"},
		{"/pos-api/v2.5/accounts/calculate-interest", "/pos-api/v2.5/accounts/calculate-interest"},
	} {
		if got := TemplatePath(tc.path); got != tc.want {
			t.Errorf("TemplatePath(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
