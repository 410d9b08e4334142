package store

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Redaction redacts stored text again. Rows outlive the build that
// redacted them (events for the retention, dead letters and error groups
// longer): when redaction learns a new kind of secret, what an older
// build let through is cleaned with the new rules by the Redact… methods.
type Redaction struct {
	Text func(string) string // messages, dead letters' details
	Body func(string) string // response bodies, dead letters' raw records
	ID   func(string) string // ids and names: correlation and trace ids, references, service, env, tenant, host
}

// Redacted counts what a Redact… method read and changed.
type Redacted struct {
	Read, Changed int64
}

// redactPage is how many rows one read and one write of the Redact…
// methods handle.
const redactPage = 1000

// RedactGroupSamples redacts every error group's sample message and sample
// correlation id again. It reads the groups a page at a time in fingerprint
// order, and each page's UPDATE only changes a sample that is still the one
// it read: a sample that ingestion replaced meanwhile (redacted by the new
// rules, when ingestion runs the same build) is left alone. Running it
// again changes nothing.
func (s *Store) RedactGroupSamples(ctx context.Context, r Redaction) (Redacted, error) {
	var res Redacted
	after := ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT fingerprint, sample_message, coalesce(sample_correlation_id, '')
			FROM error_groups WHERE fingerprint > $1 ORDER BY fingerprint LIMIT $2`, after, redactPage)
		if err != nil {
			return res, wrap(ctx, "store: redact group samples: read", err)
		}
		var fps, oldMsgs, oldIDs, msgs, ids []string
		var fp, msg, id string
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&fp, &msg, &id}, func() error {
			n++
			after = fp
			m, c := sanitize(r.Text(msg), maxMessage), sanitize(r.ID(id), maxShortText)
			if m != msg || c != id {
				fps, oldMsgs, oldIDs = append(fps, fp), append(oldMsgs, msg), append(oldIDs, id)
				msgs, ids = append(msgs, m), append(ids, c)
			}
			return nil
		})
		res.Read += int64(n)
		if err != nil {
			return res, wrap(ctx, "store: redact group samples: read", err)
		}
		if len(fps) > 0 {
			tag, err := s.pool.Exec(ctx, `UPDATE error_groups g SET sample_message = u.m, sample_correlation_id = nullif(u.c, '')
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(f, old_m, old_c, m, c)
				WHERE g.fingerprint = u.f AND g.sample_message = u.old_m AND coalesce(g.sample_correlation_id, '') = u.old_c`,
				fps, oldMsgs, oldIDs, msgs, ids)
			if err != nil {
				return res, wrap(ctx, "store: redact group samples: update", err)
			}
			res.Changed += tag.RowsAffected()
		}
		if n < redactPage {
			return res, nil
		}
	}
}

// RedactDeadLetters redacts every dead letter's detail and raw record
// again, a page at a time in id order. Dead letters are only ever added,
// so a page is read and written without a transaction.
func (s *Store) RedactDeadLetters(ctx context.Context, r Redaction) (Redacted, error) {
	var res Redacted
	var after int64
	for {
		rows, err := s.pool.Query(ctx, `SELECT id, detail, raw FROM dead_letters WHERE id > $1 ORDER BY id LIMIT $2`, after, redactPage)
		if err != nil {
			return res, wrap(ctx, "store: redact dead letters: read", err)
		}
		var ids []int64
		var details, raws []string
		var id int64
		var detail, raw string
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&id, &detail, &raw}, func() error {
			n++
			after = id
			d, w := sanitize(r.Text(detail), maxMessage), sanitize(r.Body(raw), maxBody)
			if d != detail || w != raw {
				ids, details, raws = append(ids, id), append(details, d), append(raws, w)
			}
			return nil
		})
		res.Read += int64(n)
		if err != nil {
			return res, wrap(ctx, "store: redact dead letters: read", err)
		}
		if len(ids) > 0 {
			tag, err := s.pool.Exec(ctx, `UPDATE dead_letters d SET detail = u.d, raw = u.r
				FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, d, r) WHERE d.id = u.id`, ids, details, raws)
			if err != nil {
				return res, wrap(ctx, "store: redact dead letters: update", err)
			}
			res.Changed += tag.RowsAffected()
		}
		if n < redactPage {
			return res, nil
		}
	}
}

// storedEvent is what RedactEvents reads and redacts of an event.
type storedEvent struct {
	id                                    int64
	ts                                    time.Time
	correlationID, traceID                string
	refs                                  []string
	service, env, tenant, host, msg, body string
}

// RedactEvents redacts again the events with from <= ts < to (in one
// transaction: keep the window within a day): their ids and references
// (and event_ids, which lookups read), service, env, tenant, host, message
// and body. The columns events are grouped and counted by (provider, codes,
// method, endpoint) are not touched: they are classification's, and
// reclassification decides them.
func (s *Store) RedactEvents(ctx context.Context, from, to time.Time, r Redaction) (Redacted, error) {
	var res Redacted
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, wrap(ctx, "store: redact events", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, `SELECT id, ts, coalesce(correlation_id, ''), coalesce(trace_id, ''), refs,
		service, env, tenant, host, message, body FROM events WHERE ts >= $1 AND ts < $2`, from, to)
	if err != nil {
		return res, wrap(ctx, "store: redact events: read", err)
	}
	var changed []storedEvent
	var e storedEvent
	_, err = pgx.ForEachRow(rows, []any{&e.id, &e.ts, &e.correlationID, &e.traceID, &e.refs,
		&e.service, &e.env, &e.tenant, &e.host, &e.msg, &e.body}, func() error {
		res.Read++
		n := storedEvent{id: e.id, ts: e.ts,
			correlationID: sanitize(r.ID(e.correlationID), maxShortText), traceID: sanitize(r.ID(e.traceID), maxShortText),
			service: sanitize(r.ID(e.service), maxShortText), env: sanitize(r.ID(e.env), maxShortText),
			tenant: sanitize(r.ID(e.tenant), maxShortText), host: sanitize(r.ID(e.host), maxShortText),
			msg: sanitize(r.Text(e.msg), maxMessage), body: sanitize(r.Body(e.body), maxBody)}
		for _, ref := range e.refs {
			n.refs = append(n.refs, r.ID(ref))
		}
		n.refs = cleanRefs(n.refs)
		if n.correlationID != e.correlationID || n.traceID != e.traceID || !slices.Equal(n.refs, e.refs) ||
			n.service != e.service || n.env != e.env || n.tenant != e.tenant || n.host != e.host || n.msg != e.msg || n.body != e.body {
			changed = append(changed, n)
		}
		return nil
	})
	if err != nil {
		return res, wrap(ctx, "store: redact events: read", err)
	}
	for i := 0; i < len(changed); i += redactPage {
		if err := updateRedacted(ctx, tx, changed[i:min(i+redactPage, len(changed))]); err != nil {
			return res, wrap(ctx, "store: redact events: update", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return res, wrap(ctx, "store: redact events: commit", err)
	}
	res.Changed = int64(len(changed))
	return res, nil
}

// updateRedacted stores redacted events and their ids.
func updateRedacted(ctx context.Context, tx pgx.Tx, evs []storedEvent) error {
	b := &pgx.Batch{}
	for _, e := range evs {
		var refs []string
		if len(e.refs) > 0 {
			refs = e.refs
		}
		b.Queue(`UPDATE events SET correlation_id = nullif($3, ''), trace_id = nullif($4, ''), refs = $5,
			service = $6, env = $7, tenant = $8, host = $9, message = $10, body = $11 WHERE id = $1 AND ts = $2`,
			e.id, e.ts, e.correlationID, e.traceID, refs, e.service, e.env, e.tenant, e.host, e.msg, e.body)
		b.Queue(`DELETE FROM event_ids WHERE event_id = $1 AND ts = $2`, e.id, e.ts)
		ids, kinds := []string{}, []int16{}
		if e.correlationID != "" {
			ids, kinds = append(ids, e.correlationID), append(kinds, int16(KindCorrelation))
		}
		if e.traceID != "" {
			ids, kinds = append(ids, e.traceID), append(kinds, int16(KindTrace))
		}
		for _, ref := range e.refs {
			ids, kinds = append(ids, ref), append(kinds, int16(KindReference))
		}
		if len(ids) > 0 {
			b.Queue(`INSERT INTO event_ids (id, ts, event_id, kind) SELECT i, $1, $2, k FROM unnest($3::text[], $4::smallint[]) AS u(i, k)
				ON CONFLICT DO NOTHING`, e.ts, e.id, ids, kinds)
		}
	}
	return tx.SendBatch(ctx, b).Close()
}
