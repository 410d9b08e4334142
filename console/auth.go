package console

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Authenticator tells who a request is from.
type Authenticator interface {
	// Authenticate returns the user the request is from, or an error
	// wrapping ErrUnauthenticated (answered 401) or ErrForbidden (403).
	Authenticate(r *http.Request) (user string, err error)
	// Challenge is the WWW-Authenticate header of a 401, "" for none.
	Challenge() string
}

var (
	// ErrUnauthenticated means the request carries no valid credentials.
	ErrUnauthenticated = errors.New("authentication required")
	// ErrForbidden means the request may not authenticate the way it
	// tries to (a trusted header from an address that is not a proxy's).
	ErrForbidden = errors.New("forbidden")
)

// Htpasswd authenticates HTTP basic credentials against an htpasswd file
// of bcrypt hashes, the format Apache's `htpasswd -B` writes
// (user:$2y$…; $2a$ and $2b$ too). The file is read again when it changes
// (checked at most once per ReloadCheck). A successful verification is
// remembered for CacheTTL (keyed by a SHA-256 of the user and password, and
// forgotten when the file changes), since bcrypt costs milliseconds on
// purpose and a page must not pay it. An unknown user costs a bcrypt
// comparison like a known one.
type Htpasswd struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu        sync.Mutex
	users     map[string][]byte
	dummy     []byte // a hash to compare unknown users against
	stamp     fileStamp
	checked   time.Time
	verified  map[[32]byte]time.Time // sha256(user, password) → expiry
	reloadErr error
}

const (
	// CacheTTL is how long a verified password is remembered.
	CacheTTL = 5 * time.Minute
	// ReloadCheck is how often the file is checked for changes.
	ReloadCheck = time.Second
	// maxVerified bounds the remembered verifications.
	maxVerified = 4096
)

// fileStamp tells a file's versions apart: a file replaced (renamed over,
// as htpasswd and editors do) or written in place.
type fileStamp struct {
	info os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	return a.info != nil && b.info != nil && os.SameFile(a.info, b.info) &&
		a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

// LoadHtpasswd reads the htpasswd file at path. log (nil: discarded)
// receives reloads and their failures.
func LoadHtpasswd(path string, log *slog.Logger) (*Htpasswd, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Htpasswd{path: path, log: log, now: time.Now, verified: map[[32]byte]time.Time{}}
	if err := h.load(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Htpasswd) load() error {
	f, err := os.Open(h.path)
	if err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	users, err := ParseHtpasswd(f)
	if err != nil {
		return fmt.Errorf("htpasswd %s: %w", h.path, err)
	}
	if len(users) == 0 {
		return fmt.Errorf("htpasswd %s: no users", h.path)
	}
	cost := bcrypt.DefaultCost
	for _, hash := range users {
		if c, err := bcrypt.Cost(hash); err == nil {
			cost = c
		}
		break
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("faultline: no such user"), cost)
	if err != nil {
		return fmt.Errorf("htpasswd: %w", err)
	}
	h.users, h.dummy = users, dummy
	h.stamp = fileStamp{info: info}
	h.verified = map[[32]byte]time.Time{}
	return nil
}

// ParseHtpasswd reads htpasswd lines (user:hash; blank lines and lines
// starting with # are skipped) and returns each user's bcrypt hash. A
// line that is not user:bcrypt-hash is an error naming its number, never
// its content (it may hold a password hash or a password).
func ParseHtpasswd(r io.Reader) (map[string][]byte, error) {
	users := map[string][]byte{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok || user == "" || !utf8.ValidString(user):
			return nil, fmt.Errorf("line %d: want user:hash", n)
		case !strings.HasPrefix(hash, "$2y$") && !strings.HasPrefix(hash, "$2a$") && !strings.HasPrefix(hash, "$2b$"):
			return nil, fmt.Errorf("line %d: not a bcrypt hash ($2y$, $2a$ or $2b$): write the file with htpasswd -B", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d: malformed bcrypt hash", n)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("line %d: user %q appears twice", n, user)
		}
		users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return users, nil
}

// Challenge asks the browser for basic credentials.
func (h *Htpasswd) Challenge() string { return `Basic realm="faultline", charset="UTF-8"` }

// Authenticate checks the request's basic credentials.
func (h *Htpasswd) Authenticate(r *http.Request) (string, error) {
	user, password, ok := r.BasicAuth()
	if !ok {
		return "", ErrUnauthenticated
	}
	return user, h.Verify(user, password)
}

// Verify checks a user's password: nil, or an error wrapping
// ErrUnauthenticated.
func (h *Htpasswd) Verify(user, password string) error {
	key := verifiedKey(user, password)
	now := h.now()
	h.mu.Lock()
	h.reloadIfChanged(now)
	if exp, ok := h.verified[key]; ok && now.Before(exp) {
		h.mu.Unlock()
		return nil
	}
	hash, known := h.users[user]
	if !known {
		hash = h.dummy
	}
	stamp := h.stamp
	h.mu.Unlock()

	// bcrypt outside the lock: verifications of several users run at once.
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil || !known {
		return ErrUnauthenticated
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stamp.same(stamp) { // the file changed meanwhile: the next request checks again
		return nil
	}
	if len(h.verified) >= maxVerified {
		for k, exp := range h.verified {
			if !now.Before(exp) {
				delete(h.verified, k)
			}
		}
		if len(h.verified) >= maxVerified {
			clear(h.verified)
		}
	}
	h.verified[key] = now.Add(CacheTTL)
	return nil
}

// reloadIfChanged reads the file again when its size or modification time
// changed. A file that can no longer be read or parsed lets nobody in until
// it is fixed. Called with h.mu held.
func (h *Htpasswd) reloadIfChanged(now time.Time) {
	if now.Sub(h.checked) < ReloadCheck {
		return
	}
	h.checked = now
	info, err := os.Stat(h.path)
	if err == nil && h.stamp.same(fileStamp{info: info}) && h.reloadErr == nil {
		return
	}
	if err == nil {
		err = h.load()
	}
	if err != nil {
		if h.reloadErr == nil {
			h.log.Error("htpasswd file unusable: nobody can sign in until it is fixed", "path", h.path, "err", err)
		}
		h.reloadErr = err
		h.users, h.stamp = map[string][]byte{}, fileStamp{}
		clear(h.verified)
		return
	}
	if h.reloadErr != nil {
		h.log.Info("htpasswd file usable again", "path", h.path, "users", len(h.users))
	} else {
		h.log.Info("htpasswd file reloaded", "path", h.path, "users", len(h.users))
	}
	h.reloadErr = nil
}

func verifiedKey(user, password string) [32]byte {
	s := sha256.New()
	s.Write([]byte(user))
	s.Write([]byte{0})
	s.Write([]byte(password))
	var k [32]byte
	s.Sum(k[:0])
	return k
}

// TrustedHeader takes the user from a header that an authenticating proxy
// sets, only on requests whose TCP peer is one of the proxy's addresses.
// A request from any other address is forbidden, with or without the
// header: the console must then be reachable only through the proxy.
type TrustedHeader struct {
	header  string
	proxies []netip.Prefix
}

// NewTrustedHeader accepts header from peers in the CIDRs (a bare address
// is a /32 or /128).
func NewTrustedHeader(header string, cidrs []string) (*TrustedHeader, error) {
	header = strings.TrimSpace(header)
	if header == "" || strings.ContainsAny(header, " :\r\n") {
		return nil, fmt.Errorf("trusted header %q: want a header name like X-Forwarded-User", header)
	}
	if len(cidrs) == 0 {
		return nil, errors.New("a trusted header needs the proxies' addresses (--trusted-proxy CIDR)")
	}
	t := &TrustedHeader{header: http.CanonicalHeaderKey(header)}
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: want a CIDR like 10.0.0.0/8 or an address", c)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		t.proxies = append(t.proxies, p.Masked())
	}
	return t, nil
}

// Challenge is none: the proxy authenticates.
func (t *TrustedHeader) Challenge() string { return "" }

// Authenticate takes the user from the header when the peer is a proxy.
func (t *TrustedHeader) Authenticate(r *http.Request) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "", fmt.Errorf("%w: peer address %q", ErrForbidden, r.RemoteAddr)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("%w: peer address %q", ErrForbidden, r.RemoteAddr)
	}
	addr = addr.Unmap()
	trusted := false
	for _, p := range t.proxies {
		if p.Contains(addr) {
			trusted = true
			break
		}
	}
	if !trusted {
		return "", fmt.Errorf("%w: %s is not a trusted proxy", ErrForbidden, addr)
	}
	values := r.Header.Values(t.header)
	if len(values) != 1 || strings.TrimSpace(values[0]) == "" {
		return "", fmt.Errorf("%w: the proxy sent no single %s header", ErrForbidden, t.header)
	}
	user := strings.TrimSpace(values[0])
	if len(user) > 256 || !utf8.ValidString(user) || strings.IndexFunc(user, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("%w: unusable %s header", ErrForbidden, t.header)
	}
	return user, nil
}
