package kafkasource

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Config says where the topic is and how to take part in the group.
type Config struct {
	// Brokers are bootstrap brokers, host:port.
	Brokers []string
	// Topic is consumed by the consumer group Group.
	Topic, Group string

	// TLS, when not nil, is used for every connection; nil is plaintext.
	TLS *tls.Config
	// SASL, when not nil, authenticates every connection; see NewSASL.
	SASL sasl.Mechanism

	// SessionTimeout is how long the coordinator waits for a heartbeat
	// before it declares this member dead and gives its partitions to
	// others; HeartbeatInterval is how often this member heartbeats (and
	// so how soon it notices a rebalance); RebalanceTimeout is how long
	// the coordinator waits for every member to rejoin during a
	// rebalance, which bounds how long a Handler may take to return.
	// Zero values take DefaultSessionTimeout, DefaultHeartbeatInterval and
	// DefaultRebalanceTimeout.
	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration

	// MinBytes, MaxBytes and MaxWait tune the partition readers' fetch
	// requests (kafka-go's ReaderConfig fields of the same names); zero
	// values take kafka-go's defaults (1 byte, 1 MB, 10s).
	MinBytes, MaxBytes int
	MaxWait            time.Duration

	// Logger receives Run's log; nil discards it.
	Logger *slog.Logger
	// OnRetry, when set, is called each time Run waits before trying the
	// group again after a failure (no broker reachable, the group
	// unavailable, a Handler failed): a hook for a retries metric.
	OnRetry func()
}

// Defaults of the group timeouts (Kafka's own).
const (
	DefaultSessionTimeout    = 30 * time.Second
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
)

// WithDefaults returns a copy of c whose zero fields hold their defaults:
// the group timeouts, a Logger that discards, an OnRetry that does nothing.
// The fetch tuning (MinBytes, MaxBytes, MaxWait) stays zero: kafka-go's
// defaults.
func (c Config) WithDefaults() Config {
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnRetry == nil {
		c.OnRetry = func() {}
	}
	return c
}

// Validate says what in c cannot be used: a *ConfigError naming each field
// at fault. It checks c as it is, defaults not applied: New validates
// c.WithDefaults(), where a zero timeout has taken its default, while a
// command validating its flags' values (which come with their defaults)
// refuses a zero one.
func (c Config) Validate() error {
	var e ConfigError
	if len(c.Brokers) == 0 {
		e.add(Problem{Field: "Brokers", Rule: "is required"})
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			e.add(Problem{Field: "Brokers", Rule: "must be host:port", Got: fmt.Sprintf("%q", b)})
		}
	}
	if c.Topic == "" {
		e.add(Problem{Field: "Topic", Rule: "is required"})
	}
	if c.Group == "" {
		e.add(Problem{Field: "Group", Rule: "is required"})
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"SessionTimeout", c.SessionTimeout}, {"HeartbeatInterval", c.HeartbeatInterval}, {"RebalanceTimeout", c.RebalanceTimeout}} {
		if d.d <= 0 {
			e.add(Problem{Field: d.field, Rule: "must be positive", Got: d.d.String()})
		}
	}
	if c.HeartbeatInterval > 0 && c.HeartbeatInterval >= c.SessionTimeout {
		e.add(Problem{Field: "HeartbeatInterval", Got: c.HeartbeatInterval.String(), Rule: "must be shorter than",
			Other: "SessionTimeout", OtherGot: c.SessionTimeout.String()})
	}
	if c.MaxWait < 0 {
		e.add(Problem{Field: "MaxWait", Rule: "must not be negative", Got: c.MaxWait.String()})
	}
	if c.MinBytes < 0 {
		e.add(Problem{Field: "MinBytes", Rule: "must not be negative", Got: fmt.Sprint(c.MinBytes)})
	}
	if c.MaxBytes < 0 {
		e.add(Problem{Field: "MaxBytes", Rule: "must not be negative", Got: fmt.Sprint(c.MaxBytes)})
	}
	if c.MaxBytes > 0 && c.MinBytes > c.MaxBytes {
		e.add(Problem{Field: "MinBytes", Got: fmt.Sprint(c.MinBytes), Rule: "must not be more than", Other: "MaxBytes", OtherGot: fmt.Sprint(c.MaxBytes)})
	}
	return e.err()
}

// ConfigError lists what is wrong with a Config (or with NewSASL's
// arguments), field by field.
type ConfigError struct {
	Problems []Problem
}

// Problem is one field's value that cannot be used.
type Problem struct {
	Field string // the field at fault: "Brokers", "SessionTimeout", …
	Rule  string // what its value must be: "is required", "must be positive"
	Got   string // its value, when it says something
	// Other is the field a rule between two fields compares with
	// ("HeartbeatInterval must be shorter than SessionTimeout"), OtherGot
	// its value.
	Other, OtherGot string
}

func (e *ConfigError) add(p Problem) { e.Problems = append(e.Problems, p) }

func (e *ConfigError) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

func (e *ConfigError) Error() string {
	return "kafkasource: bad config: " + e.Describe(func(field string) string { return field })
}

// Describe says what is wrong, naming each field through name: a command
// maps the fields to its flags ("--kafka-session-timeout must be positive,
// got 0s").
func (e *ConfigError) Describe(name func(field string) string) string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		switch {
		case p.Other != "":
			out[i] = fmt.Sprintf("%s (%s) %s %s (%s)", name(p.Field), p.Got, p.Rule, name(p.Other), p.OtherGot)
		case p.Got != "":
			out[i] = fmt.Sprintf("%s %s, got %s", name(p.Field), p.Rule, p.Got)
		default:
			out[i] = name(p.Field) + " " + p.Rule
		}
	}
	return strings.Join(out, "; ")
}

// NewSASL returns a SASL mechanism for "plain", "scram-sha-256" or
// "scram-sha-512" (any case) and a user; the error is a *ConfigError
// naming the argument at fault as the field SASLMechanism or SASLUser.
func NewSASL(mechanism, user, password string) (sasl.Mechanism, error) {
	var m sasl.Mechanism
	var err error
	switch strings.ToLower(mechanism) {
	case "plain":
		m = plain.Mechanism{Username: user, Password: password}
	case "scram-sha-256":
		m, err = scram.Mechanism(scram.SHA256, user, password)
	case "scram-sha-512":
		m, err = scram.Mechanism(scram.SHA512, user, password)
	default:
		return nil, &ConfigError{[]Problem{{Field: "SASLMechanism", Rule: "must be plain, scram-sha-256 or scram-sha-512", Got: fmt.Sprintf("%q", mechanism)}}}
	}
	if err != nil {
		return nil, fmt.Errorf("kafkasource: SASL %s: %w", mechanism, err)
	}
	if user == "" {
		return nil, &ConfigError{[]Problem{{Field: "SASLUser", Rule: "is required with the mechanism " + mechanism}}}
	}
	return m, nil
}
