package deliver_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/deliver"
	"github.com/faultline-dev/faultline/smtptest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fastRetry keeps retried tests short: 3 attempts, 10 and 20 ms apart.
var fastRetry = deliver.Retry{Retries: 2, Wait: 10 * time.Millisecond}

// testLog is a logger whose output the test reads, to check that no
// secret reaches it.
func testLog(t *testing.T) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	t.Cleanup(func() {
		for _, secret := range []string{smtptest.Password, secretPath} {
			require.NotContains(t, buf.String(), secret, "the log")
		}
	})
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func mailer(t *testing.T, rawURL string, o deliver.MailerOptions) *deliver.Mailer {
	t.Helper()
	if o.Log == nil {
		o.Log, _ = testLog(t)
	}
	if o.Retry == (deliver.Retry{}) {
		o.Retry = fastRetry
	}
	m, err := deliver.NewMailer(rawURL, o)
	require.NoError(t, err)
	return m
}

// submission is the URL of srv as a submission server, the user's name
// percent-encoded as it must be (it holds an @).
func submission(scheme string, srv *smtptest.Server) string {
	return scheme + "://" + strings.ReplaceAll(smtptest.User, "@", "%40") + "@" + srv.Addr()
}

func message() *deliver.Message {
	return &deliver.Message{
		From:    "faultline <reports@faultline.example>",
		To:      []string{"oncall@payments.example", "Zoë Müller <zoe@payments.example>"},
		Subject: "Weekly error report 2026-W46: error rate 1.23% (±0 pts) — 3 alerts",
		Text:    "# Weekly error report 2026-W46\n\n| provider | errors |\n|---|---:|\n| finix | 1,234 |\n" + strings.Repeat("A long line of the report that quoted-printable folds. ", 4) + "\n",
		HTML:    `<!DOCTYPE html><html><body><h1>Weekly error report 2026-W46</h1><p>Zoë — 1.23%</p><img src="cid:chart-0.2026-W46@faultline" alt="chart"></body></html>`,
		Inline:  []deliver.Inline{{ContentID: "chart-0.2026-W46@faultline", Filename: "chart-0.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n-not-really-a-png-\x00\xff")}},
		Date:    time.Date(2026, 11, 16, 6, 0, 3, 0, time.UTC),
	}
}

// The message as the server received it: one message to both recipients
// over STARTTLS after AUTH PLAIN; multipart/related whose root is the
// multipart/alternative of text and HTML, both UTF-8, then the inline
// image with its Content-ID; Date, Message-ID, Subject and Auto-Submitted.
func TestMailOverSTARTTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	m := mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool})
	require.Equal(t, "smtp://reporter%40example.com@"+srv.Addr(), m.String())
	msg := message()
	id, err := m.Send(testCtx(t), msg)
	require.NoError(t, err)

	got := srv.Messages()
	require.Len(t, got, 1)
	require.True(t, got[0].TLS, "sent after STARTTLS")
	require.Equal(t, "PLAIN", got[0].AuthMechanism)
	require.Equal(t, smtptest.User, got[0].AuthUser)
	require.Equal(t, "reports@faultline.example", got[0].From)
	require.Equal(t, []string{"oncall@payments.example", "zoe@payments.example"}, got[0].To)
	require.Equal(t, 1, srv.Connections(), "one connection")

	parsed, err := smtptest.Parse(got[0].Data)
	require.NoError(t, err)
	hdr := parsed.Header
	require.Equal(t, []string{"multipart/related", "multipart/alternative"}, parsed.Containers)
	require.Len(t, parsed.Parts, 3)
	text, html, img := parsed.Parts[0], parsed.Parts[1], parsed.Parts[2]
	require.Equal(t, "text/plain", text.MediaType)
	require.Equal(t, "UTF-8", text.Params["charset"])
	require.Equal(t, "quoted-printable", text.Encoding)
	require.Equal(t, msg.Text, strings.ReplaceAll(string(text.Body), "\r\n", "\n"))
	require.Equal(t, "text/html", html.MediaType)
	require.Equal(t, "UTF-8", html.Params["charset"])
	require.Equal(t, msg.HTML, string(html.Body))
	require.Equal(t, "image/png", img.MediaType)
	require.Equal(t, "base64", img.Encoding)
	require.Equal(t, "<chart-0.2026-W46@faultline>", img.Header.Get("Content-Id"))
	require.True(t, strings.HasPrefix(img.Header.Get("Content-Disposition"), "inline"))
	require.Equal(t, msg.Inline[0].Data, img.Body)
	for _, line := range strings.Split(string(got[0].Data), "\r\n") {
		require.LessOrEqual(t, len(line), 998, "RFC 5322 line length")
	}

	subject, err := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, msg.Subject, subject)
	date, err := hdr.Date()
	require.NoError(t, err)
	require.True(t, date.Equal(msg.Date), "%s", date)
	require.Equal(t, id, hdr.Get("Message-Id"))
	require.Regexp(t, `^<20261116T060003Z\.[0-9a-f]{24}@faultline\.example>$`, id, "in the sender's domain")
	require.Equal(t, "auto-generated", hdr.Get("Auto-Submitted"))
	require.Equal(t, "1.0", hdr.Get("Mime-Version"))
	from, err := hdr.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, []*netmail.Address{{Name: "faultline", Address: "reports@faultline.example"}}, from)
	to, err := hdr.AddressList("To")
	require.NoError(t, err)
	require.Len(t, to, 2)
	require.Equal(t, "Zoë Müller", to[1].Name)

	// Without inline parts, the message is the multipart/alternative.
	msg.Inline = nil
	_, err = m.Send(testCtx(t), msg)
	require.NoError(t, err)
	parsed, err = smtptest.Parse(srv.Messages()[1].Data)
	require.NoError(t, err)
	require.Equal(t, []string{"multipart/alternative"}, parsed.Containers)
	require.Len(t, parsed.Parts, 2)
}

func TestMailAuthLogin(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{Mechanisms: []string{"LOGIN"}})
	_, err := mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}).Send(testCtx(t), message())
	require.NoError(t, err)
	require.Len(t, srv.Messages(), 1)
	require.Equal(t, "LOGIN", srv.Messages()[0].AuthMechanism)
	require.True(t, srv.Messages()[0].TLS)
}

func TestMailImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{ImplicitTLS: true})
	_, err := mailer(t, submission("smtps", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}).Send(testCtx(t), message())
	require.NoError(t, err)
	require.Len(t, srv.Messages(), 1)
	require.True(t, srv.Messages()[0].TLS)
	require.Equal(t, "PLAIN", srv.Messages()[0].AuthMechanism)
}

// A local relay on loopback: no TLS, with or without a login.
func TestMailToALoopbackRelayWithoutTLS(t *testing.T) {
	relay := smtptest.Start(t, smtptest.Options{NoTLS: true, NoAuth: true})
	_, err := mailer(t, "smtp://"+relay.Addr()+"?tls=none", deliver.MailerOptions{}).Send(testCtx(t), message())
	require.NoError(t, err)
	require.Len(t, relay.Messages(), 1)
	require.False(t, relay.Messages()[0].TLS)

	withLogin := smtptest.Start(t, smtptest.Options{NoTLS: true})
	_, err = mailer(t, submission("smtp", withLogin)+"?tls=none", deliver.MailerOptions{Password: smtptest.Password}).Send(testCtx(t), message())
	require.NoError(t, err)
	require.Len(t, withLogin.Messages(), 1)
	require.Equal(t, "PLAIN", withLogin.Messages()[0].AuthMechanism)
}

// failure sends a message that fails and returns the error's text,
// checking that it never holds the password.
func failure(t *testing.T, m *deliver.Mailer) string {
	t.Helper()
	_, err := m.Send(testCtx(t), message())
	require.Error(t, err)
	require.NotContains(t, err.Error(), smtptest.Password)
	t.Log(err)
	return err.Error()
}

func TestMailFailures(t *testing.T) {
	t.Run("the server does not offer STARTTLS: nothing is sent, not retried", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{NoTLS: true})
		err := failure(t, mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}))
		require.Contains(t, err, "does not offer STARTTLS")
		require.Empty(t, srv.Messages())
		require.Empty(t, srv.Auths(), "no password offered in clear")
		require.Equal(t, 1, srv.Connections())
	})

	t.Run("wrong password: refused, not retried", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		err := failure(t, mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: "wrong-" + smtptest.Password, RootCAs: srv.CertPool}))
		require.Contains(t, err, "refused the login of "+smtptest.User)
		require.Contains(t, err, "535")
		require.NotContains(t, err, "attempts")
		require.Len(t, srv.Auths(), 1)
		require.False(t, srv.Auths()[0].OK)
		require.True(t, srv.Auths()[0].TLS, "the password crossed only TLS")
		require.Empty(t, srv.Messages())
	})

	t.Run("wrong password with LOGIN", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{Mechanisms: []string{"LOGIN"}})
		err := failure(t, mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: "nope", RootCAs: srv.CertPool}))
		require.Contains(t, err, "refused the login")
		require.Len(t, srv.Auths(), 1)
	})

	t.Run("server down: connection refused, retried", func(t *testing.T) {
		addr := closedPort(t)
		err := failure(t, mailer(t, "smtp://"+addr+"?tls=none", deliver.MailerOptions{}))
		require.Contains(t, err, "mail via "+addr)
		require.Contains(t, err, "connection refused")
		require.Contains(t, err, "(after 3 attempts)")
	})

	t.Run("a temporary reply is retried until it passes", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		srv.FailMail(2, 451, "Try again later")
		_, err := mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}).Send(testCtx(t), message())
		require.NoError(t, err)
		require.Len(t, srv.Messages(), 1, "delivered once")
		require.Equal(t, 3, srv.Connections())
	})

	t.Run("a temporary reply that lasts fails after the retries", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		srv.FailMail(10, 421, "Service shutting down")
		err := failure(t, mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}))
		require.Contains(t, err, "421")
		require.Contains(t, err, "(after 3 attempts)")
	})

	t.Run("a permanent reply is not retried", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		srv.FailMail(1, 550, "Sender address rejected")
		err := failure(t, mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}))
		require.Contains(t, err, "550")
		require.Contains(t, err, "Sender address rejected")
		require.Equal(t, 1, srv.Connections())
	})

	t.Run("a certificate of an unknown authority: not retried", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		err := failure(t, mailer(t, submission("smtp", srv), deliver.MailerOptions{Password: smtptest.Password}))
		require.Contains(t, err, "certificate")
		require.Empty(t, srv.Auths(), "no password to a server that could not prove who it is")
		require.Equal(t, 1, srv.Connections())
	})

	t.Run("implicit TLS to a server that speaks clear text", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		err := failure(t, mailer(t, submission("smtps", srv), deliver.MailerOptions{Password: smtptest.Password, RootCAs: srv.CertPool}))
		require.Contains(t, err, "tls")
		require.Empty(t, srv.Messages())
	})

	t.Run("out of time", func(t *testing.T) {
		addr := closedPort(t)
		m := mailer(t, "smtp://"+addr+"?tls=none", deliver.MailerOptions{Retry: deliver.Retry{Retries: 100, Wait: 20 * time.Millisecond}})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := m.Send(ctx, message())
		require.Error(t, err)
		require.Contains(t, err.Error(), "connection refused")
		require.Contains(t, err.Error(), "out of time")
	})

	t.Run("out of time before the first attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := mailer(t, "smtp://"+closedPort(t)+"?tls=none", deliver.MailerOptions{}).Send(ctx, message())
		require.ErrorContains(t, err, "out of time before the first attempt: context canceled")
	})
}

// A server that echoes what it was sent cannot put the password in an
// error: neither as it is nor base64-encoded as AUTH PLAIN sends it.
func TestMailErrorsNeverHoldThePassword(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go echoServer(c)
		}
	}()
	m := mailer(t, submission("smtp", &smtptest.Server{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port})+"?tls=none",
		deliver.MailerOptions{Password: smtptest.Password})
	err2 := failure(t, m)
	require.Contains(t, err2, "[redacted]", "the server's echo is in the error, scrubbed")
}

// echoServer offers AUTH PLAIN and LOGIN in clear and answers every
// command with a permanent error that repeats it.
func echoServer(c net.Conn) {
	defer c.Close()
	fmt.Fprint(c, "220 echo ESMTP\r\n")
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		line := strings.TrimSpace(string(buf[:n]))
		switch {
		case strings.HasPrefix(line, "EHLO"):
			fmt.Fprint(c, "250-echo\r\n250 AUTH PLAIN LOGIN\r\n")
		default:
			fmt.Fprintf(c, "535 5.7.8 no, not %s\r\n", line)
		}
	}
}

func TestNewMailerRefusesBadURLs(t *testing.T) {
	const pw = "hunter2-Secret"
	for _, tc := range []struct {
		name, url, password string
		want                string
		is                  error
	}{
		{"password in the URL", "smtp://user:" + pw + "@smtp.example.com:587", "", "", deliver.ErrPasswordInURL},
		{"password in the URL, even empty", "smtp://user:@smtp.example.com:587", "x", "", deliver.ErrPasswordInURL},
		{"user without a password", "smtp://user@smtp.example.com:587", "", "", deliver.ErrNoPassword},
		{"password without a user", "smtp://smtp.example.com:587", pw, "", deliver.ErrPasswordWithoutUser},
		{"clear text to another machine", "smtp://smtp.example.com:25?tls=none", "", "only to a loopback host", nil},
		{"clear text to a name that resolves to loopback is not trusted", "smtp://localhost.example.com:25?tls=none", "", "only to a loopback host", nil},
		{"tls=none with smtps", "smtps://127.0.0.1:465?tls=none", "", "goes with smtp://", nil},
		{"tls=off", "smtp://127.0.0.1:25?tls=off", "", `tls="off"`, nil},
		{"unknown parameter", "smtp://127.0.0.1:25?auth=plain", "", `unknown parameter "auth"`, nil},
		{"other scheme", "http://smtp.example.com", "", `scheme is "http"`, nil},
		{"no host", "smtp:///x", "", "not a URL", nil},
		{"a path", "smtp://smtp.example.com/inbox", "", "has a path", nil},
		{"bad port", "smtp://smtp.example.com:0", "", "not a port", nil},
		{"not a URL", "smtp://us er:" + pw + "@[bad", "", "not a URL", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deliver.NewMailer(tc.url, deliver.MailerOptions{Password: tc.password})
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			} else {
				require.Contains(t, err.Error(), tc.want)
			}
			require.NotContains(t, err.Error(), pw)
			require.NotContains(t, err.Error(), tc.url)
		})
	}
	for raw, want := range map[string]string{
		"smtp://smtp.example.com":                   "smtp://smtp.example.com:587",
		"smtps://smtp.example.com":                  "smtps://smtp.example.com:465",
		"smtp://localhost?tls=none":                 "smtp://localhost:25?tls=none",
		"smtp://[::1]:2525?tls=none":                "smtp://[::1]:2525?tls=none",
		"smtp://127.0.0.2:25?tls=none":              "smtp://127.0.0.2:25?tls=none",
		"smtp://a%40b.example@smtp.example.com:587": "smtp://a%40b.example@smtp.example.com:587",
	} {
		pw := ""
		if strings.Contains(raw, "@smtp") {
			pw = "x"
		}
		m, err := deliver.NewMailer(raw, deliver.MailerOptions{Password: pw})
		require.NoError(t, err, raw)
		require.Equal(t, want, m.String(), raw)
	}
}

func TestCheckAddresses(t *testing.T) {
	require.NoError(t, deliver.CheckAddresses("faultline <r@x.example>", []string{"a@x.example", "B <b@x.example>"}))
	require.ErrorContains(t, deliver.CheckAddresses("not an address", []string{"a@x.example"}), "sender")
	require.ErrorContains(t, deliver.CheckAddresses("r@x.example", nil), "no recipient")
	require.ErrorContains(t, deliver.CheckAddresses("r@x.example", []string{"a@x.example\r\nBcc: evil@x.example"}), "recipient")
}

// closedPort is a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, port, _ := net.SplitHostPort(addr)
	_, err = strconv.Atoi(port)
	require.NoError(t, err)
	return addr
}
