package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faultline-dev/faultline/classify"
)

// Offsets returns the stored next offset of each partition of topic for
// the consumer group (empty when none is stored).
func (s *Store) Offsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2", group, topic)
	if err != nil {
		return nil, wrap(ctx, "store: offsets", err)
	}
	offsets := map[int32]int64{}
	var p int32
	var o int64
	if _, err := pgx.ForEachRow(rows, []any{&p, &o}, func() error {
		offsets[p] = o
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: offsets", err)
	}
	return offsets, nil
}

// GroupOffsets returns the stored next offset of every source of the
// consumer group, by topic and partition (empty when none is stored).
func (s *Store) GroupOffsets(ctx context.Context, group string) (map[string]map[int32]int64, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = $1", group)
	if err != nil {
		return nil, wrap(ctx, "store: group offsets", err)
	}
	offsets := map[string]map[int32]int64{}
	var topic string
	var p int32
	var o int64
	if _, err := pgx.ForEachRow(rows, []any{&topic, &p, &o}, func() error {
		if offsets[topic] == nil {
			offsets[topic] = map[int32]int64{}
		}
		offsets[topic][p] = o
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: group offsets", err)
	}
	return offsets, nil
}

// Status is an overview of what is stored, read in one snapshot.
type Status struct {
	// Offsets are the stored offsets of every source.
	Offsets []OffsetStatus
	// Events is the number of events stored.
	Events int64
	// DeadLetters is the number of dead letters stored, and by reason.
	DeadLetters         int64
	DeadLettersByReason map[classify.Reason]int64
	// From and To bound Traffic: [From, To).
	From, To time.Time
	// Traffic is requests and errors per provider over [From, To), from the
	// rollups, by provider name.
	Traffic []ProviderTraffic
	// RecentFrom begins the last hour before To: Shapes counts the usable
	// records read in it by the shape they arrived in, RecentDeadLetters
	// the dead letters stored in it by reason.
	RecentFrom        time.Time
	Shapes            map[classify.Shape]int64
	RecentDeadLetters map[classify.Reason]int64
}

// recentWindow is how far back Status's Shapes and RecentDeadLetters look.
const recentWindow = time.Hour

// OffsetStatus is the stored offset of one source.
type OffsetStatus struct {
	Source     Source
	NextOffset int64
	UpdatedAt  time.Time
}

// ProviderTraffic counts one provider's requests and errors.
type ProviderTraffic struct {
	Provider string
	Requests int64
	Errors   int64
}

// Status returns an overview of what is stored, with the traffic of
// [from, to). Counting events reads the whole events table.
func (s *Store) Status(ctx context.Context, from, to time.Time) (*Status, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, wrap(ctx, "store: status", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	st := &Status{From: from, To: to, DeadLettersByReason: map[classify.Reason]int64{},
		RecentFrom: to.Add(-recentWindow), Shapes: map[classify.Shape]int64{}, RecentDeadLetters: map[classify.Reason]int64{}}

	rows, err := tx.Query(ctx, `SELECT group_id, topic, partition, next_offset, updated_at
		FROM consumer_offsets ORDER BY group_id, topic, partition`)
	if err != nil {
		return nil, wrap(ctx, "store: status: offsets", err)
	}
	var o OffsetStatus
	if _, err := pgx.ForEachRow(rows, []any{&o.Source.Group, &o.Source.Topic, &o.Source.Partition, &o.NextOffset, &o.UpdatedAt},
		func() error {
			st.Offsets = append(st.Offsets, o)
			return nil
		}); err != nil {
		return nil, wrap(ctx, "store: status: offsets", err)
	}

	if err := tx.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&st.Events); err != nil {
		return nil, wrap(ctx, "store: status: events", err)
	}

	rows, err = tx.Query(ctx, "SELECT reason, count(*) FROM dead_letters GROUP BY reason")
	if err != nil {
		return nil, wrap(ctx, "store: status: dead letters", err)
	}
	var reason string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&reason, &n}, func() error {
		st.DeadLettersByReason[classify.Reason(reason)] = n
		st.DeadLetters += n
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: status: dead letters", err)
	}

	rows, err = tx.Query(ctx, `SELECT shape, sum(records)::bigint FROM rollup_shapes
		WHERE minute >= $1 AND minute < $2 GROUP BY shape`, st.RecentFrom, to)
	if err != nil {
		return nil, wrap(ctx, "store: status: shapes", err)
	}
	var shape string
	if _, err := pgx.ForEachRow(rows, []any{&shape, &n}, func() error {
		st.Shapes[classify.Shape(shape)] = n
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: status: shapes", err)
	}
	rows, err = tx.Query(ctx, `SELECT reason, count(*) FROM dead_letters
		WHERE received_at >= $1 AND received_at < $2 GROUP BY reason`, st.RecentFrom, to)
	if err != nil {
		return nil, wrap(ctx, "store: status: recent dead letters", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&reason, &n}, func() error {
		st.RecentDeadLetters[classify.Reason(reason)] = n
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: status: recent dead letters", err)
	}

	rows, err = tx.Query(ctx, `SELECT provider, sum(requests)::bigint, sum(errors)::bigint FROM rollup_requests
		WHERE minute >= $1 AND minute < $2 GROUP BY provider ORDER BY provider`, from, to)
	if err != nil {
		return nil, wrap(ctx, "store: status: traffic", err)
	}
	var t ProviderTraffic
	if _, err := pgx.ForEachRow(rows, []any{&t.Provider, &t.Requests, &t.Errors}, func() error {
		st.Traffic = append(st.Traffic, t)
		return nil
	}); err != nil {
		return nil, wrap(ctx, "store: status: traffic", err)
	}
	return st, nil
}
