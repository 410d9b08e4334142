package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxRetryAfter is the longest Retry-After of a 429 that is waited for;
// a chat service asking for more is not coming back within a weekly job's
// patience.
const maxRetryAfter = time.Minute

// WebhookOptions configure a Webhook; zero values take defaults.
type WebhookOptions struct {
	// Client sends the requests (default: one with a 30s timeout that
	// follows no redirect).
	Client *http.Client
	// Retry is how temporary failures are retried (default DefaultRetry).
	Retry Retry
	// Log gets a line per retried failure and per message posted.
	Log *slog.Logger
}

// Webhook posts JSON messages to a chat channel's incoming webhook
// (Slack, Mattermost, Rocket.Chat). Its URL is a secret: whoever has it
// can post to the channel. It shows as scheme://host/[redacted].
type Webhook struct {
	url     *url.URL
	display string
	secrets scrubber
	client  *http.Client
	retry   Retry
	log     *slog.Logger
}

// NewWebhook checks rawURL: https, or http to a loopback host, with a
// host and no user information. Its errors never repeat rawURL.
func NewWebhook(rawURL string, o WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return nil, errors.New("the webhook URL is not a URL like https://hooks.example.com/services/…")
	}
	w := &Webhook{url: u, client: o.Client, retry: o.Retry.orDefault(), log: o.Log}
	w.display = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() + "/[redacted]"
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("the webhook URL %s holds a user or password: the secret is its path", w.display)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("the webhook URL %s is http: its secret would cross the network in clear (https, or http to a loopback host)", w.display)
	default:
		return nil, fmt.Errorf("the webhook URL %s: want https", w.display)
	}
	// The path and query, as sent and as decoded: never in an error.
	var secrets []string
	for _, s := range []string{u.RequestURI(), u.EscapedPath(), u.Path, u.RawQuery, u.Fragment} {
		if s != "/" {
			secrets = append(secrets, s)
		}
	}
	w.secrets = newScrubber(secrets...)
	if w.client == nil {
		w.client = &http.Client{Timeout: attemptTimeout}
	}
	if w.client.CheckRedirect == nil {
		c := *w.client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		w.client = &c
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w, nil
}

// String is the URL without its secret: scheme://host/[redacted].
func (w *Webhook) String() string { return w.display }

// Post posts body (JSON) and succeeds on a 2xx answer. It retries a
// refused connection, a 5xx and a 429 (after its Retry-After, up to a
// minute); any other 4xx, a redirect (not followed: it would turn the
// POST into a GET) or a TLS failure is final. The error gives the status
// and the start of the answer's body, which is where Slack says why
// (invalid_payload, no_service, channel_is_archived).
func (w *Webhook) Post(ctx context.Context, body []byte) error {
	err := w.retry.do(ctx, w.log, w.display, func(ctx context.Context) error { return w.post(ctx, body) })
	if err != nil {
		return fmt.Errorf("webhook %s: %w", w.display, err)
	}
	w.log.Info("weekly report posted", "webhook", w.display, "bytes", len(body))
	return nil
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(body))
	if err != nil {
		return w.secrets.wrap(err, "request")
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "faultline")
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its text names the whole URL
		}
		if connectionRetryable(err) {
			return retryable{w.secrets.wrap(err, "connect")}
		}
		return w.secrets.wrap(err, "post")
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = &statusError{status: resp.Status, body: w.secrets.scrub(printable(answer))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if wait, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			if wait > maxRetryAfter {
				return fmt.Errorf("%w (asks to retry after %s)", err, wait)
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		return retryable{err}
	case resp.StatusCode >= 500:
		return retryable{err}
	case resp.StatusCode/100 == 3:
		return fmt.Errorf("%w (a redirect, not followed)", err)
	}
	return err
}

// statusError is an answer other than 2xx.
type statusError struct{ status, body string }

func (e *statusError) Error() string {
	if e.body == "" {
		return "answered " + e.status
	}
	return "answered " + e.status + ": " + e.body
}

// retryAfter reads a Retry-After header in seconds (chat services send
// seconds; an HTTP date is read too).
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// printable is the start of an answer's body on one line, at most 200
// characters, without control characters.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), "?"))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
