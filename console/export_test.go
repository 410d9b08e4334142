package console

import (
	"context"
	"time"

	"github.com/faultline-dev/faultline/report"
)

// ProviderWindow is providerWindow, for tests.
func (c *Console) ProviderWindow(ctx context.Context, provider string, from, to time.Time) (*report.ProviderWindow, error) {
	return c.providerWindow(ctx, provider, from, to)
}
