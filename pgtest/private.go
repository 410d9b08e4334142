package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Private is a throwaway Postgres server in a temporary directory: its data
// directory, unix socket and log live there, and it listens on a free
// loopback port. It is removed when its test ends (NewPrivate) or when the
// test binary ends (the shared server), and also, through a watchdog
// process, if the test process dies first.
type Private struct {
	bin        string // directory holding initdb, pg_ctl and postgres
	dir        string // the temporary directory
	port       int
	asPostgres bool // run the server binaries as the postgres user (we are root)

	mu       sync.Mutex
	running  bool
	watchdog *exec.Cmd
	lifeline *os.File // write end of the watchdog's stdin; closing it ends the server
}

// NewPrivate starts a dedicated throwaway server for the calling test and
// stops and removes it when the test ends. Unlike Server and New it never
// uses DATABASE_URL or a server already running: the test may Stop and
// Start it.
func NewPrivate(t testing.TB) *Private {
	t.Helper()
	p, err := startPrivate()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := p.destroy(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return p
}

// URL is the URL of the server's postgres database (user postgres, trust
// authentication). It stays valid across Stop and Start.
func (p *Private) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// NewDatabase creates a new, empty database on this server and returns
// its URL. It goes away with the server.
func (p *Private) NewDatabase(t testing.TB) string {
	t.Helper()
	return newDatabase(t, p.URL(), false)
}

// Stop shuts the server down (fast mode: clients are disconnected) and
// waits until it is down. The data directory and port are kept for Start.
func (p *Private) Stop(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.stop("fast"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Start starts the server again, on the same data directory and port, and
// waits until it accepts connections.
func (p *Private) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func (p *Private) dataDir() string { return filepath.Join(p.dir, "data") }
func (p *Private) logFile() string { return filepath.Join(p.dir, "postgres.log") }

// startPrivate creates, initialises and starts a throwaway server.
func startPrivate() (_ *Private, err error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	// A short path: the unix socket's path must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return nil, fmt.Errorf("throwaway server: %w", err)
	}
	p := &Private{bin: bin, dir: dir}
	defer func() {
		if err != nil {
			_ = p.destroy()
		}
	}()
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		uid, gid, err := postgresUser()
		if err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("throwaway server: %w", err)
		}
		p.asPostgres = true
	}
	if err := p.startWatchdog(); err != nil {
		return nil, err
	}
	if out, err := p.run("initdb", "-D", p.dataDir(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("throwaway server: initdb: %w\n%s", err, out)
	}
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

// start runs pg_ctl start; p.mu is held.
func (p *Private) start() error {
	if p.running {
		return nil
	}
	opts := fmt.Sprintf("-p %d -k '%s' -c listen_addresses=127.0.0.1 "+
		"-c fsync=off -c synchronous_commit=off -c full_page_writes=off", p.port, p.dir)
	if out, err := p.run("pg_ctl", "-D", p.dataDir(), "-l", p.logFile(), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(p.logFile())
		return fmt.Errorf("throwaway server: pg_ctl start: %w\n%s\n%s", err, out, tail(log, 2000))
	}
	p.running = true
	return nil
}

// stop runs pg_ctl stop in the given mode; p.mu is held.
func (p *Private) stop(mode string) error {
	if !p.running {
		return nil
	}
	if out, err := p.run("pg_ctl", "-D", p.dataDir(), "-m", mode, "-w", "-t", "60", "stop"); err != nil {
		return fmt.Errorf("throwaway server: pg_ctl stop: %w\n%s", err, out)
	}
	p.running = false
	return nil
}

// destroy stops the server and removes its directory.
func (p *Private) destroy() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.stop("fast")
	if err != nil {
		err = errors.Join(err, p.stop("immediate"))
	}
	if rmErr := os.RemoveAll(p.dir); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	if p.lifeline != nil {
		p.lifeline.Close()
		p.lifeline = nil
		_ = p.watchdog.Wait()
	}
	return err
}

// run runs one of the server binaries, as the postgres user when we are
// root, and returns its combined output.
func (p *Private) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(p.bin, name)
	var cmd *exec.Cmd
	if p.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = p.dir // the postgres user may not be able to read the test's directory
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

// watchdogScript waits until its stdin closes (the test process exited,
// however it exited), then stops the server at once and removes its
// directory.
const watchdogScript = `cat >/dev/null
if [ -n "$PGTEST_RUNUSER" ]; then
  runuser -u postgres -- "$PGTEST_BIN/pg_ctl" -D "$PGTEST_DIR/data" -m immediate -w -t 30 stop
else
  "$PGTEST_BIN/pg_ctl" -D "$PGTEST_DIR/data" -m immediate -w -t 30 stop
fi
rm -rf "$PGTEST_DIR"
`

// startWatchdog starts a process, in its own session so that a terminal's
// ^C does not reach it, whose stdin is a pipe only this process writes to.
func (p *Private) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("throwaway server: watchdog: %w", err)
	}
	cmd := exec.Command("sh", "-c", watchdogScript)
	cmd.Stdin = r
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "PGTEST_BIN="+p.bin, "PGTEST_DIR="+p.dir)
	if p.asPostgres {
		cmd.Env = append(cmd.Env, "PGTEST_RUNUSER=1")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("throwaway server: watchdog: %w", err)
	}
	r.Close()
	p.watchdog, p.lifeline = cmd, w
	return nil
}

// findBinaries returns the directory holding initdb, pg_ctl and postgres.
func findBinaries() (string, error) {
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			dir := filepath.Dir(real)
			if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first.
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, dir := range dirs {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", errNoBinaries
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func postgresUser() (uid, gid int, err error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, fmt.Errorf("throwaway server: running as root needs a postgres user: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("throwaway server: postgres user: %w", err)
	}
	return uid, gid, nil
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("throwaway server: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
