package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/deliver"
	"github.com/faultline-dev/faultline/report"
)

// smtpPasswordEnv holds the SMTP password: never a flag, which process
// lists and shell histories would show.
const smtpPasswordEnv = "SMTP_PASSWORD"

// deliveryFlags send the weekly report to its readers: by mail, to a chat
// channel, or both.
type deliveryFlags struct {
	MailTo      []string      `name:"mail-to" env:"MAIL_TO" sep:"none" placeholder:"ADDR,…" help:"Mail the report to these addresses (repeat the flag or separate with commas, as in a To header) through --smtp-url."`
	MailFrom    string        `name:"mail-from" env:"MAIL_FROM" placeholder:"ADDR" help:"The mail's sender, like 'faultline <reports@example.com>'."`
	SMTPURL     string        `name:"smtp-url" env:"SMTP_URL" placeholder:"URL" help:"SMTP server: smtp://user@host:587 (STARTTLS required), smtps://user@host:465 (implicit TLS), or smtp://127.0.0.1:25?tls=none (clear text, to a loopback relay only). The password comes from the environment only ($SMTP_PASSWORD)."`
	SMTPCA      string        `name:"smtp-ca" env:"SMTP_CA" placeholder:"FILE" help:"PEM certificates that verify the SMTP server (default: the system's)."`
	WebhookURL  string        `name:"webhook-url" env:"WEBHOOK_URL" placeholder:"URL" help:"Post a summary to this Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat). It is a secret: prefer the variable."`
	ConsoleURL  string        `name:"console-url" env:"CONSOLE_URL" placeholder:"URL" help:"Base URL of the web console (report serve): the mail and the chat message link to the week's page there."`
	SendTimeout time.Duration `name:"send-timeout" default:"2m" help:"Longest the mail and the chat message may take to send, retries included."`
}

// delivery is what deliveryFlags asked for, checked before the report is
// built: a bad flag costs no database query.
type delivery struct {
	mailer   *deliver.Mailer
	from     string
	to       []string
	webhook  *deliver.Webhook
	console  *url.URL
	deadline time.Duration
}

// wanted tells whether the report is to be sent rather than printed.
func (d *delivery) wanted() bool { return d.mailer != nil || d.webhook != nil }

// delivery checks the flags; its errors are usage errors and never repeat
// a secret (the webhook URL, a password in --smtp-url).
func (f *deliveryFlags) delivery(log *slog.Logger) (*delivery, error) {
	d := &delivery{deadline: f.SendTimeout}
	if d.deadline <= 0 {
		return nil, fmt.Errorf("--send-timeout must be positive, got %s", f.SendTimeout)
	}
	var to []string
	for _, v := range f.MailTo {
		if strings.TrimSpace(v) == "" { // MAIL_TO set but empty
			continue
		}
		list, err := netmail.ParseAddressList(v) // "Doe, Jane" <jane@example.com> is one address
		if err != nil {
			return nil, fmt.Errorf("--mail-to %q: %w", v, err)
		}
		for _, a := range list {
			to = append(to, a.String())
		}
	}
	switch mail := len(to) > 0 || f.SMTPURL != "" || f.MailFrom != ""; {
	case !mail:
	case len(to) == 0:
		return nil, errors.New("--smtp-url and --mail-from need --mail-to: who is the mail for?")
	case f.SMTPURL == "":
		return nil, errors.New("--mail-to needs --smtp-url: the server that sends the mail")
	case f.MailFrom == "":
		return nil, errors.New("--mail-to needs --mail-from: the mail's sender")
	default:
		if err := deliver.CheckAddresses(f.MailFrom, to); err != nil {
			return nil, fmt.Errorf("--mail-from/--mail-to: %w", err)
		}
		o := deliver.MailerOptions{Password: os.Getenv(smtpPasswordEnv), Log: log}
		if f.SMTPCA != "" {
			pem, err := os.ReadFile(f.SMTPCA)
			if err != nil {
				return nil, fmt.Errorf("--smtp-ca: %w", err)
			}
			o.RootCAs = x509.NewCertPool()
			if !o.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--smtp-ca %s: no PEM certificate in it", f.SMTPCA)
			}
		}
		m, err := deliver.NewMailer(f.SMTPURL, o)
		switch {
		case errors.Is(err, deliver.ErrPasswordInURL):
			return nil, fmt.Errorf("--smtp-url must not hold a password (it would show in process lists and manifests): put it in %s", smtpPasswordEnv)
		case errors.Is(err, deliver.ErrNoPassword):
			return nil, fmt.Errorf("--smtp-url names a user: set its password in %s", smtpPasswordEnv)
		case errors.Is(err, deliver.ErrPasswordWithoutUser):
			return nil, fmt.Errorf("%s is set but --smtp-url names no user: smtp://user@host:587", smtpPasswordEnv)
		case err != nil:
			return nil, fmt.Errorf("--smtp-url: %w", err)
		}
		d.mailer, d.from, d.to = m, f.MailFrom, to
	}
	if f.WebhookURL != "" {
		w, err := deliver.NewWebhook(f.WebhookURL, deliver.WebhookOptions{Log: log})
		if err != nil {
			return nil, fmt.Errorf("--webhook-url: %w", err)
		}
		d.webhook = w
	}
	if f.ConsoleURL != "" {
		u, err := parseConsoleURL(f.ConsoleURL)
		if err != nil {
			return nil, err
		}
		d.console = u
	}
	return d, nil
}

// parseConsoleURL reads --console-url: the base URL of the console
// (report serve) that messages and alerts link to.
func parseConsoleURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, errors.New("--console-url: want the console's base URL, like https://faultline.example.com")
	}
	return u, nil
}

// send mails the report and posts its summary, as asked, at the same
// time: each has the whole --send-timeout (rendering comes first and does
// not count), one failing does not stop the other, and the error (a
// deliveryError: exit 3) names each failure. What was sent is said on out.
func (d *delivery) send(ctx context.Context, rep *report.Weekly, out io.Writer) error {
	link := ""
	if d.console != nil {
		link = console.WeeklyPageURL(d.console, rep.Week)
	}
	var msg *deliver.Message
	if d.mailer != nil {
		m, err := rep.Mail(report.MailOptions{Link: link})
		if err != nil {
			return err
		}
		msg = &deliver.Message{From: d.from, To: d.to, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
		for _, img := range m.Images {
			msg.Inline = append(msg.Inline, deliver.Inline{ContentID: img.ContentID, Filename: img.Filename, ContentType: "image/png", Data: img.PNG})
		}
	}
	var chat strings.Builder
	if d.webhook != nil {
		if err := rep.WriteChat(&chat, report.ChatOptions{Link: link}); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(ctx, d.deadline)
	defer cancel()
	var mailed, posted string
	var mailErr, postErr error
	var wg sync.WaitGroup
	if d.mailer != nil {
		wg.Go(func() {
			var id string
			if id, mailErr = d.mailer.Send(ctx, msg); mailErr == nil {
				recipients := fmt.Sprintf("%d recipients", len(d.to))
				if len(d.to) == 1 {
					recipients = "1 recipient"
				}
				mailed = fmt.Sprintf("Mailed the weekly report %s to %s via %s, Message-ID %s.\n", rep.Week, recipients, d.mailer.Server(), id)
			}
		})
	}
	if d.webhook != nil {
		wg.Go(func() {
			if postErr = d.webhook.Post(ctx, []byte(chat.String())); postErr == nil {
				posted = fmt.Sprintf("Posted the weekly report %s to %s.\n", rep.Week, d.webhook)
			}
		})
	}
	wg.Wait()
	fmt.Fprint(out, mailed+posted)
	if err := errors.Join(mailErr, postErr); err != nil {
		return deliveryError{err}
	}
	return nil
}
