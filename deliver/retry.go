package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sethvargo/go-retry"
)

// Retry is how a delivery retries what a retry can fix: up to Retries
// more attempts, waiting Wait, then twice as long each time (capped at
// maxWait, with 10% jitter). The context bounds the whole.
type Retry struct {
	Retries uint64
	Wait    time.Duration
}

// DefaultRetry waits 2, 4, 8 and 16 s: about half a minute, long enough
// for a relay or a chat service to come back from a restart, short enough
// for a weekly job.
var DefaultRetry = Retry{Retries: 4, Wait: 2 * time.Second}

const maxWait = 30 * time.Second

func (r Retry) orDefault() Retry {
	if r.Wait <= 0 {
		return DefaultRetry
	}
	return r
}

func (r Retry) backoff() retry.Backoff {
	return retry.WithMaxRetries(r.Retries, retry.WithJitterPercent(10, retry.WithCappedDuration(maxWait, retry.NewExponential(r.Wait))))
}

// do runs attempt until it succeeds, fails for good (an error not marked
// retryable) or the retries or the context run out, logging each failure
// it retries. The error is the reason the attempts failed, saying how
// many were made: the last attempt's error, or the one before when the
// deadline cut the last one short (its "i/o timeout" would hide that the
// server refused every connection).
func (r Retry) do(ctx context.Context, log *slog.Logger, what string, attempt func(context.Context) error) error {
	n := 0
	var reason error
	err := retry.Do(ctx, r.backoff(), func(ctx context.Context) error {
		n++
		err := attempt(ctx)
		var re retryable
		again := errors.As(err, &re)
		if again {
			err = re.error
		}
		if err != nil && (reason == nil || !expired(ctx)) {
			reason = err
		}
		if !again {
			return err
		}
		log.Warn("delivery failed, retrying", "to", what, "attempt", n, "err", err.Error())
		return retry.RetryableError(err)
	})
	switch {
	case err == nil:
		return nil
	case reason == nil:
		return fmt.Errorf("out of time before the first attempt: %w", err)
	case expired(ctx) && !errors.Is(reason, context.DeadlineExceeded) && !errors.Is(reason, context.Canceled):
		cause := context.Cause(ctx)
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("%w (after %s, out of time: %v)", reason, attempts(n), cause)
	case n > 1:
		return fmt.Errorf("%w (after %s)", reason, attempts(n))
	}
	return reason
}

// expired tells whether ctx is done or its deadline has passed (a dial
// can time out at the deadline before the context says it is done).
func expired(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && !time.Now().Before(d))
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// retryable marks an error that a later attempt may not meet.
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// connectionRetryable tells whether err, met while connecting, may pass
// when tried again: the server refused or dropped the connection, did not
// answer in time, or DNS failed for the moment. A certificate that does
// not verify, a name that does not exist, a TLS failure are final.
func connectionRetryable(err error) bool {
	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		alert      tls.AlertError
		recordErr  tls.RecordHeaderError
		dnsErr     *net.DNSError
		opErr      *net.OpError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr),
		errors.As(err, &alert), errors.As(err, &recordErr):
		return false
	case errors.As(err, &dnsErr):
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &opErr):
		return opErr.Op == "dial" || opErr.Timeout()
	}
	return false
}

// scrubber replaces secrets in error texts: a server could echo what it
// was sent, and errors of libraries may name URLs.
type scrubber []string

// newScrubber keeps the non-empty secrets, longest first (a secret may
// hold another).
func newScrubber(secrets ...string) scrubber {
	sc := slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	slices.SortFunc(sc, func(a, b string) int { return len(b) - len(a) })
	return sc
}

// scrub returns s with every secret replaced by [redacted].
func (sc scrubber) scrub(s string) string {
	for _, secret := range sc {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// scrubbedError is an error whose text went through a scrubber; the
// wrapped error is kept for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func (sc scrubber) wrap(err error, format string, args ...any) error {
	return &scrubbedError{msg: sc.scrub(fmt.Sprintf(format, args...) + ": " + err.Error()), err: err}
}

// isLoopback tells whether host (a name or an IP literal, without port)
// is this machine: localhost or a loopback address. Names are not
// resolved: DNS could say anything.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
