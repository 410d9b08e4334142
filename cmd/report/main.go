// Command report answers questions from what ingest stored. Its
// subcommands: lookup (everything known about the events of an id, and
// what to send to the provider's support), trends (what moved against the
// previous period), weekly (the weekly error report, printed, mailed or
// posted to chat), alerts (evaluate the alert rules, store and print
// alerts, post them to Alertmanager) and serve (the web console of package
// console), search (events of a tenant, service or provider without an
// id), groups (the error groups of a window), history (the stored alerts)
// and escalate (what to send a provider about an alert's incident). All
// but alerts only read: every transaction is read-only.
package main

import (
	"errors"
	"os"
	"strconv"

	"github.com/alecthomas/kong"

	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

func main() { os.Exit(program.Main(&commandLine{}, os.Args[1:])) }

var program = cli.Program{
	Name:        "report",
	Description: "faultline report: what the stored provider errors say: escalation lookups, trends, the weekly error report, alerts.",
	Vars:        defaults,
	// 1 is a failure, or a lookup that found nothing for some id
	// (noMatchError).
	ExitCode: func(err error) int {
		var undelivered deliveryError
		if errors.As(err, &undelivered) {
			return 3
		}
		return 1
	},
}

// commandLine is the whole command line of report; every flag lives here
// and in the command structs beside it.
type commandLine struct {
	cli.Globals

	Lookup lookupCmd `cmd:"" help:"Print everything known about the events of one or more ids, and what to send to the provider's support. Exits 1 when an id matches nothing."`
	Trends trendsCmd `cmd:"" help:"Compare every provider, category and code with the previous period of equal length, most significant change first; list codes never seen before."`
	Weekly weeklyCmd `cmd:"" help:"The weekly error report of an ISO week (default: the last complete one)."`
	Alerts alertsCmd `cmd:"" help:"Evaluate the alert rules over a window of minutes (default: the last 15), store and print the alerts, post them to Alertmanager."`
	Serve  serveCmd  `cmd:"" help:"Serve the read-only web console (lookup, alerts, weekly reports, providers) until SIGINT/SIGTERM."`

	Endpoints endpointsCmd `cmd:"" help:"List the endpoints stored per provider (declared, learned or literal) with their calls, and the learned endpoint templates with their counts."`
	Search    searchCmd    `cmd:"" help:"Find events without an id: a tenant's, a service's or a provider's over a window (default the last 24 hours), newest first, a page at a time."`
	Groups    groupsCmd    `cmd:"" help:"List the error groups of a window: count, hourly trend, first and last seen, new or regressed, the catalog's remedy."`
	History   historyCmd   `cmd:"" help:"List the stored alerts of a window (default the last 7 days), firing ones first, by provider, rule, severity and status."`
	Escalate  escalateCmd  `cmd:"" help:"What to send a provider's support about an alert's incident: its window, counts and rate, statuses, endpoints and sample request ids."`
}

// defaults are the flags' defaults, each defined once by the package it
// configures.
var defaults = kong.Vars{
	"lookup_rate":  strconv.FormatFloat(console.DefaultLookupRate, 'g', -1, 64),
	"lookup_burst": strconv.Itoa(console.DefaultLookupBurst),
	"top_codes":    strconv.Itoa(report.DefaultTopCodes),
	"lookup_limit": strconv.Itoa(store.DefaultLookupLimit),
}

// deliveryError is a report that could not be sent (by mail or to chat),
// after the retries that could help: exit 3. The weekly CronJob does not
// run again on it: the part that was sent would be sent twice.
type deliveryError struct{ error }

func (e deliveryError) Unwrap() error { return e.error }

// noMatchError is a lookup that found nothing for some id: exit 1.
type noMatchError struct{ error }

func (e noMatchError) Unwrap() error { return e.error }
