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
)

// alertsLockKey is the transaction advisory lock that serialises alert
// evaluations among faultline processes ("faultalt"): two evaluators at
// once take turns, and the second one continues the alerts the first one
// stored instead of opening them again.
const alertsLockKey int64 = 0x6661756c74616c74

// Alert is a stored alert: one incident of a rule for a provider and a
// subject. Zero times are NULL.
type Alert struct {
	ID       int64
	Rule     string
	Provider string
	// Subject tells incidents of one rule and provider apart: the code of
	// a new-code alert, "" for the rate rules.
	Subject  string
	Category string
	Code     string
	Subcode  string
	Severity string
	// Series is the series the detector follows for the incident;
	// Expected and CloseBelow are the baseline rate and the rate under
	// which the incident counts as over, frozen when it opened.
	Series     string
	Expected   float64
	CloseBelow float64
	// Observed is the worst window's rate, of ObservedCount errors in
	// ObservedRequests requests.
	Observed         float64
	ObservedCount    int64
	ObservedRequests int64
	StartsAt         time.Time
	EndsAt           time.Time // zero while firing
	DetectedAt       time.Time
	ResolvedAt       time.Time // zero while firing
	LastEvaluated    time.Time
	Summary          string
	Context          AlertContext
	UpdatedAt        time.Time // set by the store
}

// Firing reports whether the incident is not over.
func (a *Alert) Firing() bool { return a.EndsAt.IsZero() }

// AlertContext is what on-call needs to start on an alert, read from the
// rollups, the error groups and a bounded sample of the incident's events.
type AlertContext struct {
	// From and To bound the period described.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// TopCodes are the provider's codes (and subcodes) of the alert's
	// categories, most frequent first.
	TopCodes []CodeCount `json:"top_codes"`
	// TopEndpoints are the endpoints of those errors, most frequent first.
	TopEndpoints []EndpointCount `json:"top_endpoints"`
	// TenantsAffected counts the distinct tenants of those errors.
	TenantsAffected int `json:"tenants_affected"`
	// SampleCorrelationID is the provider's id of one of the errors, the
	// latest found: `report lookup` takes it.
	SampleCorrelationID string `json:"sample_correlation_id,omitempty"`
	// Sampled is true when the incident had more events than were read:
	// endpoints and tenants then describe the latest SampledEvents events.
	Sampled       bool `json:"sampled,omitempty"`
	SampledEvents int  `json:"sampled_events"`
}

// CodeCount counts a provider code and subcode.
type CodeCount struct {
	Code    string `json:"code"`
	Subcode string `json:"subcode,omitempty"`
	Count   int64  `json:"count"`
}

// EndpointCount counts errors of an endpoint.
type EndpointCount struct {
	Method   string `json:"method,omitempty"`
	Endpoint string `json:"endpoint"`
	Count    int64  `json:"count"`
}

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

const alertColumns = `id, rule, provider, subject, category, code, subcode, severity, series, expected, close_below,
	observed, observed_count, observed_requests, starts_at, ends_at, detected_at, resolved_at, last_evaluated,
	summary, context, updated_at`

func scanAlert(row pgx.CollectableRow) (Alert, error) {
	var (
		a                Alert
		endsAt, resolved pgtype.Timestamptz
		ctxJSON          []byte
	)
	err := row.Scan(&a.ID, &a.Rule, &a.Provider, &a.Subject, &a.Category, &a.Code, &a.Subcode, &a.Severity, &a.Series,
		&a.Expected, &a.CloseBelow, &a.Observed, &a.ObservedCount, &a.ObservedRequests,
		&a.StartsAt, &endsAt, &a.DetectedAt, &resolved, &a.LastEvaluated, &a.Summary, &ctxJSON, &a.UpdatedAt)
	if err != nil {
		return a, err
	}
	a.EndsAt, a.ResolvedAt = utc(endsAt.Time), utc(resolved.Time)
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
	rows, err := r.tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE detected_at <= $1 AND (resolved_at IS NULL OR resolved_at > $1)
		ORDER BY rule, provider, subject`, at)
	if err != nil {
		return nil, wrap(ctx, "store: open alerts", err)
	}
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, wrap(ctx, "store: open alerts", err)
	}
	return out, nil
}

// ClosedAlerts returns the alerts closed by the evaluation of a minute
// ending in (since, until].
func (r *AlertRun) ClosedAlerts(ctx context.Context, since, until time.Time) ([]Alert, error) {
	rows, err := r.tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE resolved_at > $1 AND resolved_at <= $2 ORDER BY resolved_at, id`, since, until)
	if err != nil {
		return nil, wrap(ctx, "store: closed alerts", err)
	}
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, wrap(ctx, "store: closed alerts", err)
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
// Updating keeps the row's category, code, series, thresholds and start:
// they identify the incident (and label it in Alertmanager) from the
// moment it opened. A start earlier than the stored one moves it back.
func (r *AlertRun) SaveAlert(ctx context.Context, a *Alert, slack time.Duration) error {
	if !r.write {
		return fmt.Errorf("store: save alert: %w", ErrReadOnly)
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
	if a.ID != 0 {
		err = r.tx.QueryRow(ctx, `
			UPDATE alerts SET
				starts_at = least(starts_at, $2), ends_at = $3, resolved_at = $4,
				last_evaluated = greatest(last_evaluated, $5),
				observed = $6, observed_count = $7, observed_requests = $8,
				summary = $9, context = $10, severity = $11, updated_at = now()
			WHERE id = $1
			RETURNING category, code, subcode, series, expected, close_below, starts_at, detected_at, updated_at`,
			a.ID, a.StartsAt, nullTime(a.EndsAt), nullTime(a.ResolvedAt), a.LastEvaluated,
			a.Observed, a.ObservedCount, a.ObservedRequests, a.Summary, ctxJSON, a.Severity,
		).Scan(&a.Category, &a.Code, &a.Subcode, &a.Series, &a.Expected, &a.CloseBelow, &a.StartsAt, &a.DetectedAt, &a.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("store: save alert %d: %w", a.ID, ErrNoAlert)
		}
		if err != nil {
			return wrap(ctx, "store: save alert", alertErr(err))
		}
		a.StartsAt, a.DetectedAt, a.UpdatedAt = a.StartsAt.UTC(), a.DetectedAt.UTC(), a.UpdatedAt.UTC()
		return nil
	}
	err = r.tx.QueryRow(ctx, `
		INSERT INTO alerts (rule, provider, subject, category, code, subcode, severity, series, expected, close_below,
			observed, observed_count, observed_requests, starts_at, ends_at, detected_at, resolved_at,
			last_evaluated, summary, context)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		RETURNING id, updated_at`,
		a.Rule, a.Provider, a.Subject, a.Category, a.Code, a.Subcode, a.Severity, a.Series, a.Expected, a.CloseBelow,
		a.Observed, a.ObservedCount, a.ObservedRequests, a.StartsAt, nullTime(a.EndsAt), a.DetectedAt,
		nullTime(a.ResolvedAt), a.LastEvaluated, a.Summary, ctxJSON,
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
