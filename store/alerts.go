package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline-dev/faultline/detect"
)

// alertsLockKey is the transaction advisory lock that serialises alert
// evaluations among faultline processes ("faultalt"): two evaluators at
// once take turns, and the second one continues the alerts the first one
// stored instead of opening them again.
const alertsLockKey int64 = 0x6661756c74616c74

// Alert is a stored alert: what the detectors find, whole (detect.Alert).
// Zero times are NULL.
type Alert = detect.Alert

// AlertContext is what on-call needs to start on an alert.
type AlertContext = detect.AlertContext

// CodeCount counts a provider code and subcode.
type CodeCount = detect.CodeCount

// EndpointCount counts errors of an endpoint.
type EndpointCount = detect.EndpointCount

// TimeRange is [From, To).
type TimeRange struct{ From, To time.Time }

// AlertRun is one evaluation of the alert rules, in one transaction: what
// it reads and what it stores. A run that stores holds the alerts advisory
// lock from its start to its commit.
type AlertRun struct {
	tx    pgx.Tx
	pool  *pgxpool.Pool // for reads beside the transaction
	write bool
	names interner
}

// RunAlerts runs fn in a transaction. With write, the transaction first
// takes the alerts advisory lock (waiting for another evaluator to finish)
// and commits when fn returns nil; without, it is read-only and fn cannot
// store alerts.
//
// The transaction is READ COMMITTED on purpose: each statement sees what
// the evaluator that held the lock before committed.
func (s *Store) RunAlerts(ctx context.Context, write bool, fn func(*AlertRun) error) error {
	mode := pgx.ReadOnly
	if write {
		mode = pgx.ReadWrite
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: mode})
	if err != nil {
		return wrap(ctx, "store: alerts", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// The rollup queries take time ranges whose width decides the plan (a
	// minute's rows or a month's): plan them for their values every time,
	// never with a generic plan of a prepared statement.
	// A backtest sums a week of per-minute request rollups per minute and
	// provider (15 MB at the scale of 10 million errors): let it hash them
	// in memory rather than sort them on disk.
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL work_mem = '64MB'"); err != nil {
		return wrap(ctx, "store: alerts", err)
	}
	if write {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", alertsLockKey); err != nil {
			return wrap(ctx, "store: alerts: lock", err)
		}
	}
	r := &AlertRun{tx: tx, pool: s.pool, write: write, names: interner{}}
	if err := fn(r); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(ctx, "store: alerts: commit", err)
	}
	return nil
}

// interner returns one string per distinct value of the few provider,
// category and code names a scan meets, so that scanning a week of rollups
// does not allocate a string per row.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// CodeFirstSeen is when a provider's code was first seen.
type CodeFirstSeen struct {
	Provider  string
	Code      string
	FirstSeen time.Time
}

// CodesFirstSeenSince returns the provider codes (not "") whose first
// error stored is at or after since, from the error groups.
func (r *AlertRun) CodesFirstSeenSince(ctx context.Context, since time.Time) ([]CodeFirstSeen, error) {
	rows, err := r.tx.Query(ctx, `
		SELECT provider, code, min(first_seen) FROM error_groups
		WHERE code <> '' GROUP BY provider, code HAVING min(first_seen) >= $1
		ORDER BY provider, code`, since)
	if err != nil {
		return nil, wrap(ctx, "store: codes first seen", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CodeFirstSeen, error) {
		var c CodeFirstSeen
		err := row.Scan(&c.Provider, &c.Code, &c.FirstSeen)
		c.FirstSeen = c.FirstSeen.UTC()
		return c, err
	})
	if err != nil {
		return nil, wrap(ctx, "store: codes first seen", err)
	}
	return out, nil
}

// HistoryStart returns the first minute of stored traffic, zero when none.
func (r *AlertRun) HistoryStart(ctx context.Context) (time.Time, error) {
	var t pgtype.Timestamptz
	if err := r.tx.QueryRow(ctx, "SELECT min(minute) FROM rollup_requests").Scan(&t); err != nil {
		return time.Time{}, wrap(ctx, "store: history start", err)
	}
	return utc(t.Time), nil
}

const alertColumns = `id, rule, provider, subject, category, code, subcode, severity, series, expected, level,
	close_below, evidence, observed, observed_count, observed_requests, observed_window, starts_at, ends_at,
	detected_at, resolved_at, last_evaluated, paged_at, suppressed, suppressed_until, suppressed_detail,
	coalesce(parent_id, 0), summary, context, updated_at`

func scanAlert(row pgx.CollectableRow) (Alert, error) {
	var (
		a                                  Alert
		endsAt, resolved, paged, suppUntil pgtype.Timestamptz
		ctxJSON                            []byte
	)
	err := row.Scan(&a.ID, &a.Rule, &a.Provider, &a.Subject, &a.Category, &a.Code, &a.Subcode, &a.Severity, &a.Series,
		&a.Expected, &a.Level, &a.CloseBelow, &a.Evidence, &a.Observed, &a.ObservedCount, &a.ObservedRequests,
		&a.ObservedWindow, &a.StartsAt, &endsAt, &a.DetectedAt, &resolved, &a.LastEvaluated, &paged,
		&a.Suppression.Reason, &suppUntil, &a.Suppression.Detail, &a.ParentID, &a.Summary, &ctxJSON, &a.UpdatedAt)
	if err != nil {
		return a, err
	}
	a.EndsAt, a.ResolvedAt, a.PagedAt, a.Suppression.Until = utc(endsAt.Time), utc(resolved.Time), utc(paged.Time), utc(suppUntil.Time)
	a.StartsAt, a.DetectedAt, a.LastEvaluated, a.UpdatedAt = a.StartsAt.UTC(), a.DetectedAt.UTC(), a.LastEvaluated.UTC(), a.UpdatedAt.UTC()
	if err := json.Unmarshal(ctxJSON, &a.Context); err != nil {
		return a, fmt.Errorf("alert %d: context: %w", a.ID, err)
	}
	return a, nil
}

// OpenAlertsAt returns the alerts that an evaluation starting with minute
// at finds firing: opened by the evaluation of an earlier minute and not
// closed by one.
func (r *AlertRun) OpenAlertsAt(ctx context.Context, at time.Time) ([]Alert, error) {
	return r.alerts(ctx, "store: open alerts", `
		WHERE detected_at <= $1 AND (resolved_at IS NULL OR resolved_at > $1)
		ORDER BY rule, provider, subject`, at)
}

// ClosedAlerts returns the alerts closed by the evaluation of a minute
// ending in (since, until].
func (r *AlertRun) ClosedAlerts(ctx context.Context, since, until time.Time) ([]Alert, error) {
	return r.alerts(ctx, "store: closed alerts", `
		WHERE resolved_at > $1 AND resolved_at <= $2 ORDER BY resolved_at, id`, since, until)
}

// CodeAlerts returns the new-code alerts ever stored of the codes given:
// a code alerts once.
func (r *AlertRun) CodeAlerts(ctx context.Context, codes []ProviderCode) ([]Alert, error) {
	providers, names := make([]string, len(codes)), make([]string, len(codes))
	for i, pc := range codes {
		providers[i], names[i] = pc.Provider, pc.Code
	}
	return r.alerts(ctx, "store: new-code alerts", `
		WHERE rule = 'new_code' AND (provider, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY provider, subject, starts_at`, providers, names)
}

// alerts reads the alerts a WHERE (and ORDER BY) clause selects.
func (r *AlertRun) alerts(ctx context.Context, op, where string, args ...any) ([]Alert, error) {
	rows, err := r.tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts `+where, args...)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, wrap(ctx, op, err)
	}
	return out, nil
}

// Sentinel errors of alert runs (no "store:" prefix: the operation that
// wraps them has one).
var (
	// ErrReadOnly means a read-only alert run was asked to store.
	ErrReadOnly = errors.New("read-only alert run")
	// ErrAlertOpen means an alert of the same rule, provider and subject
	// is already firing.
	ErrAlertOpen = errors.New("an alert of that rule, provider and subject is already firing")
	// ErrNoAlert means no alert has the id given.
	ErrNoAlert = errors.New("no such alert")
)

// SaveAlert stores a, idempotently: an alert with an ID updates that row;
// otherwise the row of the same rule, provider and subject whose incident
// overlaps a's (firing, or ended at or after a.StartsAt less slack) is
// updated, and only when there is none is a row inserted. It sets a.ID and
// a.UpdatedAt.
//
// Updating keeps what identifies the incident from the moment it opened
// (its category, code, series, baseline, level, evidence, why it was
// suppressed and what it joined: its Alertmanager labels and its reading)
// and its page: a page sent is never taken back. A start earlier than the
// stored one moves it back. An alert not suppressed pages from its
// detection when a.PagedAt is not set.
func (r *AlertRun) SaveAlert(ctx context.Context, a *Alert, slack time.Duration) error {
	if !r.write {
		return fmt.Errorf("store: save alert: %w", ErrReadOnly)
	}
	if a.Suppression.Reason == "" && a.PagedAt.IsZero() {
		a.PagedAt = a.DetectedAt // an alert not suppressed pages from the start
	}
	if a.ID == 0 {
		err := r.tx.QueryRow(ctx, `
			SELECT id FROM alerts
			WHERE rule = $1 AND provider = $2 AND subject = $3
				AND starts_at < coalesce($5, 'infinity'::timestamptz)
				AND coalesce(ends_at, 'infinity'::timestamptz) >= $4
			ORDER BY abs(extract(epoch FROM starts_at - $4)) LIMIT 1`,
			a.Rule, a.Provider, a.Subject, a.StartsAt.Add(-slack), nullTime(a.EndsAt)).Scan(&a.ID)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return wrap(ctx, "store: save alert", err)
		}
	}
	ctxJSON, err := json.Marshal(a.Context)
	if err != nil {
		return fmt.Errorf("store: save alert: context: %w", err)
	}
	var (
		parent           = pgtype.Int8{Int64: a.ParentID, Valid: a.ParentID != 0}
		paged, suppUntil pgtype.Timestamptz
	)
	if a.ID != 0 {
		err = r.tx.QueryRow(ctx, `
			UPDATE alerts SET
				starts_at = least(starts_at, $2), ends_at = $3, resolved_at = $4,
				last_evaluated = greatest(last_evaluated, $5),
				observed = $6, observed_count = $7, observed_requests = $8, observed_window = $9,
				summary = $10, context = $11, severity = $12,
				paged_at = coalesce(paged_at, $13), suppressed_until = coalesce($14, suppressed_until),
				updated_at = now()
			WHERE id = $1
			RETURNING category, code, subcode, series, expected, level, close_below, evidence, starts_at, detected_at,
				paged_at, suppressed, suppressed_until, suppressed_detail, coalesce(parent_id, 0), updated_at`,
			a.ID, a.StartsAt, nullTime(a.EndsAt), nullTime(a.ResolvedAt), a.LastEvaluated,
			a.Observed, a.ObservedCount, a.ObservedRequests, a.ObservedWindow, a.Summary, ctxJSON, a.Severity,
			nullTime(a.PagedAt), nullTime(a.Suppression.Until),
		).Scan(&a.Category, &a.Code, &a.Subcode, &a.Series, &a.Expected, &a.Level, &a.CloseBelow, &a.Evidence,
			&a.StartsAt, &a.DetectedAt, &paged, &a.Suppression.Reason, &suppUntil, &a.Suppression.Detail, &a.ParentID, &a.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("store: save alert %d: %w", a.ID, ErrNoAlert)
		}
		if err != nil {
			return wrap(ctx, "store: save alert", alertErr(err))
		}
		a.StartsAt, a.DetectedAt, a.UpdatedAt = a.StartsAt.UTC(), a.DetectedAt.UTC(), a.UpdatedAt.UTC()
		a.PagedAt, a.Suppression.Until = utc(paged.Time), utc(suppUntil.Time)
		return nil
	}
	err = r.tx.QueryRow(ctx, `
		INSERT INTO alerts (rule, provider, subject, category, code, subcode, severity, series, expected, level,
			close_below, evidence, observed, observed_count, observed_requests, observed_window, starts_at, ends_at,
			detected_at, resolved_at, last_evaluated, paged_at, suppressed, suppressed_until, suppressed_detail,
			parent_id, summary, context)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
			$23, $24, $25, $26, $27, $28)
		RETURNING id, updated_at`,
		a.Rule, a.Provider, a.Subject, a.Category, a.Code, a.Subcode, a.Severity, a.Series, a.Expected, a.Level,
		a.CloseBelow, a.Evidence, a.Observed, a.ObservedCount, a.ObservedRequests, a.ObservedWindow, a.StartsAt,
		nullTime(a.EndsAt), a.DetectedAt, nullTime(a.ResolvedAt), a.LastEvaluated, nullTime(a.PagedAt),
		a.Suppression.Reason, nullTime(a.Suppression.Until), a.Suppression.Detail, parent, a.Summary, ctxJSON,
	).Scan(&a.ID, &a.UpdatedAt)
	if err != nil {
		return wrap(ctx, "store: save alert", alertErr(err))
	}
	a.UpdatedAt = a.UpdatedAt.UTC()
	return nil
}

// utc is t in UTC, the zero time staying zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func alertErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "alerts_one_open_idx" {
		return fmt.Errorf("%w: %w", ErrAlertOpen, err)
	}
	return err
}

func nullTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// ListAlerts returns the alerts whose incident overlaps [from, to), by
// start: those that started before to and were firing at from or later.
// The weekly report lists a week's alerts with it.
func (s *Store) ListAlerts(ctx context.Context, from, to time.Time) ([]Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE starts_at < $2 AND (ends_at IS NULL OR ends_at >= $1)
		ORDER BY starts_at, rule, provider, subject`, from, to)
	if err != nil {
		return nil, wrap(ctx, "store: list alerts", err)
	}
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, wrap(ctx, "store: list alerts", err)
	}
	return out, nil
}

// AlertFilter asks for a page of the stored alerts: those whose incident
// overlaps [From, To), firing ones first, then by start, newest first.
type AlertFilter struct {
	From, To time.Time
	// Provider, Rule and Severity narrow the list ("": any).
	Provider, Rule, Severity string
	// Status is "" (any), "firing", "resolved", "suppressed" (stored
	// suppressed, sent later or not) or "paged" (sent to Alertmanager).
	Status string
	// After continues a list: only alerts after this one in the list's
	// order (its ID, StartsAt and whether it fired when the page was
	// read). A zero AfterID starts at the top.
	AfterID       int64
	AfterStartsAt time.Time
	AfterFiring   bool
	// Limit bounds the alerts returned (1 to 1000).
	Limit int
}

// AlertStatuses are the statuses an AlertFilter takes.
var AlertStatuses = []string{"firing", "resolved", "suppressed", "paged"}

// AlertPage is a page of alerts; More is set when the list goes on.
type AlertPage struct {
	Alerts []Alert
	More   bool
}

// ListAlertHistory returns a page of the alerts f asks for: keyed on
// (firing, starts_at, id), never counted with OFFSET.
func (s *Store) ListAlertHistory(ctx context.Context, f AlertFilter) (*AlertPage, error) {
	if !f.From.Before(f.To) {
		return nil, fmt.Errorf("store: alert history: empty window %s to %s", f.From.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		return nil, fmt.Errorf("store: alert history: limit %d, want 1 to 1000", f.Limit)
	}
	where := `starts_at < $2 AND (ends_at IS NULL OR ends_at >= $1)
		AND ($3 = '' OR provider = $3) AND ($4 = '' OR rule = $4) AND ($5 = '' OR severity = $5)`
	switch f.Status {
	case "":
	case "firing":
		where += ` AND ends_at IS NULL`
	case "resolved":
		where += ` AND ends_at IS NOT NULL`
	case "suppressed":
		where += ` AND suppressed <> ''`
	case "paged":
		where += ` AND paged_at IS NOT NULL`
	default:
		return nil, fmt.Errorf("store: alert history: status %q, want one of %v", f.Status, AlertStatuses)
	}
	args := []any{f.From, f.To, f.Provider, f.Rule, f.Severity, f.Limit + 1}
	if f.AfterID != 0 {
		firing := 0
		if f.AfterFiring {
			firing = 1
		}
		where += ` AND ((ends_at IS NULL)::int, starts_at, id) < ($7, $8, $9)`
		args = append(args, firing, f.AfterStartsAt, f.AfterID)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE `+where+`
		ORDER BY (ends_at IS NULL)::int DESC, starts_at DESC, id DESC LIMIT $6`, args...)
	if err != nil {
		return nil, wrap(ctx, "store: alert history", err)
	}
	list, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, wrap(ctx, "store: alert history", err)
	}
	page := &AlertPage{Alerts: list}
	if len(list) > f.Limit {
		page.Alerts, page.More = list[:f.Limit], true
	}
	return page, nil
}
