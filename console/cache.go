package console

import (
	"sync"
	"time"
)

// weeklyCacheTTL is how long a rendered weekly report is served again: a
// report reads two weeks of rollups (about 100 ms over 10 million events),
// and everyone who opens last week's report at once should not each pay
// for it. The week under way is a minute behind at most.
const weeklyCacheTTL = time.Minute

// maxCachedWeeks bounds the reports kept.
const maxCachedWeeks = 64

// renderCache keeps rendered documents for a while. Requests for a key
// that is being rendered wait for that rendering instead of starting
// their own; a failed rendering is not kept.
type renderCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]*renderEntry
}

type renderEntry struct {
	done  chan struct{}
	doc   []byte
	err   error
	built time.Time
}

func newRenderCache(ttl time.Duration) *renderCache {
	return &renderCache{ttl: ttl, entries: map[string]*renderEntry{}}
}

// get returns the document of key, rendering it with render when there is
// none younger than the cache's ttl.
func (c *renderCache) get(key string, now time.Time, render func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e != nil {
		select {
		case <-e.done:
			if now.Sub(e.built) >= c.ttl {
				e = nil // stale: render again
			}
		default: // being rendered: wait for it
		}
	}
	if e == nil {
		if len(c.entries) >= maxCachedWeeks {
			c.evict(now)
		}
		e = &renderEntry{done: make(chan struct{})}
		c.entries[key] = e
		c.mu.Unlock()
		e.doc, e.err = render()
		e.built = now
		c.mu.Lock()
		if e.err != nil && c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
		close(e.done)
		return e.doc, e.err
	}
	c.mu.Unlock()
	<-e.done
	return e.doc, e.err
}

// evict drops the stale entries, or all finished ones if none is stale.
// Called with c.mu held.
func (c *renderCache) evict(now time.Time) {
	finished := func(e *renderEntry) bool {
		select {
		case <-e.done:
			return true
		default:
			return false
		}
	}
	n := len(c.entries)
	for k, e := range c.entries {
		if finished(e) && now.Sub(e.built) >= c.ttl {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < n {
		return
	}
	for k, e := range c.entries {
		if finished(e) {
			delete(c.entries, k)
		}
	}
}
