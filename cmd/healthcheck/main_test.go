package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHealthcheck(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not ready: consumer not running", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// A port nothing listens on: bound, then closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/healthz"
	require.NoError(t, ln.Close())

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"healthy", []string{srv.URL + "/healthz"}, 0, ""},
		{"not ready", []string{srv.URL + "/readyz"}, 1, "503 Service Unavailable: \"not ready: consumer not running\\n\""},
		{"not found", []string{srv.URL + "/nope"}, 1, "404 Not Found"},
		{"nothing listening", []string{closed}, 1, "connection refused"},
		{"no answer in time", []string{"--timeout", "100ms", srv.URL + "/hang"}, 1, "context deadline exceeded"},
		{"not a URL", []string{"127.0.0.1:9464/healthz"}, 2, "is not an http:// or https:// URL"},
		{"no URL", nil, 2, "expected \"<url>\""},
		{"negative timeout", []string{"--timeout=-1s", srv.URL + "/healthz"}, 2, "--timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			require.Equal(t, tc.code, run(tc.args, &stderr), stderr.String())
			if tc.stderr == "" {
				require.Empty(t, stderr.String())
			} else {
				require.Contains(t, stderr.String(), tc.stderr)
			}
		})
	}
}
