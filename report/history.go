package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// Alert history: the stored alerts whose incident overlaps a window (a
// backtest's, last month's), filtered by provider, rule, severity and
// status, the firing ones on top, a page at a time.

// Alert history windows and pages.
const (
	DefaultHistoryWindow = 7 * 24 * time.Hour
	MaxHistoryWindow     = 400 * 24 * time.Hour
	DefaultHistoryLimit  = 50
)

// AlertHistoryReader lists stored alerts (store.Store does).
type AlertHistoryReader interface {
	ListAlertHistory(ctx context.Context, f store.AlertFilter) (*store.AlertPage, error)
}

// HistoryOptions ask for a page of the alert history.
type HistoryOptions struct {
	// From and To bound the window: by default the DefaultHistoryWindow
	// before now; at most MaxHistoryWindow. With After, the cursor's.
	From, To time.Time
	// Provider, Rule, Severity and Status narrow the list ("": any);
	// Status is one of store.AlertStatuses.
	Provider, Rule, Severity, Status string
	// After is the cursor of the page before (AlertHistory.Next).
	After string
	// Limit bounds the alerts of a page (0: DefaultHistoryLimit; at most
	// 500).
	Limit int
	// Now is the clock (zero: time.Now).
	Now time.Time
}

// AlertHistory is a page of alerts.
type AlertHistory struct {
	From, To time.Time
	Alerts   []store.Alert
	// Next is the cursor of the next page; "" on the last.
	Next string
}

// Severities are the severities alerts have.
var Severities = []string{"info", "warning", "critical"}

func (o *HistoryOptions) filters() uint64 {
	return queryHash('a', o.Provider, o.Rule, o.Severity, o.Status)
}

// Check refuses options ReadAlertHistory would refuse without reading
// anything: an error wrapping ErrBadQuery.
func (o *HistoryOptions) Check() error {
	_, err := o.filter()
	return err
}

func (o *HistoryOptions) filter() (store.AlertFilter, error) {
	f := store.AlertFilter{Provider: o.Provider, Rule: o.Rule, Severity: o.Severity, Status: o.Status, Limit: o.Limit}
	if o.Rule != "" {
		if _, err := detect.ParseRule(o.Rule); err != nil {
			return f, fmt.Errorf("%w: %w", ErrBadQuery, err)
		}
	}
	if o.Severity != "" && !slices.Contains(Severities, o.Severity) {
		return f, fmt.Errorf("%w: severity %q, want one of %s", ErrBadQuery, o.Severity, strings.Join(Severities, ", "))
	}
	if o.Status != "" && !slices.Contains(store.AlertStatuses, o.Status) {
		return f, fmt.Errorf("%w: status %q, want one of %s", ErrBadQuery, o.Status, strings.Join(store.AlertStatuses, ", "))
	}
	if f.Limit == 0 {
		f.Limit = DefaultHistoryLimit
	}
	if f.Limit < 0 || f.Limit > 500 {
		return f, fmt.Errorf("%w: limit %d, want 1 to 500", ErrBadQuery, f.Limit)
	}
	var err error
	if f.From, f.To, err = window(o.From, o.To, o.Now, DefaultHistoryWindow, MaxHistoryWindow); err != nil {
		return f, err
	}
	if o.After != "" {
		c, err := parseCursor(o.After, 'a', o.filters())
		if err != nil {
			return f, err
		}
		if (!o.From.IsZero() && !o.From.Equal(c.from)) || (!o.To.IsZero() && !o.To.Equal(c.to)) || c.to.Sub(c.from) > MaxHistoryWindow {
			return f, fmt.Errorf("%w: the cursor is of the window %s to %s", ErrBadQuery, c.from.Format(time.RFC3339), c.to.Format(time.RFC3339))
		}
		f.From, f.To, f.AfterID, f.AfterStartsAt, f.AfterFiring = c.from, c.to, c.id, c.at, c.flag
	}
	return f, nil
}

// ReadAlertHistory reads a page of the alert history. Bad options are an
// error wrapping ErrBadQuery.
func ReadAlertHistory(ctx context.Context, src AlertHistoryReader, o HistoryOptions) (*AlertHistory, error) {
	f, err := o.filter()
	if err != nil {
		return nil, err
	}
	from, to := f.From, f.To
	page, err := src.ListAlertHistory(ctx, f)
	if err != nil {
		return nil, err
	}
	h := &AlertHistory{From: from, To: to, Alerts: page.Alerts}
	if page.More && len(page.Alerts) > 0 {
		last := &page.Alerts[len(page.Alerts)-1]
		h.Next = cursor{kind: 'a', flag: last.Firing(), from: from, to: to, at: last.StartsAt, id: last.ID, query: o.filters()}.String()
	}
	return h, nil
}
