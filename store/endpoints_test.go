package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
	"github.com/faultline-dev/faultline/synth"
)

func idClassifier(t testing.TB) *classify.Classifier {
	t.Helper()
	cats, err := classify.BuiltinCatalogs()
	require.NoError(t, err)
	c, err := classify.New(cats, classify.Options{Hosts: synth.IDShapesHosts()})
	require.NoError(t, err)
	return c
}

// idBatches builds batches of n records of synth.IDShapes each, as ingest
// does, one source per batch.
func idBatches(t testing.TB, c *classify.Classifier, seed uint64, batches, n int) []*store.Batch {
	t.Helper()
	g := synth.NewIDShapes(synth.Options{Seed: seed, ErrorRate: 0.2, Start: base})
	var out []*store.Batch
	for b := range batches {
		bb := ingest.NewBuilder(c, store.Source{Group: "g", Topic: fmt.Sprintf("t%d-%d", seed, b)}, store.NoOffset, ingest.BuilderOptions{})
		for i := range n {
			usable, _ := bb.Add(g.Next().Record, "t", 0, int64(i))
			require.Equal(t, 1, usable)
		}
		out = append(out, bb.Take(int64(n)))
	}
	return out
}

// totals are the sums that folding must not change.
type totals struct {
	Requests, RequestErrors, HourlyRequests map[string]int64 // by provider
	GroupCounts                             map[string]int64 // by provider
	Events                                  int64
}

func readTotals(t *testing.T, db *pgxpool.Pool) totals {
	t.Helper()
	ctx := testCtx(t)
	s := totals{Requests: map[string]int64{}, RequestErrors: map[string]int64{}, HourlyRequests: map[string]int64{}, GroupCounts: map[string]int64{}}
	collect := func(q string, into map[string]int64) {
		rows, err := db.Query(ctx, q)
		require.NoError(t, err)
		for rows.Next() {
			var k string
			var v int64
			require.NoError(t, rows.Scan(&k, &v))
			into[k] = v
		}
		require.NoError(t, rows.Err())
	}
	collect(`SELECT provider || ' ' || minute, sum(requests)::bigint FROM rollup_requests GROUP BY 1`, s.Requests)
	collect(`SELECT provider || ' ' || minute, sum(errors)::bigint FROM rollup_requests GROUP BY 1`, s.RequestErrors)
	collect(`SELECT provider || ' ' || hour, sum(requests)::bigint FROM rollup_requests_hourly GROUP BY 1`, s.HourlyRequests)
	collect(`SELECT provider, sum(count)::bigint FROM error_groups GROUP BY 1`, s.GroupCounts)
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&s.Events))
	return s
}

func distinctEndpoints(t *testing.T, db *pgxpool.Pool, provider string) (n int) {
	t.Helper()
	require.NoError(t, db.QueryRow(testCtx(t), `SELECT count(DISTINCT endpoint) FROM rollup_requests WHERE provider = $1`, provider).Scan(&n))
	return n
}

// Beyond --max-endpoints distinct endpoints of a provider, calls are stored
// under {other}: in the rollups, the groups and the events alike, counted
// once each, and never more endpoints than the bound, even when batches
// race to register theirs.
func TestEndpointBound(t *testing.T) {
	url := pgtest.New(t)
	var overflow sync.Map
	st, err := store.Open(testCtx(t), url, store.WithEndpointLimit(40, func(p string, n int64) {
		v, _ := overflow.LoadOrStore(p, new(atomic.Int64))
		v.(*atomic.Int64).Add(n)
	}))
	require.NoError(t, err)
	t.Cleanup(st.Close)
	_, err = st.Migrate(testCtx(t))
	require.NoError(t, err)
	db := rawPool(t, url)

	c := idClassifier(t)
	batches := idBatches(t, c, 3, 8, 500)
	var calls int64
	for _, b := range batches {
		for _, r := range b.Requests {
			calls += r.Requests
		}
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Go(func() { require.NoError(t, st.WriteBatch(testCtx(t), b)) })
	}
	wg.Wait()

	ctx := testCtx(t)
	var stored int64
	require.NoError(t, db.QueryRow(ctx, `SELECT sum(requests) FROM rollup_requests`).Scan(&stored))
	require.Equal(t, calls, stored, "every call counted once")
	require.Less(t, distinctEndpoints(t, db, "finterra"), 40, "finterra's endpoints are declared: few, none over")
	_, finterraOver := overflow.Load("finterra")
	require.False(t, finterraOver)
	for _, p := range []string{"paylera", "acmepay"} {
		var distinct, registered int
		require.NoError(t, db.QueryRow(ctx, `SELECT count(DISTINCT endpoint) FILTER (WHERE endpoint <> '{other}') FROM rollup_requests WHERE provider = $1`, p).Scan(&distinct))
		require.NoError(t, db.QueryRow(ctx, `SELECT count(DISTINCT endpoint) FILTER (WHERE endpoint <> '{other}') FROM endpoints WHERE provider = $1`, p).Scan(&registered))
		require.Equal(t, 40, distinct, p)
		require.Equal(t, 40, registered, p)
		var other int64
		require.NoError(t, db.QueryRow(ctx, `SELECT coalesce(sum(requests), 0) FROM rollup_requests WHERE provider = $1 AND endpoint = '{other}'`, p).Scan(&other))
		v, ok := overflow.Load(p)
		require.True(t, ok, p)
		require.Equal(t, other, v.(*atomic.Int64).Load(), "the hook counts what went to {other}")
	}
	// Events and groups under {other} agree: every event's group exists
	// with its endpoint.
	var orphans, otherEvents int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events e LEFT JOIN error_groups g ON g.fingerprint = e.fingerprint
		WHERE g.fingerprint IS NULL OR g.endpoint <> e.endpoint`).Scan(&orphans))
	require.Zero(t, orphans)
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events WHERE endpoint = '{other}'`).Scan(&otherEvents))
	require.Greater(t, otherEvents, 0)
	var groupSum, events int64
	require.NoError(t, db.QueryRow(ctx, `SELECT (SELECT sum(count) FROM error_groups), (SELECT count(*) FROM events)`).Scan(&groupSum, &events))
	require.Equal(t, events, groupSum)
	requireGroupHoursMatchEvents(t, db)
}

// The fold-in pass moves the rows of literal endpoints under their
// templates while batches keep being written: totals are unchanged, a
// second pass after the writers stopped leaves no literal endpoint that has
// a template, and a third changes nothing.
func TestFoldEndpointsExactWhileWriting(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	c := idClassifier(t)
	first := idBatches(t, c, 5, 6, 3000)
	for _, b := range first {
		require.NoError(t, st.WriteBatch(ctx, b))
	}
	more := idBatches(t, c, 6, 6, 1000) // written with literal endpoints while folding
	before := distinctEndpoints(t, db, "paylera")

	added, ran, err := st.LearnTemplates(ctx, func(stored []endpoints.Observation, known []endpoints.Learned) []endpoints.Learned {
		return endpoints.Learn(stored, known, endpoints.DefaultThreshold)
	})
	require.NoError(t, err)
	require.True(t, ran)
	require.Greater(t, added, 3)
	rules, err := st.TemplateRules(ctx)
	require.NoError(t, err)
	var rs []classify.Rule
	for _, r := range rules {
		rs = append(rs, r.Rule)
	}
	tpl, err := classify.NewTemplates(rs)
	require.NoError(t, err)
	folder := idClassifier(t)
	folder.SetTemplates(tpl)

	var wg sync.WaitGroup
	wg.Go(func() {
		for _, b := range more {
			require.NoError(t, st.WriteBatch(ctx, b))
		}
	})
	stored, err := st.StoredEndpoints(ctx)
	require.NoError(t, err)
	moves, _ := endpoints.Plan(stored, folder.Endpoint)
	require.NotEmpty(t, moves)
	f, err := st.FoldEndpoints(ctx, moves)
	require.NoError(t, err)
	require.Equal(t, int64(len(moves)), f.Endpoints)
	require.Greater(t, f.Groups, int64(0))
	require.Greater(t, f.Events, int64(0))
	wg.Wait()

	var want totals
	{ // what every batch adds up to: the same data written without folding
		url := pgtest.New(t)
		ref := open(t, url)
		_, err := ref.Migrate(ctx)
		require.NoError(t, err)
		for _, b := range append(append([]*store.Batch(nil), first...), more...) {
			require.NoError(t, ref.WriteBatch(ctx, b))
		}
		want = readTotals(t, rawPool(t, url))
	}
	require.Equal(t, want, readTotals(t, db), "totals unchanged by folding while writing")

	// Stragglers written with literal endpoints go at the next pass.
	stored, err = st.StoredEndpoints(ctx)
	require.NoError(t, err)
	moves, _ = endpoints.Plan(stored, folder.Endpoint)
	_, err = st.FoldEndpoints(ctx, moves)
	require.NoError(t, err)
	require.Equal(t, want, readTotals(t, db))
	after := distinctEndpoints(t, db, "paylera")
	require.Less(t, after, before/5, "paylera's literal endpoints folded (%d before)", before)
	rows, err := db.Query(ctx, `SELECT DISTINCT provider, endpoint FROM rollup_requests`)
	require.NoError(t, err)
	for rows.Next() {
		var p, e string
		require.NoError(t, rows.Scan(&p, &e))
		require.Equal(t, e, folder.Endpoint(p, "", e), "%s %s still literal", p, e)
	}
	require.NoError(t, rows.Err())
	var orphans int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*) FROM events e LEFT JOIN error_groups g ON g.fingerprint = e.fingerprint
		WHERE g.fingerprint IS NULL OR g.endpoint <> e.endpoint`).Scan(&orphans))
	require.Zero(t, orphans, "every event is in a group of its endpoint")
	require.Positive(t, requireGroupHoursMatchEvents(t, db), "the groups' hourly counts moved with them")

	// Idempotent: nothing left to move.
	stored, err = st.StoredEndpoints(ctx)
	require.NoError(t, err)
	moves, _ = endpoints.Plan(stored, folder.Endpoint)
	require.Empty(t, moves)
	f, err = st.FoldEndpoints(ctx, moves)
	require.NoError(t, err)
	require.Zero(t, f.Endpoints)
	// Moving what was moved already changes nothing either.
	_, err = st.FoldEndpoints(ctx, []endpoints.Move{{Provider: "paylera", From: "/v1/products/vintage-lamp-1", To: "/v1/products/{id}"}})
	require.NoError(t, err)
	require.Equal(t, want, readTotals(t, db))
}

// One process learns at a time; rules subsumed by a parameter learned
// later go, the others keep when they were learned.
func TestLearnTemplates(t *testing.T) {
	st, db := migrated(t)
	ctx := testCtx(t)
	rule := func(p string, v int) endpoints.Learned {
		return endpoints.Learned{Rule: classify.Rule{Provider: "acme", Method: "GET", Pattern: p}, Values: v}
	}
	learn := func(out ...endpoints.Learned) func([]endpoints.Observation, []endpoints.Learned) []endpoints.Learned {
		return func([]endpoints.Observation, []endpoints.Learned) []endpoints.Learned { return out }
	}
	added, ran, err := st.LearnTemplates(ctx, learn(rule("/a/x/*", 300), rule("/b/*", 250)))
	require.NoError(t, err)
	require.True(t, ran)
	require.Equal(t, 2, added)
	stored, err := st.TemplateRules(ctx)
	require.NoError(t, err)
	require.Len(t, stored, 2)
	learnedAt := stored[1].LearnedAt

	added, _, err = st.LearnTemplates(ctx, learn(rule("/a/*/*", 260), rule("/b/*", 400)))
	require.NoError(t, err)
	require.Equal(t, 1, added)
	stored, err = st.TemplateRules(ctx)
	require.NoError(t, err)
	require.Len(t, stored, 2)
	require.Equal(t, "/a/*/*", stored[0].Pattern)
	require.Equal(t, 400, stored[1].Values)
	require.Equal(t, learnedAt, stored[1].LearnedAt)

	// While another transaction holds the learning lock, nothing happens.
	tx, err := db.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7378423238785164400)`)
	require.NoError(t, err)
	called := false
	_, ran, err = st.LearnTemplates(ctx, func([]endpoints.Observation, []endpoints.Learned) []endpoints.Learned {
		called = true
		return nil
	})
	require.NoError(t, err)
	require.False(t, ran)
	require.False(t, called)
	require.NoError(t, tx.Rollback(ctx))

	// Folding waits for the batches in flight, and they for it.
	lock, err := db.Begin(ctx)
	require.NoError(t, err)
	_, err = lock.Exec(ctx, `SELECT pg_advisory_xact_lock(7378423238785164399)`)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		b := batchOf(store.Source{Group: "g", Topic: "t", Partition: 0}, store.NoOffset, 1, events(base, "finix", 0, 1))
		b.Endpoints = []store.EndpointName{{Provider: "finix", Method: "POST", Endpoint: "/v1/orders/{id}/payments"}}
		done <- st.WriteBatch(ctx, b)
	}()
	select {
	case err := <-done:
		t.Fatalf("a batch was written while a fold held its lock (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, lock.Rollback(ctx))
	require.NoError(t, <-done)
}
