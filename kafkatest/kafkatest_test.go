package kafkatest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/kafkatest"
)

func values(n int, format string) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = fmt.Appendf(nil, format, i)
	}
	return vs
}

// readPartition reads partition p of topic from the first offset up to the
// high watermark hw with a kafka-go partition Reader.
func readPartition(t *testing.T, b *kafkatest.Broker, topic string, p int, hw int64) []string {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs(), Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	for int64(len(out)) < hw {
		m, err := r.FetchMessage(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(len(out)), m.Offset)
		out = append(out, string(m.Value))
	}
	return out
}

func TestProduceRoundRobinAndHighWatermarks(t *testing.T) {
	b := kafkatest.Start(t, kafkatest.Topic("logs", 4))
	require.Len(t, b.Addrs(), 1)
	assert.Contains(t, b.Addrs()[0], "127.0.0.1:")

	assert.Equal(t, map[int32]int64{0: 0, 1: 0, 2: 0, 3: 0}, b.HighWatermarks(t, "logs"))
	b.Produce(t, "logs", values(1000, "v%d"))
	hw := b.HighWatermarks(t, "logs")
	assert.Equal(t, map[int32]int64{0: 250, 1: 250, 2: 250, 3: 250}, hw)

	// Message i of a Produce call goes to partition i mod 4, in order.
	for p := range 4 {
		got := readPartition(t, b, "logs", p, hw[int32(p)])
		for i, v := range got {
			require.Equal(t, fmt.Sprintf("v%d", i*4+p), v, "partition %d offset %d", p, i)
		}
	}
}

func TestCreateTopicThenProduceAtOnce(t *testing.T) {
	b := kafkatest.Start(t)
	b.CreateTopic(t, "fresh", 3)
	b.Produce(t, "fresh", values(30, "v%d"))
	assert.Equal(t, map[int32]int64{0: 10, 1: 10, 2: 10}, b.HighWatermarks(t, "fresh"))
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := kafkatest.Start(t, kafkatest.DataDir(dir), kafkatest.Topic("logs", 2))
	b.Produce(t, "logs", values(10, "v%d"))
	b.Close()

	b = kafkatest.Start(t, kafkatest.DataDir(dir))
	hw := b.HighWatermarks(t, "logs")
	assert.Equal(t, map[int32]int64{0: 5, 1: 5}, hw)
	assert.Equal(t, []string{"v1", "v3", "v5", "v7", "v9"}, readPartition(t, b, "logs", 1, hw[1]))
}

func TestPortAndGroupMinSessionTimeout(t *testing.T) {
	port := kafkatest.FreePort(t)
	b := kafkatest.Start(t, kafkatest.Port(port), kafkatest.Topic("logs", 1), kafkatest.GroupMinSessionTimeout(2*time.Second))
	assert.Equal(t, []string{fmt.Sprintf("127.0.0.1:%d", port)}, b.Addrs())

	// A session shorter than the broker's minimum is refused.
	join := func(session time.Duration) error {
		g, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
			ID: fmt.Sprintf("g-%s", session), Brokers: b.Addrs(), Topics: []string{"logs"},
			SessionTimeout: session, HeartbeatInterval: 100 * time.Millisecond,
		})
		require.NoError(t, err)
		defer g.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = g.Next(ctx)
		return err
	}
	assert.ErrorIs(t, join(time.Second), kafka.InvalidSessionTimeout)
	assert.NoError(t, join(3*time.Second))
}

// BenchmarkProduce measures Produce: 200k records of 600 bytes on 4
// partitions, to a fresh broker each time.
func BenchmarkProduce(b *testing.B) {
	const n, size = 200_000, 600
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = fmt.Appendf(make([]byte, 0, size), "%0*d", size, i)
	}
	records := 0
	for b.Loop() {
		br := kafkatest.Start(b, kafkatest.Topic("logs", 4))
		br.Produce(b, "logs", vs)
		br.Close()
		records += n
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
