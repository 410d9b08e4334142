package deliver_test

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/deliver"
)

// secretPath is a webhook's secret, in the shape of Slack's.
const secretPath = "/services/T0FAULT/B0LINE/xoxSecretToken123"

// hook is a chat service's incoming webhook: it answers with the next of
// its replies (the last one then on) and records what it was posted.
type hook struct {
	mu       sync.Mutex
	replies  []reply
	requests []*http.Request
	bodies   [][]byte
}

type reply struct {
	status int
	header map[string]string
	body   string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.requests = append(h.requests, r)
	h.bodies = append(h.bodies, body)
	rep := h.replies[0]
	if len(h.replies) > 1 {
		h.replies = h.replies[1:]
	}
	h.mu.Unlock()
	if r.URL.Path != secretPath {
		rep = reply{status: 404, body: "no_service"}
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func startHook(t *testing.T, replies ...reply) (*hook, string) {
	h := &hook{replies: replies}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL + secretPath
}

func webhook(t *testing.T, rawURL string, o deliver.WebhookOptions) *deliver.Webhook {
	t.Helper()
	if o.Log == nil {
		o.Log, _ = testLog(t)
	}
	if o.Retry == (deliver.Retry{}) {
		o.Retry = fastRetry
	}
	w, err := deliver.NewWebhook(rawURL, o)
	require.NoError(t, err)
	return w
}

const payload = `{"text":"Weekly error report 2026-W46","blocks":[{"type":"header","text":{"type":"plain_text","text":"Weekly error report 2026-W46"}}]}`

func TestWebhookPosts(t *testing.T) {
	h, u := startHook(t, reply{status: 200, body: "ok"})
	w := webhook(t, u, deliver.WebhookOptions{})
	require.Equal(t, strings.TrimSuffix(u, secretPath)+"/[redacted]", w.String())
	require.NoError(t, w.Post(testCtx(t), []byte(payload)))
	require.Equal(t, 1, h.count())
	r := h.requests[0]
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
	var got, want map[string]any
	require.NoError(t, json.Unmarshal(h.bodies[0], &got))
	require.NoError(t, json.Unmarshal([]byte(payload), &want))
	require.Equal(t, want, got)
}

func TestWebhookOverHTTPS(t *testing.T) {
	h := &hook{replies: []reply{{status: 200, body: "ok"}}}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake refused below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	require.NoError(t, webhook(t, srv.URL+secretPath, deliver.WebhookOptions{Client: srv.Client()}).Post(testCtx(t), []byte(payload)))
	require.Equal(t, 1, h.count())

	// A certificate nobody vouches for: final.
	err := webhook(t, srv.URL+secretPath, deliver.WebhookOptions{}).Post(testCtx(t), []byte(payload))
	require.ErrorContains(t, err, "certificate")
	require.Equal(t, 1, h.count())
	require.NotContains(t, err.Error(), secretPath)
}

// failPost posts and returns the error's text, checking that it does not
// hold the webhook's secret in any form.
func failPost(t *testing.T, w *deliver.Webhook) string {
	t.Helper()
	err := w.Post(testCtx(t), []byte(payload))
	require.Error(t, err)
	for _, secret := range []string{secretPath, "xoxSecretToken123", "B0LINE"} {
		require.NotContains(t, err.Error(), secret)
	}
	require.Contains(t, err.Error(), "/[redacted]")
	t.Log(err)
	return err.Error()
}

func TestWebhookFailures(t *testing.T) {
	t.Run("5xx is retried until it passes", func(t *testing.T) {
		h, u := startHook(t, reply{status: 500, body: "rollup_error"}, reply{status: 503}, reply{status: 200, body: "ok"})
		require.NoError(t, webhook(t, u, deliver.WebhookOptions{}).Post(testCtx(t), []byte(payload)))
		require.Equal(t, 3, h.count())
	})

	t.Run("5xx that lasts fails after the retries", func(t *testing.T) {
		h, u := startHook(t, reply{status: 500, body: "rollup_error"})
		err := failPost(t, webhook(t, u, deliver.WebhookOptions{}))
		require.Contains(t, err, "answered 500 Internal Server Error: rollup_error (after 3 attempts)")
		require.Equal(t, 3, h.count())
	})

	t.Run("429 waits for Retry-After", func(t *testing.T) {
		h, u := startHook(t, reply{status: 429, header: map[string]string{"Retry-After": "1"}}, reply{status: 200})
		start := time.Now()
		require.NoError(t, webhook(t, u, deliver.WebhookOptions{}).Post(testCtx(t), []byte(payload)))
		require.Equal(t, 2, h.count())
		require.GreaterOrEqual(t, time.Since(start), time.Second, "waited as asked")
	})

	t.Run("429 asking for more than a minute fails now", func(t *testing.T) {
		h, u := startHook(t, reply{status: 429, header: map[string]string{"Retry-After": "3600"}, body: "rate_limited"})
		err := failPost(t, webhook(t, u, deliver.WebhookOptions{}))
		require.Contains(t, err, "429 Too Many Requests: rate_limited (asks to retry after 1h0m0s)")
		require.Equal(t, 1, h.count())
	})

	t.Run("4xx is final", func(t *testing.T) {
		for status, body := range map[int]string{400: "invalid_payload", 403: "action_prohibited", 404: "no_service", 410: "channel_is_archived"} {
			h, u := startHook(t, reply{status: status, body: body})
			err := failPost(t, webhook(t, u, deliver.WebhookOptions{}))
			require.Contains(t, err, body)
			require.Contains(t, err, "answered "+strconv.Itoa(status)+" "+http.StatusText(status))
			require.NotContains(t, err, "attempts")
			require.Equal(t, 1, h.count(), "%d is not retried", status)
		}
	})

	t.Run("a redirect is not followed", func(t *testing.T) {
		h, u := startHook(t, reply{status: 302, header: map[string]string{"Location": "/elsewhere"}})
		err := failPost(t, webhook(t, u, deliver.WebhookOptions{}))
		require.Contains(t, err, "302 Found (a redirect, not followed)")
		require.Equal(t, 1, h.count())
	})

	t.Run("an answer that repeats the secret is scrubbed", func(t *testing.T) {
		_, u := startHook(t, reply{status: 400, body: "no hook at " + secretPath + "\x1b[31m"})
		err := failPost(t, webhook(t, u, deliver.WebhookOptions{}))
		require.Contains(t, err, "no hook at [redacted]")
		require.NotContains(t, err, "\x1b")
	})

	t.Run("server down: connection refused, retried", func(t *testing.T) {
		addr := closedPort(t)
		err := failPost(t, webhook(t, "http://"+addr+secretPath, deliver.WebhookOptions{}))
		require.Contains(t, err, "webhook http://"+addr+"/[redacted]: connect:")
		require.Contains(t, err, "connection refused (after 3 attempts)")
	})
}

func TestNewWebhookRefusesBadURLs(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"clear text across the network", "http://hooks.example.com" + secretPath, "is http"},
		{"user information", "https://user:pw@hooks.example.com" + secretPath, "holds a user or password"},
		{"not http", "ftp://hooks.example.com" + secretPath, "want https"},
		{"no host", "https://" + secretPath, "not a URL"},
		{"not a URL", "https://hooks.example.com" + secretPath + "%zz", "not a URL"},
		{"relative", secretPath, "not a URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deliver.NewWebhook(tc.url, deliver.WebhookOptions{})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "xoxSecretToken123")
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8065/hooks/abc", "http://localhost/hooks/abc", "http://[::1]:3000/hooks/a/b", "https://chat.example.com/hooks/a/b"} {
		_, err := deliver.NewWebhook(ok, deliver.WebhookOptions{})
		require.NoError(t, err, ok)
	}
}
