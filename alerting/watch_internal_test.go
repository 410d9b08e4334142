package alerting

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/faultline-dev/faultline/pgtest"
	"github.com/faultline-dev/faultline/store"
)

// fakeClock is Watch's clock, moved by the test.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan time.Duration  // what Watch asked to wait for
	fire  chan chan time.Time // the channels it waits on
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- d
	c.fire <- ch
	return ch
}

// TestWatchEvaluatesEveryMinuteUntilStopped drives Watch with a clock of
// the test's: it evaluates the last 15 minutes at once, then waits until
// 10 seconds after the next minute ends and evaluates again, keeps going
// when delivering fails, and returns nil once its context is done.
func TestWatchEvaluatesEveryMinuteUntilStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, pgtest.New(t))
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	require.NoError(t, err)

	clock := &fakeClock{now: time.Date(2026, 11, 2, 10, 0, 30, 0, time.UTC), waits: make(chan time.Duration, 1), fire: make(chan chan time.Time, 1)}
	ev := NewEvaluator(st, nil, nil)
	ev.now, ev.after = clock.Now, clock.After

	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	require.True(t, metrics.Alive(clock.Now(), time.Minute), "alive before the first evaluation")
	results := make(chan Result, 10)
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	calls := 0
	go func() {
		done <- ev.Watch(watchCtx, WatchOptions{Metrics: metrics}, func(_ context.Context, r Result) error {
			results <- r
			calls++
			if calls == 2 {
				return errors.New("alertmanager away") // logged; the loop goes on
			}
			return nil
		})
	}()
	next := func() Result {
		t.Helper()
		select {
		case r := <-results:
			return r
		case err := <-done:
			t.Fatalf("watch returned early: %v", err)
		case <-ctx.Done():
			t.Fatal("no evaluation")
		}
		return Result{}
	}
	r := next()
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.Evaluations("ok")), "counted")
	require.Equal(t, 0.0, testutil.ToFloat64(metrics.Evaluations("error")))
	require.True(t, metrics.Alive(clock.Now(), time.Minute))
	require.False(t, metrics.Alive(clock.Now().Add(4*time.Minute), 3*time.Minute), "stuck once no evaluation ends for 3 minutes")
	require.Equal(t, time.Date(2026, 11, 2, 9, 45, 0, 0, time.UTC), r.From)
	require.Equal(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), r.To)
	require.True(t, r.Stored)
	for minute := 1; minute <= 2; minute++ {
		require.Equal(t, 40*time.Second, <-clock.waits, "until 10 seconds after the minute under way ends")
		ch := <-clock.fire
		clock.mu.Lock()
		clock.now = clock.now.Add(time.Minute)
		clock.mu.Unlock()
		ch <- clock.Now()
		r = next()
		require.Equal(t, time.Date(2026, 11, 2, 10, minute, 0, 0, time.UTC), r.To)
		require.Equal(t, r.To.Add(-15*time.Minute), r.From)
	}
	<-clock.waits
	<-clock.fire
	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("watch did not stop")
	}
}
