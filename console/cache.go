package console

import (
	"sync"
	"time"
)

// ttlCache keeps values for a while. Requests for a key whose value is
// being made wait for it instead of making their own; a failure is not
// kept. It holds at most max values.
type ttlCache[K comparable, V any] struct {
	ttl     time.Duration
	max     int
	mu      sync.Mutex
	entries map[K]*cacheEntry[V]
}

type cacheEntry[V any] struct {
	done  chan struct{}
	value V
	err   error
	made  time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, max int) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, max: max, entries: map[K]*cacheEntry[V]{}}
}

// get returns the value of key, made with fill when there is none younger
// than the cache's ttl at now.
func (c *ttlCache[K, V]) get(key K, now time.Time, fill func() (V, error)) (V, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && e.finished() && now.Sub(e.made) >= c.ttl {
		e = nil // stale: make it again
	}
	if e != nil { // fresh, or being made: wait for it
		c.mu.Unlock()
		<-e.done
		return e.value, e.err
	}
	if len(c.entries) >= c.max {
		c.evict(now)
	}
	e = &cacheEntry[V]{done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()
	e.value, e.err = fill()
	e.made = now
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	close(e.done)
	return e.value, e.err
}

func (e *cacheEntry[V]) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// evict drops the stale values, or every finished one if none is stale.
// Called with c.mu held.
func (c *ttlCache[K, V]) evict(now time.Time) {
	n := len(c.entries)
	for k, e := range c.entries {
		if e.finished() && now.Sub(e.made) >= c.ttl {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < n {
		return
	}
	for k, e := range c.entries {
		if e.finished() {
			delete(c.entries, k)
		}
	}
}

// The weekly report: a report reads two weeks of rollups (about 100 ms
// over 10 million events), and everyone who opens last week's report at
// once should not each pay for it. The week under way is a minute behind
// at most.
const (
	weeklyCacheTTL = time.Minute
	maxCachedWeeks = 64
)
