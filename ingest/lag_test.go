package ingest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/ingest"
	"github.com/faultline-dev/faultline/store"
)

func TestLags(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	src := func(group, topic string, p int32) store.Source {
		return store.Source{Group: group, Topic: topic, Partition: p}
	}
	stored := []store.OffsetStatus{
		{Source: src("replay", "file:ab:10", 0), NextOffset: 10},
		{Source: src("ingest", "logs", 1), NextOffset: 40},
		{Source: src("ingest", "logs", 0), NextOffset: 90},
		{Source: src("other", "logs", 0), NextOffset: 5},
	}
	tests := []struct {
		name string
		hw   map[int32]int64
		want []ingest.PartitionLag
	}{
		{"without Kafka", nil, []ingest.PartitionLag{
			{Source: src("ingest", "logs", 0), StoredOffset: 90},
			{Source: src("ingest", "logs", 1), StoredOffset: 40},
			{Source: src("other", "logs", 0), StoredOffset: 5},
			{Source: src("replay", "file:ab:10", 0), StoredOffset: 10},
		}},
		{"with a partition not stored yet", map[int32]int64{0: 100, 1: 40, 2: 7}, []ingest.PartitionLag{
			{Source: src("ingest", "logs", 0), StoredOffset: 90, HighWater: n(100), Lag: n(10)},
			{Source: src("ingest", "logs", 1), StoredOffset: 40, HighWater: n(40), Lag: n(0)},
			{Source: src("ingest", "logs", 2), StoredOffset: 0, HighWater: n(7), Lag: n(7)},
			{Source: src("other", "logs", 0), StoredOffset: 5},
			{Source: src("replay", "file:ab:10", 0), StoredOffset: 10},
		}},
		{"high watermark behind the stored offset", map[int32]int64{0: 80, 1: 40}, []ingest.PartitionLag{
			{Source: src("ingest", "logs", 0), StoredOffset: 90, HighWater: n(80), Lag: n(0)},
			{Source: src("ingest", "logs", 1), StoredOffset: 40, HighWater: n(40), Lag: n(0)},
			{Source: src("other", "logs", 0), StoredOffset: 5},
			{Source: src("replay", "file:ab:10", 0), StoredOffset: 10},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ingest.Lags(stored, "ingest", "logs", tt.hw))
		})
	}
}
