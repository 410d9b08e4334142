package console

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTTLCache(t *testing.T) {
	c := newTTLCache[string, []byte](time.Minute, maxCachedWeeks)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	var renders atomic.Int32
	rendering, release := make(chan struct{}), make(chan struct{})
	render := func() ([]byte, error) {
		if renders.Add(1) == 1 {
			close(rendering)
		}
		<-release
		return []byte("report"), nil
	}

	// Requests arriving while the report renders wait for that rendering.
	var wg sync.WaitGroup
	wg.Go(func() {
		doc, err := c.get("2026-W46", now, render)
		require.NoError(t, err)
		require.Equal(t, "report", string(doc))
	})
	<-rendering
	for range 5 {
		wg.Go(func() {
			doc, err := c.get("2026-W46", now, render)
			require.NoError(t, err)
			require.Equal(t, "report", string(doc))
		})
	}
	close(release)
	wg.Wait()
	require.EqualValues(t, 1, renders.Load(), "rendered once for six requests")

	_, err := c.get("2026-W46", now.Add(59*time.Second), render)
	require.NoError(t, err)
	require.EqualValues(t, 1, renders.Load(), "fresh: served again")
	_, err = c.get("2026-W46", now.Add(time.Minute), render)
	require.NoError(t, err)
	require.EqualValues(t, 2, renders.Load(), "stale: rendered again")

	failing := func() ([]byte, error) { renders.Add(1); return nil, errors.New("database down") }
	_, err = c.get("2026-W47", now, failing)
	require.ErrorContains(t, err, "database down")
	_, err = c.get("2026-W47", now, failing)
	require.ErrorContains(t, err, "database down")
	require.EqualValues(t, 4, renders.Load(), "a failure is not kept")

	for i := range maxCachedWeeks + 10 {
		_, err := c.get(time.Duration(i).String(), now, func() ([]byte, error) { return nil, nil })
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(c.entries), maxCachedWeeks, "bounded")
}
