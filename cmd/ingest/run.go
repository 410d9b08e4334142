package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/store"
)

type runCmd struct {
	kafkaFlags
	pipelineFlags
	BatchWait    time.Duration `name:"batch-wait" env:"BATCH_WAIT" default:"${batch_wait}" help:"Longest a record waits for its batch to be written."`
	DrainTimeout time.Duration `name:"drain-timeout" env:"DRAIN_TIMEOUT" default:"${drain_timeout}" help:"At shutdown, how long the batch in flight may take to be written."`
	HTTPAddr     string        `name:"http-addr" env:"HTTP_ADDR" default:"127.0.0.1:9464" help:"Listen address of /metrics, /healthz and /readyz (empty: none). Loopback by default: give :9464 (every interface) for a Prometheus on another host."`
	RollupKeep   retention     `name:"rollup-keep" env:"FAULTLINE_ROLLUP_KEEP" default:"400d" help:"Keep rollups this long."`
}

func (cmd *runCmd) Run(ctx context.Context, log *slog.Logger) error {
	if err := positive(durationFlag{"--batch-wait", cmd.BatchWait}, durationFlag{"--drain-timeout", cmd.DrainTimeout}); err != nil {
		return err
	}
	kcfg, err := cmd.kafkaFlags.config()
	if err != nil {
		return err
	}
	reg := cli.NewRegistry()
	pipe, err := cmd.openPipeline(ctx, log, reg)
	if err != nil {
		return err
	}
	defer pipe.st.Close()
	cls, st := pipe.cls, pipe.st
	metrics := ingest.NewMetrics(reg, cls.Catalogs().Providers())
	var ready atomic.Bool
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "faultline_ready", Help: "1 while the consumer runs (what /readyz requires besides Postgres answering), 0 while starting or draining.",
	}, func() float64 {
		if ready.Load() {
			return 1
		}
		return 0
	}))
	if cmd.HTTPAddr != "" {
		stopHTTP, err := cli.ServeHTTP(cmd.HTTPAddr, reg, map[string]http.HandlerFunc{"/healthz": cli.OK, "/readyz": readyz(st, &ready)}, log)
		if err != nil {
			return err
		}
		defer stopHTTP()
	}

	upkeep, err := ingest.NewUpkeep(ingest.UpkeepConfig{Store: st, Keep: time.Duration(cmd.Keep), RollupKeep: time.Duration(cmd.RollupKeep), Logger: log,
		Metrics: ingest.NewUpkeepMetrics(reg)})
	if err != nil {
		return err
	}
	c, err := ingest.NewConsumer(ingest.ConsumerConfig{
		Store: st, Classifier: cls, Kafka: kcfg,
		Builder:   cmd.builderOptions(),
		BatchSize: cmd.BatchSize, BatchWait: cmd.BatchWait, DrainTimeout: cmd.DrainTimeout,
		Logger: log, Metrics: metrics,
	})
	if err != nil {
		return err
	}
	// Upkeep and endpoint templates run beside the consumer, until it stops.
	var background sync.WaitGroup
	uctx, stopUpkeep := context.WithCancel(ctx)
	background.Go(func() { upkeep.Run(uctx) })
	background.Go(func() { pipe.templater.Run(uctx) })
	defer func() {
		stopUpkeep()
		background.Wait()
	}()

	log.Info("consuming", "brokers", kcfg.Brokers, "topic", kcfg.Topic, "group", kcfg.Group, "database", store.DisplayURL(cmd.DatabaseURL))
	ready.Store(true)
	err = c.Run(ctx)
	ready.Store(false)
	if err != nil {
		log.Error("stopped", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// readyz answers /readyz: ready while the consumer runs and Postgres
// answers with the right schema.
func readyz(st *store.Store, ready *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready: consumer not running", http.StatusServiceUnavailable)
			return
		}
		cctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.CheckSchema(cctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	}
}
