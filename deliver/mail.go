package deliver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Errors of an SMTP URL that the caller words for its users (it knows
// where the password comes from).
var (
	// ErrPasswordInURL: the URL holds a password, which would show in
	// process lists, shell histories and manifests.
	ErrPasswordInURL = errors.New("the SMTP URL holds a password")
	// ErrNoPassword: the URL names a user but no password was given.
	ErrNoPassword = errors.New("the SMTP URL names a user but no password was given")
	// ErrPasswordWithoutUser: a password was given but the URL names no
	// user to log in as.
	ErrPasswordWithoutUser = errors.New("a password was given but the SMTP URL names no user")
)

// security is how a connection to the SMTP server is protected.
type security int

const (
	startTLS    security = iota // smtp://: STARTTLS, required
	implicitTLS                 // smtps://: TLS from the first byte
	clearText                   // smtp://…?tls=none, loopback only
)

// Default ports: submission with STARTTLS (RFC 6409), submissions with
// implicit TLS (RFC 8314), and SMTP for a local relay.
const (
	portSubmission  = 587
	portSubmissions = 465
	portRelay       = 25
)

// attemptTimeout bounds each step of an SMTP session (connecting, every
// command and its reply) unless MailerOptions.Timeout says otherwise.
const attemptTimeout = 30 * time.Second

// MailerOptions configure a Mailer; zero values take defaults.
type MailerOptions struct {
	// Password is the SMTP user's password; required when the URL names
	// a user, refused when it does not.
	Password string
	// RootCAs verify the server's certificate (default: the system's).
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each command (default 30s).
	Timeout time.Duration
	// Retry is how temporary failures are retried (default DefaultRetry).
	Retry Retry
	// Log gets a line per retried failure and per message sent.
	Log *slog.Logger
}

// Mailer sends messages through one SMTP server.
type Mailer struct {
	host     string
	port     int
	security security
	user     string
	password string
	rootCAs  *x509.CertPool
	timeout  time.Duration
	retry    Retry
	log      *slog.Logger
	secrets  scrubber
}

// NewMailer checks rawURL and returns a Mailer for its server:
//
//	smtp://[user@]host[:587]          STARTTLS, required
//	smtps://[user@]host[:465]         implicit TLS
//	smtp://host[:25]?tls=none         no TLS: only to a loopback host (a local relay)
//
// The user (percent-encoded if it holds @ or :) logs in with AUTH PLAIN
// or LOGIN and o.Password; the URL must not hold the password. Its errors
// never repeat rawURL.
func NewMailer(rawURL string, o MailerOptions) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return nil, errors.New("the SMTP URL is not a URL like smtp://user@host:587")
	}
	if _, set := u.User.Password(); set {
		return nil, ErrPasswordInURL
	}
	m := &Mailer{host: u.Hostname(), user: u.User.Username(), password: o.Password, rootCAs: o.RootCAs,
		timeout: o.Timeout, retry: o.Retry.orDefault(), log: o.Log}
	if m.timeout <= 0 {
		m.timeout = attemptTimeout
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	switch u.Scheme {
	case "smtp":
		m.security, m.port = startTLS, portSubmission
	case "smtps":
		m.security, m.port = implicitTLS, portSubmissions
	default:
		return nil, fmt.Errorf("the SMTP URL's scheme is %q: want smtp (STARTTLS) or smtps (implicit TLS)", u.Scheme)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("the SMTP URL has a path: want smtp://user@host:port")
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return nil, fmt.Errorf("the SMTP URL has an unknown parameter %q (only tls=none is known)", k)
		}
	}
	if q.Has("tls") {
		switch {
		case q.Get("tls") != "none" || len(q["tls"]) > 1:
			return nil, fmt.Errorf("the SMTP URL's tls=%q: only tls=none is known (smtp:// requires STARTTLS, smtps:// is implicit TLS)", q.Get("tls"))
		case u.Scheme != "smtp":
			return nil, errors.New("tls=none goes with smtp://, not smtps://")
		case !isLoopback(m.host):
			return nil, fmt.Errorf("tls=none sends mail (and any password) in clear: only to a loopback host such as 127.0.0.1 or localhost, not %q", m.host)
		}
		m.security, m.port = clearText, portRelay
	}
	if p := u.Port(); p != "" {
		if m.port, err = strconv.Atoi(p); err != nil || m.port < 1 || m.port > 65535 {
			return nil, fmt.Errorf("the SMTP URL's port %q is not a port", p)
		}
	}
	switch {
	case m.user != "" && m.password == "":
		return nil, ErrNoPassword
	case m.user == "" && m.password != "":
		return nil, ErrPasswordWithoutUser
	}
	// The password, and what AUTH PLAIN and LOGIN send, base64 encoded:
	// never in an error, whatever a server echoes.
	if m.password != "" {
		b64 := base64.StdEncoding.EncodeToString
		m.secrets = newScrubber(m.password, b64([]byte(m.password)), b64([]byte("\x00"+m.user+"\x00"+m.password)))
	}
	return m, nil
}

// Server is the server's host:port.
func (m *Mailer) Server() string { return net.JoinHostPort(m.host, strconv.Itoa(m.port)) }

// String describes the Mailer without secrets: smtp://user@host:587.
func (m *Mailer) String() string {
	scheme := map[security]string{startTLS: "smtp", implicitTLS: "smtps", clearText: "smtp"}[m.security]
	u := url.URL{Scheme: scheme, Host: m.Server()}
	if m.user != "" {
		u.User = url.User(m.user)
	}
	if m.security == clearText {
		u.RawQuery = "tls=none"
	}
	return u.String()
}

// Message is an e-mail: a text and an HTML alternative, the HTML's inline
// parts (images it shows as cid:ContentID).
type Message struct {
	// From is the sender: an address, with or without a display name.
	From string
	// To are the recipients' addresses.
	To      []string
	Subject string
	Text    string
	HTML    string
	Inline  []Inline
	// Date is the Date header (default: now).
	Date time.Time
}

// Inline is a part the HTML shows by its Content-ID.
type Inline struct {
	// ContentID is the part's Content-ID, without angle brackets.
	ContentID   string
	Filename    string
	ContentType string
	Data        []byte
}

// CheckAddresses checks a sender and recipients as Send will.
func CheckAddresses(from string, to []string) error {
	if _, err := netmail.ParseAddress(from); err != nil {
		return fmt.Errorf("sender %q: %w", from, err)
	}
	if len(to) == 0 {
		return errors.New("no recipient")
	}
	for _, a := range to {
		if _, err := netmail.ParseAddress(a); err != nil {
			return fmt.Errorf("recipient %q: %w", a, err)
		}
	}
	return nil
}

// Send sends msg as one message to all its recipients and returns its
// Message-ID. The message is multipart/alternative (text, then HTML) in
// UTF-8, quoted-printable; with inline parts, it and they are the parts of
// a multipart/related (RFC 2387) whose root is the alternative. Headers:
// Date, a Message-ID in the sender's domain, and Auto-Submitted (RFC 3834)
// so that out-of-office replies do not answer it.
//
// Send retries what a retry can fix (see Retry), never a refused login or
// a permanent reply, and never once the server has accepted the message.
func (m *Mailer) Send(ctx context.Context, msg *Message) (string, error) {
	if err := CheckAddresses(msg.From, msg.To); err != nil {
		return "", err
	}
	gm, id, err := m.message(msg)
	if err != nil {
		return "", err
	}
	err = m.retry.do(ctx, m.log, m.Server(), func(ctx context.Context) error { return m.attempt(ctx, gm) })
	if err != nil {
		return "", fmt.Errorf("mail via %s: %w", m.Server(), err)
	}
	m.log.Info("weekly report mailed", "server", m.Server(), "recipients", len(msg.To), "message_id", id)
	return id, nil
}

// message builds the MIME message once: every attempt sends the same
// bytes, with the same Message-ID.
func (m *Mailer) message(msg *Message) (*mail.Msg, string, error) {
	from, _ := netmail.ParseAddress(msg.From)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	var random [12]byte
	_, _ = rand.Read(random[:])
	date := msg.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := date.UTC().Format("20060102T150405Z") + "." + hex.EncodeToString(random[:]) + "@" + domain

	gm := mail.NewMsg(mail.WithNoDefaultUserAgent(), mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	gm.FromMailAddress(from)
	if err := gm.To(msg.To...); err != nil {
		return nil, "", fmt.Errorf("recipients: %w", err)
	}
	gm.Subject(msg.Subject)
	gm.SetDateWithValue(date)
	gm.SetMessageIDWithValue(id)
	gm.SetUserAgent("faultline")
	gm.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	gm.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	gm.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	for _, in := range msg.Inline {
		if err := gm.EmbedReader(in.Filename, bytes.NewReader(in.Data), mail.WithFileContentID("<"+in.ContentID+">"),
			mail.WithFileContentType(mail.ContentType(in.ContentType))); err != nil {
			return nil, "", fmt.Errorf("inline part %s: %w", in.Filename, err)
		}
	}
	return gm, "<" + id + ">", nil
}

// attempt opens a session, logs in, sends gm and says goodbye. Its error
// says which step failed and is marked retryable when another attempt may
// pass.
func (m *Mailer) attempt(ctx context.Context, gm *mail.Msg) error {
	opts := []mail.Option{mail.WithPort(m.port), mail.WithTimeout(m.timeout),
		mail.WithTLSConfig(&tls.Config{ServerName: m.host, RootCAs: m.rootCAs, MinVersion: tls.VersionTLS12})}
	switch m.security {
	case startTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case implicitTLS:
		opts = append(opts, mail.WithSSL())
	case clearText:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	var auth *authenticator
	if m.user != "" {
		auth = &authenticator{user: m.user, password: m.password, host: m.host, clear: m.security == clearText}
		opts = append(opts, mail.WithSMTPAuthCustom(auth))
	}
	c, err := mail.NewClient(m.host, opts...)
	if err != nil {
		return m.secrets.wrap(err, "smtp client")
	}
	client, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		switch {
		case m.security == startTLS && strings.Contains(err.Error(), "does not support STARTTLS"):
			return errors.New("the server does not offer STARTTLS, and smtp:// sends only over TLS (smtps:// is implicit TLS; tls=none is for a loopback relay)")
		case auth != nil && auth.started:
			// A refused password stays refused: not retried.
			return m.secrets.wrap(err, "the server refused the login of %s", m.user)
		case connectionRetryable(err) || replyCode(err)/100 == 4:
			return retryable{m.secrets.wrap(err, "connect")}
		}
		return m.secrets.wrap(err, "connect")
	}
	err = c.SendWithSMTPClient(client, gm)
	if cerr := c.CloseWithSMTPClient(client); cerr != nil && err == nil {
		m.log.Debug("closing the SMTP session after the message was accepted", "server", m.Server(), "err", m.secrets.scrub(cerr.Error()))
	}
	switch {
	case err == nil, gm.IsDelivered(): // accepted; RSET or QUIT failing afterwards changes nothing
		return nil
	case sendRetryable(err):
		return retryable{m.secrets.wrap(err, "send")}
	}
	return m.secrets.wrap(err, "send")
}

// sendRetryable tells whether a failure to send may pass when tried again:
// the message was not accepted (a temporary 4xx reply to MAIL, RCPT, DATA
// or the end of data; the connection lost before the end of data), so
// sending it again cannot deliver it twice. A connection lost after the
// end of data is final: the server may have taken the message.
func sendRetryable(err error) bool {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case mail.ErrConnCheck, mail.ErrWriteContent:
		return true
	case mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose:
		return se.IsTemp()
	}
	return false
}

// replyCode is the SMTP reply code in err, or 0.
func replyCode(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	return 0
}

// authenticator logs in with AUTH PLAIN, or LOGIN when the server offers
// only that, and records that the login began: a failure after that is a
// refused login, which is not retried.
type authenticator struct {
	user, password, host string
	clear                bool // clear text to a loopback relay (tls=none)
	started              bool
	inner                smtp.Auth
}

func (a *authenticator) Start(server *smtp.ServerInfo) (string, []byte, error) {
	a.started = true
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		a.inner = smtp.PlainAuth("", a.user, a.password, a.host, a.clear)
	case slices.Contains(server.Auth, "LOGIN"):
		a.inner = smtp.LoginAuth(a.user, a.password, a.host, a.clear)
	case len(server.Auth) == 0:
		return "", nil, errors.New("the server offers no AUTH (does it want a login at all? then drop the user from the URL)")
	default:
		return "", nil, fmt.Errorf("the server offers AUTH %s, not PLAIN or LOGIN", strings.Join(server.Auth, " "))
	}
	return a.inner.Start(server)
}

func (a *authenticator) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}
