// Command healthcheck exits 0 when a URL answers a 2xx status within a
// timeout, and 1 (saying why on stderr) otherwise. It is the HEALTHCHECK of
// faultline's container image, whose distroless base has no shell, curl or
// wget:
//
//	healthcheck http://127.0.0.1:9464/healthz
//
// Bad arguments exit 2.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/alecthomas/kong"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

type cli struct {
	URL     string        `arg:"" help:"http:// or https:// URL to GET."`
	Timeout time.Duration `default:"3s" help:"Longest the whole request may take."`
}

func run(args []string, stderr io.Writer) int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("healthcheck"),
		kong.Description("Exit 0 when URL answers a 2xx status within --timeout, 1 otherwise."),
		kong.Writers(stderr, stderr),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 2
	}
	if _, err := parser.Parse(args); err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 2
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "healthcheck: %q is not an http:// or https:// URL\n", c.URL)
		return 2
	}
	if c.Timeout <= 0 {
		fmt.Fprintf(stderr, "healthcheck: --timeout must be positive, got %s\n", c.Timeout)
		return 2
	}
	if err := check(context.Background(), u.String(), c.Timeout); err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	return 0
}

// check GETs rawURL and wants a 2xx status within timeout. The body is read
// (up to 512 bytes) only to say why a check failed.
func check(ctx context.Context, rawURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %q", rawURL, resp.Status, body)
	}
	return nil
}
