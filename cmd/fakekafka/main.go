// Command fakekafka runs a Kafka broker for the demo and the benchmarks:
// kfake, a broker written in Go that speaks the Kafka wire protocol, as one
// broker on a loopback address. Any Kafka client (kafka-go, kcat, faultline's
// ingest) talks to it as to a real cluster. It prints "ready ADDR" on stdout
// once it accepts connections and runs until SIGINT or SIGTERM.
//
//	fakekafka --listen 127.0.0.1:9092 --topic integration-logs:4 --data-dir /tmp/kafka
//
// Without --topic it creates integration-logs with 4 partitions, the topic
// `ingest run` and loggen use by default.
//
// It is not a production broker: one node, no replication, state in memory
// unless --data-dir is given.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() { os.Exit(run()) }

type cli struct {
	Listen                 string        `name:"listen" default:"127.0.0.1:9092" help:"Loopback address to listen on, host:port (port 0: any free port)."`
	Topic                  []string      `name:"topic" placeholder:"NAME:PARTITIONS" default:"integration-logs:4" help:"Create this topic at start (repeatable; the default is the topic ingest and loggen use)."`
	DataDir                string        `name:"data-dir" type:"path" placeholder:"DIR" help:"Keep the broker's state in this directory and reload it at start (default: memory only)."`
	GroupMinSessionTimeout time.Duration `name:"group-min-session-timeout" default:"6s" help:"Smallest consumer group session timeout accepted (Kafka's default is 6s; lower it for fast crash tests)."`
	LogLevel               string        `name:"log-level" default:"none" enum:"none,error,warn,info,debug" help:"Broker log on stderr (${enum})."`
}

func run() int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("fakekafka"),
		kong.Description("A Kafka broker (kfake) on loopback for the demo and benchmarks. Prints \"ready ADDR\" when it accepts connections."),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakekafka: %v\n", err)
		return 2
	}
	if _, err := parser.Parse(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "fakekafka: %v\n", err)
		return 2
	}
	opts, err := c.options()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakekafka: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakekafka: %v\n", err)
		return 1
	}
	fmt.Printf("ready %s\n", cluster.ListenAddrs()[0])
	<-ctx.Done()
	stop() // a second signal kills the process at once
	if c.DataDir != "" {
		fmt.Fprintln(os.Stderr, "fakekafka: saving state and stopping")
	}
	cluster.Close()
	return 0
}

// options turns the flags into kfake options, refusing what is not loopback.
func (c *cli) options() ([]kfake.Opt, error) {
	host, port, err := loopback(c.Listen)
	if err != nil {
		return nil, err
	}
	level, err := logLevel(c.LogLevel)
	if err != nil {
		return nil, err
	}
	if c.GroupMinSessionTimeout <= 0 {
		return nil, fmt.Errorf("--group-min-session-timeout must be positive, got %s", c.GroupMinSessionTimeout)
	}
	opts := []kfake.Opt{
		kfake.Ports(port), // one broker
		// kfake listens on 127.0.0.1 unless told otherwise.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
		kfake.GroupMinSessionTimeout(c.GroupMinSessionTimeout),
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)),
	}
	seen := map[string]bool{}
	for _, t := range c.Topic {
		name, parts, err := topic(t)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("--topic %s given twice", name)
		}
		seen[name] = true
		opts = append(opts, kfake.SeedTopics(parts, name))
	}
	if c.DataDir != "" {
		opts = append(opts, kfake.DataDir(c.DataDir))
	}
	return opts, nil
}

// loopback splits a listen address whose host is a loopback address
// (127.0.0.0/8, ::1 or localhost).
func loopback(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("--listen %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("--listen %q: bad port", addr)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", 0, fmt.Errorf("--listen %q: refusing a non-loopback host (this broker has no authentication); use 127.0.0.1, ::1 or localhost", addr)
	}
	return host, port, nil
}

// topic parses NAME:PARTITIONS.
func topic(s string) (string, int32, error) {
	name, p, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return "", 0, fmt.Errorf("--topic %q: want NAME:PARTITIONS", s)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("--topic %q: partitions must be a positive number", s)
	}
	return name, int32(n), nil
}

func logLevel(s string) (kfake.LogLevel, error) {
	switch s {
	case "none":
		return kfake.LogLevelNone, nil
	case "error":
		return kfake.LogLevelError, nil
	case "warn":
		return kfake.LogLevelWarn, nil
	case "info":
		return kfake.LogLevelInfo, nil
	case "debug":
		return kfake.LogLevelDebug, nil
	}
	return 0, errors.New("--log-level: want none, error, warn, info or debug")
}
