// Command ingest consumes integration logs, classifies provider errors and
// stores them in Postgres. Its subcommands: classify (stdin to stdout, no
// database), run (consume Kafka), replay (load files), migrate and status.
package main

import (
	"os"
	"strconv"

	"github.com/alecthomas/kong"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/endpoints"
	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/kafkasource"
	"github.com/faultline-dev/faultline/store"
)

func main() { os.Exit(program.Main(&commandLine{}, os.Args[1:])) }

var program = cli.Program{
	Name:        "ingest",
	Description: "faultline ingest: classify and store payment-provider errors from integration logs.",
	Vars:        defaults,
}

// commandLine is the whole command line of ingest; every flag lives here
// and in the command structs beside it.
type commandLine struct {
	cli.Globals

	Classify classifyCmd `cmd:"" help:"Classify NDJSON records from stdin: one JSON line per input line on stdout; no database."`
	Run      runCmd      `cmd:"" help:"Consume the Kafka topic as a consumer group and store events until SIGINT/SIGTERM."`
	Replay   replayCmd   `cmd:"" help:"Load NDJSON files (or - for stdin) through the same pipeline, for backfills."`
	Migrate  migrateCmd  `cmd:"" help:"Apply the embedded database migrations (or show their status)."`
	Status   statusCmd   `cmd:"" help:"Show schema version, stored offsets and lag, and what is stored."`

	Reclassify reclassifyCmd `cmd:"" help:"Classify stored error events again with the current catalogs (after a catalog improves): events, rollups and groups of --from to --to."`
	Templates  templatesCmd  `cmd:"" help:"Learn endpoint templates from what is stored and fold the rows of literal endpoints into their templates (rollups, error groups, events), as ingest run does every --templates-every; safe while ingest runs."`
}

// defaults are the flags' defaults, each defined once by the package it
// configures.
var defaults = kong.Vars{
	"batch_size":               strconv.Itoa(ingest.DefaultBatchSize),
	"batch_wait":               ingest.DefaultBatchWait.String(),
	"drain_timeout":            ingest.DefaultDrainTimeout.String(),
	"max_record_bytes":         strconv.Itoa(classify.DefaultMaxRecordBytes),
	"max_body_bytes":           strconv.Itoa(classify.DefaultMaxBodyBytes),
	"kafka_session_timeout":    kafkasource.DefaultSessionTimeout.String(),
	"kafka_heartbeat_interval": kafkasource.DefaultHeartbeatInterval.String(),
	"kafka_rebalance_timeout":  kafkasource.DefaultRebalanceTimeout.String(),
	"max_endpoints":            strconv.Itoa(store.DefaultMaxEndpoints),
	"template_threshold":       strconv.Itoa(endpoints.DefaultThreshold),
	"templates_every":          ingest.DefaultTemplatesEvery.String(),
}
