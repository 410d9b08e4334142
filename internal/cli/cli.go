// Package cli is the command-line plumbing that the ingest and report
// commands share, so that each rule of their command line is written once:
// parsing and exit statuses (Program), the JSON logger of --log-level
// (Globals), opening the database of --database-url without ever showing
// its password (Database), the provider catalogs of --catalog-dir
// (CatalogDir), the /metrics and health listener of --http-addr
// (ServeHTTP), and the --from/--to time window (Window, whose rules are
// below).
//
// Flags live in cmd/ and here only; what the commands do lives in the
// packages they call.
//
// # Exit statuses
//
// 0 when the command succeeded; 2 for a usage error, a flag or argument
// that cannot be used (a parse error, or a UsageError returned by the
// command, whose message names the flag); 1 for any other failure, unless
// the Program maps it to another status (report weekly's undelivered
// report: 3).
//
// # Time windows: --from and --to
//
// Every command that reads a period of time (ingest status and reclassify;
// report alerts, lookup, trends and endpoints) takes it with Window, and
// the same rules hold for all of them:
//
//   - --from and --to are RFC 3339 times (2026-11-02T10:00:00Z, or with an
//     offset: 2026-11-02T05:00:00-05:00), used in UTC. The window is [--from,
//     --to): --from included, --to not.
//   - An omitted --to is now; an omitted --from is --to minus the command's
//     default length (Span.Length): 24 hours for ingest status and
//     reclassify and report trends, 15 minutes (alerting.DefaultLookback)
//     for report alerts, 7 days for report endpoints. A command without a
//     default length (report lookup, which searches everything stored) leaves
//     an omitted end open.
//   - A command that counts whole minutes (Span.Step: report alerts and
//     trends) takes both ends to the start of their minute; the minute under
//     way is therefore not counted.
//   - Then --from must be before --to, or the command exits 2 naming both.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// UsageError is a flag or argument that cannot be used, found after
// parsing: the command exits 2, as for a parse error. Its message names the
// flag.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with the message of fmt.Errorf.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Globals are the flags of every command; a command line embeds them.
type Globals struct {
	LogLevel string `name:"log-level" env:"LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level (${enum})."`
}

func (g *Globals) globals() *Globals { return g }

// Logger returns the JSON logger of level (debug, info, warn or error;
// anything else is info) that writes to w.
func Logger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// grammar is a kong command line that embeds Globals.
type grammar interface{ globals() *Globals }

// Program is one command (ingest, report): its name and description for
// --help, the variables its flags' tags use, and how its failures map to
// exit statuses.
type Program struct {
	Name, Description string
	// Vars are the kong variables of the flags' tags, typically the
	// defaults each package owns (strconv.Itoa(pkg.DefaultX)).
	Vars kong.Vars
	// ExitCode, when set, maps an error that is not a usage error to an
	// exit status; nil, or a status of 0, is 1.
	ExitCode func(error) int
}

// Main parses args into g, runs the chosen command with a context that
// SIGINT and SIGTERM cancel and the logger of --log-level (bound as
// context.Context and *slog.Logger for its Run method), prints its error to
// stderr prefixed by the program's name, and returns the exit status.
func (p Program) Main(g grammar, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return p.run(ctx, g, args, os.Stderr)
}

func (p Program) run(ctx context.Context, g grammar, args []string, stderr io.Writer) int {
	parser, err := kong.New(g,
		kong.Name(p.Name),
		kong.Description(p.Description),
		kong.UsageOnError(),
		kong.BindTo(ctx, (*context.Context)(nil)),
		p.Vars,
	)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	kctx.Bind(Logger(stderr, g.globals().LogLevel))
	if err := kctx.Run(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return p.exitCode(err)
	}
	return 0
}

// exitCode is the exit status of a command's error.
func (p Program) exitCode(err error) int {
	var usage UsageError
	if errors.As(err, &usage) {
		return 2
	}
	if p.ExitCode != nil {
		if code := p.ExitCode(err); code != 0 {
			return code
		}
	}
	return 1
}
