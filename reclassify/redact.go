package reclassify

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/redact"
	"github.com/faultline-dev/faultline/store"
)

// RedactStore is what redacting stored rows again needs of Postgres.
type RedactStore interface {
	RedactEvents(ctx context.Context, from, to time.Time, r store.Redaction) (store.Redacted, error)
	RedactDeadLetters(ctx context.Context, r store.Redaction) (store.Redacted, error)
	RedactGroupSamples(ctx context.Context, r store.Redaction) (store.Redacted, error)
}

// rules redact stored text as classification and ingestion redact it when
// they store it: messages and bodies as documents, ids as identifiers
// (replaced whole when they hold a secret).
var rules = store.Redaction{Text: redact.Document, Body: redact.Document, ID: redact.Identifier}

// Redactions counts what Redact changed.
type Redactions struct {
	Events, DeadLetters, Groups store.Redacted
}

// Redact redacts again, with the current rules, what an older build let
// through: the events with from <= ts < to, a UTC day per transaction
// (progress, when not nil, is called after each), then every dead letter
// and every error group's samples, whatever the window (they outlive
// events). It is idempotent: a second run changes nothing.
func Redact(ctx context.Context, st RedactStore, from, to time.Time, progress func(Day)) (Redactions, error) {
	var res Redactions
	for start := from.UTC(); start.Before(to); {
		end := time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, time.UTC)
		if end.After(to) {
			end = to
		}
		r, err := st.RedactEvents(ctx, start, end, rules)
		if err != nil {
			return res, fmt.Errorf("reclassify: redact events of %s: %w", start.Format("2006-01-02"), err)
		}
		res.Events.Read += r.Read
		res.Events.Changed += r.Changed
		if progress != nil {
			progress(Day{From: start, To: end, Events: r.Read, Changed: r.Changed})
		}
		start = end
	}
	var err error
	if res.DeadLetters, err = st.RedactDeadLetters(ctx, rules); err != nil {
		return res, fmt.Errorf("reclassify: redact dead letters: %w", err)
	}
	if res.Groups, err = st.RedactGroupSamples(ctx, rules); err != nil {
		return res, fmt.Errorf("reclassify: redact error groups: %w", err)
	}
	return res, nil
}
