package console_test

import (
	"context"
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
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/internal/testwait"
)

func TestCheckAddrRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "127.0.0.2:0", "[::1]:8080", "localhost:8080"} {
		require.NoError(t, console.CheckAddr(addr, false), addr)
	}
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "[::]:8080", "192.168.1.10:8080", "console.example.com:443"} {
		err := console.CheckAddr(addr, false)
		require.ErrorContains(t, err, "is not loopback", addr)
		require.ErrorContains(t, err, "--allow-non-loopback", addr)
		require.NoError(t, console.CheckAddr(addr, true), addr)
	}
	for _, addr := range []string{"127.0.0.1", "8080", "127.0.0.1:", ""} {
		require.ErrorContains(t, console.CheckAddr(addr, true), "want HOST:PORT", addr)
	}
	// ListenAndServe checks too, before listening.
	err := console.ListenAndServe(context.Background(), console.ServerOptions{Addr: "0.0.0.0:0"}, http.NotFoundHandler())
	require.ErrorContains(t, err, "is not loopback")
}

// serve runs ListenAndServe until the test ends and returns the address it
// listens on and its result.
func serve(t *testing.T, ctx context.Context, o console.ServerOptions, h http.Handler) (string, <-chan error) {
	t.Helper()
	listening := make(chan net.Addr, 1)
	o.Listening = func(a net.Addr) { listening <- a }
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	done := make(chan error, 1)
	go func() { done <- console.ListenAndServe(ctx, o, h) }()
	select {
	case a := <-listening:
		return a.String(), done
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	case <-ctx.Done():
		t.Fatal("the console did not start listening")
	}
	return "", nil
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultline console test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	f := newFixture(t)
	o := f.options(t)
	o.HSTS = true
	c, err := console.New(o)
	require.NoError(t, err)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())

	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	addr, done := serve(t, ctx, console.ServerOptions{TLSCert: certFile, TLSKey: keyFile}, c)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/alerts", nil)
	require.NoError(t, err)
	req.SetBasicAuth("support", supportPassword)
	resp, err := client.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "expired_token_storm")
	require.NotNil(t, resp.TLS)
	require.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))

	// Plain HTTP to the TLS port gets no page.
	resp, err = http.Get("http://" + addr + "/alerts")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		require.NotContains(t, string(body), "expired_token_storm")
	}

	cancel()
	require.NoError(t, <-done)

	t.Run("half a pair or a bad pair is refused", func(t *testing.T) {
		err := console.ListenAndServe(context.Background(), console.ServerOptions{Addr: "127.0.0.1:0", TLSCert: certFile}, c)
		require.ErrorContains(t, err, "both a certificate and a key")
		err = console.ListenAndServe(context.Background(), console.ServerOptions{Addr: "127.0.0.1:0", TLSCert: keyFile, TLSKey: certFile}, c)
		require.ErrorContains(t, err, "tls:")
	})
}

func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	addr, done := serve(t, ctx, console.ServerOptions{}, h)

	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-entered
	cancel() // SIGINT/SIGTERM in report serve

	// The listener closes: new connections are refused while the request
	// in flight goes on.
	testwait.Until(t, 10*time.Second, "the listener to close", func() bool {
		select {
		case err := <-done:
			t.Fatalf("returned before the request in flight finished: %v", err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			var opErr *net.OpError
			require.True(t, errors.As(err, &opErr), "%v", err)
			return true
		}
		conn.Close()
		return false
	})
	select {
	case err := <-done:
		t.Fatalf("returned before the request in flight finished: %v", err)
	default:
	}
	close(release)
	res := <-inflight
	require.NoError(t, res.err)
	require.Equal(t, "finished", res.body, "the request in flight completed")
	require.NoError(t, <-done)
}
