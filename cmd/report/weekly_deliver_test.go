package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/browsertest"
	"github.com/faultline-dev/faultline/smtptest"
)

// deliveryEnv clears the variables of the delivery flags, then adds env.
func deliveryEnv(env ...string) []string {
	return append([]string{"MAIL_TO=", "MAIL_FROM=", "SMTP_URL=", "SMTP_CA=", "SMTP_PASSWORD=", "WEBHOOK_URL=", "CONSOLE_URL="}, env...)
}

// smtpURL is the URL of a smtptest server with its user.
func smtpURL(scheme string, srv *smtptest.Server) string {
	return scheme + "://" + url.PathEscape(smtptest.User) + "@" + srv.Addr()
}

// The weekly report mailed as the CronJob mails it: through a real SMTP
// server on loopback, over STARTTLS, after AUTH PLAIN; the message read
// back as MIME, its HTML shown in Chromium with the images a mail client
// would show.
func TestWeeklyMailed(t *testing.T) {
	db := loaded(t)
	srv := smtptest.Start(t, smtptest.Options{})
	code, stdout, stderr := runReportEnv(t, deliveryEnv("SMTP_PASSWORD="+smtptest.Password, "MAIL_TO=oncall@payments.example, \"Müller, Zoë\" <zoe@payments.example>"),
		"weekly", "--database-url", db, "--week", "2026-W46",
		"--mail-from", "faultline <reports@faultline.example>", "--smtp-url", smtpURL("smtp", srv), "--smtp-ca", srv.CAFile,
		"--console-url", "https://faultline.example.com/")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stdout+stderr, smtptest.Password)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	got := msgs[0]
	require.True(t, got.TLS)
	require.Equal(t, "PLAIN", got.AuthMechanism)
	require.Equal(t, []string{"oncall@payments.example", "zoe@payments.example"}, got.To)
	require.Equal(t, "reports@faultline.example", got.From)

	parsed, err := smtptest.Parse(got.Data)
	require.NoError(t, err)
	hdr, leaves := parsed.Header, parsed.Parts
	require.Equal(t, []string{"multipart/related", "multipart/alternative"}, parsed.Containers, "the alternative of text and HTML, with the charts its HTML shows")
	subject, err := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Weekly error report 2026-W46: error rate 75.00%, 3 errors in 4 requests, 1 alert, 3 new codes", subject)
	date, err := hdr.Date()
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), date, time.Minute)
	id := hdr.Get("Message-Id")
	require.Regexp(t, `^<[0-9TZ]+\.[0-9a-f]+@faultline\.example>$`, id)
	require.Contains(t, stdout, "Mailed the weekly report 2026-W46 to 2 recipients via "+srv.Addr()+", Message-ID "+id+".")
	require.Equal(t, "auto-generated", hdr.Get("Auto-Submitted"))
	to, err := hdr.AddressList("To")
	require.NoError(t, err)
	require.Len(t, to, 2)
	require.Equal(t, "Müller, Zoë", to[1].Name, "a comma in a quoted name does not split the address")

	// The text is the Markdown report, and the link.
	require.GreaterOrEqual(t, len(leaves), 2)
	text, html := leaves[0], leaves[1]
	require.Equal(t, "text/plain", text.MediaType)
	require.Equal(t, "UTF-8", text.Params["charset"])
	code, md, stderr := runReport(t, "weekly", "--database-url", db, "--week", "2026-W46")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, md+"\nOpen this report in the faultline console: https://faultline.example.com/weekly?week=2026-W46\n",
		strings.ReplaceAll(string(text.Body), "\r\n", "\n"))

	// The HTML shows each chart as an inline PNG part, by Content-ID.
	require.Equal(t, "text/html", html.MediaType)
	require.Equal(t, "UTF-8", html.Params["charset"])
	page := string(html.Body)
	require.True(t, strings.Contains(page, `<a href="https://faultline.example.com/weekly?week=2026-W46">`), "the link")
	require.False(t, strings.Contains(page, "<svg"), "no SVG in mail")
	images := leaves[2:]
	require.Len(t, images, 6, "two charts for each of the three providers")
	parts := map[string][]byte{}
	for _, img := range images {
		require.Equal(t, "image/png", img.MediaType)
		cid := strings.Trim(img.Header.Get("Content-Id"), "<>")
		require.True(t, strings.Contains(page, `src="cid:`+cid+`"`), cid)
		cfg, err := png.DecodeConfig(bytes.NewReader(img.Body))
		require.NoError(t, err)
		require.Equal(t, [2]int{1280, 440}, [2]int{cfg.Width, cfg.Height})
		parts[cid] = img.Body
	}
	require.Len(t, regexp.MustCompile(`src="cid:`).FindAllString(page, -1), len(parts))

	renderMailInChromium(t, page, parts)
}

// renderMailInChromium shows the HTML part as a mail client does: the
// cid: images replaced by the parts they name (as data: URLs, since a
// browser knows no cid:). Every chart is drawn from its part, nothing is
// fetched from the network, and a screenshot is left under $TMPDIR.
func renderMailInChromium(t *testing.T, page string, parts map[string][]byte) {
	for cid, b := range parts {
		page = strings.ReplaceAll(page, `src="cid:`+cid+`"`, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(b)+`"`)
	}
	require.False(t, strings.Contains(page, `src="cid:`), "every image resolved")
	dir := browsertest.ScreenshotDir(t, "faultline-weekly-mail")
	htmlPath := filepath.Join(dir, "weekly-mail-2026-W46.html")
	require.NoError(t, os.WriteFile(htmlPath, []byte(page), 0o644))

	tab := browsertest.Start(t, 800, 1200)
	pageURL := (&url.URL{Scheme: "file", Path: htmlPath}).String()
	require.NoError(t, chromedp.Do(tab.Ctx, chromedp.Navigate(pageURL), chromedp.WaitReady("body")))
	type imageInfo struct {
		ID       string  `json:"id"`
		Complete bool    `json:"complete"`
		Natural  int     `json:"natural"`
		Width    float64 `json:"width"`
		Alt      string  `json:"alt"`
	}
	imgs, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[[]imageInfo](`
		Array.from(document.querySelectorAll("img.chart")).map(img => ({id: img.id, complete: img.complete,
			natural: img.naturalWidth, width: img.getBoundingClientRect().width, alt: img.alt}))`))
	require.NoError(t, err)
	require.Len(t, imgs, len(parts))
	for _, img := range imgs {
		require.True(t, img.Complete, img.ID)
		require.Equal(t, 1280, img.Natural, "%s is drawn from its part", img.ID)
		require.InDelta(t, 640, img.Width, 1, "%s shown at the SVG's size", img.ID)
		require.NotEmpty(t, img.Alt)
	}
	tables, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[int](`document.querySelectorAll("table").length`))
	require.NoError(t, err)
	require.Greater(t, tables, 3, "the numbers are in tables too")
	shot, err := chromedp.Run(tab.Ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	shotPath := filepath.Join(dir, "weekly-mail-2026-W46.png")
	require.NoError(t, os.WriteFile(shotPath, shot, 0o644))
	t.Logf("the mail's HTML part rendered by Chromium: %s (screenshot %s)", htmlPath, shotPath)

	requests, failures := tab.Log.Snapshot()
	require.Empty(t, failures)
	for _, r := range requests {
		require.True(t, r == pageURL || strings.HasPrefix(r, "data:image/png;base64,"), "fetched %.80s", r)
	}
}

// chatHook is a chat service's incoming webhook at a secret path.
type chatHook struct {
	mu     sync.Mutex
	status int
	bodies [][]byte
}

const hookPath = "/hooks/xoxb-SECRET-token-42"

func (h *chatHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path != hookPath || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	h.bodies = append(h.bodies, body)
	w.WriteHeader(h.status)
	fmt.Fprint(w, map[int]string{200: "ok", 500: "rollup_error"}[h.status])
}

func (h *chatHook) posted() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bodies
}

func startChatHook(t *testing.T, status int) (*chatHook, string) {
	h := &chatHook{status: status}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL + hookPath
}

func TestWeeklyPostedToChat(t *testing.T) {
	db := loaded(t)
	h, hookURL := startChatHook(t, 200)
	code, stdout, stderr := runReportEnv(t, deliveryEnv("WEBHOOK_URL="+hookURL, "CONSOLE_URL=https://faultline.example.com"),
		"weekly", "--database-url", db, "--week", "2026-W46")
	require.Equal(t, 0, code, stderr)
	redacted := strings.TrimSuffix(hookURL, hookPath) + "/[redacted]"
	require.Equal(t, "Posted the weekly report 2026-W46 to "+redacted+".\n", stdout, "sent, not printed")
	require.NotContains(t, stdout+stderr, "SECRET")
	require.Len(t, h.posted(), 1)

	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
		UnfurlLinks bool `json:"unfurl_links"`
		UnfurlMedia bool `json:"unfurl_media"`
	}
	dec := json.NewDecoder(bytes.NewReader(h.posted()[0]))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&msg))
	var types []string
	for _, b := range msg.Blocks {
		types = append(types, b.Type)
	}
	require.Equal(t, []string{"header", "section", "section", "section", "section", "section", "context"}, types)
	require.Equal(t, "Weekly error report 2026-W46", msg.Blocks[0].Text.Text)
	require.Equal(t, "Weekly error report 2026-W46: error rate 75.00%, 3 errors in 4 requests, 1 alert, 3 new codes", msg.Blocks[1].Text.Text)
	table := msg.Blocks[2].Text.Text
	for _, row := range []string{
		"provider  requests  errors  error rate        vs 2026-W45",
		"cheers           1       1     100.00%  no traffic before",
		"finix            1       1     100.00%  no traffic before",
		"finterra         2       1      50.00%  no traffic before",
		"all              4       3      75.00%  no traffic before",
	} {
		require.Contains(t, table, "\n"+row+"\n")
	}
	require.Contains(t, msg.Blocks[3].Text.Text, "*Alerts this week (1)*\n```\ninfo new_code finix DECLINED (Wed 11 10:00, still firing): finix: a code never seen before\n```")
	require.Contains(t, msg.Blocks[4].Text.Text, "*New codes (3)*")
	require.Contains(t, msg.Blocks[4].Text.Text, "finterra token_expired (auth_expired, documented): 1 error, first seen Tue 2026-11-10 09:00")
	require.Equal(t, "<https://faultline.example.com/weekly?week=2026-W46|Open this report in the faultline console>", msg.Blocks[5].Text.Text)
	require.Contains(t, msg.Text, table)
	require.Contains(t, msg.Text, "Open this report in the faultline console: https://faultline.example.com/weekly?week=2026-W46")

	// -o keeps a copy of what is sent, in --format.
	out := filepath.Join(t.TempDir(), "week.md")
	code, stdout, stderr = runReportEnv(t, deliveryEnv(), "weekly", "--database-url", db, "--week", "2026-W46", "--webhook-url", hookURL, "-o", out)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "Posted")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Contains(t, string(b), "# Weekly error report 2026-W46\n")
	require.Len(t, h.posted(), 2)
}

// Failures exit 3 (not 1: the CronJob does not run again on a delivery
// failure) with the reason, and never print the password or the webhook's
// secret path.
func TestWeeklyDeliveryFailures(t *testing.T) {
	db := loaded(t)
	srv := smtptest.Start(t, smtptest.Options{})
	mailArgs := func(smtp string) []string {
		return []string{"weekly", "--database-url", db, "--week", "2026-W46", "--mail-to", "oncall@payments.example",
			"--mail-from", "reports@faultline.example", "--smtp-url", smtp, "--smtp-ca", srv.CAFile}
	}
	fail := func(t *testing.T, env []string, args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := runReportEnv(t, env, args...)
		require.Equal(t, 3, code, "stdout: %s\nstderr: %s", stdout, stderr)
		for _, secret := range []string{smtptest.Password, "wrong-password", "SECRET", hookPath} {
			require.NotContains(t, stdout+stderr, secret)
		}
		t.Log(strings.TrimSpace(stderr[strings.LastIndex(stderr, "report: "):]))
		return stdout, stderr
	}

	t.Run("wrong password", func(t *testing.T) {
		_, stderr := fail(t, deliveryEnv("SMTP_PASSWORD=wrong-password"), mailArgs(smtpURL("smtp", srv))...)
		require.Contains(t, stderr, "report: mail via "+srv.Addr()+": the server refused the login of "+smtptest.User+": SMTP AUTH failed: 535")
		require.Empty(t, srv.Messages())
	})

	t.Run("server down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())
		start := time.Now()
		_, stderr := fail(t, deliveryEnv(), append(mailArgs("smtp://"+addr+"?tls=none"), "--send-timeout", "3s")...)
		require.Contains(t, stderr, "report: mail via "+addr+": connect: dial tcp "+addr+": connect: connection refused (after 2 attempts, out of time")
		require.Contains(t, stderr, `"msg":"delivery failed, retrying"`, "each retry is logged")
		require.Less(t, time.Since(start), 20*time.Second, "--send-timeout bounds the retries (without it they take 30 s)")
	})

	t.Run("no STARTTLS", func(t *testing.T) {
		plain := smtptest.Start(t, smtptest.Options{NoTLS: true})
		_, stderr := fail(t, deliveryEnv("SMTP_PASSWORD="+smtptest.Password), mailArgs(smtpURL("smtp", plain))...)
		require.Contains(t, stderr, "does not offer STARTTLS")
		require.Empty(t, plain.Auths())
	})

	t.Run("500 from the webhook", func(t *testing.T) {
		h, hookURL := startChatHook(t, 500)
		_, stderr := fail(t, deliveryEnv("WEBHOOK_URL="+hookURL), "weekly", "--database-url", db, "--week", "2026-W46", "--send-timeout", "3s")
		require.Contains(t, stderr, "/[redacted]: answered 500 Internal Server Error: rollup_error (after 2 attempts, out of time")
		require.Len(t, h.posted(), 2, "retried")
	})

	t.Run("404 from the webhook is not retried", func(t *testing.T) {
		h, hookURL := startChatHook(t, 200)
		_, stderr := fail(t, deliveryEnv("WEBHOOK_URL="+hookURL+"-revoked"), "weekly", "--database-url", db, "--week", "2026-W46")
		require.Contains(t, stderr, "/[redacted]: answered 404 Not Found: no_service\n")
		require.Empty(t, h.posted())
	})

	t.Run("the webhook fails, the mail still goes", func(t *testing.T) {
		relay := smtptest.Start(t, smtptest.Options{NoTLS: true, NoAuth: true})
		stdout, stderr := fail(t, deliveryEnv("WEBHOOK_URL=http://"+closedAddr(t)+hookPath), append(mailArgs("smtp://"+relay.Addr()+"?tls=none"), "--send-timeout", "2s")...)
		require.Contains(t, stdout, "Mailed the weekly report 2026-W46 to 1 recipient via "+relay.Addr())
		require.Len(t, relay.Messages(), 1)
		require.Contains(t, stderr, "connection refused")
	})
}

func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// Bad delivery flags are usage errors (exit 2), found before the database
// is read, and never repeat a secret.
func TestWeeklyDeliveryUsageErrors(t *testing.T) {
	db := "postgres://postgres@127.0.0.1:1/x?sslmode=disable" // never reached
	mail := func(extra ...string) []string {
		return append([]string{"weekly", "--database-url", db, "--mail-to", "oncall@payments.example", "--mail-from", "reports@faultline.example"}, extra...)
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"password in the SMTP URL", nil, mail("--smtp-url", "smtp://reports:hunter2@smtp.example.com:587"), "--smtp-url must not hold a password (it would show in process lists and manifests): put it in SMTP_PASSWORD"},
		{"no password for the user", nil, mail("--smtp-url", "smtp://reports@smtp.example.com:587"), "--smtp-url names a user: set its password in SMTP_PASSWORD"},
		{"a password and no user", []string{"SMTP_PASSWORD=hunter2"}, mail("--smtp-url", "smtp://smtp.example.com:587"), "SMTP_PASSWORD is set but --smtp-url names no user"},
		{"clear text across the network", nil, mail("--smtp-url", "smtp://smtp.example.com:25?tls=none"), "only to a loopback host"},
		{"no server", nil, mail(), "--mail-to needs --smtp-url"},
		{"no sender", nil, []string{"weekly", "--database-url", db, "--mail-to", "a@x.example", "--smtp-url", "smtp://127.0.0.1?tls=none"}, "--mail-to needs --mail-from"},
		{"no recipient", nil, []string{"weekly", "--database-url", db, "--mail-from", "a@x.example", "--smtp-url", "smtp://127.0.0.1?tls=none"}, "need --mail-to"},
		{"a recipient that is no address", nil, mail("--mail-to", "oncall", "--smtp-url", "smtp://127.0.0.1?tls=none"), `--mail-to "oncall"`},
		{"a header in an address", []string{"MAIL_TO=a@x.example\nBcc: all@x.example"}, []string{"weekly", "--database-url", db, "--mail-from", "r@x.example", "--smtp-url", "smtp://127.0.0.1?tls=none"}, "--mail-to"},
		{"no CA file", nil, mail("--smtp-url", "smtp://127.0.0.1?tls=none", "--smtp-ca", "/nonexistent/ca.pem"), "--smtp-ca"},
		{"a webhook in clear across the network", nil, []string{"weekly", "--database-url", db, "--webhook-url", "http://chat.example.com" + hookPath}, "--webhook-url: the webhook URL http://chat.example.com/[redacted] is http"},
		{"a webhook URL that is no URL", []string{"WEBHOOK_URL=https://chat.example.com" + hookPath + "%zz"}, []string{"weekly", "--database-url", db}, "--webhook-url: the webhook URL is not a URL"},
		{"a console URL that is no URL", nil, []string{"weekly", "--database-url", db, "--webhook-url", "https://chat.example.com" + hookPath, "--console-url", "faultline.example.com"}, "--console-url"},
		{"no time to send", nil, []string{"weekly", "--database-url", db, "--webhook-url", "https://chat.example.com" + hookPath, "--send-timeout", "0s"}, "--send-timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runReportEnv(t, deliveryEnv(tc.env...), tc.args...)
			require.Equal(t, 2, code, "stderr: %s", stderr)
			require.Contains(t, stderr, tc.want)
			require.NotContains(t, stderr, "open database", "checked before the database")
			for _, secret := range []string{"hunter2", "SECRET"} {
				require.NotContains(t, stdout+stderr, secret)
			}
		})
	}
}
