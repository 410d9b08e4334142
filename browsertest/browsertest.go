// Package browsertest starts headless Chromium for tests: the binary of the
// Debian package chromium, with a fresh profile, driven with chromedp, and
// records what the pages of its tab fetched and what went wrong in them
// (failed loads, error statuses, exceptions, console errors and warnings),
// so that a test can require a page to be self-contained and clean. It also
// says where a test leaves screenshots for people to look at.
package browsertest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Tab is one tab of a headless Chromium that lives as long as the test.
type Tab struct {
	// Ctx drives the tab with chromedp.
	Ctx context.Context
	// Log is what the tab's pages did.
	Log *Log
}

// Start starts headless Chromium with a window of width × height and
// returns its tab, listening to the network, the runtime and the log. It
// fails the test when Chromium is not installed (CI installs it): a browser
// test that skips proves nothing.
func Start(t testing.TB, width, height int) *Tab {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium is needed: apt-get install chromium (%v)", err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	tab := &Tab{Ctx: ctx, Log: &Log{}}
	if err := chromedp.Listen(ctx, tab.Log.add); err != nil { // starts the browser and the tab
		t.Fatalf("starting Chromium: %v", err)
	}
	for _, enable := range []func() error{
		func() error { _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); return err },
		func() error { _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); return err },
		func() error { _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); return err },
	} {
		if err := enable(); err != nil {
			t.Fatalf("listening to Chromium: %v", err)
		}
	}
	return tab
}

// Log collects what the pages asked the network for and what went wrong
// while they loaded and ran.
type Log struct {
	mu       sync.Mutex
	requests []string
	failures []string
}

func (l *Log) add(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.requests = append(l.requests, ev.Request.URL)
	case *network.EventLoadingFailed:
		l.failures = append(l.failures, fmt.Sprintf("loading failed (%s): %s", ev.Type, ev.ErrorText))
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			l.failures = append(l.failures, fmt.Sprintf("%s: status %d", ev.Response.URL, ev.Response.Status))
		}
	case *runtime.EventExceptionThrown:
		l.failures = append(l.failures, "exception: "+ev.ExceptionDetails.Text)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			l.failures = append(l.failures, "console "+string(ev.Type))
		}
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
			l.failures = append(l.failures, fmt.Sprintf("log %s (%s): %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text))
		}
	}
}

// Snapshot returns the URLs requested and the failures so far.
func (l *Log) Snapshot() (requests, failures []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.requests...), append([]string(nil), l.failures...)
}

// ScreenshotDir is where a test leaves screenshots for people: the test's
// artifact directory under -artifacts, else $TMPDIR/name (written over by
// each run).
func ScreenshotDir(t testing.TB, name string) string {
	t.Helper()
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	dir := filepath.Join(os.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
