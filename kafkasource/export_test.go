package kafkasource

import "time"

// SetPartitionWatchInterval shortens how often Run looks for new partitions,
// for tests; it returns a function that restores the interval.
func SetPartitionWatchInterval(d time.Duration) (restore func()) {
	old := partitionWatchInterval
	partitionWatchInterval = d
	return func() { partitionWatchInterval = old }
}
