package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/faultline-dev/faultline/classify"
	"github.com/faultline-dev/faultline/report"
	"github.com/faultline-dev/faultline/store"
)

// Store is what the console reads (store.Store implements it).
type Store interface {
	report.EventFinder
	report.AlertLister
	report.RollupReader
	report.ProviderRollupReader
	report.EventSearcher
	report.GroupReader
	report.AlertHistoryReader
	report.IncidentReader
}

// Options configure a Console.
type Options struct {
	Store Store
	// Auth authenticates every request but /healthz (required).
	Auth Authenticator
	// Catalogs give lookups the providers' words and the provider page its
	// providers; nil is the built-in catalogs.
	Catalogs *classify.Catalogs
	// Location is where times are also shown and weeks counted; nil is UTC.
	Location *time.Location
	// LookupRate and LookupBurst limit each user's lookups (defaults 2 a
	// second, bursts of 20).
	LookupRate  rate.Limit
	LookupBurst int
	// HSTS adds Strict-Transport-Security (set it when serving TLS).
	HSTS bool
	// Log receives one line per request (nil: discarded).
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultLookupRate  = 2
	DefaultLookupBurst = 20
	// MaxIDs is the most ids one lookup takes.
	MaxIDs = 50
	// lookupLimit is the most events a lookup lists.
	lookupLimit = store.DefaultLookupLimit
	// A client address may fail to sign in failedSignInBurst times, then
	// once more every 6 s; beyond that its sign-ins are refused (429)
	// without checking the password: guessing passwords costs the console a
	// bcrypt comparison each, on purpose, and must cost the guesser time.
	failedSignInBurst = 10
	failedSignInRate  = rate.Limit(1.0 / 6)
)

// Console is the web console: an http.Handler.
type Console struct {
	o         Options
	cats      *classify.Catalogs
	providers []string
	handler   http.Handler
	limits    *keyedLimits // lookups by user
	signIns   *keyedLimits // failed sign-ins by client address
	weeklies  *ttlCache[string, []byte]
	days      *ttlCache[providerDayKey, store.ProviderDay]
	groupDays *ttlCache[time.Time, []store.GroupHour]
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New checks o and returns the console.
func New(o Options) (*Console, error) {
	if o.Store == nil {
		return nil, errors.New("console: no store")
	}
	if o.Auth == nil {
		return nil, errors.New("console: no authentication: give an htpasswd file or a trusted header")
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LookupRate == 0 {
		o.LookupRate = DefaultLookupRate
	}
	if o.LookupBurst == 0 {
		o.LookupBurst = DefaultLookupBurst
	}
	if o.LookupRate < 0 || o.LookupBurst < 0 {
		return nil, fmt.Errorf("console: lookup rate %v and burst %d must be positive", o.LookupRate, o.LookupBurst)
	}
	cats := o.Catalogs
	if cats == nil {
		var err error
		if cats, err = classify.BuiltinCatalogs(); err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
	}
	c := &Console{o: o, cats: cats, providers: append(cats.Providers(), "other"),
		limits:    newKeyedLimits(o.LookupRate, o.LookupBurst),
		signIns:   newKeyedLimits(failedSignInRate, failedSignInBurst),
		weeklies:  newTTLCache[string, []byte](weeklyCacheTTL, maxCachedWeeks),
		days:      newTTLCache[providerDayKey, store.ProviderDay](dayCacheTTL, maxCachedDays),
		groupDays: newTTLCache[time.Time, []store.GroupHour](dayCacheTTL, maxCachedGroupDays)}
	c.handler = c.routes()
	return c, nil
}

// WeeklyPageURL is the address of the page of an ISO week's report (like
// 2026-W46) in the console served at base: what the weekly report's mail
// and chat message link to.
func WeeklyPageURL(base *url.URL, week string) string {
	u := base.JoinPath("weekly")
	u.RawQuery = url.Values{"week": {week}}.Encode()
	u.Fragment = ""
	return u.String()
}

// AlertPageURL is the address of an alert's page in the console served at
// base, at its incident escalation box: what the Alertmanager annotation
// links to.
func AlertPageURL(base *url.URL, id int64) string {
	u := base.JoinPath("alerts", strconv.FormatInt(id, 10))
	u.RawQuery = ""
	u.Fragment = "escalation"
	return u.String()
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.index)
	mux.HandleFunc("GET /lookup", c.lookup)
	mux.HandleFunc("GET /search", c.search)
	mux.HandleFunc("GET /groups", c.groups)
	mux.HandleFunc("GET /groups/{id}", c.group)
	mux.HandleFunc("GET /alerts", c.alerts)
	mux.HandleFunc("GET /alerts/{id}", c.alert)
	mux.HandleFunc("GET /weekly", c.weekly)
	mux.HandleFunc("GET /provider", c.providerList)
	mux.HandleFunc("GET /provider/{name}", c.provider)
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, err := fs.Stat(static, strings.TrimPrefix(r.URL.Path, "/static/")); err != nil || info.IsDir() {
			c.fail(w, r, http.StatusNotFound, "There is no page at this address.")
			return
		}
		// Static files hold no data: they may be cached.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	// GET only: any other method at any path is 405 Method Not Allowed.
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "There is no page at this address.")
	})

	health := http.NewServeMux()
	health.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	health.Handle("/", c.authenticate(mux))
	return c.securityHeaders(c.accessLog(health))
}

// Content Security Policies: the console's pages load their stylesheet
// and script from the console and nothing else; the weekly report, one
// self-contained document, has an inline stylesheet and inline style
// attributes, and no script at all.
const (
	cspPages  = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	cspWeekly = "default-src 'none'; style-src 'unsafe-inline'; script-src 'none'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// securityHeaders sets the security headers of every response (errors and
// static files included); pages are not cached.
func (c *Console) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", cspPages)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if c.o.HSTS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// reqInfo is what the middleware learns of a request, for the access log
// and the Server-Timing header.
type reqInfo struct {
	start time.Time
	user  string
}

type infoKey struct{}

func info(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{start: time.Now()}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// accessLog logs one line per request: the route's pattern (never the
// query string, nor any header), the status, the user and the duration.
func (c *Console) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := &reqInfo{start: time.Now()}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, i))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		c.o.Log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", route), slog.Int("status", sw.status),
			slog.String("user", i.user), slog.Float64("ms", float64(time.Since(i.start).Microseconds())/1000))
	})
}

// authenticate answers 401 or 403 unless the request is from a user, and
// 429 to a client address that failed to sign in too often.
func (c *Console) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientAddress(r)
		now := c.o.Now()
		if blocked, wait := c.signIns.exhausted(client, now); blocked {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			c.fail(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from this address: try again in %d s.", secs))
			return
		}
		user, err := c.o.Auth.Authenticate(r)
		if err != nil {
			if r.Header.Get("Authorization") != "" { // a wrong password, not a browser's first request
				c.signIns.allow(client, now)
			}
			if errors.Is(err, ErrForbidden) {
				c.o.Log.Warn("request refused", "err", err)
				c.fail(w, r, http.StatusForbidden, "This console cannot be reached this way.")
				return
			}
			if ch := c.o.Auth.Challenge(); ch != "" {
				w.Header().Set("WWW-Authenticate", ch)
			}
			c.fail(w, r, http.StatusUnauthorized, "Sign in to use the console.")
			return
		}
		info(r).user = user
		next.ServeHTTP(w, r)
	})
}

// clientAddress is the request's TCP peer without its port.
func clientAddress(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// page is what every page template gets.
type page struct {
	Title string
	User  string
	Nav   string // the section highlighted in the navigation
	Data  any
}

// render executes a page's template into a buffer and writes it with its
// status and a Server-Timing header: a template that fails leaves a clean
// 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, tmpl *template.Template, p page) {
	p.User = info(r).user
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.o.Log.Error("rendering a page failed", "route", r.Pattern, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	c.write(w, r, status, "text/html; charset=utf-8", buf.Bytes())
}

// write writes a whole response with its Server-Timing header: how long
// the server took, from the request's arrival to now.
func (c *Console) write(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Server-Timing", fmt.Sprintf("app;dur=%.2f", float64(time.Since(info(r).start).Microseconds())/1000))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fail answers an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	c.render(w, r, status, pages.errorPage, page{Title: http.StatusText(status), Data: message})
}

// failStore answers a store error: 503 when the database is unavailable,
// 500 otherwise; the error goes to the log, not to the page.
func (c *Console) failStore(w http.ResponseWriter, r *http.Request, err error) {
	c.o.Log.Error("reading the database failed", "route", r.Pattern, "err", err)
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		c.fail(w, r, http.StatusServiceUnavailable, "The database cannot be reached now; try again in a moment.")
		return
	}
	c.fail(w, r, http.StatusInternalServerError, "Something went wrong reading the database; it is in the server's log.")
}

// keyedLimits are token buckets by key: lookups by user, failed sign-ins by
// client address.
type keyedLimits struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newKeyedLimits(limit rate.Limit, burst int) *keyedLimits {
	return &keyedLimits{limit: limit, burst: burst, keys: map[string]*rate.Limiter{}}
}

// limiter returns key's bucket, made full when new. Called with l.mu held.
func (l *keyedLimits) limiter(key string, now time.Time) *rate.Limiter {
	u := l.keys[key]
	if u == nil {
		if len(l.keys) >= 10000 { // forget keys idle long enough to have a full allowance again
			for k, v := range l.keys {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.keys, k)
				}
			}
		}
		u = rate.NewLimiter(l.limit, l.burst)
		l.keys[key] = u
	}
	return u
}

// allow takes one token from key's allowance; when there is none left it
// returns how long until there is.
func (l *keyedLimits) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := l.limiter(key, now).ReserveN(now, 1)
	if !res.OK() {
		return false, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// exhausted reports whether key has no token left, without taking one,
// and how long until it has.
func (l *keyedLimits) exhausted(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.keys[key]
	if !ok {
		return false, 0
	}
	if tokens := u.TokensAt(now); tokens < 1 {
		return true, time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
	}
	return false, 0
}
