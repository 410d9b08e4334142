// Package alerting runs faultline's alert rules (package detect) against
// the stored rollups and keeps what they find: it reads what a detect.Plan
// asks for, evaluates every minute of a window, stores the alerts
// idempotently (an advisory lock keeps two evaluators from doubling one)
// with the context on-call needs, and posts firing and resolved alerts to
// Alertmanager. `report alerts` is a thin command over it.
package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// Store is what evaluation needs of the database.
type Store interface {
	RunAlerts(ctx context.Context, write bool, fn func(*store.AlertRun) error) error
}

// Evaluator evaluates the alert rules over windows of minutes.
type Evaluator struct {
	store  Store
	config *detect.Config
	log    *slog.Logger
	// The clock of Watch.
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// NewEvaluator returns an Evaluator reading and storing through st with
// cfg (detect.DefaultConfig when nil), logging to log (discarded when
// nil).
func NewEvaluator(st Store, cfg *detect.Config, log *slog.Logger) *Evaluator {
	if cfg == nil {
		cfg = detect.DefaultConfig()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Evaluator{store: st, config: cfg, log: log, now: time.Now, after: time.After}
}

// Config is the evaluator's configuration.
func (e *Evaluator) Config() *detect.Config { return e.config }

// Result is what one evaluation found.
type Result struct {
	// From and To bound the minutes evaluated: [From, To).
	From, To time.Time
	// Alerts are the alerts firing during any of those minutes, by start:
	// continued, opened or closed. On a dry run they have no ID.
	Alerts []store.Alert
	// Stored is false for a dry run.
	Stored bool
}

// matchSlack is how far apart two derivations of one incident's start may
// be for a re-evaluation to continue it rather than open another.
const matchSlack = time.Minute

// maxChunk bounds the minutes one detect.Evaluate holds in memory: a
// longer window is evaluated a week at a time, the incidents firing at the
// end of one week carried into the next.
const maxChunk = 7 * 24 * time.Hour

// Evaluate evaluates every minute of [from, to) (truncated to minutes) and,
// unless dryRun, stores what it finds: alerts opened, continued or closed,
// with their context. Evaluating a window again changes nothing unless the
// data did; evaluating it in pieces gives what evaluating it at once does.
// Two evaluators at once take turns (store.RunAlerts).
func (e *Evaluator) Evaluate(ctx context.Context, from, to time.Time, dryRun bool) (Result, error) {
	whole, err := e.config.Plan(from, to)
	if err != nil {
		return Result{}, err
	}
	res := Result{From: whole.From, To: whole.To, Stored: !dryRun, Alerts: []store.Alert{}}
	started := time.Now()
	err = e.store.RunAlerts(ctx, !dryRun, func(run *store.AlertRun) error {
		var carried *detect.State
		index := map[string]int{} // an alert's place in res.Alerts, by Key
		for cf := whole.From; cf.Before(whole.To); cf = cf.Add(maxChunk) {
			plan, err := e.config.Plan(cf, minTime(cf.Add(maxChunk), whole.To))
			if err != nil {
				return err
			}
			counts, st, err := load(ctx, run, plan, carried)
			if err != nil {
				return err
			}
			alerts := detect.Evaluate(e.config, plan, counts, st)
			if err := e.keep(ctx, run, alerts, dryRun); err != nil {
				return err
			}
			next := &detect.State{History: st.History, CodeAlerts: st.CodeAlerts}
			for i := range alerts {
				a := &alerts[i]
				if a.Firing() {
					next.Open = append(next.Open, *a)
				} else {
					next.History = append(next.History, *a)
				}
				if a.Rule == detect.NewCode {
					next.CodeAlerts = append(next.CodeAlerts, *a)
				}
				if j, ok := index[a.Key()]; ok {
					res.Alerts[j] = *a
				} else {
					index[a.Key()] = len(res.Alerts)
					res.Alerts = append(res.Alerts, *a)
				}
			}
			carried = next
		}
		e.log.DebugContext(ctx, "alerts evaluated", "from", whole.From, "to", whole.To, "alerts", len(res.Alerts),
			"took", time.Since(started), "stored", !dryRun)
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("alerting: evaluate %s to %s: %w", whole.From.Format(time.RFC3339), whole.To.Format(time.RFC3339), err)
	}
	return res, nil
}

// keep reads the alerts' context and, unless dryRun, stores them: the
// alerts others joined first, so that those that joined them store their
// id.
func (e *Evaluator) keep(ctx context.Context, run *store.AlertRun, alerts []detect.Alert, dryRun bool) error {
	ids := map[string]int64{} // stored ids by the Key the evaluation gave
	for _, joined := range []bool{false, true} {
		for i := range alerts {
			a := &alerts[i]
			if (a.Suppression.Reason == detect.Joined) != joined {
				continue
			}
			c, err := run.AlertContext(ctx, contextQuery(a))
			if err != nil {
				return err
			}
			c.Joined = a.Context.Joined
			a.Context = c
			if joined && a.ParentID == 0 {
				a.ParentID = ids[a.Parent]
			}
			if dryRun {
				continue
			}
			key := a.Key()
			if err := run.SaveAlert(ctx, a, matchSlack); err != nil {
				return fmt.Errorf("alerting: %s %s: %w", a.Rule, a.Provider, err)
			}
			ids[key] = a.ID
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// load reads the state evaluation starts from and what the plan asks for:
// the alerts stored as of the plan's first minute or, within one long
// evaluation, what the previous week left (carried); the rollups, per
// minute only of the categories the rules follow and of the codes the
// state makes NewCode follow.
func load(ctx context.Context, run *store.AlertRun, p detect.Plan, carried *detect.State) (*detect.Counts, detect.State, error) {
	st, err := loadState(ctx, run, p, carried)
	if err != nil {
		return nil, st, err
	}
	c := detect.NewCounts(p)
	q := store.RollupQuery{Minutes: store.TimeRange{From: p.Minutes.From, To: p.Minutes.To},
		Categories: p.Categories, Detailed: p.Detailed}
	for _, h := range p.Hours {
		q.Hours = append(q.Hours, store.TimeRange{From: h.From, To: h.To})
	}
	for _, pc := range st.FollowedCodes() {
		q.Codes = append(q.Codes, store.ProviderCode{Provider: pc.Provider, Code: pc.Code})
	}
	if err := run.ReadRollups(ctx, q, c); err != nil {
		return nil, st, err
	}
	return c, st, nil
}

func loadState(ctx context.Context, run *store.AlertRun, p detect.Plan, carried *detect.State) (detect.State, error) {
	var st detect.State
	seen, err := run.CodesFirstSeenSince(ctx, p.CodesSince)
	if err != nil {
		return st, err
	}
	if st.HistoryStart, err = run.HistoryStart(ctx); err != nil {
		return st, err
	}
	codes := make([]store.ProviderCode, len(seen))
	for i, s := range seen {
		st.FirstSeen = append(st.FirstSeen, detect.CodeSeen{Provider: s.Provider, Code: s.Code, FirstSeen: s.FirstSeen})
		codes[i] = store.ProviderCode{Provider: s.Provider, Code: s.Code}
	}
	if st.CodeAlerts, err = run.CodeAlerts(ctx, codes); err != nil {
		return st, err
	}
	if carried != nil {
		st.Open, st.History = carried.Open, carried.History
		st.CodeAlerts = append(st.CodeAlerts, carried.CodeAlerts...)
		return st, nil
	}
	if st.Open, err = run.OpenAlertsAt(ctx, p.From); err != nil {
		return st, err
	}
	if st.History, err = run.ClosedAlerts(ctx, p.HistorySince, p.From); err != nil {
		return st, err
	}
	return st, nil
}

// contextQuery names the errors an alert is about over its span.
func contextQuery(a *detect.Alert) store.ContextQuery {
	q := store.ContextQuery{Provider: a.Provider}
	q.From, q.To = a.Window()
	cats, code, subcode := a.Errors()
	for _, c := range cats {
		q.Categories = append(q.Categories, string(c))
	}
	q.Code, q.Subcode = code, subcode
	return q
}
