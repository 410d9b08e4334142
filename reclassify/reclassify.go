// Package reclassify decides again the classification of stored error
// events with the current provider catalogs: after a catalog improves (a
// code documented, a category corrected), the events already stored, their
// per-minute rollups and their error groups follow.
//
// It works one UTC day at a time, each in one transaction, and is
// idempotent: events already decided are left as they are, so an
// interrupted run is simply run again. Roll the improved catalog out to
// ingestion first, or events stored meanwhile keep the old classification.
package reclassify

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// Store is what reclassification needs of Postgres.
type Store interface {
	ReclassifyEvents(ctx context.Context, from, to time.Time, decide func(*store.StoredError) bool) (store.Reclassified, error)
}

// Classifier decides a stored event's classification again.
type Classifier interface {
	Reclassify(ev *classify.Event)
}

// Day is what one day's pass did: the events of [From, To) read and those
// whose classification changed.
type Day struct {
	From, To        time.Time
	Events, Changed int64
}

// Run reclassifies the error events with from <= ts < to, a day at a time,
// calling progress (when not nil) after each day. It returns the totals.
func Run(ctx context.Context, st Store, c Classifier, from, to time.Time, progress func(Day)) (Day, error) {
	total := Day{From: from, To: to}
	if !from.Before(to) {
		return total, fmt.Errorf("reclassify: empty window %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	decide := func(e *store.StoredError) bool {
		ev := classify.Event{
			Provider: e.Provider, Code: e.Code, Subcode: e.Subcode, Status: e.Status, Method: e.Method, Endpoint: e.Endpoint,
			IsError: true,
		}
		c.Reclassify(&ev)
		e.Category, e.Known, e.Retryable, e.Fingerprint = string(ev.Category), ev.Known, ev.Retryable, ev.Fingerprint
		return true
	}
	for start := from.UTC(); start.Before(to); {
		end := time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, time.UTC)
		if end.After(to) {
			end = to
		}
		res, err := st.ReclassifyEvents(ctx, start, end, decide)
		if err != nil {
			return total, fmt.Errorf("reclassify %s: %w", start.Format("2006-01-02"), err)
		}
		day := Day{From: start, To: end, Events: res.Events, Changed: res.Changed}
		total.Events += day.Events
		total.Changed += day.Changed
		if progress != nil {
			progress(day)
		}
		start = end
	}
	return total, nil
}
