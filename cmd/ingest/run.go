package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/store"
)

type runCmd struct {
	kafkaFlags
	pipelineFlags
	BatchWait    time.Duration `name:"batch-wait" env:"BATCH_WAIT" default:"500ms" help:"Longest a record waits for its batch to be written."`
	DrainTimeout time.Duration `name:"drain-timeout" default:"15s" help:"At shutdown, how long the batch in flight may take to be written."`
	HTTPAddr     string        `name:"http-addr" env:"HTTP_ADDR" default:":9464" help:"Listen address of /metrics, /healthz and /readyz (empty: none)."`
	RollupKeep   retention     `name:"rollup-keep" env:"FAULTLINE_ROLLUP_KEEP" default:"400d" help:"Keep rollups this long."`
}

func (cmd *runCmd) Run(ctx context.Context, log *slog.Logger) error {
	if cmd.BatchWait <= 0 {
		return usageError{fmt.Errorf("--batch-wait must be positive, got %s", cmd.BatchWait)}
	}
	kcfg, err := cmd.kafkaFlags.config(log)
	if err != nil {
		return err
	}
	cls, st, err := cmd.pipelineFlags.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := ingest.NewMetrics(reg, cls.Catalogs().Providers())
	var ready atomic.Bool
	if cmd.HTTPAddr != "" {
		srv, err := serveHTTP(cmd.HTTPAddr, reg, st, &ready, log)
		if err != nil {
			return err
		}
		defer srv.Close()
	}

	keep, rollupKeep := time.Duration(cmd.Keep), time.Duration(cmd.RollupKeep)
	go maintain(ctx, st, keep, rollupKeep, log)

	c := &ingest.Consumer{
		Store: st, Classifier: cls, Kafka: kcfg,
		Builder:   cmd.builderOptions(),
		BatchSize: cmd.BatchSize, BatchWait: cmd.BatchWait, DrainTimeout: cmd.DrainTimeout,
		Logger: log, Metrics: metrics,
	}
	log.Info("consuming", "brokers", kcfg.Brokers, "topic", kcfg.Topic, "group", kcfg.Group, "database", safeURL(cmd.DatabaseURL))
	ready.Store(true)
	err = c.Run(ctx)
	ready.Store(false)
	log.Info("stopped", "err", err)
	return err
}

// maintain creates partitions ahead and applies retention, at start and then
// hourly.
func maintain(ctx context.Context, st *store.Store, keep, rollupKeep time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		if err := st.EnsurePartitions(ctx, now.Add(-24*time.Hour), now.Add(72*time.Hour)); err != nil && ctx.Err() == nil {
			log.Warn("creating partitions ahead failed", "err", err)
		}
		dropped, deleted, err := st.ApplyRetention(ctx, now, keep, rollupKeep)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention failed", "err", err)
		case len(dropped) > 0 || deleted > 0:
			log.Info("retention applied", "dropped_partitions", dropped, "deleted_rollup_rows", deleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serveHTTP serves /metrics, /healthz (the process is up) and /readyz (the
// consumer runs and Postgres answers with the right schema).
func serveHTTP(addr string, reg *prometheus.Registry, st *store.Store, ready *atomic.Bool, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
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
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
		}
	}()
	log.Info("serving http", "addr", ln.Addr().String())
	return srv, nil
}
