//go:build race

package classify

// raceEnabled: the race detector makes sync.Pool drop what it holds at
// random, so a classification may allocate its state again.
const raceEnabled = true
