package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/faultline-dev/faultline/classify"
)

var deadLetterColumns = []string{"reason", "detail", "raw", "src_topic", "src_partition", "src_offset"}

// validate rejects batches that cannot be written whatever the database
// holds.
func validate(b *Batch) error {
	switch {
	case b == nil:
		return errors.New("store: write batch: nil batch")
	case b.Source.Group == "" || b.Source.Topic == "":
		return errors.New("store: write batch: source without group or topic")
	case b.ExpectedOffset < NoOffset:
		return fmt.Errorf("store: write batch: bad expected offset %d", b.ExpectedOffset)
	case b.NextOffset < 0:
		return fmt.Errorf("store: write batch: bad next offset %d", b.NextOffset)
	case b.ExpectedOffset != NoOffset && b.NextOffset < b.ExpectedOffset:
		return fmt.Errorf("store: write batch: next offset %d is before expected offset %d", b.NextOffset, b.ExpectedOffset)
	}
	return nil
}

// WriteBatch writes b in one transaction: it checks that the source's
// stored offset is b.ExpectedOffset (no stored offset for NoOffset) and
// moves it to b.NextOffset, copies the events and dead letters, and adds
// the rollup and group increments. Either all of it is stored or nothing.
//
// When the stored offset is not the expected one (another consumer wrote
// the source since, or this very batch was already stored) nothing is
// written and the error wraps ErrFenced. When Postgres is unreachable or the
// connection breaks the error wraps ErrUnavailable: the batch may be
// retried as it is (if its commit did get through, the retry is fenced).
//
// Partitions for the events' days are created first if needed. b is not
// modified.
func (s *Store) WriteBatch(ctx context.Context, b *Batch) error {
	if err := validate(b); err != nil {
		return err
	}
	op := fmt.Sprintf("store: write batch %s/%s/%d", b.Source.Group, b.Source.Topic, b.Source.Partition)
	days := eventDays(b.Events)
	for attempt := 0; ; attempt++ {
		err := s.ensureDays(ctx, days)
		if err != nil {
			err = fmt.Errorf("ensure partitions: %w", err)
		} else {
			err = s.writeBatch(ctx, b)
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrFenced):
			return fmt.Errorf("%s: %w", op, err)
		case attempt == 0 && errNoPartition(err):
			// A partition this Store knew of was dropped by another
			// process (retention): create it again, once.
			s.forgetDays(days)
			continue
		}
		err = wrap(ctx, op, err)
		if errors.Is(err, ErrUnavailable) {
			// The other connections to a server that went away are as
			// broken as this one: do not hand them out again.
			s.pool.Reset()
		}
		return err
	}
}

func (s *Store) writeBatch(ctx context.Context, b *Batch) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()

	if err := fence(ctx, tx, b); err != nil {
		return err
	}
	b, admitted, err := s.admitEndpoints(ctx, tx, b)
	if err != nil {
		return err
	}
	var ids []int64
	if len(b.Events) > 0 {
		if ids, err = reserveEventIDs(ctx, tx, len(b.Events)); err != nil {
			return err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, copyColumns, newEventSource(b.Events, ids))
		if err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		if n != int64(len(b.Events)) {
			return fmt.Errorf("copy events: %d of %d rows copied", n, len(b.Events))
		}
		if err := copyEventIDs(ctx, tx, b.Events, ids); err != nil {
			return err
		}
	}
	if len(b.DeadLetters) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dead_letters"}, deadLetterColumns,
			pgx.CopyFromSlice(len(b.DeadLetters), func(i int) ([]any, error) {
				d := &b.DeadLetters[i]
				return []any{
					sanitize(string(d.Reason), maxShortText),
					sanitize(d.Detail, maxMessage),
					sanitize(d.Raw, maxBody),
					sanitize(d.Topic, maxShortText),
					d.Partition,
					d.Offset,
				}, nil
			})); err != nil {
			return fmt.Errorf("copy dead letters: %w", err)
		}
	}
	var q pgx.Batch
	queueRequests(&q, upsertRequests, time.Minute, b.Requests)
	queueErrors(&q, upsertErrors, time.Minute, b.Errors)
	queueRequests(&q, upsertRequestsHourly, time.Hour, b.Requests)
	queueErrors(&q, upsertErrorsHourly, time.Hour, b.Errors)
	queueGroups(&q, b.Groups, b.Events, ids)
	queueGroupHours(&q, b.Events)
	queueShapes(&q, b.Shapes)
	if q.Len() > 0 {
		if err := tx.SendBatch(ctx, &q).Close(); err != nil {
			return fmt.Errorf("upsert rollups and groups: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.reportAdmission(admitted)
	return nil
}

// fence moves the source's stored offset from b.ExpectedOffset to
// b.NextOffset, as the transaction's first statement, or returns an error
// wrapping ErrFenced.
//
// From NoOffset the row must not exist: INSERT ... ON CONFLICT DO NOTHING
// inserts it or, when another transaction inserted it first, waits for that
// one to end and inserts nothing. Otherwise the UPDATE matches only the
// expected offset; a concurrent writer holding the row makes it wait, and
// once that writer commits the row no longer matches. Either way the row
// stays locked until commit, so of two writers resuming from the same
// offset exactly one succeeds. A stored offset is never NoOffset.
func fence(ctx context.Context, tx pgx.Tx, b *Batch) error {
	src := b.Source
	var tag pgconn.CommandTag
	var err error
	if b.ExpectedOffset == NoOffset {
		tag, err = tx.Exec(ctx, `
			INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, updated_at)
			VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (group_id, topic, partition) DO NOTHING`,
			src.Group, src.Topic, src.Partition, b.NextOffset)
	} else {
		tag, err = tx.Exec(ctx, `
			UPDATE consumer_offsets SET next_offset = $4, updated_at = now()
			WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $5`,
			src.Group, src.Topic, src.Partition, b.NextOffset, b.ExpectedOffset)
	}
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	stored := NoOffset
	err = tx.QueryRow(ctx, `SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3`,
		src.Group, src.Topic, src.Partition).Scan(&stored)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("fence: %w", err)
	}
	hint := ""
	if stored == b.NextOffset {
		hint = "; a batch ending there is already stored"
	}
	return fmt.Errorf("%w: stored offset %s, expected %s%s", ErrFenced, offsetText(stored), offsetText(b.ExpectedOffset), hint)
}

// reserveEventIDs takes n values of events_id_seq, the events' ids, in one
// round trip. They are unique, not contiguous: every session takes the
// sequence's values in blocks of its CACHE, interleaved with other
// sessions', and a transaction that rolls back leaves a gap. Events
// loaded without an id take theirs from the same sequence.
func reserveEventIDs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	var ids []int64
	err := tx.QueryRow(ctx, `SELECT array_agg(nextval('events_id_seq')) FROM generate_series(1, $1::integer)`, n).Scan(&ids)
	if err != nil {
		return nil, fmt.Errorf("reserve event ids: %w", err)
	}
	if len(ids) != n {
		return nil, fmt.Errorf("reserve event ids: %d of %d ids", len(ids), n)
	}
	return ids, nil
}

func offsetText(o int64) string {
	if o == NoOffset {
		return "none"
	}
	return strconv.FormatInt(o, 10)
}

// eventDays returns the distinct UTC days of the events' timestamps.
func eventDays(events []Event) []time.Time {
	var days []time.Time
	var last int64 = math.MinInt64
	for i := range events {
		d := dayOf(events[i].TS)
		if u := d.Unix(); u != last {
			last = u
			if !slices.ContainsFunc(days, d.Equal) {
				days = append(days, d)
			}
		}
	}
	return days
}

// The upserts below take their rows as arrays (unnest), one statement per
// table whatever the batch size. Rows are merged by key and sorted, so that
// concurrent writers lock the same rows in the same order and cannot
// deadlock.

const upsertRequests = `
	INSERT INTO rollup_requests AS r (minute, provider, endpoint, requests, errors)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
	ON CONFLICT (minute, provider, endpoint) DO UPDATE
	SET requests = r.requests + excluded.requests, errors = r.errors + excluded.errors`

// queueRequests queues stmt (upsertRequests or upsertRequestsHourly) for
// the rows of in, each counted in the period of its minute (a minute or an
// hour).
func queueRequests(q *pgx.Batch, stmt string, period time.Duration, in []RequestRollup) {
	if len(in) == 0 {
		return
	}
	rows := slices.Clone(in)
	for i := range rows {
		r := &rows[i]
		r.Minute = r.Minute.UTC().Truncate(period)
		r.Provider = sanitize(r.Provider, maxShortText)
		r.Endpoint = sanitize(r.Endpoint, maxShortText)
	}
	slices.SortFunc(rows, func(a, b RequestRollup) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Endpoint, b.Endpoint))
	})
	var (
		minutes             []time.Time
		providers, endpoint []string
		requests, errs      []int64
	)
	for i, r := range rows {
		if n := len(minutes); i > 0 && r.Minute.Equal(minutes[n-1]) && r.Provider == providers[n-1] && r.Endpoint == endpoint[n-1] {
			requests[n-1] += r.Requests
			errs[n-1] += r.Errors
			continue
		}
		minutes = append(minutes, r.Minute)
		providers = append(providers, r.Provider)
		endpoint = append(endpoint, r.Endpoint)
		requests = append(requests, r.Requests)
		errs = append(errs, r.Errors)
	}
	q.Queue(stmt, minutes, providers, endpoint, requests, errs)
}

const upsertShapes = `
	INSERT INTO rollup_shapes AS r (minute, shape, records)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[])
	ON CONFLICT (minute, shape) DO UPDATE SET records = r.records + excluded.records`

// queueShapes queues the upsert of the batch's counts of records by shape.
func queueShapes(q *pgx.Batch, in []ShapeCount) {
	if len(in) == 0 {
		return
	}
	rows := slices.Clone(in)
	for i := range rows {
		rows[i].Minute = rows[i].Minute.UTC().Truncate(time.Minute)
		rows[i].Shape = classify.Shape(sanitize(string(rows[i].Shape), maxShortText))
	}
	slices.SortFunc(rows, func(a, b ShapeCount) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.Shape, b.Shape))
	})
	var (
		minutes []time.Time
		shapes  []string
		records []int64
	)
	for i, r := range rows {
		if n := len(minutes); i > 0 && r.Minute.Equal(minutes[n-1]) && string(r.Shape) == shapes[n-1] {
			records[n-1] += r.Records
			continue
		}
		minutes, shapes, records = append(minutes, r.Minute), append(shapes, string(r.Shape)), append(records, r.Records)
	}
	q.Queue(upsertShapes, minutes, shapes, records)
}

const upsertErrors = `
	INSERT INTO rollup_errors AS r (minute, provider, category, code, subcode, count)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
	ON CONFLICT (minute, provider, category, code, subcode) DO UPDATE
	SET count = r.count + excluded.count`

// queueErrors queues stmt (upsertErrors or upsertErrorsHourly) for the
// rows of in, each counted in the period of its minute (a minute or an
// hour).
func queueErrors(q *pgx.Batch, stmt string, period time.Duration, in []ErrorRollup) {
	if len(in) == 0 {
		return
	}
	rows := slices.Clone(in)
	for i := range rows {
		r := &rows[i]
		r.Minute = r.Minute.UTC().Truncate(period)
		r.Provider = sanitize(r.Provider, maxShortText)
		r.Category = classify.Category(sanitize(string(r.Category), maxShortText))
		r.Code = sanitize(r.Code, maxShortText)
		r.Subcode = sanitize(r.Subcode, maxShortText)
	}
	slices.SortFunc(rows, func(a, b ErrorRollup) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Category, b.Category), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Subcode, b.Subcode))
	})
	var (
		minutes                              []time.Time
		providers, categories, code, subcode []string
		counts                               []int64
	)
	for i, r := range rows {
		if n := len(minutes); i > 0 && r.Minute.Equal(minutes[n-1]) && r.Provider == providers[n-1] &&
			string(r.Category) == categories[n-1] && r.Code == code[n-1] && r.Subcode == subcode[n-1] {
			counts[n-1] += r.Count
			continue
		}
		minutes = append(minutes, r.Minute)
		providers = append(providers, r.Provider)
		categories = append(categories, string(r.Category))
		code = append(code, r.Code)
		subcode = append(subcode, r.Subcode)
		counts = append(counts, r.Count)
	}
	q.Queue(stmt, minutes, providers, categories, code, subcode, counts)
}

// A group's count adds up, first_seen and last_seen widen, and the sample
// and category are those of the newer side (so replaying old data does not
// replace a recent sample). The sample event (sample_event_id and sample_ts,
// the primary key of an events row) goes with the sample, except that a
// side without one does not erase the other's: both columns change
// together.
const upsertGroups = `
	INSERT INTO error_groups AS g (fingerprint, provider, code, subcode, method, endpoint, category,
		first_seen, last_seen, count, sample_correlation_id, sample_message, sample_event_id, sample_ts)
	SELECT f, p, c, sc, m, e, cat, fs, ls, n, nullif(sid, ''), sm, eid, ets
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::text[], $12::text[],
		$13::bigint[], $14::timestamptz[])
		AS t(f, p, c, sc, m, e, cat, fs, ls, n, sid, sm, eid, ets)
	ON CONFLICT (fingerprint) DO UPDATE SET
		count = g.count + excluded.count,
		first_seen = least(g.first_seen, excluded.first_seen),
		last_seen = greatest(g.last_seen, excluded.last_seen),
		category = CASE WHEN excluded.last_seen >= g.last_seen THEN excluded.category ELSE g.category END,
		sample_correlation_id = CASE WHEN excluded.last_seen >= g.last_seen
			THEN coalesce(excluded.sample_correlation_id, g.sample_correlation_id) ELSE g.sample_correlation_id END,
		sample_message = CASE WHEN excluded.last_seen >= g.last_seen THEN excluded.sample_message ELSE g.sample_message END,
		sample_event_id = CASE WHEN excluded.last_seen >= g.last_seen AND excluded.sample_event_id IS NOT NULL
			THEN excluded.sample_event_id ELSE g.sample_event_id END,
		sample_ts = CASE WHEN excluded.last_seen >= g.last_seen AND excluded.sample_event_id IS NOT NULL
			THEN excluded.sample_ts ELSE g.sample_ts END`

// queueGroups queues the upsert of the group deltas in; events are the
// batch's events and ids their ids, which the deltas' SampleEvent index.
func queueGroups(q *pgx.Batch, in []GroupDelta, events []Event, ids []int64) {
	if len(in) == 0 {
		return
	}
	rows := slices.Clone(in)
	for i := range rows {
		g := &rows[i]
		if j := g.SampleEvent; j < 0 || j >= len(events) || j >= len(ids) || events[j].Fingerprint != g.Fingerprint {
			g.SampleEvent = -1
		}
		g.Fingerprint = sanitize(g.Fingerprint, maxShortText)
		g.Provider = sanitize(g.Provider, maxShortText)
		g.Code = sanitize(g.Code, maxShortText)
		g.Subcode = sanitize(g.Subcode, maxShortText)
		g.Method = sanitize(g.Method, maxShortText)
		g.Endpoint = sanitize(g.Endpoint, maxShortText)
		g.Category = classify.Category(sanitize(string(g.Category), maxShortText))
		g.SampleCorrelationID = sanitize(g.SampleCorrelationID, maxShortText)
		g.SampleMessage = sanitize(g.SampleMessage, maxMessage)
	}
	slices.SortStableFunc(rows, func(a, b GroupDelta) int { return cmp.Compare(a.Fingerprint, b.Fingerprint) })
	merged := rows[:0]
	for _, g := range rows {
		n := len(merged)
		if n == 0 || merged[n-1].Fingerprint != g.Fingerprint {
			merged = append(merged, g)
			continue
		}
		m := &merged[n-1]
		m.Count += g.Count
		if g.FirstSeen.Before(m.FirstSeen) {
			m.FirstSeen = g.FirstSeen
		}
		if !g.LastSeen.Before(m.LastSeen) {
			m.LastSeen, m.Category = g.LastSeen, g.Category
			m.SampleCorrelationID, m.SampleMessage = g.SampleCorrelationID, g.SampleMessage
			if g.SampleEvent >= 0 {
				m.SampleEvent = g.SampleEvent
			}
		}
	}
	cols := make([][]string, 9)
	firsts := make([]time.Time, 0, len(merged))
	lasts := make([]time.Time, 0, len(merged))
	counts := make([]int64, 0, len(merged))
	sampleIDs := make([]pgtype.Int8, len(merged)) // NULL unless set
	sampleTSs := make([]pgtype.Timestamptz, len(merged))
	for k, g := range merged {
		for i, v := range []string{g.Fingerprint, g.Provider, g.Code, g.Subcode, g.Method, g.Endpoint,
			string(g.Category), g.SampleCorrelationID, g.SampleMessage} {
			cols[i] = append(cols[i], v)
		}
		firsts = append(firsts, g.FirstSeen)
		lasts = append(lasts, g.LastSeen)
		counts = append(counts, g.Count)
		if j := g.SampleEvent; j >= 0 {
			// The ts as COPY stored it: both encode time.Time alike.
			sampleIDs[k] = pgtype.Int8{Int64: ids[j], Valid: true}
			sampleTSs[k] = pgtype.Timestamptz{Time: events[j].TS, Valid: true}
		}
	}
	q.Queue(upsertGroups, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6],
		firsts, lasts, counts, cols[7], cols[8], sampleIDs, sampleTSs)
}

const upsertGroupHours = `
	INSERT INTO rollup_groups_hourly AS r (hour, fingerprint, count)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[])
	ON CONFLICT (hour, fingerprint) DO UPDATE SET count = r.count + excluded.count`

// queueGroupHours queues the upsert of the events' counts per error group
// (fingerprint, as stored) and UTC hour.
func queueGroupHours(q *pgx.Batch, events []Event) {
	if len(events) == 0 {
		return
	}
	type key struct {
		hour        int64
		fingerprint string
	}
	counts := map[key]int64{}
	for i := range events {
		e := &events[i]
		counts[key{e.TS.Truncate(time.Hour).Unix(), sanitize(e.Fingerprint, maxShortText)}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.hour, b.hour), cmp.Compare(a.fingerprint, b.fingerprint))
	})
	hours := make([]time.Time, len(keys))
	fps := make([]string, len(keys))
	n := make([]int64, len(keys))
	for i, k := range keys {
		hours[i], fps[i], n[i] = time.Unix(k.hour, 0).UTC(), k.fingerprint, counts[k]
	}
	q.Queue(upsertGroupHours, hours, fps, n)
}

// errNoPartition reports whether err is Postgres refusing an event for
// which no events partition exists.
func errNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.HasPrefix(pgErr.Message, "no partition of relation")
}
