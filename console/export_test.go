package console

import (
	"context"
	"time"

	"github.com/faultline-dev/faultline/store"
)

// ProviderWindow is providerWindow, for tests.
func (c *Console) ProviderWindow(ctx context.Context, provider string, from, to time.Time) (*store.ProviderWindow, error) {
	return c.providerWindow(ctx, provider, from, to)
}
