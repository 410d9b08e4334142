package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a Prometheus registry with the Go runtime's and the
// process's collectors: what every faultline /metrics serves besides its
// own metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// shutdownTimeout bounds how long stopping the listener waits for the
// requests in flight.
const shutdownTimeout = 5 * time.Second

// ServeHTTP serves reg at /metrics and each of handlers at its path
// (/healthz, /readyz) on addr, the value of --http-addr, until stop is
// called. It logs "serving http" with the address it listens on (port 0
// picks a free one). An address it cannot listen on is a usage error
// naming the flag.
func ServeHTTP(addr string, reg *prometheus.Registry, handlers map[string]http.HandlerFunc, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	for path, h := range handlers {
		mux.HandleFunc(path, h)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, Usagef("--http-addr %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
		}
	}()
	log.Info("serving http", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// OK answers 200 "ok": a liveness check of a process that is up.
func OK(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
