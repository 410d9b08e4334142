package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/sethvargo/go-retry"

	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// Alertmanager posts alerts to an Alertmanager's API v2, as Prometheus
// does: firing alerts with an endsAt a few minutes ahead, re-sent at every
// evaluation so that Alertmanager never resolves them on its own while
// they fire, and resolved ones with the time they ended.
type Alertmanager struct {
	endpoint *url.URL // .../api/v2/alerts
	client   *http.Client
	config   *detect.Config
	// ttl is how far ahead of now a firing alert's endsAt is: Alertmanager
	// resolves it then unless it is sent again.
	ttl time.Duration
	// stale: a firing alert last evaluated longer ago than this (a
	// backtest's) is not sent as firing; recent: a resolved alert is sent
	// for this long after it was resolved.
	stale, recent time.Duration
	metrics       *Metrics
	alertURL      func(id int64) string
}

// AlertmanagerOptions tune an Alertmanager; zero values take defaults.
type AlertmanagerOptions struct {
	// Interval is how often alerts are evaluated and sent (default 1m);
	// firing alerts are sent with an endsAt of 4 intervals ahead.
	Interval time.Duration
	// Client sends the requests (default: one with a 10s timeout).
	Client *http.Client
	// Metrics counts the posts (default: none).
	Metrics *Metrics
	// AlertURL, when set, is the address of a stored alert's page in the
	// console (at its incident escalation): alerts link to it, in the
	// annotation escalation_url and as their generatorURL (Alertmanager's
	// "source" link).
	AlertURL func(id int64) string
}

// NewAlertmanager returns a client of the Alertmanager at rawURL (its base
// URL, http or https, with any path prefix it is served under). cfg gives
// the runbook URLs.
func NewAlertmanager(rawURL string, cfg *detect.Config, o AlertmanagerOptions) (*Alertmanager, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager url %q: want http(s)://host:port[/prefix]", redactURL(rawURL))
	}
	u = u.JoinPath("api", "v2", "alerts")
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg == nil {
		cfg = detect.DefaultConfig()
	}
	return &Alertmanager{endpoint: u, client: o.Client, config: cfg, metrics: o.Metrics, alertURL: o.AlertURL,
		ttl: 4 * o.Interval, stale: 2*o.Interval + time.Minute, recent: 15 * time.Minute}, nil
}

// redactURL hides a password in a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Send posts the alerts that page and are current at now: firing ones
// evaluated lately (endsAt now plus the TTL), and those resolved lately
// (endsAt their end). Suppressed alerts are never sent. It returns how
// many it sent.
func (am *Alertmanager) Send(ctx context.Context, alerts []store.Alert, now time.Time) (int, error) {
	var batch models.PostableAlerts
	for i := range alerts {
		a := &alerts[i]
		switch {
		case !a.Paging():
		case a.Firing() && now.Sub(a.LastEvaluated) <= am.stale:
			batch = append(batch, am.postable(a, now.Add(am.ttl)))
		case !a.Firing() && now.Sub(a.ResolvedAt) <= am.recent:
			batch = append(batch, am.postable(a, a.EndsAt))
		}
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := batch.Validate(strfmt.Default); err != nil {
		return 0, fmt.Errorf("alertmanager: %w", err)
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return 0, fmt.Errorf("alertmanager: %w", err)
	}
	backoff := retry.WithMaxRetries(3, retry.NewExponential(200*time.Millisecond))
	err = retry.Do(ctx, backoff, func(ctx context.Context) error { return am.post(ctx, body) })
	if err != nil {
		am.metrics.posted(false, 0)
		return 0, fmt.Errorf("alertmanager %s: %w", am.endpoint.Redacted(), err)
	}
	am.metrics.posted(true, len(batch))
	return len(batch), nil
}

func (am *Alertmanager) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, am.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := am.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its URL may hold a password
		}
		return retry.RetryableError(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return retry.RetryableError(fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg))))
	}
	return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
}

// Labels are an alert's Alertmanager labels: what identifies it from the
// moment it opened (they never change while it fires).
func Labels(a *store.Alert) map[string]string {
	l := map[string]string{
		"alertname": a.Rule.AlertName(),
		"provider":  a.Provider,
		"severity":  a.Severity,
	}
	for k, v := range map[string]string{"category": string(a.Category), "code": a.Code, "subcode": a.Subcode} {
		if v != "" {
			l[k] = v
		}
	}
	return l
}

func (am *Alertmanager) postable(a *store.Alert, endsAt time.Time) *models.PostableAlert {
	params := am.config.Params(a.Rule, a.Provider)
	annotations := models.LabelSet{
		"summary":     a.Summary,
		"description": Description(a),
	}
	if params.RunbookURL != "" {
		annotations["runbook_url"] = params.RunbookURL
	}
	alert := models.Alert{Labels: Labels(a)}
	if am.alertURL != nil && a.ID != 0 {
		link := am.alertURL(a.ID)
		annotations["escalation_url"] = link
		alert.GeneratorURL = strfmt.URI(link)
	}
	return &models.PostableAlert{
		Alert:       alert,
		Annotations: annotations,
		StartsAt:    strfmt.DateTime(a.StartsAt),
		EndsAt:      strfmt.DateTime(endsAt),
	}
}

// Description says what an alert watches and what on-call can start from:
// top codes and endpoints, tenants affected, a sample id for report lookup.
func Description(a *store.Alert) string {
	var b strings.Builder
	b.WriteString("Watches ")
	b.WriteString(a.Rule.Description())
	b.WriteString(".")
	c := &a.Context
	if len(c.TopCodes) > 0 {
		b.WriteString(" Top codes: ")
		for i, tc := range c.TopCodes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", codeLabel(tc.Code, tc.Subcode), tc.Count)
		}
		b.WriteString(".")
	}
	if len(c.TopEndpoints) > 0 {
		b.WriteString(" Top endpoints: ")
		for i, e := range c.TopEndpoints {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", strings.TrimSpace(e.Method+" "+e.Endpoint), e.Count)
		}
		b.WriteString(".")
	}
	if c.SampledEvents > 0 {
		at := ""
		if c.Sampled {
			at = "at least "
		}
		fmt.Fprintf(&b, " Tenants affected: %s%d.", at, c.TenantsAffected)
	}
	for _, j := range c.Joined {
		fmt.Fprintf(&b, " Also %s: %s.", j.Rule, j.Summary)
	}
	if c.SampleCorrelationID != "" {
		fmt.Fprintf(&b, " Sample: report lookup %s", c.SampleCorrelationID)
	}
	return b.String()
}

func codeLabel(code, subcode string) string {
	if code == "" {
		code = "(no code)"
	}
	if subcode != "" {
		return code + "/" + subcode
	}
	return code
}
