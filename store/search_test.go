package store_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/store"
)

// searchFixture stores events of three tenants (and none), two services,
// two providers, three codes and two endpoints over three days, several at
// the same instant, and returns them with their stored ids.
func searchFixture(t *testing.T) (*store.Store, *pgxpool.Pool, []store.Event, map[string]int64) {
	t.Helper()
	st, db := migrated(t)
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(7, 8))
	start := base.Truncate(24 * time.Hour)
	var evs []store.Event
	for i := range 900 {
		ts := start.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))).Truncate(time.Second)
		if i%10 == 0 && len(evs) > 0 {
			ts = evs[len(evs)-1].TS // ties: pages must neither skip nor repeat them
		}
		provider := []string{"finix", "paylera"}[rng.IntN(2)]
		code := []string{"DECLINED", "DECLINED", "LIMIT", "RARE"}[rng.IntN(4)]
		if code == "RARE" && rng.IntN(10) > 0 {
			code = "DECLINED"
		}
		e := event(ts, provider, code, i)
		e.Tenant = []string{"acme", "globex", "initech", ""}[rng.IntN(4)]
		e.Service = []string{"checkout", "billing"}[rng.IntN(2)]
		e.Endpoint = []string{"/v1/orders/{id}/payments", "/transfers"}[rng.IntN(2)]
		e.Status = map[string]int{"DECLINED": 402, "LIMIT": 429, "RARE": 409}[code]
		if code == "LIMIT" {
			e.Category = classify.Category("rate_limit")
		}
		e.Fingerprint = provider + "/" + code + "/" + e.Endpoint
		evs = append(evs, e)
	}
	for i := 0; i < len(evs); i += 300 {
		require.NoError(t, st.WriteBatch(ctx, batchOf(src(int32(i)), store.NoOffset, 300, evs[i:i+300])))
	}
	ids := map[string]int64{}
	rows, err := db.Query(ctx, `SELECT correlation_id, id FROM events`)
	require.NoError(t, err)
	for rows.Next() {
		var c string
		var id int64
		require.NoError(t, rows.Scan(&c, &id))
		ids[c] = id
	}
	require.NoError(t, rows.Err())
	return st, db, evs, ids
}

// TestSearchEventsPages searches with every filter and pages through each
// result a few events at a time: the pages together are exactly the test's
// own selection of the events, newest first, none skipped or repeated,
// ties included.
func TestSearchEventsPages(t *testing.T) {
	st, _, evs, ids := searchFixture(t)
	ctx := testCtx(t)
	start := base.Truncate(24 * time.Hour)
	for _, q := range []store.SearchQuery{
		{Tenant: "acme"},
		{Tenant: "globex", From: start.Add(20 * time.Hour), To: start.Add(50 * time.Hour)},
		{Service: "billing"},
		{Provider: "paylera", Code: "LIMIT"},
		{Tenant: "initech", Provider: "finix", Category: "decline"},
		{Tenant: "acme", Code: "RARE"},
		{Service: "checkout", Status: 429, Endpoint: "/transfers"},
		{Provider: "finix", Endpoint: "/v1/orders/{id}/payments", From: start.Add(70 * time.Hour)},
		{Tenant: "nobody"},
		{Tenant: "acme", Code: "NEVER_SEEN"},
	} {
		name := fmt.Sprintf("%+v", q)
		if q.From.IsZero() {
			q.From = start
		}
		if q.To.IsZero() {
			q.To = start.Add(72 * time.Hour)
		}
		var want []string
		for _, e := range evs {
			if (q.Tenant == "" || e.Tenant == q.Tenant) && (q.Service == "" || e.Service == q.Service) &&
				(q.Provider == "" || e.Provider == q.Provider) && (q.Category == "" || string(e.Category) == q.Category) &&
				(q.Code == "" || e.Code == q.Code) && (q.Status == 0 || e.Status == q.Status) &&
				(q.Endpoint == "" || e.Endpoint == q.Endpoint) && !e.TS.Before(q.From) && e.TS.Before(q.To) {
				want = append(want, e.CorrelationID)
			}
		}
		slices.SortFunc(want, func(a, b string) int {
			ea, eb := evs[offsetOf(a)], evs[offsetOf(b)]
			return cmp.Or(eb.TS.Compare(ea.TS), cmp.Compare(ids[b], ids[a]))
		})
		q.Limit = 7
		var got []string
		for page := 0; ; page++ {
			require.Less(t, page, 200, name)
			p, err := st.SearchEvents(ctx, q)
			require.NoError(t, err, name)
			require.LessOrEqual(t, len(p.Events), 7, name)
			for _, e := range p.Events {
				got = append(got, e.CorrelationID)
				require.Equal(t, evs[offsetOf(e.CorrelationID)].Tenant, e.Tenant, name)
			}
			if !p.More {
				break
			}
			require.Len(t, p.Events, 7, "a page before the last is full: %s", name)
			last := p.Events[len(p.Events)-1]
			q.AfterTS, q.AfterID = last.TS, last.ID
		}
		require.Equal(t, want, got, name)
		if strings.Contains(name, "nobody") || strings.Contains(name, "NEVER_SEEN") {
			require.Empty(t, got, name)
		} else {
			require.NotEmpty(t, got, name)
		}
	}
}

// offsetOf is the index of the fixture's event of a correlation id
// (req_<provider>_<i>).
func offsetOf(correlationID string) int {
	var i int
	_, _ = fmt.Sscanf(correlationID[strings.LastIndexByte(correlationID, '_')+1:], "%d", &i)
	return i
}

func TestSearchEventsRefusesWhatCannotBeASearch(t *testing.T) {
	st, _ := migrated(t)
	ctx := testCtx(t)
	ok := store.SearchQuery{Tenant: "acme", From: base, To: base.Add(time.Hour), Limit: 10}
	for name, change := range map[string]func(q *store.SearchQuery){
		"no scope":             func(q *store.SearchQuery) { q.Tenant = "" },
		"an empty window":      func(q *store.SearchQuery) { q.To = q.From },
		"no limit":             func(q *store.SearchQuery) { q.Limit = 0 },
		"a limit too high":     func(q *store.SearchQuery) { q.Limit = store.MaxSearchLimit + 1 },
		"a NUL byte":           func(q *store.SearchQuery) { q.Tenant = "ac\x00me" },
		"invalid UTF-8":        func(q *store.SearchQuery) { q.Code = "\xff" },
		"longer than any":      func(q *store.SearchQuery) { q.Endpoint = strings.Repeat("/x", 300) },
		"not an HTTP status":   func(q *store.SearchQuery) { q.Status = 1000 },
		"a negative status":    func(q *store.SearchQuery) { q.Status = -1 },
		"no scope but filters": func(q *store.SearchQuery) { q.Tenant, q.Code = "", "DECLINED" },
	} {
		q := ok
		change(&q)
		_, err := st.SearchEvents(ctx, q)
		require.ErrorIs(t, err, store.ErrBadSearch, name)
	}
	p, err := st.SearchEvents(ctx, ok)
	require.NoError(t, err)
	require.Empty(t, p.Events)
	require.False(t, p.More)
}

// TestSearchUsesIndexes: whatever the scope and filters, and even with a
// generic plan (the values unknown), a search reads each partition through
// an index, never sequentially: the scope's (scope, ts, id) index, or a
// code's groups through (fingerprint, ts).
func TestSearchUsesIndexes(t *testing.T) {
	st, db, _, _ := searchFixture(t)
	ctx := testCtx(t)
	start := base.Truncate(24 * time.Hour)
	conn, err := db.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	for i, tc := range []struct {
		q     store.SearchQuery
		index string
	}{
		{store.SearchQuery{Tenant: "acme"}, "_tenant_ts_id_idx"},
		{store.SearchQuery{Service: "billing", Status: 402}, "_service_ts_id_idx"},
		{store.SearchQuery{Provider: "finix", Category: "decline"}, "_provider_ts_id_idx"},
		{store.SearchQuery{Tenant: "acme", AfterTS: start.Add(30 * time.Hour), AfterID: 400}, "_tenant_ts_id_idx"},
		{store.SearchQuery{Tenant: "globex", Code: "RARE"}, "_idx"},
	} {
		q := tc.q
		q.From, q.To, q.Limit = start, start.Add(72*time.Hour), 50
		sql, args, err := st.SearchStatement(ctx, q)
		require.NoError(t, err)
		name := fmt.Sprintf("q%d", i)
		_, err = conn.Exec(ctx, "PREPARE "+name+" AS "+sql)
		require.NoError(t, err)
		rows, err := conn.Query(ctx, "EXPLAIN (COSTS OFF) EXECUTE "+name+"("+literals(t, args)+")")
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(t, rows.Err())
		text := strings.Join(plan, "\n")
		require.NotContains(t, text, "Seq Scan", "%+v\n%s", tc.q, text)
		require.Contains(t, text, tc.index, "%+v\n%s", tc.q, text)
		require.Equal(t, 3, strings.Count(text, "on events_p"), "each of the three days' partitions: %+v\n%s", tc.q, text)
	}
}

// literals writes args as SQL literals, for EXECUTE.
func literals(t *testing.T, args []any) string {
	t.Helper()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	var out []string
	for _, a := range args {
		switch v := a.(type) {
		case string:
			out = append(out, quote(v))
		case time.Time:
			out = append(out, quote(v.Format(time.RFC3339Nano))+"::timestamptz")
		case int:
			out = append(out, fmt.Sprint(v))
		case int64:
			out = append(out, fmt.Sprint(v))
		case []string:
			var q []string
			for _, s := range v {
				q = append(q, quote(s))
			}
			out = append(out, "ARRAY["+strings.Join(q, ", ")+"]::text[]")
		default:
			t.Fatalf("no literal for %T", a)
		}
	}
	return strings.Join(out, ", ")
}
