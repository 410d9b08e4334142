package console_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/faultline-dev/faultline/console"
)

// The Content Security Policies the console promises.
const (
	cspPages  = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	cspWeekly = "default-src 'none'; style-src 'unsafe-inline'; script-src 'none'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))

	t.Run("no credentials: 401 with a basic challenge", func(t *testing.T) {
		for _, path := range []string{"/", "/lookup?id=req_01j2abc", "/alerts", "/weekly", "/provider/finix", "/static/console.css", "/nowhere",
			"/search?tenant=acme-foods&from=2026-11-01", "/groups?window=7d", "/groups/4e807c418f70f546", "/alerts?status=firing"} {
			resp, body := get(t, srv, path, "", "")
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
			require.Equal(t, `Basic realm="faultline", charset="UTF-8"`, resp.Header.Get("WWW-Authenticate"), path)
			require.NotContains(t, body, "req_01j2abc", path)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		resp, _ := get(t, srv, "/", "support", "Correct horse battery staple")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	t.Run("unknown user", func(t *testing.T) {
		resp, _ := get(t, srv, "/", "mallory", supportPassword)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	t.Run("a user of the file", func(t *testing.T) {
		for _, u := range []struct{ user, password string }{{"support", supportPassword}, {"oncall", oncallPassword}} {
			resp, body := get(t, srv, "/", u.user, u.password)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, "signed in as "+u.user)
			// Again: the verification is remembered, the answer the same.
			resp, _ = get(t, srv, "/", u.user, u.password)
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	})
	t.Run("healthz needs no credentials", func(t *testing.T) {
		resp, body := get(t, srv, "/healthz", "", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "ok\n", body)
	})

	header := func(t *testing.T, cidrs ...string) *httptest.Server {
		auth, err := console.NewTrustedHeader("X-Forwarded-User", cidrs)
		require.NoError(t, err)
		o := f.options(t)
		o.Auth = auth
		return f.server(t, o)
	}
	getAs := func(t *testing.T, srv *httptest.Server, user string) (*http.Response, string) {
		req, err := http.NewRequestWithContext(testCtx(t), http.MethodGet, srv.URL+"/alerts", nil)
		require.NoError(t, err)
		if user != "" {
			req.Header.Set("X-Forwarded-User", user)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, readAll(t, resp))
		return resp, b.String()
	}
	t.Run("trusted header from a trusted proxy", func(t *testing.T) {
		srv := header(t, "10.0.0.0/8", "127.0.0.1/32")
		resp, body := getAs(t, srv, "alice@example.com")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "signed in as alice@example.com")
		resp, _ = getAs(t, srv, "")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "no header from the proxy: refused")
	})
	t.Run("trusted header from another peer is refused", func(t *testing.T) {
		srv := header(t, "10.0.0.0/8", "::1")
		resp, body := getAs(t, srv, "alice@example.com")
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.NotContains(t, body, "alice")
		require.Empty(t, resp.Header.Get("WWW-Authenticate"))
	})
	t.Run("basic credentials mean nothing to a trusted-header console", func(t *testing.T) {
		srv := header(t, "10.0.0.0/8")
		resp, _ := get(t, srv, "/", "support", supportPassword)
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
	t.Run("trusted header configuration", func(t *testing.T) {
		_, err := console.NewTrustedHeader("X-Forwarded-User", nil)
		require.ErrorContains(t, err, "--trusted-proxy")
		_, err = console.NewTrustedHeader("X-Forwarded-User", []string{"10.0.0.0/33"})
		require.ErrorContains(t, err, `"10.0.0.0/33"`)
		_, err = console.NewTrustedHeader("X Forwarded", []string{"10.0.0.1"})
		require.ErrorContains(t, err, "header name")
	})
}

func readAll(t testing.TB, resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	alert := fmt.Sprint(f.resolved.ID)
	for _, tc := range []struct {
		path   string
		auth   bool
		status int
	}{
		{"/", true, 200},
		{"/", false, 401},
		{"/healthz", false, 200},
		{"/lookup", true, 200},
		{"/lookup?id=req_01j2abc", true, 200},
		{"/lookup?id=nope", true, 404},
		{"/lookup?id=x&from=yesterday", true, 400},
		{"/alerts", true, 200},
		{"/alerts/" + alert, true, 200},
		{"/alerts/999999", true, 404},
		{"/weekly?week=2026-W46", true, 200},
		{"/weekly?week=2026-46", true, 400},
		{"/provider", true, 200},
		{"/provider/finix", true, 200},
		{"/provider/acme", true, 404},
		{"/provider/finix?window=365d", true, 400},
		{"/search", true, 200},
		{"/search?tenant=acme-foods&from=2026-11-01", true, 200},
		{"/search?code=x", true, 400},
		{"/groups", true, 200},
		{"/groups?window=7d&sort=new", true, 200},
		{"/groups?window=1y", true, 400},
		{"/groups/0123456789abcdef", true, 404},
		{"/alerts?status=resolved&window=30d", true, 200},
		{"/alerts?rule=nope", true, 400},
		{"/static/console.css", true, 200},
		{"/static/copy.js", true, 200},
		{"/static/missing.css", true, 404},
		{"/static/console.css", false, 401},
		{"/nowhere", true, 404},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.path, tc.status), func(t *testing.T) {
			user, password := "", ""
			if tc.auth {
				user, password = "support", supportPassword
			}
			resp, _ := get(t, srv, tc.path, user, password)
			require.Equal(t, tc.status, resp.StatusCode)
			h := resp.Header
			want := cspPages
			if strings.HasPrefix(tc.path, "/weekly") && tc.status == 200 {
				want = cspWeekly
			}
			require.Equal(t, want, h.Get("Content-Security-Policy"))
			require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			require.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			require.Equal(t, "DENY", h.Get("X-Frame-Options"))
			require.Empty(t, h.Get("Strict-Transport-Security"), "no HSTS over plain HTTP")
			if strings.HasPrefix(tc.path, "/static/") && tc.status == 200 {
				require.Equal(t, "public, max-age=3600", h.Get("Cache-Control"))
			} else {
				require.Equal(t, "no-store", h.Get("Cache-Control"))
			}
			if tc.status != 200 || !strings.HasPrefix(tc.path, "/static/") && tc.path != "/healthz" {
				require.Regexp(t, `^app;dur=[0-9]+\.[0-9]{2}$`, h.Get("Server-Timing"), "pages say how long they took")
			}
		})
	}
	// The console is read-only: other methods are not allowed, anywhere.
	for _, path := range []string{"/lookup", "/alerts", "/nowhere", "/static/console.css", "/search", "/groups", "/groups/0123456789abcdef", "/alerts/1"} {
		t.Run("POST "+path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, srv.URL+path, strings.NewReader("id=req_01j2abc"))
			require.NoError(t, err)
			req.SetBasicAuth("support", supportPassword)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
			require.Contains(t, resp.Header.Get("Allow"), "GET")
			require.Equal(t, cspPages, resp.Header.Get("Content-Security-Policy"))
			require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
		})
	}
}

func TestLookupPage(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	lookup := func(t *testing.T, query string) (*http.Response, string) {
		return get(t, srv, "/lookup?"+query, "support", supportPassword)
	}

	t.Run("the empty form", func(t *testing.T) {
		resp, body := lookup(t, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `<textarea id="ids" name="ids"`)
		require.NotContains(t, body, `id="summary"`)
	})
	t.Run("found, with the escalation block", func(t *testing.T) {
		resp, body := lookup(t, "id=req_01j2abc")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, want := range []string{
			`1 event found for &#34;req_01j2abc&#34;, searched in every stored event.`,
			`<code>req_01j2abc</code> as correlation_id`,
			`2026-11-10 09:00:00.000 UTC`,
			`<code>token_expired</code>`,
			`auth_expired; not retryable; documented`,
			`JWT exp claim has passed.`,
			`Re-mint a token.`,
			"escalation: paste to finterra support\n  request_id: req_01j2abc\n  time: 2026-11-10T09:00:00.000Z\n  endpoint: POST /pos/v1/orders/{id}/payments\n  status: 401\n  code: token_expired\n",
			`data-copy="escalation-1" hidden>Copy</button>`,
		} {
			require.Contains(t, body, want)
		}
	})
	t.Run("several ids, newest first", func(t *testing.T) {
		resp, body := lookup(t, "id=trace-aaa&id=AUabc")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "2 events found for")
		finix, finterra := strings.Index(body, "paste to finix support"), strings.Index(body, "paste to finterra support")
		require.True(t, finix > 0 && finterra > finix, "finix (newer) before finterra")
		require.Contains(t, body, "  logref: d4ee0b6cdb67686f0c1ec0780e5b4296\n  authorization: AUabc\n")
	})
	t.Run("one per line in the text box", func(t *testing.T) {
		resp, body := lookup(t, "ids="+url.QueryEscape("req_01j2abc\r\n\r\n  chr-0001 \n req_01j2abc"))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "2 events found for &#34;req_01j2abc&#34;, &#34;chr-0001&#34;")
	})
	t.Run("one of two not found", func(t *testing.T) {
		resp, body := lookup(t, "id=req_01j2abc&id=nope")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, `Nothing found for: <code>nope</code>`)
	})
	t.Run("not found says what was searched", func(t *testing.T) {
		resp, body := lookup(t, "id=req_01j2abc&id=nope&from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:00Z")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Contains(t, body, `No event found for &#34;req_01j2abc&#34;, &#34;nope&#34;, searched from 2026-11-01T00:00:00Z to 2026-11-08T00:00:00Z.`)
	})
	t.Run("a window in the console's time zone", func(t *testing.T) {
		resp, body := lookup(t, "id=req_01j2abc&from=2026-11-10T08:59&to=2026-11-10")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "to is the day's midnight: before from")
		require.Contains(t, body, "From must be before To.")
		resp, body = lookup(t, "id=req_01j2abc&from=2026-11-10T08:59&to=2026-11-11")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, body, "searched from 2026-11-10T08:59:00Z to 2026-11-11T00:00:00Z")
	})
	t.Run("too many ids", func(t *testing.T) {
		var ids []string
		for i := range console.MaxIDs + 1 {
			ids = append(ids, fmt.Sprintf("id-%d", i))
		}
		resp, body := lookup(t, "ids="+url.QueryEscape(strings.Join(ids, "\n")))
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.Contains(t, body, "51 ids: at most 50 at once.")
	})
	t.Run("bad window", func(t *testing.T) {
		for query, want := range map[string]string{
			"id=x&from=yesterday": "From: &#34;yesterday&#34; is not a time",
			"id=x&to=2026-13-01":  "To: &#34;2026-13-01&#34; is not a time",
			"id=x&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z":    "From must be before To.",
			"ids=++&from=2026-11-02T00:00:00Z":                          "Type at least one id.",
			"id=" + url.QueryEscape(strings.Repeat("x", 600)):           "cannot be an id",
			"id=" + url.QueryEscape("bad\x00id") + "&from=2026-11-02":   "cannot be an id",
			"id=x&from=" + url.QueryEscape("<script>alert(1)</script>"): "From: &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; is not a time",
		} {
			resp, body := lookup(t, query)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, query)
			require.Contains(t, body, want, query)
			require.NotContains(t, body, "<script>alert(1)", query)
		}
	})
	t.Run("stored markup is escaped", func(t *testing.T) {
		resp, body := lookup(t, "id=req_xss")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, body, "<script>window")
		require.NotContains(t, body, "<img src=x")
		require.Contains(t, body, "&lt;script&gt;window.__pwned=1&lt;/script&gt;")
		require.Contains(t, body, "&lt;img src=x onerror=")
	})
}

func TestLookupRateLimitPerUser(t *testing.T) {
	f := newFixture(t)
	o := f.options(t)
	o.LookupRate, o.LookupBurst = rate.Every(time.Hour), 3
	srv := f.server(t, o)
	for i := range 3 {
		resp, _ := get(t, srv, "/lookup?id=req_01j2abc", "support", supportPassword)
		require.Equal(t, http.StatusOK, resp.StatusCode, "lookup %d of the burst", i+1)
	}
	resp, body := get(t, srv, "/lookup", "support", supportPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the empty form is not a lookup")
	require.NotContains(t, body, "Too many lookups")
	resp, body = get(t, srv, "/lookup?id=req_01j2abc", "support", supportPassword)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "3600", resp.Header.Get("Retry-After"))
	require.Contains(t, body, "Too many lookups: try again in 3600 s.")
	require.NotContains(t, body, "paste to finterra support")
	resp, _ = get(t, srv, "/lookup?id=req_01j2abc", "oncall", oncallPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode, "another user has an allowance of their own")
	resp, _ = get(t, srv, "/alerts", "support", supportPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode, "other pages are not limited")
}

func TestFailedSignInsAreThrottledPerAddress(t *testing.T) {
	f := newFixture(t)
	o := f.options(t)
	clock := now
	o.Now = func() time.Time { return clock }
	c, err := console.New(o)
	require.NoError(t, err)
	ask := func(addr, user, password string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(testCtx(t), http.MethodGet, "/", nil)
		req.RemoteAddr = addr + ":40000"
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec
	}
	const guesser, colleague = "192.0.2.7", "192.0.2.8"
	for range 15 {
		require.Equal(t, http.StatusUnauthorized, ask(guesser, "", "").Code, "a request without credentials is not a failed sign-in")
	}
	for i := range 10 {
		require.Equal(t, http.StatusUnauthorized, ask(guesser, "support", fmt.Sprint("guess ", i)).Code, "failed sign-in %d", i+1)
	}
	rec := ask(guesser, "support", supportPassword)
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "the 11th try is refused, even with the right password")
	require.Equal(t, "6", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Body.String(), "Too many failed sign-ins from this address")
	require.Equal(t, cspPages, rec.Header().Get("Content-Security-Policy"))
	require.Equal(t, http.StatusOK, ask(colleague, "support", supportPassword).Code, "another address is not held up")

	clock = clock.Add(6 * time.Second)
	require.Equal(t, http.StatusOK, ask(guesser, "support", supportPassword).Code, "one more try every 6 s")
	require.Equal(t, http.StatusUnauthorized, ask(guesser, "support", "guess again").Code, "a success takes no try")
	require.Equal(t, http.StatusTooManyRequests, ask(guesser, "support", supportPassword).Code, "the failure took it")
	clock = clock.Add(6 * time.Second)
	require.Equal(t, http.StatusUnauthorized, ask(guesser, "support", "guess again").Code)
	require.Equal(t, http.StatusTooManyRequests, ask(guesser, "support", supportPassword).Code)
}

func TestAlertPages(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))

	resp, body := get(t, srv, "/alerts", "support", supportPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	firing, recent := strings.Index(body, "Firing now"), strings.Index(body, "Since 2026-11-13 12:00 UTC")
	require.True(t, firing >= 0 && recent > firing, "firing first, then the past week")
	require.Contains(t, body[firing:recent], fmt.Sprintf(`<a href="/alerts/%d">expired_token_storm</a>`, f.firing.ID))
	require.Contains(t, body[firing:recent], "since 2026-11-20 11:00 UTC (firing)")
	require.Contains(t, body[recent:], fmt.Sprintf(`<a href="/alerts/%d">decline_spike</a>`, f.resolved.ID))
	require.Contains(t, body[recent:], "2026-11-14 13:08 to 13:48 UTC (40 min)")

	resp, body = get(t, srv, fmt.Sprintf("/alerts/%d", f.resolved.ID), "support", supportPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{
		"finix decline rate at 32% of requests (88 of 278 in 5m), 8.0× the expected 3.9%",
		`<strong id="tenants">3</strong> tenants affected`,
		`<a id="sample" href="/lookup?id=d4ee0b6cdb67686f0c1ec0780e5b4296">`,
		`<td><code>DECLINED</code></td><td><code>INSUFFICIENT_FUNDS</code></td><td class="n">80</td>`,
		`<code>POST /authorizations</code></td><td class="n">88</td>`,
		`href="/provider/finix?from=2026-11-14T12%3a08%3a00Z&amp;to=2026-11-14T14%3a48%3a00Z"`,
		`href="/weekly?week=2026-W46"`,
	} {
		require.Contains(t, body, want)
	}
	for _, path := range []string{"/alerts/999999", "/alerts/abc", "/alerts/-1"} {
		resp, body = get(t, srv, path, "support", supportPassword)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.Contains(t, body, "There is no alert with that id.")
	}
}

func TestWeeklyPage(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	base, err := url.Parse(srv.URL)
	require.NoError(t, err)
	link := console.WeeklyPageURL(base, "2026-W46") // what the mail and the chat message link to
	require.Equal(t, srv.URL+"/weekly?week=2026-W46", link)
	for _, path := range []string{"/weekly?week=2026-W46", "/weekly", strings.TrimPrefix(link, srv.URL)} { // the last complete week before now
		resp, body := get(t, srv, path, "support", supportPassword)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Contains(t, body, "<title>Weekly error report 2026-W46</title>")
		require.Contains(t, body, `<a id="previous-week" href="/weekly?week=2026-W45" rel="prev">`)
		require.Contains(t, body, `<a id="next-week" href="/weekly?week=2026-W47" rel="next">`)
		require.Contains(t, body, `<a href="#p-finix">finix</a>`)
		require.Contains(t, body, `<svg class="chart"`)
		require.Equal(t, 1, strings.Count(body, "<body>"))
	}
	resp, body := get(t, srv, "/weekly?week=2027-W01", "support", supportPassword)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `href="/weekly?week=2026-W53"`, "2026 has 53 ISO weeks")
	for _, week := range []string{"2026-46", "2025-W53", "W46", "2026-W46%3Cscript%3E"} {
		resp, body := get(t, srv, "/weekly?week="+week, "support", supportPassword)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, week)
		require.Contains(t, body, "Week: week", week)
		require.NotContains(t, body, "W46<script>")
	}
}

func TestProviderPage(t *testing.T) {
	f := newFixture(t)
	srv := f.server(t, f.options(t))
	page := func(t *testing.T, path string) (*http.Response, string) {
		return get(t, srv, path, "support", supportPassword)
	}
	summary := func(body string) string {
		i := strings.Index(body, `<p class="summary" id="summary">`)
		require.GreaterOrEqual(t, i, 0)
		j := strings.Index(body[i:], "</p>")
		return body[i : i+j]
	}

	for _, tc := range []struct{ name, path, want string }{
		{"a day, from the per-minute rollups", "/provider/finix?from=2026-11-11T00:00:00Z&to=2026-11-12T00:00:00Z",
			"2026-11-11 00:00 UTC to 2026-11-12 00:00 UTC: <strong>3</strong> requests, <strong>1</strong> errors, error rate <strong id=\"rate\">33.33%</strong>"},
		{"a week, from the hourly rollups", "/provider/finix?from=2026-11-09T00:00:00Z&to=2026-11-16T00:00:00Z",
			"<strong>3</strong> requests, <strong>1</strong> errors"},
		{"edges that cut hours, from both", "/provider/finterra?from=2026-11-19T07:30:00Z&to=2026-11-20T11:45:00Z",
			"<strong>2</strong> requests, <strong>1</strong> errors, error rate <strong id=\"rate\">50.00%</strong>"},
		{"an edge that leaves an event out", "/provider/finterra?from=2026-11-19T08:01:00Z&to=2026-11-20T11:45:00Z",
			"<strong>1</strong> requests, <strong>0</strong> errors"},
		{"the default window: the last 24 hours", "/provider/finterra",
			"2026-11-19 12:00 UTC to 2026-11-20 12:00 UTC: <strong>1</strong> requests, <strong>0</strong> errors"},
		{"a window in the URL", "/provider/finterra?window=7d",
			"2026-11-13 12:00 UTC to 2026-11-20 12:00 UTC: <strong>2</strong> requests, <strong>1</strong> errors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := page(t, tc.path)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, summary(body), tc.want)
		})
	}
	t.Run("categories, codes and charts", func(t *testing.T) {
		_, body := page(t, "/provider/finix?from=2026-11-11T00:00:00Z&to=2026-11-12T00:00:00Z")
		require.Contains(t, body, `decline</td><td class="n">1</td><td class="n">100.00%</td>`)
		require.Contains(t, body, `<td><code>DECLINED</code></td><td><code>INSUFFICIENT_FUNDS</code></td><td>decline</td><td class="n">1</td>`)
		require.Contains(t, body, `<svg class="chart" id="chart-requests"`)
		require.Contains(t, body, `<title>2026-11-11 10:00 UTC: 3 requests, 1 errors</title>`, "a bar per hour")
		require.Contains(t, body, `<title>2026-11-11 10:00 UTC: error rate 33.33% (1 of 3)</title>`)
		require.NotContains(t, body, "style=", "no inline style: the CSP forbids it")
	})
	t.Run("bad requests", func(t *testing.T) {
		for path, status := range map[string]int{
			"/provider/acme":              404,
			"/provider/finix?window=91d":  400,
			"/provider/finix?window=soon": 400,
			"/provider/finix?window=30s":  400,
			"/provider/finix?from=2026-11-12T00:00:00Z&to=2026-11-11T00:00:00Z": 400,
			"/provider/finix?from=2026-01-01T00:00:00Z&to=2026-11-11T00:00:00Z": 400,
			"/provider/finix?from=last+week":                                    400,
		} {
			resp, _ := page(t, path)
			require.Equal(t, status, resp.StatusCode, path)
		}
	})
}
