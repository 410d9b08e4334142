package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Events are partitioned by UTC day: events_pYYYYMMDD holds
// [YYYY-MM-DD 00:00Z, next day 00:00Z).
const (
	partitionPrefix = "events_p"
	partitionLayout = "20060102"
	day             = 24 * time.Hour
	// maxPartitionDays bounds one EnsurePartitions call (about 10 years).
	maxPartitionDays = 3700
)

// dayOf returns the start (00:00 UTC) of t's UTC day.
func dayOf(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
}

func partitionName(d time.Time) string { return partitionPrefix + d.Format(partitionLayout) }

// partitionDay parses a partition name; ok is false for other tables.
func partitionDay(name string) (time.Time, bool) {
	rest, found := strings.CutPrefix(name, partitionPrefix)
	if !found || len(rest) != len(partitionLayout) {
		return time.Time{}, false
	}
	d, err := time.Parse(partitionLayout, rest)
	return d, err == nil
}

// EnsurePartitions makes sure that every UTC day of [from, to] has its
// events partition. It is idempotent and safe to call from several
// processes at once; days already known to this Store cost no query.
// Ingestion calls it for the days of each batch; call it ahead of time
// (today and tomorrow, say) so that the hot path never has to create one.
func (s *Store) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	first, last := dayOf(from), dayOf(to)
	if last.Before(first) {
		return fmt.Errorf("store: ensure partitions: %s is before %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if n := last.Sub(first) / day; n >= maxPartitionDays {
		return fmt.Errorf("store: ensure partitions: %d days is too many at once", n+1)
	}
	var days []time.Time
	for d := first; !d.After(last); d = d.Add(day) {
		days = append(days, d)
	}
	if err := s.ensureDays(ctx, days); err != nil {
		return wrap(ctx, "store: ensure partitions", err)
	}
	return nil
}

// ensureDays creates the partitions of the given days (UTC midnights) that
// this Store does not know to exist. Its errors are the driver's.
func (s *Store) ensureDays(ctx context.Context, days []time.Time) error {
	s.mu.Lock()
	var names []string
	for _, d := range days {
		if !s.days[d.Unix()] {
			names = append(names, partitionName(d))
		}
	}
	s.mu.Unlock()
	if len(names) == 0 {
		return nil
	}
	created, err := s.createPartitions(ctx, names)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, n := range names {
		d, _ := partitionDay(n)
		s.days[d.Unix()] = true
	}
	s.mu.Unlock()
	if len(created) > 0 {
		s.log.InfoContext(ctx, "events partitions created", "partitions", created)
	}
	return nil
}

// createPartitions creates those of the named partitions that do not
// exist, through faultline_create_event_partitions (migration 00006): a
// SECURITY DEFINER function, so that ingestion creates partitions without
// owning the events table. It serialises partition DDL among faultline
// processes (concurrent CREATE TABLE ... PARTITION OF the same name can
// fail even with IF NOT EXISTS) and bounds the wait for the table's lock
// (writers queue behind it): a timeout fails with SQLSTATE 55P03, reported
// as ErrUnavailable (retry later).
func (s *Store) createPartitions(ctx context.Context, names []string) (created []string, err error) {
	days := make([]time.Time, 0, len(names))
	for _, name := range names {
		d, ok := partitionDay(name)
		if !ok {
			return nil, fmt.Errorf("bad partition name %q", name)
		}
		days = append(days, d)
	}
	rows, err := s.pool.Query(ctx, "SELECT faultline_create_event_partitions($1::date[])", days)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// forgetDays makes the Store ask Postgres again about these days.
func (s *Store) forgetDays(days []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range days {
		delete(s.days, d.Unix())
	}
}

// ApplyRetention drops the events partitions whose whole day is older than
// now-keepEvents, deletes dead letters received before now-keepEvents, and
// deletes rollup rows of minutes before now-keepRollups. A zero or negative
// duration keeps that data forever. It returns the partitions dropped (by
// name, oldest first) and the number of rollup rows deleted.
//
// Dropping a partition briefly locks the events table against writers.
func (s *Store) ApplyRetention(ctx context.Context, now time.Time, keepEvents, keepRollups time.Duration) (droppedPartitions []string, deletedRollupRows int64, err error) {
	if keepEvents > 0 {
		cutoff := now.Add(-keepEvents)
		droppedPartitions, err = s.dropPartitionsBefore(ctx, cutoff)
		if err != nil {
			return nil, 0, wrap(ctx, "store: retention: drop partitions", err)
		}
		if _, err := s.pool.Exec(ctx, "DELETE FROM dead_letters WHERE received_at < $1", cutoff); err != nil {
			return droppedPartitions, 0, wrap(ctx, "store: retention: dead letters", err)
		}
		if len(droppedPartitions) > 0 {
			s.log.InfoContext(ctx, "events partitions dropped", "partitions", droppedPartitions)
		}
	}
	if keepRollups > 0 {
		cutoff := now.Add(-keepRollups)
		for _, table := range []string{"rollup_requests", "rollup_errors", "rollup_shapes"} {
			tag, err := s.pool.Exec(ctx, "DELETE FROM "+table+" WHERE minute < $1", cutoff)
			if err != nil {
				return droppedPartitions, deletedRollupRows, wrap(ctx, "store: retention: "+table, err)
			}
			deletedRollupRows += tag.RowsAffected()
		}
		n, err := s.deleteHourlyRollupsBefore(ctx, cutoff)
		deletedRollupRows += n
		if err != nil {
			return droppedPartitions, deletedRollupRows, wrap(ctx, "store: retention", err)
		}
	}
	return droppedPartitions, deletedRollupRows, nil
}

// dropPartitionsBefore drops the events partitions whose day ends at or
// before cutoff, through faultline_drop_event_partitions_before (see
// createPartitions).
//
// The ids of the dropped days' events (event_ids) are deleted in the same
// transaction.
func (s *Store) dropPartitionsBefore(ctx context.Context, cutoff time.Time) (dropped []string, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, "SELECT faultline_drop_event_partitions_before($1)", cutoff)
	if err != nil {
		return nil, err
	}
	dropped, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(dropped) > 0 {
		if err := deleteEventIDsBefore(ctx, tx, dayOf(cutoff)); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	var days []time.Time
	for _, name := range dropped {
		if d, ok := partitionDay(name); ok {
			days = append(days, d)
		}
	}
	s.forgetDays(days)
	return dropped, nil
}
