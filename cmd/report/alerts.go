package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// alertsCmd is `report alerts`.
type alertsCmd struct {
	DatabaseURL     string `name:"database-url" env:"DATABASE_URL" help:"Postgres URL, e.g. postgres://user@host:5432/db?sslmode=verify-full (TLS via the URL)."`
	From            string `name:"from" help:"First minute to evaluate, RFC 3339 (default: 15 minutes before --to). A window of the past is a backtest."`
	To              string `name:"to" help:"End of the window, RFC 3339 (default: now; the minute under way is not evaluated)."`
	DryRun          bool   `name:"dry-run" help:"Evaluate and print; store nothing and send nothing."`
	Watch           bool   `name:"watch" help:"Evaluate every minute until SIGINT/SIGTERM (from --from when given, to catch up first)."`
	JSON            bool   `name:"json" help:"Print a JSON array (with --watch, one array per evaluation that changed something)."`
	AlertmanagerURL string `name:"alertmanager-url" env:"ALERTMANAGER_URL" help:"Post firing and resolved alerts to this Alertmanager's API v2, e.g. http://alertmanager:9093."`
	Config          string `name:"config" env:"FAULTLINE_ALERTS_CONFIG" help:"YAML file of detector parameters per rule and provider, and providers' maintenance windows (default: built-in defaults, no file needed)."`
	HTTPAddr        string `name:"http-addr" env:"HTTP_ADDR" default:"127.0.0.1:9465" help:"With --watch: serve /metrics (evaluations, failures, the last success, Alertmanager posts) and /healthz on HOST:PORT; empty for none."`
	ConsoleURL      string `name:"console-url" env:"CONSOLE_URL" placeholder:"URL" help:"Base URL of the web console (report serve): alerts sent to Alertmanager link to their page there, at the incident's escalation (annotation escalation_url, and the alert's generatorURL)."`
}

func (cmd *alertsCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.window(time.Now())
	if err != nil {
		return err
	}
	switch {
	case cmd.Watch && cmd.To != "":
		return usageError{errors.New("--watch evaluates up to now: --to does not go with it")}
	case cmd.DryRun && cmd.AlertmanagerURL != "":
		return usageError{errors.New("--dry-run sends nothing: --alertmanager-url does not go with it")}
	}
	cfg, err := cmd.config()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := alerting.NewMetrics(reg)
	amo := alerting.AlertmanagerOptions{Metrics: metrics}
	if cmd.ConsoleURL != "" {
		base, err := parseConsoleURL(cmd.ConsoleURL)
		if err != nil {
			return usageError{err}
		}
		amo.AlertURL = func(id int64) string { return console.AlertPageURL(base, id) }
	}
	var am *alerting.Alertmanager
	if cmd.AlertmanagerURL != "" {
		if am, err = alerting.NewAlertmanager(cmd.AlertmanagerURL, cfg, amo); err != nil {
			return usageError{fmt.Errorf("--alertmanager-url: %w", err)}
		}
	}
	st, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	ev := alerting.NewEvaluator(st, cfg, log)
	if cmd.Watch {
		o := alerting.WatchOptions{DryRun: cmd.DryRun, Metrics: metrics}
		if cmd.From != "" {
			o.From = from
		}
		if cmd.HTTPAddr != "" {
			srv, err := serveWatchHTTP(cmd.HTTPAddr, reg, metrics, log)
			if err != nil {
				return err
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
		}
		printed := map[string]bool{}
		return ev.Watch(ctx, o, func(ctx context.Context, res alerting.Result) error {
			var changed []store.Alert
			for _, a := range res.Alerts {
				k := fmt.Sprintf("%s/%t/%t", a.Key(), a.Firing(), a.Paging())
				if !printed[k] {
					printed[k] = true
					changed = append(changed, a)
				}
			}
			log.InfoContext(ctx, "alerts evaluated", "from", res.From, "to", res.To,
				"alerts", len(res.Alerts), "firing", firing(res.Alerts), "changed", len(changed), "stored", res.Stored)
			if len(changed) > 0 {
				if err := cmd.print(alerting.Result{From: res.From, To: res.To, Alerts: changed, Stored: res.Stored}, cfg); err != nil {
					return err
				}
			}
			// Every firing alert, changed or not: re-sent before
			// Alertmanager would resolve it.
			return send(ctx, am, res.Alerts, log)
		})
	}
	res, err := ev.Evaluate(ctx, from, to, cmd.DryRun)
	if err != nil {
		return err
	}
	if err := cmd.print(res, cfg); err != nil {
		return err
	}
	return send(ctx, am, res.Alerts, log)
}

func firing(alerts []store.Alert) (n int) {
	for i := range alerts {
		if alerts[i].Firing() {
			n++
		}
	}
	return n
}

// send posts the alerts that are current to Alertmanager, when there is
// one.
func send(ctx context.Context, am *alerting.Alertmanager, alerts []store.Alert, log *slog.Logger) error {
	if am == nil {
		return nil
	}
	n, err := am.Send(ctx, alerts, time.Now())
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "alerts sent to alertmanager", "alerts", n)
	return nil
}

func (cmd *alertsCmd) print(res alerting.Result, cfg *detect.Config) error {
	if cmd.JSON {
		if cmd.Watch {
			out := make([]alerting.JSONAlert, len(res.Alerts))
			for i := range res.Alerts {
				out[i] = alerting.ToJSON(&res.Alerts[i], cfg)
			}
			return json.NewEncoder(os.Stdout).Encode(out)
		}
		return alerting.WriteJSON(os.Stdout, res.Alerts, cfg)
	}
	return alerting.WriteText(os.Stdout, res, cfg)
}

// window resolves --from and --to: by default the minutes of
// alerting.DefaultLookback before now.
func (cmd *alertsCmd) window(now time.Time) (from, to time.Time, err error) {
	to = now
	if cmd.To != "" {
		if to, err = time.Parse(time.RFC3339, cmd.To); err != nil {
			return from, to, usageError{fmt.Errorf("--to %q: want RFC 3339 like 2026-11-02T10:00:00Z", cmd.To)}
		}
	}
	from = to.Add(-alerting.DefaultLookback)
	if cmd.From != "" {
		if from, err = time.Parse(time.RFC3339, cmd.From); err != nil {
			return from, to, usageError{fmt.Errorf("--from %q: want RFC 3339 like 2026-11-02T10:00:00Z", cmd.From)}
		}
	}
	from, to = from.UTC().Truncate(time.Minute), to.UTC().Truncate(time.Minute)
	if !from.Before(to) {
		return from, to, usageError{fmt.Errorf("--from (%s) must be at least a minute before --to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))}
	}
	return from, to, nil
}

// config reads --config, or returns the defaults.
func (cmd *alertsCmd) config() (*detect.Config, error) {
	if cmd.Config == "" {
		return detect.DefaultConfig(), nil
	}
	data, err := os.ReadFile(cmd.Config)
	if err != nil {
		return nil, usageError{fmt.Errorf("--config: %w", err)}
	}
	cfg, err := detect.ParseConfig(data)
	if err != nil {
		return nil, usageError{fmt.Errorf("--config %s: %w", cmd.Config, err)}
	}
	return cfg, nil
}

// open connects to the database and checks that its schema has the
// alerts table.
func (cmd *alertsCmd) open(ctx context.Context, log *slog.Logger) (*store.Store, error) {
	if cmd.DatabaseURL == "" {
		return nil, usageError{errors.New("--database-url (or DATABASE_URL) is required")}
	}
	st, err := store.Open(ctx, cmd.DatabaseURL, store.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", store.DisplayURL(cmd.DatabaseURL), err)
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// watchStale is how long /healthz gives the watch loop to end an
// evaluation, successful or not: three minutes without one means it is
// stuck, and Kubernetes restarts it. A database that is away fails
// evaluations, it does not stop them: that is the Prometheus rule's to
// page for (FaultlineAlertEvaluationsFailing), not a restart's.
const watchStale = 3 * time.Minute

// serveWatchHTTP serves /metrics and /healthz for `report alerts --watch`.
func serveWatchHTTP(addr string, reg *prometheus.Registry, m *alerting.Metrics, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !m.Alive(time.Now(), watchStale) {
			http.Error(w, "stuck: no evaluation has ended for "+watchStale.String(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageError{fmt.Errorf("--http-addr %s: %w", addr, err)}
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
