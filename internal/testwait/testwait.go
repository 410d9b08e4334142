// Package testwait is how faultline's tests wait for what they cannot be
// told of directly: a condition on something observable (a stored offset,
// a metric, /readyz, a row), checked until it holds or a deadline passes.
// A test that fails says what it waited for, for how long, and (with
// UntilNil) the state it last saw.
//
// Tests never sleep for a fixed time: they wait with Until or UntilNil for
// an event, or, when they must prove that something does not happen soon,
// give it a bounded chance with Within. Process tests wait on /readyz or a
// metric, never on a log line.
//
// Checks are made at once, then at intervals growing from 5ms to 100ms:
// quick events are seen quickly, slow ones (a rebalance, a process's
// start) do not cost a busy loop on a shared machine.
package testwait

import (
	"fmt"
	"testing"
	"time"
)

const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 100 * time.Millisecond
)

// Until waits until cond returns true and returns how long it took. After
// timeout it fails t: "waited 30s for <what>". cond runs on the test's
// goroutine and may itself fail t (a process that exited, say).
func Until(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	return UntilNil(t, timeout, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

// UntilNil waits until check returns nil and returns how long it took; a
// non-nil error says what is still missing. After timeout it fails t with
// what it waited for and the last error: "waited 30s for every record
// stored: stored 1200 of 20000".
func UntilNil(t testing.TB, timeout time.Duration, what string, check func() error) time.Duration {
	t.Helper()
	took, err := poll(timeout, check)
	if err != nil {
		if err == errNotYet {
			t.Fatalf("waited %s for %s", timeout, what)
		} else {
			t.Fatalf("waited %s for %s: %v", timeout, what, err)
		}
	}
	return took
}

// Within reports whether cond held within timeout, without failing
// anything: for tests that tolerate it not happening, or check something
// else when it does not.
func Within(timeout time.Duration, cond func() bool) bool {
	_, err := poll(timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
	return err == nil
}

var errNotYet = fmt.Errorf("not yet")

// poll checks until check returns nil or timeout has passed, and returns
// how long it waited and the last error.
func poll(timeout time.Duration, check func() error) (time.Duration, error) {
	t0 := time.Now()
	deadline := t0.Add(timeout)
	interval := firstInterval
	for {
		err := check()
		if err == nil {
			return time.Since(t0), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return time.Since(t0), err
		}
		time.Sleep(min(interval, left))
		interval = min(interval*3/2, maxInterval)
	}
}
