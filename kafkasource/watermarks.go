package kafkasource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// HighWatermarks returns the high watermark (the offset the next record
// written will get) of every partition of cfg.Topic, for `ingest status`:
// a partition's lag is its high watermark minus its stored next offset.
// Only Brokers, Topic, TLS and SASL of cfg are used.
func HighWatermarks(ctx context.Context, cfg Config) (map[int32]int64, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("kafkasource: HighWatermarks needs brokers and a topic")
	}
	tr := &kafka.Transport{TLS: cfg.TLS, SASL: cfg.SASL, DialTimeout: 5 * time.Second}
	defer tr.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: 30 * time.Second}

	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of topic %s: %w", cfg.Topic, err)
	}
	var reqs []kafka.OffsetRequest
	for _, t := range md.Topics {
		if t.Name != cfg.Topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("metadata of topic %s: %w", cfg.Topic, t.Error)
		}
		for _, p := range t.Partitions {
			reqs = append(reqs, kafka.LastOffsetOf(p.ID))
		}
	}
	if len(reqs) == 0 {
		return nil, fmt.Errorf("topic %s: %w", cfg.Topic, kafka.UnknownTopicOrPartition)
	}
	lo, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{cfg.Topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("high watermarks of topic %s: %w", cfg.Topic, err)
	}
	out := make(map[int32]int64, len(reqs))
	for _, po := range lo.Topics[cfg.Topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("high watermark of partition %d of %s: %w", po.Partition, cfg.Topic, po.Error)
		}
		out[int32(po.Partition)] = po.LastOffset
	}
	if len(out) != len(reqs) {
		return nil, fmt.Errorf("high watermarks of topic %s: %d partitions answered of %d", cfg.Topic, len(out), len(reqs))
	}
	return out, nil
}
