// Package kafkatest starts a real Kafka broker for tests: kfake (a Kafka
// broker written in Go that speaks the wire protocol over TCP) on loopback,
// one broker on one port, closed when the test ends. Code under test talks to
// it through its Kafka client exactly as to a real cluster; nothing is mocked.
// The helpers here (create a topic, produce, read high watermarks) use
// kafka-go the same way.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a kfake cluster of one broker listening on 127.0.0.1.
type Broker struct {
	c     *kfake.Cluster
	addrs []string
	once  sync.Once
}

type config struct {
	topics     []topic
	minSession time.Duration
	dataDir    string
	port       int
}

type topic struct {
	name       string
	partitions int
}

// Option configures Start.
type Option func(*config)

// Topic creates topic name with the given number of partitions when the
// broker starts (repeatable).
func Topic(name string, partitions int) Option {
	return func(c *config) { c.topics = append(c.topics, topic{name, partitions}) }
}

// GroupMinSessionTimeout sets the smallest consumer group session timeout
// the broker accepts (default here 100ms, so that tests can use short
// sessions; Kafka's and kfake's default is 6s).
func GroupMinSessionTimeout(d time.Duration) Option {
	return func(c *config) { c.minSession = d }
}

// DataDir makes the broker persist its state in dir and reload it from there
// (default: memory only).
func DataDir(dir string) Option {
	return func(c *config) { c.dataDir = dir }
}

// Port makes the broker listen on this port of 127.0.0.1 (default: a free
// port chosen by the system).
func Port(p int) Option {
	return func(c *config) { c.port = p }
}

// Start starts a broker on 127.0.0.1, fails the test if it cannot, and
// closes it when the test ends.
func Start(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	cfg := config{minSession: 100 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	kopts := []kfake.Opt{
		kfake.Ports(cfg.port), // one broker; port 0 is any free port
		kfake.GroupMinSessionTimeout(cfg.minSession),
	}
	for _, tp := range cfg.topics {
		if tp.partitions < 1 {
			t.Fatalf("kafkatest: topic %s: %d partitions", tp.name, tp.partitions)
		}
		kopts = append(kopts, kfake.SeedTopics(int32(tp.partitions), tp.name))
	}
	if cfg.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(cfg.dataDir))
	}
	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		t.Fatalf("kafkatest: start kfake: %v", err)
	}
	b := &Broker{c: c, addrs: c.ListenAddrs()}
	t.Cleanup(b.Close)
	return b
}

// Addrs returns the broker's address, host:port, as a bootstrap list.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Close stops the broker (it is also closed when the test ends).
func (b *Broker) Close() { b.once.Do(b.c.Close) }

// Cluster is the kfake cluster, for what the helpers here do not cover
// (fault injection with Control, moving partitions).
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

func (b *Broker) client() (*kafka.Client, *kafka.Transport) {
	tr := &kafka.Transport{DialTimeout: 5 * time.Second}
	return &kafka.Client{Addr: kafka.TCP(b.addrs...), Transport: tr, Timeout: 30 * time.Second}, tr
}

// CreateTopic creates topic with the given number of partitions through
// kafka-go's Client (the Kafka CreateTopics API), failing the test on error.
func (b *Broker) CreateTopic(t testing.TB, topic string, partitions int) {
	t.Helper()
	c, tr := b.client()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %s: %v", topic, err)
	}
}

// Produce writes values to topic, spread over its partitions round robin
// (message i of one call goes to partition i mod n), and returns when the
// broker has acknowledged all of them (RequiredAcks all). It fails the test
// on error. It batches, so that hundreds of thousands of records take
// seconds; each call has its own Transport, so a topic created just before
// is seen at once.
func (b *Broker) Produce(t testing.TB, topic string, values [][]byte) {
	t.Helper()
	if err := b.produce(topic, values); err != nil {
		t.Fatalf("kafkatest: produce %d records to %s: %v", len(values), topic, err)
	}
}

func (b *Broker) produce(topic string, values [][]byte) error {
	tr := &kafka.Transport{DialTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{
		Addr:         kafka.TCP(b.addrs...),
		Topic:        topic,
		Balancer:     &kafka.RoundRobin{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    4096,
		BatchBytes:   1 << 20,
		BatchTimeout: time.Millisecond,
		MaxAttempts:  5,
		Transport:    tr,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const chunk = 50_000
	msgs := make([]kafka.Message, 0, min(chunk, len(values)))
	for len(values) > 0 {
		n := min(chunk, len(values))
		msgs = msgs[:0]
		for _, v := range values[:n] {
			msgs = append(msgs, kafka.Message{Value: v})
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			_ = w.Close()
			return err
		}
		values = values[n:]
	}
	return w.Close()
}

// HighWatermarks returns the high watermark (next offset to be written) of
// every partition of topic, failing the test on error.
func (b *Broker) HighWatermarks(t testing.TB, topic string) map[int32]int64 {
	t.Helper()
	hw, err := b.highWatermarks(topic)
	if err != nil {
		t.Fatalf("kafkatest: high watermarks of %s: %v", topic, err)
	}
	return hw
}

func (b *Broker) highWatermarks(topic string) (map[int32]int64, error) {
	c, tr := b.client()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	var reqs []kafka.OffsetRequest
	for _, tp := range md.Topics {
		if tp.Name == topic && tp.Error == nil {
			for _, p := range tp.Partitions {
				reqs = append(reqs, kafka.LastOffsetOf(p.ID))
			}
		} else if tp.Name == topic {
			return nil, tp.Error
		}
	}
	if len(reqs) == 0 {
		return nil, errors.New("no such topic")
	}
	lo, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	hw := make(map[int32]int64, len(reqs))
	for _, po := range lo.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", po.Partition, po.Error)
		}
		hw[int32(po.Partition)] = po.LastOffset
	}
	return hw, nil
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago, for a
// broker started later on a known address (Port).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("kafkatest: free port: %v", err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	port, _ := strconv.Atoi(p)
	return port
}
