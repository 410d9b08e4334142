// Package store is faultline's Postgres storage: it owns every SQL
// statement and the connection pool.
//
// Ingestion writes a Batch per source in one transaction (WriteBatch):
// events (COPY into daily partitions), dead letters, increments of the
// per-minute rollups and of the error groups, and the source's new offset,
// fenced on the offset the writer expected so that a batch is stored exactly
// once. Retention drops whole event partitions (ApplyRetention). The schema
// comes from package migrations (Migrate, CheckSchema).
//
// Driver errors do not leave the package: callers test errors with
// errors.Is against ErrFenced, ErrUnavailable and ErrSchemaBehind.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/faultline-dev/faultline/migrations"
)

// defaultConnectTimeout bounds a connection attempt when the URL does not
// set connect_timeout.
const defaultConnectTimeout = 10 * time.Second

// Store is faultline's Postgres database. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	sqlDB *sql.DB // over pool, for goose
	migr  *goose.Provider
	log   *slog.Logger

	maxEndpoints int                                // per provider (WithEndpointLimit)
	onOverflow   func(provider string, calls int64) // calls stored under {other}
	onNew        func(n int)                        // endpoints registered by a batch

	mu   sync.Mutex
	days map[int64]bool // UTC days (Unix seconds at midnight) known to have an events partition
}

// Option configures Open.
type Option func(*options)

type options struct {
	log          *slog.Logger
	readOnly     bool
	maxEndpoints int
	onOverflow   func(provider string, calls int64)
	onNew        func(n int)
}

// WithLogger makes the store log what it does besides answering calls
// (partitions created or dropped, migrations applied) to l.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// ReadOnly makes every transaction of the store read-only
// (default_transaction_read_only), for readers such as reports: writing
// fails.
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// Open connects to the Postgres database at url (a postgres:// URL or a
// keyword/value string; TLS and timeouts are set there: sslmode,
// sslrootcert, connect_timeout, pool_max_conns, ...) and checks that it
// answers. When it cannot be reached the error wraps ErrUnavailable.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The error text of pgx hides the password.
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if o.readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	// Server notices (and auto_explain's plans, when a session asks for
	// them at level notice) go to the log at debug level.
	log := o.log
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		log.Debug("postgres notice", "severity", n.Severity, "message", n.Message, "detail", n.Detail)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(ctx, "store: open", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrap(ctx, "store: connect", err)
	}
	s := &Store{pool: pool, log: o.log, days: map[int64]bool{}, maxEndpoints: o.maxEndpoints, onOverflow: o.onOverflow, onNew: o.onNew}
	if s.maxEndpoints <= 0 {
		s.maxEndpoints = DefaultMaxEndpoints
	}
	s.sqlDB = stdlib.OpenDBFromPool(pool)
	s.migr, err = migrations.NewProvider(s.sqlDB, goose.WithSlog(o.log))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

// DisplayURL is a database URL as it may be shown in messages and logs:
// without its password and options (sslpassword, passfile… hide in the
// query). A keyword/value connection string ("host=… password=…") is not
// shown at all: it cannot be told apart from its secrets.
func DisplayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "(a connection string, not shown)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// Close closes the store's connections.
func (s *Store) Close() {
	if s.sqlDB != nil {
		_ = s.sqlDB.Close()
	}
	s.pool.Close()
}

// Migrate applies the pending migrations and returns the versions it
// applied (also when a later one failed). Several processes may call it at
// once: a Postgres advisory lock makes them apply each migration once, and
// the others return no versions.
func (s *Store) Migrate(ctx context.Context) ([]int64, error) {
	results, err := s.migr.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		results = partial.Applied
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	if err != nil {
		return applied, wrap(ctx, "store: migrate", err)
	}
	for _, v := range applied {
		s.log.InfoContext(ctx, "migration applied", "version", v)
	}
	return applied, nil
}

// SchemaVersion returns the schema version of the database (0 when no
// migration was ever applied) and the latest version this binary knows. It
// changes nothing in the database.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	sources := s.migr.ListSources()
	latest = sources[len(sources)-1].Version
	table := pgx.Identifier{goose.DefaultTablename}.Sanitize()
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return 0, latest, wrap(ctx, "store: schema version", err)
	}
	if !exists {
		return 0, latest, nil
	}
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM "+table).Scan(&current); err != nil {
		return 0, latest, wrap(ctx, "store: schema version", err)
	}
	return current, latest, nil
}

// CheckSchema returns an error wrapping ErrSchemaBehind when the database
// schema is older than this binary's migrations. A newer schema is fine
// (rolling upgrades migrate first).
func (s *Store) CheckSchema(ctx context.Context) error {
	current, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("%w (database at version %d, this binary needs %d)", ErrSchemaBehind, current, latest)
	}
	return nil
}

// wrap adds context to a driver error and marks it with ErrUnavailable when
// retrying may succeed: the server could not be reached, the connection
// broke, the server is shutting down or starting up, or a timeout
// (including ctx's deadline: the error then also matches
// context.DeadlineExceeded). The caller's cancellation of ctx is not
// unavailability.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if !errors.Is(ctx.Err(), context.Canceled) && unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailableStates are the SQLSTATEs, besides class 08 (connection
// exception), that say the server cannot serve us now but may later.
var unavailableStates = []string{
	"57P01", // admin_shutdown
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now (starting up, shutting down, recovery)
	"57P05", // idle_session_timeout
	"57014", // query_canceled: statement_timeout
	"53300", // too_many_connections
	"55P03", // lock_not_available: lock_timeout (partition DDL waits for writers and readers)
	"40001", // serialization_failure: the transaction may succeed when run again
	"40P01", // deadlock_detected: likewise
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered: its code says it all (a wrong password in
		// a ConnectError is not something a retry fixes).
		return strings.HasPrefix(pgErr.Code, "08") || slices.Contains(unavailableStates, pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.As(err, &netErr)
}
