package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/internal/cli"
	"github.com/faultline-dev/faultline/store"
)

// alertsCmd is `report alerts`.
type alertsCmd struct {
	cli.Database `set:"database_use= Reads, and stores alerts."`
	// A window of the past is a backtest.
	cli.Window      `kong:"set='window_from=15 minutes before --to; a window of the past is a backtest',set='window_to=now; both are taken to the minute, the minute under way is not evaluated'"`
	DryRun          bool   `name:"dry-run" help:"Evaluate and print; store nothing and send nothing."`
	Watch           bool   `name:"watch" help:"Evaluate every minute until SIGINT/SIGTERM (from --from when given, to catch up first)."`
	JSON            bool   `name:"json" help:"Print a JSON array (with --watch, one array per evaluation that changed something)."`
	AlertmanagerURL string `name:"alertmanager-url" env:"ALERTMANAGER_URL" help:"Post firing and resolved alerts to this Alertmanager's API v2, e.g. http://alertmanager:9093."`
	Config          string `name:"config" env:"FAULTLINE_ALERTS_CONFIG" help:"YAML file of detector parameters per rule and provider, and providers' maintenance windows (default: built-in defaults, no file needed)."`
	HTTPAddr        string `name:"http-addr" env:"HTTP_ADDR" default:"127.0.0.1:9465" help:"With --watch: serve /metrics (evaluations, failures, the last success, Alertmanager posts) and /healthz on HOST:PORT; empty for none."`
	ConsoleURL      string `name:"console-url" env:"CONSOLE_URL" placeholder:"URL" help:"Base URL of the web console (report serve): alerts sent to Alertmanager link to their page there, at the incident's escalation (annotation escalation_url, and the alert's generatorURL)."`
}

func (cmd *alertsCmd) Run(ctx context.Context, log *slog.Logger) error {
	from, to, err := cmd.Resolve(time.Now(), alertsWindow)
	if err != nil {
		return err
	}
	switch {
	case cmd.Watch && cmd.To != "":
		return cli.Usagef("--watch evaluates up to now: --to does not go with it")
	case cmd.DryRun && cmd.AlertmanagerURL != "":
		return cli.Usagef("--dry-run sends nothing: --alertmanager-url does not go with it")
	}
	cfg, err := cmd.config()
	if err != nil {
		return err
	}
	reg := cli.NewRegistry()
	metrics := alerting.NewMetrics(reg)
	amo := alerting.AlertmanagerOptions{Metrics: metrics}
	if cmd.ConsoleURL != "" {
		base, err := parseConsoleURL(cmd.ConsoleURL)
		if err != nil {
			return cli.Usagef("%w", err)
		}
		amo.AlertURL = func(id int64) string { return console.AlertPageURL(base, id) }
	}
	var am *alerting.Alertmanager
	if cmd.AlertmanagerURL != "" {
		if am, err = alerting.NewAlertmanager(cmd.AlertmanagerURL, cfg, amo); err != nil {
			return cli.Usagef("--alertmanager-url: %w", err)
		}
	}
	st, err := cmd.OpenCurrent(ctx, log)
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
			stopHTTP, err := cli.ServeHTTP(cmd.HTTPAddr, reg, map[string]http.HandlerFunc{"/healthz": watchHealthz(metrics)}, log)
			if err != nil {
				return err
			}
			defer stopHTTP()
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

// alertsWindow is the window of report alerts: whole minutes, the last
// alerting.DefaultLookback by default.
var alertsWindow = cli.Span{Length: alerting.DefaultLookback, Step: time.Minute}

// config reads --config, or returns the defaults.
func (cmd *alertsCmd) config() (*detect.Config, error) {
	if cmd.Config == "" {
		return detect.DefaultConfig(), nil
	}
	data, err := os.ReadFile(cmd.Config)
	if err != nil {
		return nil, cli.Usagef("--config: %w", err)
	}
	cfg, err := detect.ParseConfig(data)
	if err != nil {
		return nil, cli.Usagef("--config %s: %w", cmd.Config, err)
	}
	return cfg, nil
}

// watchStale is how long /healthz gives the watch loop to end an
// evaluation, successful or not: three minutes without one means it is
// stuck, and Kubernetes restarts it. A database that is away fails
// evaluations, it does not stop them: that is the Prometheus rule's to
// page for (FaultlineAlertEvaluationsFailing), not a restart's.
const watchStale = 3 * time.Minute

// watchHealthz answers /healthz of `report alerts --watch`: alive while
// evaluations end.
func watchHealthz(m *alerting.Metrics) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !m.Alive(time.Now(), watchStale) {
			http.Error(w, "stuck: no evaluation has ended for "+watchStale.String(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}
