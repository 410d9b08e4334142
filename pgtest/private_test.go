package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestWatchdogCleansUpAfterADeadProcess plays the test process dying
// without cleanup: the watchdog's stdin closes, and it must stop the server
// and remove its directory.
func TestWatchdogCleansUpAfterADeadProcess(t *testing.T) {
	p, err := startPrivate()
	require.NoError(t, err)
	_, err = os.Stat(p.dataDir())
	require.NoError(t, err)

	p.lifeline.Close() // what the kernel does when this process exits
	done := make(chan error, 1)
	go func() { done <- p.watchdog.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("watchdog did not finish")
	}
	_, err = os.Stat(p.dir)
	require.True(t, os.IsNotExist(err), "directory %s still exists: %v", p.dir, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgx.Connect(ctx, p.URL())
	require.Error(t, err, "the server still runs")
}
