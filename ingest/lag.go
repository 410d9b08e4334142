package ingest

import (
	"cmp"
	"slices"

	"github.com/faultline-dev/faultline/store"
)

// PartitionLag is a source's stored offset and, for the partitions of the
// consumed topic, its high watermark and lag.
type PartitionLag struct {
	Source       store.Source
	StoredOffset int64  // 0 for a partition nothing was stored of yet
	HighWater    *int64 // nil when not known (not the consumed topic)
	Lag          *int64 // HighWater - StoredOffset, never negative; nil with HighWater
}

// Lags reports every stored source, and the lag of the partitions of group
// and topic from their high watermarks (hw, nil when Kafka was not asked),
// including partitions nothing was stored of yet. Sorted by group, topic
// and partition.
func Lags(stored []store.OffsetStatus, group, topic string, hw map[int32]int64) []PartitionLag {
	out := make([]PartitionLag, 0, len(stored)+len(hw))
	seen := map[int32]bool{}
	for _, o := range stored {
		pl := PartitionLag{Source: o.Source, StoredOffset: o.NextOffset}
		if w, ok := hw[o.Source.Partition]; ok && o.Source.Group == group && o.Source.Topic == topic {
			seen[o.Source.Partition] = true
			pl.setWatermark(w)
		}
		out = append(out, pl)
	}
	for p, w := range hw {
		if !seen[p] {
			pl := PartitionLag{Source: store.Source{Group: group, Topic: topic, Partition: p}}
			pl.setWatermark(w)
			out = append(out, pl)
		}
	}
	slices.SortFunc(out, func(a, b PartitionLag) int {
		return cmp.Or(cmp.Compare(a.Source.Group, b.Source.Group), cmp.Compare(a.Source.Topic, b.Source.Topic),
			cmp.Compare(a.Source.Partition, b.Source.Partition))
	})
	return out
}

func (pl *PartitionLag) setWatermark(hw int64) {
	lag := max(hw-pl.StoredOffset, 0)
	pl.HighWater, pl.Lag = &hw, &lag
}
