// Package migrations holds faultline's schema as goose SQL migrations embedded in the binary.
//
// Files are named NNNNN_what.sql and applied in order by a goose Provider
// (NewProvider). Applying takes a Postgres session-level advisory lock, so
// several replicas starting together apply each migration exactly once: the
// others wait for the lock, then find nothing left to do.
package migrations

import (
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// Lock timing: a replica that finds the migration lock taken tries again
// every lockRetrySeconds, for up to lockRetries times (10 minutes in all).
const (
	lockRetrySeconds = 1
	lockRetries      = 600
)

// NewProvider returns a goose Provider for the embedded migrations on db (a
// Postgres database), guarded by a Postgres session advisory lock. opts are
// appended to the defaults (for example goose.WithSlog or goose.WithVerbose).
func NewProvider(db *sql.DB, opts ...goose.ProviderOption) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(lockRetrySeconds, lockRetries))
	if err != nil {
		return nil, fmt.Errorf("migrations: session locker: %w", err)
	}
	all := append([]goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	}, opts...)
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, all...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}
