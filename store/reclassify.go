package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// StoredError is what reclassification reads and decides again of a
// stored error event.
type StoredError struct {
	ID                                        int64
	TS                                        time.Time
	Provider, Code, Subcode, Method, Endpoint string
	Status                                    int
	// Decided again by reclassification:
	Category         string
	Known, Retryable bool
	Fingerprint      string
}

// Reclassified counts what ReclassifyEvents changed.
type Reclassified struct {
	Events  int64 // error events read
	Changed int64 // events whose classification changed
}

// reclassifyBatch is how many events one UPDATE changes.
const reclassifyBatch = 5000

// ReclassifyEvents hands every error event with from <= ts < to to decide,
// which may change its category, known, retryable and fingerprint and
// reports whether it did. In one transaction it stores the changed events,
// moves their counts in the error rollups from their old category to the
// new one, and moves them between error groups when their fingerprint
// changed (an error without a code is grouped by its category). Keep the
// window within one day, so that the transaction stays short.
//
// Counts move by delta, so ingestion may write at the same time, and
// running it again changes nothing: the events are already decided.
func (s *Store) ReclassifyEvents(ctx context.Context, from, to time.Time, decide func(*StoredError) bool) (Reclassified, error) {
	var res Reclassified
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, wrap(ctx, "store: reclassify", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := lockForWrite(ctx, tx); err != nil { // no fold-in moves these events meanwhile
		return res, wrap(ctx, "store: reclassify", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, ts, provider, code, subcode, status, method, endpoint, category, known, retryable, fingerprint
		FROM events WHERE ts >= $1 AND ts < $2`, from, to)
	if err != nil {
		return res, wrap(ctx, "store: reclassify: read events", err)
	}
	var changed, was []StoredError
	var e StoredError
	var status int16
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.TS, &e.Provider, &e.Code, &e.Subcode, &status, &e.Method, &e.Endpoint,
		&e.Category, &e.Known, &e.Retryable, &e.Fingerprint}, func() error {
		res.Events++
		e.Status = int(status)
		old := e
		if decide(&e) && (e.Category != old.Category || e.Known != old.Known || e.Retryable != old.Retryable || e.Fingerprint != old.Fingerprint) {
			changed, was = append(changed, e), append(was, old)
		}
		return nil
	})
	if err != nil {
		return res, wrap(ctx, "store: reclassify: read events", err)
	}
	res.Changed = int64(len(changed))
	if len(changed) == 0 {
		return res, nil
	}
	for i := 0; i < len(changed); i += reclassifyBatch {
		if err := updateEvents(ctx, tx, changed[i:min(i+reclassifyBatch, len(changed))]); err != nil {
			return res, wrap(ctx, "store: reclassify: update events", err)
		}
	}
	if err := moveRollups(ctx, tx, was, changed, time.Minute, upsertErrors, "rollup_errors", "minute"); err != nil {
		return res, wrap(ctx, "store: reclassify: error rollups", err)
	}
	if err := moveRollups(ctx, tx, was, changed, time.Hour, upsertErrorsHourly, "rollup_errors_hourly", "hour"); err != nil {
		return res, wrap(ctx, "store: reclassify: hourly error rollups", err)
	}
	if err := moveGroups(ctx, tx, was, changed); err != nil {
		return res, wrap(ctx, "store: reclassify: error groups", err)
	}
	if err := moveGroupCounts(ctx, tx, was, changed); err != nil {
		return res, wrap(ctx, "store: reclassify: hourly group counts", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, wrap(ctx, "store: reclassify: commit", err)
	}
	return res, nil
}

func updateEvents(ctx context.Context, tx pgx.Tx, evs []StoredError) error {
	ids := make([]int64, len(evs))
	tss := make([]time.Time, len(evs))
	cats := make([]string, len(evs))
	known := make([]bool, len(evs))
	retry := make([]bool, len(evs))
	fps := make([]string, len(evs))
	for i, e := range evs {
		ids[i], tss[i], cats[i], known[i], retry[i], fps[i] = e.ID, e.TS, sanitize(e.Category, maxShortText), e.Known, e.Retryable, sanitize(e.Fingerprint, maxShortText)
	}
	_, err := tx.Exec(ctx, `UPDATE events e SET category = u.c, known = u.k, retryable = u.r, fingerprint = u.f
		FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::boolean[], $5::boolean[], $6::text[]) AS u(id, ts, c, k, r, f)
		WHERE e.id = u.id AND e.ts = u.ts`, ids, tss, cats, known, retry, fps)
	return err
}

// moveRollups takes each changed event's count from its old row of the
// error rollup table (per minute or per hour: period, its upsert statement
// and time column) and adds it to its new one; rows left at zero go.
func moveRollups(ctx context.Context, tx pgx.Tx, was, now []StoredError, period time.Duration, upsert, table, timeColumn string) error {
	type key struct {
		minute                            time.Time
		provider, category, code, subcode string
	}
	delta := map[key]int64{}
	for i := range now {
		m := now[i].TS.UTC().Truncate(period)
		delta[key{m, was[i].Provider, was[i].Category, was[i].Code, was[i].Subcode}]--
		delta[key{m, now[i].Provider, now[i].Category, now[i].Code, now[i].Subcode}]++
	}
	keys := make([]key, 0, len(delta))
	for k, d := range delta {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	// The order upserts take: concurrent writers lock rows in one order.
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(a.minute.Compare(b.minute), cmp.Compare(a.provider, b.provider), cmp.Compare(a.category, b.category),
			cmp.Compare(a.code, b.code), cmp.Compare(a.subcode, b.subcode))
	})
	var minutes []time.Time
	var providers, categories, codes, subcodes []string
	var counts []int64
	for _, k := range keys {
		minutes, providers, categories = append(minutes, k.minute), append(providers, k.provider), append(categories, k.category)
		codes, subcodes, counts = append(codes, k.code), append(subcodes, k.subcode), append(counts, delta[k])
	}
	if _, err := tx.Exec(ctx, upsert, minutes, providers, categories, codes, subcodes, counts); err != nil {
		return err
	}
	// The table and column names are the two constants of the callers.
	_, err := tx.Exec(ctx, `DELETE FROM `+table+` r USING unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[])
		AS k(m, p, c, co, s)
		WHERE r.`+timeColumn+` = k.m AND r.provider = k.p AND r.category = k.c AND r.code = k.co AND r.subcode = k.s AND r.count <= 0`,
		minutes, providers, categories, codes, subcodes)
	return err
}

// moveGroups moves the events whose fingerprint changed from their old
// group to their new one (created when needed, with their time range and
// newest event as sample); old groups left empty go. Then every group
// touched takes the category of its newest event.
func moveGroups(ctx context.Context, tx pgx.Tx, was, now []StoredError) error {
	type move struct {
		count       int64
		first, last time.Time
		newest      *StoredError
	}
	out, in := map[string]int64{}, map[string]*move{}
	touched := map[string]bool{}
	for i := range now {
		touched[now[i].Fingerprint] = true
		if was[i].Fingerprint == now[i].Fingerprint {
			continue
		}
		out[was[i].Fingerprint]++
		m := in[now[i].Fingerprint]
		if m == nil {
			m = &move{first: now[i].TS, last: now[i].TS, newest: &now[i]}
			in[now[i].Fingerprint] = m
		}
		m.count++
		if now[i].TS.Before(m.first) {
			m.first = now[i].TS
		}
		if !now[i].TS.Before(m.last) {
			m.last, m.newest = now[i].TS, &now[i]
		}
	}
	fps := slices.Sorted(func(yield func(string) bool) {
		for f := range in {
			if !yield(f) {
				return
			}
		}
	})
	for _, f := range fps {
		m := in[f]
		e := m.newest
		if _, err := tx.Exec(ctx, `
			INSERT INTO error_groups AS g (fingerprint, provider, code, subcode, method, endpoint, category,
				first_seen, last_seen, count, sample_event_id, sample_ts)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (fingerprint) DO UPDATE SET
				count = g.count + excluded.count,
				first_seen = least(g.first_seen, excluded.first_seen),
				last_seen = greatest(g.last_seen, excluded.last_seen)`,
			sanitize(f, maxShortText), e.Provider, e.Code, e.Subcode, e.Method, e.Endpoint, e.Category,
			m.first, m.last, m.count, e.ID, e.TS); err != nil {
			return err
		}
	}
	olds := make([]string, 0, len(out))
	counts := make([]int64, 0, len(out))
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for f := range out {
			if !yield(f) {
				return
			}
		}
	}) {
		olds, counts = append(olds, f), append(counts, out[f])
		touched[f] = true
	}
	if len(olds) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE error_groups g SET count = g.count - o.n
			FROM unnest($1::text[], $2::bigint[]) AS o(f, n) WHERE g.fingerprint = o.f`, olds, counts); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM error_groups WHERE fingerprint = ANY($1) AND count <= 0`, olds); err != nil {
			return err
		}
	}
	all := make([]string, 0, len(touched))
	for f := range touched {
		all = append(all, f)
	}
	slices.Sort(all)
	_, err := tx.Exec(ctx, `UPDATE error_groups g SET category = latest.category
		FROM unnest($1::text[]) AS t(f)
		CROSS JOIN LATERAL (SELECT category FROM events e WHERE e.fingerprint = t.f ORDER BY e.ts DESC LIMIT 1) AS latest
		WHERE g.fingerprint = t.f AND g.category <> latest.category`, all)
	if err != nil {
		return fmt.Errorf("group categories: %w", err)
	}
	return nil
}

// moveGroupCounts takes each event whose fingerprint changed from its old
// group's count of its hour and adds it to its new one's; rows left at
// zero go.
func moveGroupCounts(ctx context.Context, tx pgx.Tx, was, now []StoredError) error {
	type key struct {
		hour        int64
		fingerprint string
	}
	delta := map[key]int64{}
	for i := range now {
		if was[i].Fingerprint == now[i].Fingerprint {
			continue
		}
		h := now[i].TS.Truncate(time.Hour).Unix()
		delta[key{h, was[i].Fingerprint}]--
		delta[key{h, sanitize(now[i].Fingerprint, maxShortText)}]++
	}
	keys := make([]key, 0, len(delta))
	for k, d := range delta {
		if d != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.hour, b.hour), cmp.Compare(a.fingerprint, b.fingerprint))
	})
	hours := make([]time.Time, len(keys))
	fps := make([]string, len(keys))
	counts := make([]int64, len(keys))
	for i, k := range keys {
		hours[i], fps[i], counts[i] = time.Unix(k.hour, 0).UTC(), k.fingerprint, delta[k]
	}
	if _, err := tx.Exec(ctx, upsertGroupHours, hours, fps, counts); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM rollup_groups_hourly r USING unnest($1::timestamptz[], $2::text[]) AS k(h, f)
		WHERE r.hour = k.h AND r.fingerprint = k.f AND r.count <= 0`, hours, fps)
	return err
}
