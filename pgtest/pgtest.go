// Package pgtest gives tests a fresh, empty Postgres database on a real
// server.
//
// The server is, in order of preference:
//
//  1. DATABASE_URL, when set (it must allow CREATE DATABASE);
//  2. 127.0.0.1:5432 as user postgres, database test, when a server there
//     accepts the connection;
//  3. a private throwaway server: initdb and pg_ctl (from PATH or
//     /usr/lib/postgresql/*/bin) in a temporary directory, on a free
//     loopback port with its unix socket in that directory, started once per
//     test binary. Call Main from TestMain to stop it when the tests end; it
//     is also stopped, and its directory removed, when the test process exits
//     in any other way (a watchdog process notices the exit).
//
// PGTEST_PRIVATE=1 skips 1 and 2. As root, initdb and pg_ctl run as the
// postgres user through runuser.
//
// New returns a brand-new database on that server, dropped when the test
// ends. NewPrivate starts a dedicated server for one test, which the test can
// stop and start again, for example to check what happens to a client while
// Postgres restarts.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Where the shared server on this project's machines listens.
const (
	localAddr = "127.0.0.1:5432"
	localURL  = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// drops tracks databases being dropped in the background. Under Main,
// cleanup does not wait for DROP DATABASE (it can take a second on a
// server that fsyncs): Main waits for all of them before the process exits.
var drops struct {
	sync.WaitGroup
	async atomic.Bool
}

var shared struct {
	once    sync.Once
	url     string
	private *Private // the shared throwaway server, when one was started
	err     error
}

// Main runs the tests of a package, waits for the test databases to be
// dropped, and stops the shared throwaway server, if one was started, before
// exiting. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to clean up: it returns the
// exit code instead of exiting.
func Run(m *testing.M) int {
	drops.async.Store(true)
	code := m.Run()
	drops.Wait()
	if p := shared.private; p != nil {
		if err := p.destroy(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the throwaway server: %v\n", err)
		}
	}
	return code
}

// Server returns the URL of an administrative database (one that is not
// dropped) on the server tests use, choosing and if needed starting it on
// the first call. It fails the test when no server can be had.
func Server(t testing.TB) (adminURL string) {
	t.Helper()
	shared.once.Do(func() { shared.url, shared.err = chooseServer() })
	if shared.err != nil {
		t.Fatalf("pgtest: no Postgres server: %v", shared.err)
	}
	return shared.url
}

func chooseServer() (string, error) {
	if os.Getenv("PGTEST_PRIVATE") == "" {
		if u := os.Getenv("DATABASE_URL"); u != "" {
			return u, nil
		}
		if localServerUp() {
			return localURL, nil
		}
	}
	p, err := startPrivate()
	if err != nil {
		return "", err
	}
	shared.private = p
	return p.URL(), nil
}

// localServerUp reports whether the server on 127.0.0.1:5432 accepts us.
func localServerUp() bool {
	c, err := net.DialTimeout("tcp", localAddr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, localURL)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// New creates a new, empty database (faultline_<random>) on the server
// tests use and returns its URL. The database is dropped when the test ends,
// connections and all (in the background under Main, which waits for it).
func New(t testing.TB) string {
	t.Helper()
	return newDatabase(t, Server(t), true)
}

// newDatabase creates a database on the server of admin and returns its
// URL; with drop, the database is dropped when the test ends.
func newDatabase(t testing.TB, admin string, drop bool) string {
	t.Helper()
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	name := "faultline_" + hex.EncodeToString(rnd[:])
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	if drop {
		t.Cleanup(func() {
			dropNow := func() error {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				return dropDatabase(ctx, admin, name)
			}
			if !drops.async.Load() {
				if err := dropNow(); err != nil {
					t.Errorf("pgtest: %v", err)
				}
				return
			}
			drops.Go(func() {
				if err := dropNow(); err != nil {
					fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
				}
			})
		})
	}
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("drop database %s: connect: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
		name); err != nil {
		return fmt.Errorf("drop database %s: terminate connections: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// withDatabase returns the connection string admin with its database
// replaced by name. admin is a URL or a keyword/value string.
func withDatabase(admin, name string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", fmt.Errorf("parse server URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// Keyword/value: a later keyword overrides an earlier one.
	return admin + " dbname=" + name, nil
}

// redact hides a password in a URL for messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// errNoBinaries means no PostgreSQL server binaries were found.
var errNoBinaries = errors.New("initdb and pg_ctl not found in PATH or /usr/lib/postgresql/*/bin")
