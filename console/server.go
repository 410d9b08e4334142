package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServerOptions say where and how the console listens.
type ServerOptions struct {
	// Addr is HOST:PORT. It must be a loopback address unless
	// AllowNonLoopback is set.
	Addr             string
	AllowNonLoopback bool
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert, TLSKey string
	// ShutdownTimeout bounds how long requests in flight may take to finish
	// once ctx is cancelled (default 10 s).
	ShutdownTimeout time.Duration
	Log             *slog.Logger
	// Listening, when set, is called with the address listened on (useful
	// with port 0).
	Listening func(net.Addr)
}

// Timeouts and limits of the server: a slow or malicious client holds a
// connection for seconds, not forever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// CheckAddr refuses an address that is not HOST:PORT, and one that is not
// loopback unless allowNonLoopback (an empty host listens on every
// interface: not loopback).
func CheckAddr(addr string, allowNonLoopback bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return fmt.Errorf("address %q: want HOST:PORT like 127.0.0.1:8080", addr)
	}
	if allowNonLoopback || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not loopback: the console listens on loopback (127.0.0.1, ::1, localhost) unless --allow-non-loopback is given", addr)
}

// TLSEnabled reports whether o asks for TLS, and refuses half a pair.
func (o *ServerOptions) TLSEnabled() (bool, error) {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return false, errors.New("TLS needs both a certificate and a key (--tls-cert and --tls-key)")
	}
	return o.TLSCert != "", nil
}

// ListenAndServe serves h on o.Addr until ctx is cancelled, then stops
// accepting connections, lets the requests in flight finish (up to
// o.ShutdownTimeout) and returns nil.
func ListenAndServe(ctx context.Context, o ServerOptions, h http.Handler) error {
	if err := CheckAddr(o.Addr, o.AllowNonLoopback); err != nil {
		return err
	}
	useTLS, err := o.TLSEnabled()
	if err != nil {
		return err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if useTLS {
		// Loaded now, so that a bad pair is an error at start, not at the
		// first connection.
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	log.Info("console listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String()+"/")
	if o.Listening != nil {
		o.Listening(ln.Addr())
	}
	served := make(chan error, 1)
	go func() {
		if useTLS {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	log.Info("console shutting down: finishing the requests in flight", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("console stopped")
	return nil
}
