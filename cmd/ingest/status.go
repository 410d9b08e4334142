package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/kafkasource"
)

type statusCmd struct {
	cli.Database
	kafkaFlags
	cli.Window `set:"window_from=24h before --to"`
	JSON       bool `name:"json" help:"Print JSON for machines."`
}

// ingestWindow is the window of ingest status and reclassify: a day by
// default.
var ingestWindow = cli.Span{Length: 24 * time.Hour}

// statusReport is the JSON of `ingest status --json`.
type statusReport struct {
	SchemaVersion       int64             `json:"schema_version"`
	LatestVersion       int64             `json:"latest_schema_version"`
	Partitions          []partitionStatus `json:"partitions"`
	Events              int64             `json:"events"`
	DeadLetters         int64             `json:"dead_letters"`
	DeadLettersByReason map[string]int64  `json:"dead_letters_by_reason"`
	From                time.Time         `json:"from"`
	To                  time.Time         `json:"to"`
	RequestsByProvider  map[string]int64  `json:"requests_by_provider"`
	ErrorsByProvider    map[string]int64  `json:"errors_by_provider"`
	// The last hour before To: usable records by the shape they arrived
	// in, dead letters by reason.
	RecentFrom        time.Time        `json:"recent_from"`
	RecentShapes      map[string]int64 `json:"recent_shapes"`
	RecentDeadLetters map[string]int64 `json:"recent_dead_letters"`
}

type partitionStatus struct {
	Group         string `json:"group"`
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	StoredOffset  int64  `json:"stored_offset"`
	HighWatermark *int64 `json:"high_watermark"`
	Lag           *int64 `json:"lag"`
}

func (cmd *statusCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), ingestWindow)
	if err != nil {
		return err
	}
	st, err := cmd.OpenCurrent(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	rep := statusReport{DeadLettersByReason: map[string]int64{}, RequestsByProvider: map[string]int64{}, ErrorsByProvider: map[string]int64{},
		RecentShapes: map[string]int64{}, RecentDeadLetters: map[string]int64{}}
	if rep.SchemaVersion, rep.LatestVersion, err = st.SchemaVersion(ctx); err != nil {
		return err
	}
	s, err := st.Status(ctx, from, to)
	if err != nil {
		return err
	}
	rep.Events, rep.DeadLetters, rep.From, rep.To = s.Events, s.DeadLetters, s.From, s.To
	for r, n := range s.DeadLettersByReason {
		rep.DeadLettersByReason[string(r)] = n
	}
	rep.RecentFrom = s.RecentFrom
	for sh, n := range s.Shapes {
		rep.RecentShapes[string(sh)] = n
	}
	for r, n := range s.RecentDeadLetters {
		rep.RecentDeadLetters[string(r)] = n
	}
	for _, t := range s.Traffic {
		rep.RequestsByProvider[t.Provider] = t.Requests
		rep.ErrorsByProvider[t.Provider] = t.Errors
	}

	// High watermarks of the consumed topic, when Kafka is named.
	var hw map[int32]int64
	if len(cmd.Brokers) > 0 {
		kcfg, err := cmd.kafkaFlags.config()
		if err != nil {
			return err
		}
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		hw, err = kafkasource.HighWatermarks(hctx, kcfg)
		cancel()
		if err != nil {
			return err
		}
	}
	for _, l := range ingest.Lags(s.Offsets, cmd.Group, cmd.Topic, hw) {
		rep.Partitions = append(rep.Partitions, partitionStatus{
			Group: l.Source.Group, Topic: l.Source.Topic, Partition: l.Source.Partition,
			StoredOffset: l.StoredOffset, HighWatermark: l.HighWater, Lag: l.Lag,
		})
	}
	if cmd.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeText()
}

func (rep *statusReport) writeText() error {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "schema version %d of %d\n\n", rep.SchemaVersion, rep.LatestVersion)
	fmt.Fprintln(w, "GROUP\tTOPIC\tPARTITION\tSTORED OFFSET\tHIGH WATERMARK\tLAG")
	for _, p := range rep.Partitions {
		hw, lag := "-", "-"
		if p.HighWatermark != nil {
			hw, lag = fmt.Sprint(*p.HighWatermark), fmt.Sprint(*p.Lag)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", p.Group, p.Topic, p.Partition, p.StoredOffset, hw, lag)
	}
	fmt.Fprintf(w, "\nevents stored\t%d\ndead letters\t%d\n", rep.Events, rep.DeadLetters)
	for _, r := range sortedKeys(rep.DeadLettersByReason) {
		fmt.Fprintf(w, "  %s\t%d\n", r, rep.DeadLettersByReason[r])
	}
	fmt.Fprintf(w, "\nread since %s\nSHAPE\tRECORDS\n", rep.RecentFrom.Format(time.RFC3339))
	for _, sh := range sortedKeys(rep.RecentShapes) {
		fmt.Fprintf(w, "%s\t%d\n", sh, rep.RecentShapes[sh])
	}
	for _, r := range sortedKeys(rep.RecentDeadLetters) {
		fmt.Fprintf(w, "dead letter: %s\t%d\n", r, rep.RecentDeadLetters[r])
	}
	fmt.Fprintf(w, "\ntraffic %s to %s\nPROVIDER\tREQUESTS\tERRORS\n", rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339))
	for _, p := range sortedKeys(rep.RequestsByProvider) {
		fmt.Fprintf(w, "%s\t%d\t%d\n", p, rep.RequestsByProvider[p], rep.ErrorsByProvider[p])
	}
	return w.Flush()
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
