package store

import (
	"context"
	"strconv"
	"strings"
)

// This file is compiled with the package's tests only: the naive way of
// storing events, the reference of BenchmarkInsertEventsOneByOne, is not
// part of the store's API.

// InsertEventsOneByOne stores events the naive way: one INSERT statement
// per event, each its own transaction, no offsets, rollups or groups. It
// exists only so that benchmarks can show what WriteBatch saves.
func (s *Store) InsertEventsOneByOne(ctx context.Context, events []Event) error {
	if err := s.ensureDays(ctx, eventDays(events)); err != nil {
		return wrap(ctx, "store: insert events", err)
	}
	params := make([]string, len(eventColumns))
	for i := range params {
		params[i] = "$" + strconv.Itoa(i+1)
	}
	stmt := "INSERT INTO events (" + strings.Join(eventColumns, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")"
	var row eventRow
	for i := range events {
		row.set(&events[i])
		if _, err := s.pool.Exec(ctx, stmt, row.values()...); err != nil {
			return wrap(ctx, "store: insert events", err)
		}
	}
	return nil
}

// values returns r's values as plain Go values in eventColumns' order, nil
// for NULL.
func (r *eventRow) values() []any {
	var corr, trace, refs any
	if r.correlationID != "" {
		corr = r.correlationID
	}
	if r.traceID != "" {
		trace = r.traceID
	}
	if len(r.refs) > 0 {
		refs = r.refs
	}
	return []any{
		r.ts, r.provider, r.category, r.code, r.subcode, int16(r.status), r.retryable, r.known,
		corr, trace, refs, r.fingerprint, r.method, r.host, r.endpoint,
		r.service, r.env, r.tenant, r.durationMS, r.message, r.body,
		r.topic, int32(r.partition), r.offset,
	}
}
