package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
)

// DefaultMaxEndpoints is how many distinct endpoints of one provider the
// rollups hold at most, by default.
const DefaultMaxEndpoints = 2000

// WithNewEndpoints has f told, after each commit, how many endpoints a
// batch registered that were stored for none before it: new endpoints are
// what templates are learned from.
func WithNewEndpoints(f func(n int)) Option { return func(o *options) { o.onNew = f } }

// WithEndpointLimit bounds the distinct endpoints of each provider that
// batches store (max; 0 is DefaultMaxEndpoints): the calls of a provider's
// endpoints beyond it are stored under endpoints.Other, in the rollups, the
// error groups and the events alike. overflow, when set, is told after
// each commit how many calls of a provider went there.
func WithEndpointLimit(max int, overflow func(provider string, calls int64)) Option {
	return func(o *options) { o.maxEndpoints, o.onOverflow = max, overflow }
}

// Advisory locks of the endpoint templates. Batch writers (and
// reclassification) hold foldLock shared for their transaction; the
// fold-in pass holds it exclusively, so that it moves rows no writer is
// adding to, and a writer that comes after it registers what it writes.
// admitLockClass with a provider's hash serialises the admission of new
// endpoints of that provider under the bound. learnLock lets one process
// learn at a time.
const (
	foldLock       = 7378423238785164399 // "faultlin"+1
	admitLockClass = 1717661285          // "fold"
	learnLock      = 7378423238785164400
)

// lockForWrite takes the fold lock shared: the transaction writes rollups,
// groups or events that a fold-in pass must not move meanwhile.
func lockForWrite(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, int64(foldLock)); err != nil {
		return fmt.Errorf("fold lock: %w", err)
	}
	return nil
}

// admission is what registering a batch's endpoints did: the calls that
// overflowed per provider, and how many names were new.
type admission struct {
	overflow map[string]int64
	added    int
}

// admitEndpoints registers the batch's endpoints and applies the bound: it
// returns the batch to write (b itself, or a copy whose calls of endpoints
// beyond the bound are under endpoints.Other) and what it did.
func (s *Store) admitEndpoints(ctx context.Context, tx pgx.Tx, b *Batch) (*Batch, admission, error) {
	var a admission
	if err := lockForWrite(ctx, tx); err != nil {
		return nil, a, err
	}
	if len(b.Endpoints) == 0 {
		return b, a, nil
	}
	names := make([]EndpointName, 0, len(b.Endpoints))
	for _, n := range b.Endpoints {
		names = append(names, EndpointName{sanitize(n.Provider, maxShortText), sanitize(n.Method, maxShortText), sanitize(n.Endpoint, maxShortText)})
	}
	slices.SortFunc(names, compareNames)
	names = slices.Compact(names)
	providers, methods, eps := nameColumns(names)
	rows, err := tx.Query(ctx, `SELECT e.provider, e.method, e.endpoint FROM endpoints e
		JOIN unnest($1::text[], $2::text[], $3::text[]) AS n(p, m, e) ON e.provider = n.p AND e.method = n.m AND e.endpoint = n.e`,
		providers, methods, eps)
	if err != nil {
		return nil, a, fmt.Errorf("registered endpoints: %w", err)
	}
	known, err := pgx.CollectRows(rows, pgx.RowToStructByPos[EndpointName])
	if err != nil {
		return nil, a, fmt.Errorf("registered endpoints: %w", err)
	}
	slices.SortFunc(known, compareNames)
	missing := slices.DeleteFunc(names, func(n EndpointName) bool {
		_, found := slices.BinarySearchFunc(known, n, compareNames)
		return found
	})
	if len(missing) == 0 {
		return b, a, nil
	}
	a.added = len(missing)
	over := map[[2]string]bool{}
	for start := 0; start < len(missing); {
		p := missing[start].Provider
		end := start
		for end < len(missing) && missing[end].Provider == p {
			end++
		}
		if err := s.admitProvider(ctx, tx, missing[start:end], over); err != nil {
			return nil, a, err
		}
		start = end
	}
	if len(over) == 0 {
		return b, a, nil
	}
	nb, calls := overflowBatch(b, over)
	a.overflow = calls
	return nb, a, nil
}

// admitProvider registers the missing endpoint names of one provider (in
// order), under its admission lock: a name whose endpoint is registered
// with another method is no new endpoint; a new endpoint is admitted while
// the provider has fewer than the bound, and goes to over otherwise.
func (s *Store) admitProvider(ctx context.Context, tx pgx.Tx, missing []EndpointName, over map[[2]string]bool) error {
	p := missing[0].Provider
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, int32(admitLockClass), p); err != nil {
		return fmt.Errorf("admission lock: %w", err)
	}
	eps := make([]string, len(missing))
	for i, n := range missing {
		eps[i] = n.Endpoint
	}
	var count int
	var present []string
	err := tx.QueryRow(ctx, `SELECT
			(SELECT count(DISTINCT endpoint) FROM endpoints WHERE provider = $1 AND endpoint <> $3),
			(SELECT coalesce(array_agg(DISTINCT endpoint), '{}') FROM endpoints WHERE provider = $1 AND endpoint = ANY($2))`,
		p, eps, endpoints.Other).Scan(&count, &present)
	if err != nil {
		return fmt.Errorf("count endpoints of %s: %w", p, err)
	}
	registered := map[string]bool{endpoints.Other: true}
	for _, e := range present {
		registered[e] = true
	}
	var admit []EndpointName
	for _, n := range missing {
		if !registered[n.Endpoint] {
			if count >= s.maxEndpoints {
				over[[2]string{p, n.Endpoint}] = true
				n.Endpoint = endpoints.Other
			} else {
				registered[n.Endpoint] = true
				count++
			}
		}
		admit = append(admit, n)
	}
	providers, methods, names := nameColumns(admit)
	if _, err := tx.Exec(ctx, `INSERT INTO endpoints (provider, method, endpoint)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`, providers, methods, names); err != nil {
		return fmt.Errorf("register endpoints: %w", err)
	}
	return nil
}

func compareNames(a, b EndpointName) int {
	return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Endpoint, b.Endpoint))
}

func nameColumns(names []EndpointName) (providers, methods, eps []string) {
	for _, n := range names {
		providers, methods, eps = append(providers, n.Provider), append(methods, n.Method), append(eps, n.Endpoint)
	}
	return providers, methods, eps
}

// overflowBatch returns a copy of b whose calls of the (provider, endpoint)
// pairs in over are under endpoints.Other, with their events' and groups'
// fingerprints made again, and the calls moved per provider.
func overflowBatch(b *Batch, over map[[2]string]bool) (*Batch, map[string]int64) {
	nb := *b
	calls := map[string]int64{}
	nb.Requests = slices.Clone(b.Requests)
	for i := range nb.Requests {
		r := &nb.Requests[i]
		if over[[2]string{sanitize(r.Provider, maxShortText), sanitize(r.Endpoint, maxShortText)}] {
			r.Endpoint = endpoints.Other
			calls[r.Provider] += r.Requests
		}
	}
	fingerprints := map[string]string{} // old to new
	nb.Events = slices.Clone(b.Events)
	for i := range nb.Events {
		ev := &nb.Events[i]
		if over[[2]string{sanitize(ev.Provider, maxShortText), sanitize(ev.Endpoint, maxShortText)}] {
			old := ev.Fingerprint
			ev.Endpoint = endpoints.Other
			ev.Fingerprint = classify.Fingerprint(&ev.Event)
			fingerprints[old] = ev.Fingerprint
		}
	}
	nb.Groups = slices.Clone(b.Groups)
	for i := range nb.Groups {
		g := &nb.Groups[i]
		if f, ok := fingerprints[g.Fingerprint]; ok && over[[2]string{sanitize(g.Provider, maxShortText), sanitize(g.Endpoint, maxShortText)}] {
			g.Fingerprint, g.Endpoint = f, endpoints.Other
		}
	}
	return &nb, calls
}

// reportAdmission tells the hooks what a committed batch's admission did.
func (s *Store) reportAdmission(a admission) {
	if s.onNew != nil && a.added > 0 {
		s.onNew(a.added)
	}
	if s.onOverflow == nil {
		return
	}
	for p, n := range a.overflow {
		if n > 0 {
			s.onOverflow(p, n)
		}
	}
}

// StoredEndpoints returns every registered endpoint: the provider, method
// and endpoint of calls stored in the rollups.
func (s *Store) StoredEndpoints(ctx context.Context) ([]endpoints.Observation, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, method, endpoint FROM endpoints ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, wrap(ctx, "store: stored endpoints", err)
	}
	obs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[endpoints.Observation])
	return obs, wrap(ctx, "store: stored endpoints", err)
}

// LearnedTemplate is a stored learned rule.
type LearnedTemplate struct {
	endpoints.Learned
	LearnedAt time.Time
}

// TemplateRules returns the learned rules, sorted by provider, method and
// pattern.
func (s *Store) TemplateRules(ctx context.Context) ([]LearnedTemplate, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, method, pattern, distinct_values, learned_at FROM endpoint_templates ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, wrap(ctx, "store: template rules", err)
	}
	var out []LearnedTemplate
	var t LearnedTemplate
	_, err = pgx.ForEachRow(rows, []any{&t.Provider, &t.Method, &t.Pattern, &t.Values, &t.LearnedAt}, func() error {
		out = append(out, t)
		return nil
	})
	return out, wrap(ctx, "store: template rules", err)
}

// LearnTemplates hands the stored endpoints and the learned rules to learn,
// and stores the rules it returns in their place (a rule kept keeps when it
// was learned), in one transaction. Only one process learns at a time:
// when another does, it returns ran false and changes nothing. It returns
// how many rules were added.
func (s *Store) LearnTemplates(ctx context.Context, learn func(stored []endpoints.Observation, known []endpoints.Learned) []endpoints.Learned) (added int, ran bool, err error) {
	const op = "store: learn templates"
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, false, wrap(ctx, op, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(learnLock)).Scan(&ran); err != nil || !ran {
		return 0, false, wrap(ctx, op, err)
	}
	rows, err := tx.Query(ctx, `SELECT provider, method, endpoint FROM endpoints`)
	if err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowToStructByPos[endpoints.Observation])
	if err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	rows, err = tx.Query(ctx, `SELECT provider, method, pattern, distinct_values FROM endpoint_templates`)
	if err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	var known []endpoints.Learned
	var l endpoints.Learned
	if _, err := pgx.ForEachRow(rows, []any{&l.Provider, &l.Method, &l.Pattern, &l.Values}, func() error {
		known = append(known, l)
		return nil
	}); err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	rules := learn(stored, known)
	was := map[classify.Rule]int{}
	for _, k := range known {
		was[k.Rule] = k.Values
	}
	var p, m, pat []string
	var vals []int32
	for _, r := range rules {
		if v, ok := was[r.Rule]; !ok || v != r.Values {
			p, m, pat, vals = append(p, sanitize(r.Provider, maxShortText)), append(m, sanitize(r.Method, maxShortText)), append(pat, sanitize(r.Pattern, maxShortText)), append(vals, int32(max(r.Values, 1)))
		}
		if _, ok := was[r.Rule]; !ok {
			added++
		}
		delete(was, r.Rule)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO endpoint_templates AS t (provider, method, pattern, distinct_values)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[])
		ON CONFLICT (provider, method, pattern) DO UPDATE SET distinct_values = excluded.distinct_values`, p, m, pat, vals); err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	p, m, pat = nil, nil, nil
	for r := range was { // subsumed by a parameter learned before them
		p, m, pat = append(p, r.Provider), append(m, r.Method), append(pat, r.Pattern)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM endpoint_templates t USING unnest($1::text[], $2::text[], $3::text[]) AS d(p, m, pat)
		WHERE t.provider = d.p AND t.method = d.m AND t.pattern = d.pat`, p, m, pat); err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, true, wrap(ctx, op, err)
	}
	return added, true, nil
}

// Folded counts what FoldEndpoints moved.
type Folded struct {
	Endpoints int64 // stored endpoints moved under their template
	Requests  int64 // calls whose per-minute rollups moved
	Groups    int64 // error groups moved (merged into their template's)
	Events    int64 // error events whose endpoint and fingerprint changed
	// GroupsLeft are groups of an error without a code whose events are all
	// gone (retention): their fingerprint, which holds the status, cannot
	// be made again, so they stay where they are.
	GroupsLeft int64
}

// foldChunk is how many endpoints one fold-in transaction moves.
const foldChunk = 200

// FoldEndpoints moves the stored rows of each move's endpoint under its
// template: per-minute and hourly request rollups (counts added to the
// template's rows), error groups (merged into the template's group) and
// their events (endpoint and fingerprint), and the registered endpoints.
// Totals are unchanged. Each transaction holds the fold lock exclusively,
// so batches written meanwhile wait for it, and register what they write
// after it, for the next pass: it is safe while ingestion runs, and moving
// what was moved already changes nothing.
func (s *Store) FoldEndpoints(ctx context.Context, moves []endpoints.Move) (Folded, error) {
	var total Folded
	for start := 0; start < len(moves); start += foldChunk {
		f, err := s.foldChunk(ctx, moves[start:min(start+foldChunk, len(moves))])
		if err != nil {
			return total, wrap(ctx, "store: fold endpoints", err)
		}
		total.Endpoints += f.Endpoints
		total.Requests += f.Requests
		total.Groups += f.Groups
		total.Events += f.Events
		total.GroupsLeft += f.GroupsLeft
	}
	return total, nil
}

func (s *Store) foldChunk(ctx context.Context, moves []endpoints.Move) (Folded, error) {
	var f Folded
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return f, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(foldLock)); err != nil {
		return f, fmt.Errorf("fold lock: %w", err)
	}
	var ps, froms, tos []string
	for _, m := range moves {
		ps, froms, tos = append(ps, sanitize(m.Provider, maxShortText)), append(froms, sanitize(m.From, maxShortText)), append(tos, sanitize(m.To, maxShortText))
	}
	for _, t := range []struct{ table, column string }{{"rollup_requests", "minute"}, {"rollup_requests_hourly", "hour"}} {
		// The table and column names are the constants above.
		var moved int64
		err := tx.QueryRow(ctx, `WITH m AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS m(p, f, t)),
			moved AS (DELETE FROM `+t.table+` r USING m WHERE r.provider = m.p AND r.endpoint = m.f
				RETURNING r.`+t.column+` AS at, r.provider, m.t, r.requests, r.errors),
			added AS (INSERT INTO `+t.table+` AS r (`+t.column+`, provider, endpoint, requests, errors)
				SELECT at, provider, t, sum(requests), sum(errors) FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
				ON CONFLICT (`+t.column+`, provider, endpoint) DO UPDATE SET requests = r.requests + excluded.requests, errors = r.errors + excluded.errors)
			SELECT coalesce(sum(requests), 0)::bigint FROM moved`, ps, froms, tos).Scan(&moved)
		if err != nil {
			return f, fmt.Errorf("move %s: %w", t.table, err)
		}
		if t.table == "rollup_requests" {
			f.Requests = moved
		}
	}
	if err := foldGroups(ctx, tx, ps, froms, tos, &f); err != nil {
		return f, err
	}
	_, err = tx.Exec(ctx, `WITH m AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS m(p, f, t)),
		gone AS (DELETE FROM endpoints e USING m WHERE e.provider = m.p AND e.endpoint = m.f RETURNING m.p, e.method, m.t)
		INSERT INTO endpoints (provider, method, endpoint) SELECT DISTINCT p, method, t FROM gone ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`, ps, froms, tos)
	if err != nil {
		return f, fmt.Errorf("move registered endpoints: %w", err)
	}
	f.Endpoints = int64(len(moves))
	if err := tx.Commit(ctx); err != nil {
		return f, fmt.Errorf("commit: %w", err)
	}
	return f, nil
}

// storedGroup is an error group as the fold-in pass moves it.
type storedGroup struct {
	fingerprint, provider, code, subcode, method, endpoint, category string
	firstSeen, lastSeen                                              time.Time
	count                                                            int64
	sampleCorrelationID                                              pgtype.Text
	sampleMessage                                                    string
	sampleEventID                                                    pgtype.Int8
	sampleTS                                                         pgtype.Timestamptz
}

// foldGroups moves the error groups of the moved endpoints, and their
// events, under the template: each group's fingerprint is made again with
// the template (an error without a code takes the status of its events),
// groups that meet merge, and the events follow their group.
func foldGroups(ctx context.Context, tx pgx.Tx, ps, froms, tos []string, f *Folded) error {
	rows, err := tx.Query(ctx, `SELECT g.fingerprint, g.provider, g.code, g.subcode, g.method, m.t, g.category,
			g.first_seen, g.last_seen, g.count, g.sample_correlation_id, g.sample_message, g.sample_event_id, g.sample_ts
		FROM error_groups g JOIN unnest($1::text[], $2::text[], $3::text[]) AS m(p, f, t) ON g.provider = m.p AND g.endpoint = m.f
		ORDER BY g.fingerprint`, ps, froms, tos)
	if err != nil {
		return fmt.Errorf("read groups: %w", err)
	}
	var groups []storedGroup
	var g storedGroup
	if _, err := pgx.ForEachRow(rows, []any{&g.fingerprint, &g.provider, &g.code, &g.subcode, &g.method, &g.endpoint, &g.category,
		&g.firstSeen, &g.lastSeen, &g.count, &g.sampleCorrelationID, &g.sampleMessage, &g.sampleEventID, &g.sampleTS}, func() error {
		groups = append(groups, g)
		return nil
	}); err != nil {
		return fmt.Errorf("read groups: %w", err)
	}
	if len(groups) == 0 {
		return nil
	}
	var codeless []string
	for _, g := range groups {
		if g.code == "" {
			codeless = append(codeless, g.fingerprint)
		}
	}
	status := map[string]int{}
	if len(codeless) > 0 {
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (fingerprint) fingerprint, status FROM events WHERE fingerprint = ANY($1)`, codeless)
		if err != nil {
			return fmt.Errorf("statuses of groups: %w", err)
		}
		var fp string
		var st int16
		if _, err := pgx.ForEachRow(rows, []any{&fp, &st}, func() error {
			status[fp] = int(st)
			return nil
		}); err != nil {
			return fmt.Errorf("statuses of groups: %w", err)
		}
	}
	merged := map[string]*storedGroup{}
	var olds, news []string
	var endpointsOf []string
	for i := range groups {
		g := &groups[i]
		ev := classify.Event{Provider: g.provider, Code: g.code, Subcode: g.subcode, Method: g.method, Endpoint: g.endpoint, Category: classify.Category(g.category)}
		if g.code == "" {
			st, ok := status[g.fingerprint]
			if !ok {
				f.GroupsLeft++
				continue
			}
			ev.Status = st
		}
		nf := classify.Fingerprint(&ev)
		olds, news, endpointsOf = append(olds, g.fingerprint), append(news, nf), append(endpointsOf, g.endpoint)
		m := merged[nf]
		if m == nil {
			c := *g
			c.fingerprint = nf
			merged[nf] = &c
			continue
		}
		m.count += g.count
		m.firstSeen = minTime(m.firstSeen, g.firstSeen)
		if !g.lastSeen.Before(m.lastSeen) {
			m.lastSeen, m.category = g.lastSeen, g.category
			m.sampleCorrelationID, m.sampleMessage = g.sampleCorrelationID, g.sampleMessage
			if g.sampleEventID.Valid {
				m.sampleEventID, m.sampleTS = g.sampleEventID, g.sampleTS
			}
		}
	}
	if len(olds) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `UPDATE events e SET endpoint = u.e, fingerprint = u.n
		FROM unnest($1::text[], $2::text[], $3::text[]) AS u(o, n, e) WHERE e.fingerprint = u.o`, olds, news, endpointsOf)
	if err != nil {
		return fmt.Errorf("move events: %w", err)
	}
	f.Events += tag.RowsAffected()
	if err := moveGroupHours(ctx, tx, olds, news); err != nil {
		return fmt.Errorf("move group counts: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM error_groups WHERE fingerprint = ANY($1)`, olds); err != nil {
		return fmt.Errorf("delete moved groups: %w", err)
	}
	f.Groups += int64(len(olds))
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cols := make([][]string, 9)
	var firsts, lasts []time.Time
	var counts []int64
	var sampleIDs []pgtype.Int8
	var sampleTSs []pgtype.Timestamptz
	for _, k := range keys {
		m := merged[k]
		for i, v := range []string{m.fingerprint, m.provider, m.code, m.subcode, m.method, m.endpoint, m.category,
			m.sampleCorrelationID.String, m.sampleMessage} {
			cols[i] = append(cols[i], v)
		}
		firsts, lasts, counts = append(firsts, m.firstSeen), append(lasts, m.lastSeen), append(counts, m.count)
		sampleIDs, sampleTSs = append(sampleIDs, m.sampleEventID), append(sampleTSs, m.sampleTS)
	}
	// The same merge as a batch's group deltas (upsertGroups).
	if _, err := tx.Exec(ctx, upsertGroups, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
		firsts, lasts, counts, cols[7], cols[8], sampleIDs, sampleTSs); err != nil {
		return fmt.Errorf("merge groups: %w", err)
	}
	return nil
}

// moveGroupHours moves the hourly counts of the groups olds[i] to
// news[i], adding them up where groups meet.
func moveGroupHours(ctx context.Context, tx pgx.Tx, olds, news []string) error {
	_, err := tx.Exec(ctx, `
		WITH moved AS (
			DELETE FROM rollup_groups_hourly r USING unnest($1::text[], $2::text[]) AS u(o, n)
			WHERE r.fingerprint = u.o AND u.o <> u.n
			RETURNING r.hour, u.n, r.count)
		INSERT INTO rollup_groups_hourly AS r (hour, fingerprint, count)
		SELECT hour, n, sum(count)::bigint FROM moved GROUP BY 1, 2 ORDER BY 1, 2
		ON CONFLICT (hour, fingerprint) DO UPDATE SET count = r.count + excluded.count`, olds, news)
	return err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// EndpointUse is one stored endpoint of a provider and what it counted in
// a window, with the methods its calls were stored with.
type EndpointUse struct {
	Provider, Endpoint string
	Methods            []string
	Requests, Errors   int64
}

// EndpointUsage returns every registered endpoint with its requests and
// errors of [from, to) (whole hours, from the hourly rollups), by provider
// and endpoint.
func (s *Store) EndpointUsage(ctx context.Context, from, to time.Time) ([]EndpointUse, error) {
	rows, err := s.pool.Query(ctx, `
		WITH reg AS (SELECT provider, endpoint, array_agg(method ORDER BY method) AS methods FROM endpoints GROUP BY 1, 2),
		use AS (SELECT provider, endpoint, sum(requests)::bigint AS requests, sum(errors)::bigint AS errors
			FROM rollup_requests_hourly WHERE hour >= $1 AND hour < $2 GROUP BY 1, 2)
		SELECT coalesce(reg.provider, use.provider), coalesce(reg.endpoint, use.endpoint), coalesce(reg.methods, '{}'),
			coalesce(use.requests, 0), coalesce(use.errors, 0)
		FROM reg FULL JOIN use ON reg.provider = use.provider AND reg.endpoint = use.endpoint
		ORDER BY 1, 2`, from, to)
	if err != nil {
		return nil, wrap(ctx, "store: endpoint usage", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[EndpointUse])
	return out, wrap(ctx, "store: endpoint usage", err)
}
