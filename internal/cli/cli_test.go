package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestWindowRules(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 37, 42, 0, time.UTC)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v.UTC()
	}
	day := Span{Length: 24 * time.Hour}
	minutes := Span{Length: 15 * time.Minute, Step: time.Minute}
	tests := []struct {
		name     string
		w        Window
		span     Span
		from, to time.Time
		err      []string // substrings of a usage error
	}{
		{name: "defaults: the length before now", span: day, from: now.Add(-24 * time.Hour), to: now},
		{name: "--from alone ends now", w: Window{From: "2026-11-01T00:00:00Z"}, span: day, from: at("2026-11-01T00:00:00Z"), to: now},
		{name: "--to alone starts the length before it", w: Window{To: "2026-11-01T12:00:00Z"}, span: day, from: at("2026-10-31T12:00:00Z"), to: at("2026-11-01T12:00:00Z")},
		{name: "an offset is taken to UTC", w: Window{From: "2026-11-01T05:00:00-05:00", To: "2026-11-01T13:00:00+02:00"}, span: day, from: at("2026-11-01T10:00:00Z"), to: at("2026-11-01T11:00:00Z")},
		{name: "seconds kept without a step", w: Window{From: "2026-11-01T10:00:30Z", To: "2026-11-01T10:00:50Z"}, span: day, from: at("2026-11-01T10:00:30Z"), to: at("2026-11-01T10:00:50Z")},
		{name: "from after to", w: Window{From: "2026-11-02T00:00:00Z", To: "2026-11-01T00:00:00Z"}, span: day, err: []string{"--from (2026-11-02T00:00:00Z) must be before --to (2026-11-01T00:00:00Z)"}},
		{name: "from equal to to", w: Window{From: "2026-11-01T00:00:00Z", To: "2026-11-01T00:00:00Z"}, span: day, err: []string{"--from", "before --to"}},
		{name: "not RFC 3339", w: Window{From: "yesterday"}, span: day, err: []string{`--from "yesterday": want RFC 3339`}},
		{name: "a date alone is not RFC 3339", w: Window{To: "2026-11-01"}, span: day, err: []string{`--to "2026-11-01"`}},
		{name: "minutes: defaults to the minute", span: minutes, from: at("2026-11-02T10:22:00Z"), to: at("2026-11-02T10:37:00Z")},
		{name: "minutes: both ends to their minute", w: Window{From: "2026-11-01T10:00:30Z", To: "2026-11-01T10:01:10Z"}, span: minutes, from: at("2026-11-01T10:00:00Z"), to: at("2026-11-01T10:01:00Z")},
		{name: "minutes: less than a minute within one", w: Window{From: "2026-11-01T10:00:10Z", To: "2026-11-01T10:00:50Z"}, span: minutes, err: []string{"--from (2026-11-01T10:00:00Z) must be before --to (2026-11-01T10:00:00Z), both taken to the start of their minute"}},
		{name: "open: everything", span: Span{}},
		{name: "open: --from alone", w: Window{From: "2026-11-01T00:00:00Z"}, from: at("2026-11-01T00:00:00Z")},
		{name: "open: --to alone", w: Window{To: "2026-11-01T00:00:00Z"}, to: at("2026-11-01T00:00:00Z")},
		{name: "open: both, in order", w: Window{From: "2026-11-02T00:00:00Z", To: "2026-11-01T00:00:00Z"}, err: []string{"--from", "before --to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to, err := tt.w.Resolve(now, tt.span)
			if tt.err != nil {
				var usage UsageError
				require.ErrorAs(t, err, &usage)
				for _, want := range tt.err {
					require.ErrorContains(t, err, want)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.from, from)
			require.Equal(t, tt.to, to)
			require.Equal(t, time.UTC, from.Location())
		})
	}
}

// testCmd is a command of testLine that returns its flag's error.
type testCmd struct {
	Fail string `name:"fail" enum:",usage,other,mapped" default:""`
}

func (c *testCmd) Run(ctx context.Context, log *slog.Logger) error {
	log.Info("running")
	switch c.Fail {
	case "usage":
		return Usagef("--fail %s: %w", c.Fail, errors.New("bad"))
	case "other":
		return errors.New("failed")
	case "mapped":
		return errMapped
	}
	return nil
}

var errMapped = errors.New("mapped")

type testLine struct {
	Globals
	Do testCmd `cmd:""`
}

func TestProgramExitStatuses(t *testing.T) {
	p := Program{Name: "prog", ExitCode: func(err error) int {
		if errors.Is(err, errMapped) {
			return 3
		}
		return 0
	}}
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"do"}, 0, `"msg":"running"`},
		{[]string{"do", "--fail", "usage"}, 2, "prog: --fail usage: bad\n"},
		{[]string{"do", "--fail", "other"}, 1, "prog: failed\n"},
		{[]string{"do", "--fail", "mapped"}, 3, "prog: mapped\n"},
		{[]string{"do", "--bogus"}, 2, "prog: unknown flag --bogus"},
		{[]string{"do", "--log-level", "error"}, 0, ""},
	} {
		var stderr bytes.Buffer
		code := p.run(context.Background(), &testLine{}, tt.args, &stderr)
		require.Equal(t, tt.code, code, "%v: %s", tt.args, stderr.String())
		if tt.stderr == "" {
			require.Empty(t, stderr.String(), "--log-level error hides info")
		} else {
			require.Contains(t, stderr.String(), tt.stderr, tt.args)
		}
	}
}

func TestDatabaseNeverShowsItsPassword(t *testing.T) {
	ctx := context.Background()
	log := Logger(io.Discard, "info")
	_, err := (&Database{}).Open(ctx, log)
	var usage UsageError
	require.ErrorAs(t, err, &usage)
	require.ErrorContains(t, err, "--database-url")

	for _, url := range []string{
		"host=127.0.0.1 port=1 user=x password=hunter2 connect_timeout=1",
		"postgres://x:hunter2@127.0.0.1:1/db?connect_timeout=1",
	} {
		d := &Database{DatabaseURL: url}
		_, err := d.OpenCurrent(ctx, log)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
		require.NotContains(t, d.Display(), "hunter2")
	}
}

func TestServeHTTP(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "faultline_test_total", Help: "A test."})
	reg.MustRegister(c)
	c.Add(3)
	var logs bytes.Buffer
	stop, err := ServeHTTP("127.0.0.1:0", reg, map[string]http.HandlerFunc{"/healthz": OK}, Logger(&logs, "info"))
	require.NoError(t, err)
	defer stop()
	addr := regexp.MustCompile(`"msg":"serving http","addr":"([^"]+)"`).FindStringSubmatch(logs.String())
	require.NotNil(t, addr, logs.String())
	get := func(path string) string {
		resp, err := http.Get("http://" + addr[1] + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return string(body)
	}
	require.Equal(t, "ok\n", get("/healthz"))
	require.Contains(t, get("/metrics"), "faultline_test_total 3\n")

	_, err = ServeHTTP(addr[1], reg, nil, Logger(io.Discard, "info"))
	var usage UsageError
	require.ErrorAs(t, err, &usage, "an address in use")
	require.ErrorContains(t, err, "--http-addr "+addr[1])
}

func TestCatalogDir(t *testing.T) {
	cats, err := (&CatalogDir{}).Catalogs()
	require.NoError(t, err)
	require.Contains(t, cats.Providers(), "finix")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte("provider: acme\ndialect: nonsense\n"), 0o600))
	_, err = (&CatalogDir{CatalogDir: dir}).Catalogs()
	var usage UsageError
	require.ErrorAs(t, err, &usage)
	require.ErrorContains(t, err, "--catalog-dir "+dir)
}
