package main

import (
	"context"
	"log/slog"

	"golang.org/x/time/rate"

	"github.com/faultline-dev/faultline/console"
	"github.com/faultline-dev/faultline/internal/cli"
)

// serveCmd is `report serve`: the web console.
type serveCmd struct {
	sourceFlags
	tzFlag
	Addr             string   `name:"addr" default:"127.0.0.1:8080" help:"Listen on HOST:PORT (loopback unless --allow-non-loopback)."`
	AllowNonLoopback bool     `name:"allow-non-loopback" help:"Allow --addr to be an address other machines can reach."`
	Htpasswd         string   `name:"htpasswd" type:"existingfile" help:"Authenticate with HTTP basic auth against this htpasswd file of bcrypt hashes (htpasswd -B); read again when it changes."`
	TrustedHeader    string   `name:"trusted-header" help:"Authenticate by this header (e.g. X-Forwarded-User) set by an authenticating proxy, accepted only from --trusted-proxy addresses."`
	TrustedProxy     []string `name:"trusted-proxy" help:"CIDR (or address) of the authenticating proxy; repeatable. Requests from elsewhere are refused."`
	TLSCert          string   `name:"tls-cert" type:"existingfile" help:"Serve HTTPS with this PEM certificate (with --tls-key)."`
	TLSKey           string   `name:"tls-key" type:"existingfile" help:"PEM private key of --tls-cert."`
	LookupRate       float64  `name:"lookup-rate" default:"${lookup_rate}" help:"Lookups per second allowed to each user, on average."`
	LookupBurst      int      `name:"lookup-burst" default:"${lookup_burst}" help:"Lookups each user may make at once before --lookup-rate applies."`
}

func (cmd *serveCmd) Run(ctx context.Context, log *slog.Logger) error {
	auth, err := cmd.auth(log)
	if err != nil {
		return err
	}
	so := console.ServerOptions{Addr: cmd.Addr, AllowNonLoopback: cmd.AllowNonLoopback, TLSCert: cmd.TLSCert, TLSKey: cmd.TLSKey, Log: log}
	if err := console.CheckAddr(cmd.Addr, cmd.AllowNonLoopback); err != nil {
		return cli.Usagef("--addr: %w", err)
	}
	useTLS, err := so.TLSEnabled()
	if err != nil {
		return cli.UsageError{Err: err}
	}
	if cmd.Htpasswd != "" && !useTLS && console.CheckAddr(cmd.Addr, false) != nil {
		log.Warn("basic auth without TLS on an address other machines can reach: passwords cross the network in clear text; serve TLS (--tls-cert, --tls-key) or only behind a TLS-terminating proxy", "addr", cmd.Addr)
	}
	if cmd.LookupRate <= 0 || cmd.LookupBurst <= 0 {
		return cli.Usagef("--lookup-rate (%v) and --lookup-burst (%d) must be positive", cmd.LookupRate, cmd.LookupBurst)
	}
	loc, err := cmd.location()
	if err != nil {
		return err
	}
	st, cats, err := cmd.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := console.New(console.Options{
		Store: st, Auth: auth, Catalogs: cats, Location: loc,
		LookupRate: rate.Limit(cmd.LookupRate), LookupBurst: cmd.LookupBurst,
		HSTS: useTLS, Log: log,
	})
	if err != nil {
		return err
	}
	return console.ListenAndServe(ctx, so, c)
}

// auth resolves the one authentication method given.
func (cmd *serveCmd) auth(log *slog.Logger) (console.Authenticator, error) {
	switch {
	case cmd.Htpasswd != "" && cmd.TrustedHeader != "":
		return nil, cli.Usagef("--htpasswd and --trusted-header: give one authentication method, not both")
	case cmd.Htpasswd != "":
		if len(cmd.TrustedProxy) > 0 {
			return nil, cli.Usagef("--trusted-proxy goes with --trusted-header, not --htpasswd")
		}
		h, err := console.LoadHtpasswd(cmd.Htpasswd, log)
		if err != nil {
			return nil, cli.Usagef("--htpasswd: %w", err)
		}
		return h, nil
	case cmd.TrustedHeader != "":
		t, err := console.NewTrustedHeader(cmd.TrustedHeader, cmd.TrustedProxy)
		if err != nil {
			return nil, cli.Usagef("--trusted-header: %w", err)
		}
		return t, nil
	}
	return nil, cli.Usagef("every page requires authentication: give --htpasswd FILE, or --trusted-header NAME with --trusted-proxy CIDR")
}
