package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// base is a fixed instant the tests' events happen around.
var base = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens a Store on url, closed at cleanup.
func open(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(testCtx(t), url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return st
}

// migrated returns a Store on a fresh, migrated database and a pool on the
// same database for the test's own queries.
func migrated(t testing.TB) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	url := pgtest.New(t)
	st := open(t, url)
	_, err := st.Migrate(testCtx(t))
	require.NoError(t, err)
	return st, rawPool(t, url)
}

func rawPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	db, err := pgxpool.New(testCtx(t), url)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return db
}

// event returns an error event of provider at ts, with a body, a message
// and ids derived from n.
func event(ts time.Time, provider, code string, n int) store.Event {
	return store.Event{
		Event: classify.Event{
			TS: ts, Provider: provider, Service: "checkout", Env: "prod", Tenant: "merchant-7",
			Method: "POST", Host: "api." + provider + ".example", Endpoint: "/v1/orders/{id}/payments",
			Status: 402, DurationMS: 123.5, IsError: true,
			Category: classify.Category("decline"), Code: code, Subcode: "insufficient_funds",
			Retryable: false, Known: true,
			CorrelationID: fmt.Sprintf("req_%s_%d", provider, n),
			TraceID:       fmt.Sprintf("trace-%d", n),
			References:    []string{fmt.Sprintf("AU%d", n)},
			Fingerprint:   provider + "/" + code + "/POST /v1/orders/{id}/payments",
			Message:       "Card declined: insufficient funds",
			Body:          `{"error":"` + code + `","message":"Card declined: insufficient funds","request_id":"req_` + fmt.Sprint(n) + `"}`,
		},
		Topic:     "integration-logs",
		Partition: 0,
		Offset:    int64(n),
	}
}

// batchOf builds a batch of events with their rollups and group deltas, as
// ingest would (rows in no particular order).
func batchOf(src store.Source, expected, next int64, events []store.Event, dead ...store.DeadLetter) *store.Batch {
	b := &store.Batch{Source: src, ExpectedOffset: expected, NextOffset: next, Events: events, DeadLetters: dead}
	type rk struct {
		m    int64
		p, e string
	}
	type ek struct {
		m          int64
		p, cat, co string
	}
	reqs, errs, groups := map[rk]int{}, map[ek]int{}, map[string]int{}
	for n, e := range events {
		m := e.TS.Truncate(time.Minute)
		r := rk{m.Unix(), e.Provider, e.Endpoint}
		i, ok := reqs[r]
		if !ok {
			i = len(b.Requests)
			reqs[r] = i
			b.Requests = append(b.Requests, store.RequestRollup{Minute: m, Provider: e.Provider, Endpoint: e.Endpoint})
		}
		b.Requests[i].Requests++
		b.Requests[i].Errors++
		k := ek{m.Unix(), e.Provider, string(e.Category), e.Code}
		j, ok := errs[k]
		if !ok {
			j = len(b.Errors)
			errs[k] = j
			b.Errors = append(b.Errors, store.ErrorRollup{Minute: m, Provider: e.Provider, Category: e.Category, Code: e.Code})
		}
		b.Errors[j].Count++
		g, ok := groups[e.Fingerprint]
		if !ok {
			g = len(b.Groups)
			groups[e.Fingerprint] = g
			b.Groups = append(b.Groups, store.GroupDelta{
				Fingerprint: e.Fingerprint, Provider: e.Provider, Code: e.Code, Subcode: e.Subcode,
				Method: e.Method, Endpoint: e.Endpoint, Category: e.Category, FirstSeen: e.TS, LastSeen: e.TS,
				SampleEvent: -1,
			})
		}
		gd := &b.Groups[g]
		gd.Count++
		if e.TS.Before(gd.FirstSeen) {
			gd.FirstSeen = e.TS
		}
		if !e.TS.Before(gd.LastSeen) {
			gd.LastSeen, gd.SampleCorrelationID, gd.SampleMessage, gd.SampleEvent = e.TS, e.CorrelationID, e.Message, n
		}
	}
	return b
}

// events returns n events of provider, one per second from start, with
// offsets from first.
func events(start time.Time, provider string, first, n int) []store.Event {
	out := make([]store.Event, n)
	for i := range out {
		out[i] = event(start.Add(time.Duration(i)*time.Second), provider, "DECLINED", first+i)
	}
	return out
}

// counts is what the tables hold, summed.
type counts struct {
	Events, DeadLetters, Requests, Errors, ErrorCount, Groups, GroupCount int64
}

func countAll(t testing.TB, db *pgxpool.Pool) counts {
	t.Helper()
	var c counts
	require.NoError(t, db.QueryRow(testCtx(t), `SELECT
		(SELECT count(*) FROM events),
		(SELECT count(*) FROM dead_letters),
		(SELECT coalesce(sum(requests), 0)::bigint FROM rollup_requests),
		(SELECT coalesce(sum(errors), 0)::bigint FROM rollup_requests),
		(SELECT coalesce(sum(count), 0)::bigint FROM rollup_errors),
		(SELECT count(*) FROM error_groups),
		(SELECT coalesce(sum(count), 0)::bigint FROM error_groups)`).
		Scan(&c.Events, &c.DeadLetters, &c.Requests, &c.Errors, &c.ErrorCount, &c.Groups, &c.GroupCount))
	return c
}

func partitions(t testing.TB, db *pgxpool.Pool) []string {
	t.Helper()
	rows, err := db.Query(testCtx(t), `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	return names
}

func src(partition int32) store.Source {
	return store.Source{Group: "faultline", Topic: "integration-logs", Partition: partition}
}

func containsAll(t testing.TB, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		require.True(t, strings.Contains(s, p), "%q does not contain %q", s, p)
	}
}

// requireGroupHoursMatchEvents requires rollup_groups_hourly to hold each
// group's stored events per UTC hour, exactly, and returns how many rows
// it holds.
func requireGroupHoursMatchEvents(t testing.TB, db *pgxpool.Pool) int {
	t.Helper()
	var rows, wrong int
	require.NoError(t, db.QueryRow(testCtx(t), `
		WITH e AS (SELECT date_trunc('hour', ts, 'UTC') AS hour, fingerprint, count(*) AS n FROM events GROUP BY 1, 2)
		SELECT count(*), count(*) FILTER (WHERE r.count IS DISTINCT FROM e.n)
		FROM rollup_groups_hourly r FULL JOIN e ON e.hour = r.hour AND e.fingerprint = r.fingerprint`).Scan(&rows, &wrong))
	require.Zero(t, wrong, "rollup_groups_hourly disagrees with the events on %d of %d rows", wrong, rows)
	return rows
}
