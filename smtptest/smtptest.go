// Package smtptest starts a real SMTP server on loopback for tests (the
// server of github.com/emersion/go-smtp, speaking the protocol over TCP):
// STARTTLS or implicit TLS with a certificate of a CA made for the test,
// AUTH PLAIN and LOGIN for one user, and a record of every message it
// accepted, as it received it. It can be told to refuse: no STARTTLS, a
// wrong password, a reply code for the next MAIL commands.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape the server; the zero value is a submission server as
// mail providers run them: STARTTLS, AUTH PLAIN and LOGIN required.
type Options struct {
	// ImplicitTLS serves TLS from the first byte (smtps://, port 465)
	// instead of offering STARTTLS.
	ImplicitTLS bool
	// NoTLS offers no TLS at all: no STARTTLS (a downgraded or misconfigured
	// server, or a local relay).
	NoTLS bool
	// Mechanisms are the AUTH mechanisms offered, of PLAIN and LOGIN
	// (default both); AUTH is offered only over TLS unless NoTLS.
	Mechanisms []string
	// NoAuth accepts mail without AUTH and offers none (a local relay).
	NoAuth bool
}

// User and Password are the credentials the server accepts.
const (
	User     = "reporter@example.com"
	Password = "s3cret-Pa55word"
)

// Server is a running SMTP server; it stops when the test ends.
type Server struct {
	// Host and Port are where it listens: 127.0.0.1 and a free port.
	Host string
	Port int
	// CAFile is the PEM file of the CA whose certificate the server
	// presents, for clients to trust; CertPool holds the same.
	CAFile   string
	CertPool *x509.CertPool

	opts Options

	mu       sync.Mutex
	messages []Message
	auths    []Auth
	fail     []*smtp.SMTPError // replies to the next MAIL commands
	conns    int
}

// Message is a message the server accepted.
type Message struct {
	From string
	To   []string
	// Data is the message as received (headers and body, CRLF lines).
	Data []byte
	// TLS tells whether the session was encrypted when the message came.
	TLS bool
	// AuthMechanism and AuthUser are the session's successful AUTH.
	AuthMechanism, AuthUser string
}

// Auth is an AUTH attempt.
type Auth struct {
	Mechanism, User string
	OK              bool
	TLS             bool
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Start starts a server that stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if len(o.Mechanisms) == 0 {
		o.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	s := &Server{Host: "127.0.0.1", opts: o}
	cert, caPEM := certificate(t)
	s.CAFile = filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(s.CAFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s.CertPool = x509.NewCertPool()
	s.CertPool.AppendCertsFromPEM(caPEM)

	srv := smtp.NewServer(backend{s})
	srv.Domain = "smtp.test"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.AllowInsecureAuth = o.NoTLS
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var l net.Listener
	var err error
	switch {
	case o.ImplicitTLS:
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsConfig)
	default:
		if !o.NoTLS {
			srv.TLSConfig = tlsConfig
		}
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l = &countingListener{Listener: l, s: s}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// Messages are the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Auths are the AUTH attempts so far.
func (s *Server) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// Connections is how many connections clients opened.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// FailMail makes the server answer the next n MAIL commands with code
// and message: 451 is a temporary failure worth retrying, 550 a
// permanent one.
func (s *Server) FailMail(n, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: message})
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// countingListener counts the connections clients open.
type countingListener struct {
	net.Listener
	s *Server
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// session is one SMTP session (a new one after STARTTLS).
type session struct {
	s          *Server
	conn       *smtp.Conn
	mech, user string
	from       string
	to         []string
}

func (ss *session) tls() bool {
	_, ok := ss.conn.TLSConnectionState()
	return ok
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.NoAuth {
		return nil
	}
	return ss.s.opts.Mechanisms
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(user, password string) error {
		ok := user == User && password == Password
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, Auth{Mechanism: mech, User: user, OK: ok, TLS: ss.tls()})
		ss.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		ss.mech, ss.user = mech, user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, password string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, password)
		}), nil
	default:
		return &loginServer{check: check}, nil
	}
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.s.opts.NoAuth && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if len(ss.s.fail) > 0 {
		err := ss.s.fail[0]
		ss.s.fail = ss.s.fail[1:]
		return err
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.messages = append(ss.s.messages, Message{From: ss.from, To: slices.Clone(ss.to), Data: bytes.Clone(data),
		TLS: ss.tls(), AuthMechanism: ss.mech, AuthUser: ss.user})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-login):
// "Username:", then "Password:", each answered in base64.
type loginServer struct {
	step  int
	user  string
	check func(user, password string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil { // no initial response
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, errors.New("unexpected response")
}

// certificate makes a self-signed CA certificate for 127.0.0.1, ::1 and
// localhost, valid for a day, and returns it with its PEM.
func certificate(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
