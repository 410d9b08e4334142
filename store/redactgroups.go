package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// groupPage is how many error groups one read and one UPDATE of
// RedactGroupSamples handle.
const groupPage = 1000

// RedactGroupSamples hands every error group's sample message and sample
// correlation id ("" when it has none) to clean, and stores what it
// returns where that differs. Error groups outlive the events they sample
// (retention drops events partitions, never groups), so when redaction
// learns a new kind of secret, their samples are cleaned with the new
// rules here. It returns how many groups changed.
//
// It reads the groups a page at a time in fingerprint order, and each
// page's UPDATE only changes a sample that is still the one it read: a
// sample that ingestion replaced meanwhile (already redacted by the new
// rules, when ingestion runs the same build) is left alone. Running it
// again changes nothing.
func (s *Store) RedactGroupSamples(ctx context.Context, clean func(message, correlationID string) (string, string)) (int64, error) {
	var changed int64
	after := ""
	for {
		rows, err := s.pool.Query(ctx, `SELECT fingerprint, sample_message, coalesce(sample_correlation_id, '')
			FROM error_groups WHERE fingerprint > $1 ORDER BY fingerprint LIMIT $2`, after, groupPage)
		if err != nil {
			return changed, wrap(ctx, "store: redact group samples: read", err)
		}
		var fps, oldMsgs, oldIDs, msgs, ids []string
		var fp, msg, id string
		n := 0
		_, err = pgx.ForEachRow(rows, []any{&fp, &msg, &id}, func() error {
			n++
			after = fp
			m, c := clean(msg, id)
			m, c = sanitize(m, maxMessage), sanitize(c, maxShortText)
			if m != msg || c != id {
				fps, oldMsgs, oldIDs = append(fps, fp), append(oldMsgs, msg), append(oldIDs, id)
				msgs, ids = append(msgs, m), append(ids, c)
			}
			return nil
		})
		if err != nil {
			return changed, wrap(ctx, "store: redact group samples: read", err)
		}
		if len(fps) > 0 {
			tag, err := s.pool.Exec(ctx, `UPDATE error_groups g SET sample_message = u.m, sample_correlation_id = nullif(u.c, '')
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(f, old_m, old_c, m, c)
				WHERE g.fingerprint = u.f AND g.sample_message = u.old_m AND coalesce(g.sample_correlation_id, '') = u.old_c`,
				fps, oldMsgs, oldIDs, msgs, ids)
			if err != nil {
				return changed, wrap(ctx, "store: redact group samples: update", err)
			}
			changed += tag.RowsAffected()
		}
		if n < groupPage {
			return changed, nil
		}
	}
}
