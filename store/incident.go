package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// What an incident escalation reads: an alert's errors over its window,
// counted exactly from the per-minute rollups, and a sample of its events
// spread over the window (the window cut in strata of equal length, the
// latest events of each read through the events indexes), never a scan of
// the window's events.

// IncidentQuery names the errors of an incident, as ContextQuery does, and
// how to sample them.
type IncidentQuery struct {
	Provider   string
	Categories []string
	Code       string // "" for every code of the categories
	Subcode    string // "" for every subcode of the code
	From, To   time.Time
	// Strata is how many slices of equal length the window is sampled in;
	// PerStratum how many of each slice's latest events are read (both
	// 1 to 100, 1 to 1000).
	Strata, PerStratum int
}

// Incident is what IncidentQuery read.
type Incident struct {
	// Errors are the incident's errors in the window and Requests the
	// provider's, from the per-minute rollups.
	Errors, Requests int64
	// Codes count the errors of each code and subcode, most first.
	Codes []CodeCount
	// Strata are the samples of each slice of the window, in time order,
	// each newest first.
	Strata []Stratum
}

// Stratum is one slice of an incident's window and its latest events.
type Stratum struct {
	From, To time.Time
	Events   []IncidentEvent
	// Full is set when the slice has more events than were read.
	Full bool
}

// IncidentEvent is an event of an incident, as an escalation lists it.
type IncidentEvent struct {
	ID                    int64
	TS                    time.Time
	Status                int
	Code, Subcode         string
	Method, Endpoint      string
	Tenant, CorrelationID string
	References            []string
	Fingerprint, Category string
}

// ReadIncident reads q's incident in one read-only snapshot and one round
// trip for the samples.
func (s *Store) ReadIncident(ctx context.Context, q IncidentQuery) (*Incident, error) {
	if !q.From.Before(q.To) || q.Strata < 1 || q.Strata > 100 || q.PerStratum < 1 || q.PerStratum > 1000 {
		return nil, fmt.Errorf("store: incident: %s to %s in %d strata of %d events", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), q.Strata, q.PerStratum)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: incident", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	out := &Incident{Codes: []CodeCount{}, Strata: []Stratum{}}
	var b pgx.Batch
	// The window and the groups decide the plans: for their values.
	b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
	b.Queue("SET LOCAL jit = off")
	b.Queue(`SELECT code, subcode, sum(count)::bigint FROM rollup_errors
		WHERE minute >= $1 AND minute < $2 AND provider = $3 AND category = ANY($4)
			AND ($5 = '' OR code = $5) AND ($6 = '' OR subcode = $6)
		GROUP BY code, subcode ORDER BY 3 DESC, 1, 2`,
		q.From, q.To, q.Provider, q.Categories, q.Code, q.Subcode)
	b.Queue(`SELECT coalesce(sum(requests), 0)::bigint FROM rollup_requests WHERE minute >= $1 AND minute < $2 AND provider = $3`,
		q.From, q.To, q.Provider)
	b.Queue(`SELECT fingerprint FROM error_groups
		WHERE provider = $1 AND category = ANY($2) AND ($3 = '' OR code = $3) AND ($4 = '' OR subcode = $4)
			AND last_seen >= $5 AND first_seen < $6`,
		q.Provider, q.Categories, q.Code, q.Subcode, q.From, q.To)
	br := tx.SendBatch(ctx, &b)
	for range 2 {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, wrap(ctx, "store: incident", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, wrap(ctx, "store: incident: codes", err)
	}
	var c CodeCount
	if _, err := pgx.ForEachRow(rows, []any{&c.Code, &c.Subcode, &c.Count}, func() error {
		out.Codes = append(out.Codes, c)
		out.Errors += c.Count
		return nil
	}); err != nil {
		_ = br.Close()
		return nil, wrap(ctx, "store: incident: codes", err)
	}
	if err := br.QueryRow().Scan(&out.Requests); err != nil {
		_ = br.Close()
		return nil, wrap(ctx, "store: incident: requests", err)
	}
	rows, err = br.Query()
	if err != nil {
		_ = br.Close()
		return nil, wrap(ctx, "store: incident: groups", err)
	}
	fingerprints, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		_ = br.Close()
		return nil, wrap(ctx, "store: incident: groups", err)
	}
	if err := br.Close(); err != nil {
		return nil, wrap(ctx, "store: incident", err)
	}

	// The strata: one statement each, planned for its slice (the latest
	// events of a slice through the (fingerprint, ts) index, or the
	// (provider, ts, id) one when the incident's groups are most of the
	// provider's errors there), in one round trip.
	span, n := q.To.Sub(q.From), q.Strata
	n = int(min(int64(n), max(int64(span/time.Second), 1))) // slices of a second at least
	for i := range n {
		lo, hi := q.From.Add(span*time.Duration(i)/time.Duration(n)), q.From.Add(span*time.Duration(i+1)/time.Duration(n))
		out.Strata = append(out.Strata, Stratum{From: lo, To: hi, Events: []IncidentEvent{}})
	}
	if len(fingerprints) == 0 {
		return out, nil
	}
	var sb pgx.Batch
	for _, st := range out.Strata {
		sb.Queue(`SELECT id, ts, status, code, subcode, method, endpoint, tenant, coalesce(correlation_id, ''), coalesce(refs, '{}'),
				fingerprint, category
			FROM events WHERE provider = $1 AND fingerprint = ANY($2) AND ts >= $3 AND ts < $4
			ORDER BY ts DESC, id DESC LIMIT $5`, q.Provider, fingerprints, st.From, st.To, q.PerStratum+1)
	}
	sr := tx.SendBatch(ctx, &sb)
	defer func() { _ = sr.Close() }()
	for i := range out.Strata {
		st := &out.Strata[i]
		rows, err := sr.Query()
		if err != nil {
			return nil, wrap(ctx, "store: incident: samples", err)
		}
		var e IncidentEvent
		var status int16
		if _, err := pgx.ForEachRow(rows, []any{&e.ID, &e.TS, &status, &e.Code, &e.Subcode, &e.Method, &e.Endpoint, &e.Tenant,
			&e.CorrelationID, &e.References, &e.Fingerprint, &e.Category}, func() error {
			e.Status, e.TS = int(status), e.TS.UTC()
			st.Events = append(st.Events, e)
			e.References = nil
			return nil
		}); err != nil {
			return nil, wrap(ctx, "store: incident: samples", err)
		}
		if len(st.Events) > q.PerStratum {
			st.Events, st.Full = st.Events[:q.PerStratum], true
		}
	}
	return out, nil
}
