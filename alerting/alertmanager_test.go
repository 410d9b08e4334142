package alerting_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/amtest"
	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

func firingAlert(now time.Time, rule, provider, category, code, subcode, severity string) store.Alert {
	return store.Alert{
		ID: 1, Rule: detect.Rule(rule), Provider: provider, Category: classify.Category(category), Code: code, Subcode: subcode,
		Severity: severity, StartsAt: now.Add(-7 * time.Minute), DetectedAt: now.Add(-5 * time.Minute), LastEvaluated: now,
		PagedAt:  now.Add(-5 * time.Minute),
		Observed: 0.3, Expected: 0.01, Summary: provider + " " + rule + " summary",
		Context: store.AlertContext{
			TopCodes:        []store.CodeCount{{Code: code, Subcode: subcode, Count: 42}},
			TopEndpoints:    []store.EndpointCount{{Method: "POST", Endpoint: "/authorizations", Count: 40}},
			TenantsAffected: 3, SampledEvents: 42, SampleCorrelationID: "req_sample_1",
		},
	}
}

// find returns the listed alert with the labels' alertname and provider.
func find(alerts models.GettableAlerts, alertname, provider string) *models.GettableAlert {
	for _, a := range alerts {
		if a.Labels["alertname"] == alertname && a.Labels["provider"] == provider {
			return a
		}
	}
	return nil
}

// TestRealAlertmanagerShowsFiringAlertsAndDropsResolvedOnes posts to a
// real Alertmanager: firing alerts appear in its API v2 with their labels
// and annotations, a re-send moves their endsAt on before Alertmanager
// would resolve them, a resolved one leaves, and a firing alert from a
// backtest of the past or a suppressed one is not sent, until it pages.
func TestRealAlertmanagerShowsFiringAlertsAndDropsResolvedOnes(t *testing.T) {
	am := amtest.Start(t)
	ctx := testCtx(t, time.Minute)
	reg := prometheus.NewRegistry()
	metrics := alerting.NewMetrics(reg)
	client, err := alerting.NewAlertmanager(am.URL, nil, alerting.AlertmanagerOptions{Interval: time.Minute, Metrics: metrics})
	require.NoError(t, err)

	now := time.Now().UTC().Truncate(time.Second)
	outage := firingAlert(now, "provider_outage", "flexiti", "provider_error", "general_error", "", "critical")
	decline := firingAlert(now, "decline_spike", "finix", "decline", "DECLINED", "INSUFFICIENT_FUNDS", "warning")
	old := firingAlert(now.Add(-48*time.Hour), "rate_limit_storm", "paylera", "rate_limit", "rate_limit.exceeded", "", "warning")
	maintenance := firingAlert(now, "provider_outage", "cheers", "provider_error", "", "", "critical")
	maintenance.PagedAt = time.Time{}
	maintenance.Suppression = detect.Suppression{Reason: detect.Maintenance, Until: now.Add(10 * time.Minute)}
	n, err := client.Send(ctx, []store.Alert{outage, decline, old, maintenance}, now)
	require.NoError(t, err)
	require.Equal(t, 2, n, "neither the backtest's firing alert nor the suppressed one is sent")
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.Posts("ok")))
	require.Equal(t, 0.0, testutil.ToFloat64(metrics.Posts("error")))

	listed, err := am.Alerts(ctx)
	require.NoError(t, err)
	require.Len(t, listed, 2)
	got := find(listed, "ProviderOutage", "flexiti")
	require.NotNil(t, got)
	require.Equal(t, models.LabelSet{"alertname": "ProviderOutage", "provider": "flexiti", "category": "provider_error",
		"code": "general_error", "severity": "critical"}, got.Labels)
	require.Equal(t, "flexiti provider_outage summary", got.Annotations["summary"])
	require.Equal(t, detect.RunbookBase+"provider_outage", got.Annotations["runbook_url"])
	require.Contains(t, got.Annotations["description"], "report lookup req_sample_1")
	require.Contains(t, got.Annotations["description"], "POST /authorizations 40")
	require.Equal(t, "active", *got.Status.State)
	require.WithinDuration(t, outage.StartsAt, time.Time(*got.StartsAt), time.Second)
	firstEnd := time.Time(*got.EndsAt)
	require.WithinDuration(t, now.Add(4*time.Minute), firstEnd, time.Second)
	d := find(listed, "ProviderDeclineSpike", "finix")
	require.NotNil(t, d)
	require.Equal(t, "INSUFFICIENT_FUNDS", d.Labels["subcode"])
	require.Equal(t, "warning", d.Labels["severity"])

	// A minute later it is sent again, before Alertmanager would resolve
	// it, and its end moves on.
	outage.LastEvaluated = now.Add(time.Minute)
	_, err = client.Send(ctx, []store.Alert{outage}, now.Add(time.Minute))
	require.NoError(t, err)
	listed, err = am.Alerts(ctx)
	require.NoError(t, err)
	got = find(listed, "ProviderOutage", "flexiti")
	require.NotNil(t, got)
	require.WithinDuration(t, firstEnd.Add(time.Minute), time.Time(*got.EndsAt), time.Second)

	// Resolved: sent with the time it ended, it leaves.
	outage.EndsAt = now.Add(-time.Minute)
	outage.ResolvedAt = now
	n, err = client.Send(ctx, []store.Alert{outage}, now)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	listed, err = am.Alerts(ctx)
	require.NoError(t, err)
	require.Nil(t, find(listed, "ProviderOutage", "flexiti"), "resolved alerts leave")
	require.NotNil(t, find(listed, "ProviderDeclineSpike", "finix"), "the other one fires on")
	require.Nil(t, find(listed, "ProviderOutage", "cheers"))

	// The suppressed one outlasts its maintenance window: it pages.
	maintenance.PagedAt = now
	_, err = client.Send(ctx, []store.Alert{maintenance}, now)
	require.NoError(t, err)
	listed, err = am.Alerts(ctx)
	require.NoError(t, err)
	require.NotNil(t, find(listed, "ProviderOutage", "cheers"))
}

func TestAlertmanagerRetriesTransientFailuresOnly(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/prefix/api/v2/alerts", r.URL.Path)
		switch calls.Add(1) {
		case 1:
			http.Error(w, "starting up", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	ctx := testCtx(t, time.Minute)
	now := time.Now()
	client, err := alerting.NewAlertmanager(srv.URL+"/prefix", nil, alerting.AlertmanagerOptions{})
	require.NoError(t, err)
	_, err = client.Send(ctx, []store.Alert{firingAlert(now, "auth_failure", "finix", "auth", "UNKNOWN", "", "critical")}, now)
	require.NoError(t, err)
	require.Equal(t, int32(2), calls.Load())

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "maxFailures exceeded", http.StatusBadRequest)
	}))
	defer bad.Close()
	calls.Store(0)
	metrics := alerting.NewMetrics(prometheus.NewRegistry())
	client, err = alerting.NewAlertmanager(strings.Replace(bad.URL, "http://", "http://user:s3cret@", 1), nil, alerting.AlertmanagerOptions{Metrics: metrics})
	require.NoError(t, err)
	_, err = client.Send(ctx, []store.Alert{firingAlert(now, "auth_failure", "finix", "auth", "UNKNOWN", "", "critical")}, now)
	require.ErrorContains(t, err, "400 Bad Request: maxFailures exceeded")
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.Posts("error")))
	require.NotContains(t, err.Error(), "s3cret")
	require.Equal(t, int32(1), calls.Load(), "a refusal is not retried")

	_, err = alerting.NewAlertmanager("localhost:9093", nil, alerting.AlertmanagerOptions{})
	require.ErrorContains(t, err, "http(s)://host:port")
}

// With the console's address, a real Alertmanager shows each alert linking
// to its page there, at the incident's escalation: the annotation
// escalation_url and the alert's generatorURL; without it, neither.
func TestAlertmanagerLinksToTheConsole(t *testing.T) {
	am := amtest.Start(t)
	ctx := testCtx(t, time.Minute)
	base, err := url.Parse("https://faultline.example.com/console/")
	require.NoError(t, err)
	client, err := alerting.NewAlertmanager(am.URL, nil, alerting.AlertmanagerOptions{
		AlertURL: func(id int64) string { return console.AlertPageURL(base, id) },
	})
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	outage := firingAlert(now, "provider_outage", "flexiti", "provider_error", "general_error", "", "critical")
	outage.ID = 42
	_, err = client.Send(ctx, []store.Alert{outage}, now)
	require.NoError(t, err)
	listed, err := am.Alerts(ctx)
	require.NoError(t, err)
	got := find(listed, "ProviderOutage", "flexiti")
	require.NotNil(t, got)
	require.Equal(t, "https://faultline.example.com/console/alerts/42#escalation", got.Annotations["escalation_url"])
	require.Equal(t, "https://faultline.example.com/console/alerts/42#escalation", got.GeneratorURL.String())

	plain, err := alerting.NewAlertmanager(am.URL, nil, alerting.AlertmanagerOptions{})
	require.NoError(t, err)
	decline := firingAlert(now, "decline_spike", "finix", "decline", "DECLINED", "", "warning")
	_, err = plain.Send(ctx, []store.Alert{decline}, now)
	require.NoError(t, err)
	listed, err = am.Alerts(ctx)
	require.NoError(t, err)
	got = find(listed, "ProviderDeclineSpike", "finix")
	require.NotNil(t, got)
	require.NotContains(t, got.Annotations, "escalation_url")
	require.Empty(t, got.GeneratorURL.String())
}
