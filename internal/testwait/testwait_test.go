package testwait

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeT records a failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestUntil(t *testing.T) {
	var calls atomic.Int32
	took := Until(t, 10*time.Second, "the third call", func() bool { return calls.Add(1) >= 3 })
	require.EqualValues(t, 3, calls.Load())
	require.Less(t, took, time.Second, "checks are a few milliseconds apart at first")

	ft := &fakeT{TB: t}
	took = Until(ft, 50*time.Millisecond, "nothing", func() bool { return false })
	require.Equal(t, "waited 50ms for nothing", ft.failed)
	require.GreaterOrEqual(t, took, 50*time.Millisecond)
}

func TestUntilNilReportsTheLastState(t *testing.T) {
	ft := &fakeT{TB: t}
	n := 0
	UntilNil(ft, 30*time.Millisecond, "every record stored", func() error {
		n++
		return fmt.Errorf("stored %d of 20", n)
	})
	require.Equal(t, fmt.Sprintf("waited 30ms for every record stored: stored %d of 20", n), ft.failed)
	require.Greater(t, n, 1)

	ft = &fakeT{TB: t}
	UntilNil(ft, time.Second, "x", func() error { return nil })
	require.Empty(t, ft.failed)
}

func TestWithin(t *testing.T) {
	require.True(t, Within(time.Second, func() bool { return true }))
	t0 := time.Now()
	require.False(t, Within(40*time.Millisecond, func() bool { return false }))
	require.GreaterOrEqual(t, time.Since(t0), 40*time.Millisecond)
	require.Less(t, time.Since(t0), 40*time.Millisecond+maxInterval+50*time.Millisecond, "it does not sleep past the deadline")
}

func TestPollIntervalsGrowToTheirBound(t *testing.T) {
	var at []time.Time
	_, err := poll(600*time.Millisecond, func() error {
		at = append(at, time.Now())
		return errors.New("never")
	})
	require.Error(t, err)
	require.Greater(t, len(at), 5)
	require.Less(t, len(at), 40, "not a busy loop")
}
