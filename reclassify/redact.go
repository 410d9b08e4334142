package reclassify

import (
	"context"
	"fmt"

	"github.com/faultline-dev/faultline/redact"
)

// GroupStore is what cleaning the error groups' samples needs of Postgres.
type GroupStore interface {
	RedactGroupSamples(ctx context.Context, clean func(message, correlationID string) (string, string)) (int64, error)
}

// RedactGroups redacts every error group's sample message and sample
// correlation id again with the current rules, as classification redacts
// an event's message (a document) and its correlation id (an identifier,
// replaced whole when it holds a secret). Groups outlive the events they
// sample, so what an older build let through stays there until this runs;
// it covers every group, whatever the window of the event pass. It returns
// how many groups changed.
func RedactGroups(ctx context.Context, st GroupStore) (int64, error) {
	n, err := st.RedactGroupSamples(ctx, func(message, correlationID string) (string, string) {
		return redact.Document(message), redact.Identifier(correlationID)
	})
	if err != nil {
		return n, fmt.Errorf("reclassify: redact error groups: %w", err)
	}
	return n, nil
}
