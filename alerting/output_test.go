package alerting_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/alerting"
	"github.com/faultline-dev/faultline/detect"
	"github.com/faultline-dev/faultline/store"
)

// TestOutputSaysWhatIsNotSent: text and JSON say which alerts are
// suppressed and why, what joined an alert, and when one that outlasted
// its suppression was sent.
func TestOutputSaysWhatIsNotSent(t *testing.T) {
	now := time.Date(2026, 11, 8, 6, 20, 0, 0, time.UTC)
	parent := firingAlert(now, "auth_failure", "paylera", "auth", "", "", "critical")
	parent.Context.Joined = []detect.JoinedAlert{{Rule: detect.NewCode, Subject: "auth.key_rotated", Severity: "critical",
		Summary: "paylera returns a code never seen before: auth.key_rotated (auth)"}}
	child := firingAlert(now, "new_code", "paylera", "auth", "auth.key_rotated", "", "critical")
	child.ID, child.Subject, child.ParentID, child.PagedAt = 2, "auth.key_rotated", 1, time.Time{}
	child.Suppression = detect.Suppression{Reason: detect.Joined, Detail: "part of auth_failure paylera since 2026-11-08 06:13"}
	recurring := firingAlert(now, "provider_outage", "flexiti", "provider_error", "", "", "critical")
	recurring.ID, recurring.ObservedWindow = 3, 7*time.Minute
	recurring.Suppression = detect.Suppression{Reason: detect.Recurring, Until: now.Add(-5 * time.Minute),
		Detail: "also started at this minute of the week on 2026-10-25 06:00, 2026-11-01 06:00"}
	recurring.PagedAt = now.Add(-2 * time.Minute)
	alerts := []store.Alert{parent, child, recurring}

	var b bytes.Buffer
	require.NoError(t, alerting.WriteText(&b, alerting.Result{From: now.Add(-15 * time.Minute), To: now, Alerts: alerts}, nil))
	out := b.String()
	require.Contains(t, out, "FIRING    critical auth_failure paylera")
	require.Contains(t, out, "joined: new_code paylera returns a code never seen before")
	require.Contains(t, out, "SUPPRESSED critical new_code paylera auth.key_rotated")
	require.Contains(t, out, "suppressed (joined: part of auth_failure paylera since 2026-11-08 06:13): not sent")
	require.Contains(t, out, "suppressed (recurring: also started at this minute of the week on 2026-10-25 06:00, 2026-11-01 06:00): sent from 06:18, when it outlasted it")

	b.Reset()
	require.NoError(t, alerting.WriteJSON(&b, alerts, detect.DefaultConfig()))
	var got []alerting.JSONAlert
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	require.Len(t, got, 3)
	require.NotNil(t, got[0].PagedAt)
	require.Nil(t, got[1].PagedAt, "not sent")
	require.Equal(t, "joined", got[1].Suppressed)
	require.Equal(t, int64(1), got[1].ParentID)
	require.Equal(t, "recurring", got[2].Suppressed)
	require.Equal(t, now.Add(-5*time.Minute), *got[2].SuppressedUntil)
	require.Equal(t, "7m0s", got[2].ObservedWindow)
	require.Len(t, got[0].Context.Joined, 1)
}
