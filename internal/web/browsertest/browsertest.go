// Package browsertest drives a real browser — Debian's Chromium, headless,
// through chromedp — for tests of the pages members see, with a CDP virtual
// authenticator standing in for a phone, a laptop's fingerprint reader or a
// password manager.
//
// One browser process serves a whole test binary when the binary's TestMain
// calls Main; each test gets a tab of its own in a fresh browser context
// (cookies, storage and authenticators are the test's alone). Without Main,
// each test starts a browser of its own.
//
// When Chromium cannot start, tests that need it skip, except in CI (the
// environment variable CI set to true), where they fail: a browser test that
// never runs proves nothing. It is an ordinary (non-_test) package so that
// every package's tests can use it; nothing outside tests should.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ExecPath is where Debian's chromium package puts the browser.
const ExecPath = "/usr/bin/chromium"

// EnvChromium names another browser to run instead of ExecPath: a Chrome or
// Chromium elsewhere (another system, a pinned build).
const EnvChromium = "KEYSHIFT_CHROMIUM"

// execPath returns the browser to run.
func execPath() string {
	if p := os.Getenv(EnvChromium); p != "" {
		return p
	}
	return ExecPath
}

// EnvScreenshots names a directory for screenshots; unset, they go to the
// test's temporary directory (removed when the test ends).
const EnvScreenshots = "KEYSHIFT_SCREENSHOTS"

// startTimeout bounds a browser start; a cold first start takes about 4 s.
const startTimeout = 60 * time.Second

// Browser is a running Chromium.
type Browser struct {
	ctx     context.Context // a chromedp context whose browser is running
	stop    func()
	dataDir string
	owned   bool // started for one test, not shared
}

var shared struct {
	mu      sync.Mutex
	enabled bool // Main is in charge: share one browser
	b       *Browser
	err     error
}

// Main runs the tests of m with one shared browser, started on first use
// and stopped when they are done, and returns the exit code. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.enabled = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.b != nil {
		shared.b.close()
		shared.b = nil
	}
	return code
}

// New returns a browser for t: the shared one when Main runs the tests, else
// one of t's own, stopped when t ends. It skips t — or fails it in CI — when
// Chromium cannot start.
func New(t testing.TB) *Browser {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.enabled {
		b, err := start(t.TempDir())
		if err != nil {
			unavailable(t, err)
		}
		b.owned = true
		t.Cleanup(b.close)
		return b
	}
	if shared.b == nil && shared.err == nil {
		dir, err := os.MkdirTemp("", "keyshift-chromium-")
		if err == nil {
			shared.b, err = start(dir)
			if err != nil {
				os.RemoveAll(dir)
			}
		}
		shared.err = err
	}
	if shared.err != nil {
		unavailable(t, shared.err)
	}
	return shared.b
}

// unavailable ends t because the browser could not start.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("browser tests need Chromium (%s), and it did not start: %v", execPath(), err)
		return
	}
	t.Skipf("skipping: Chromium (%s) did not start: %v; scripts/test installs it (apt-get install -y chromium), or set %s", execPath(), err, EnvChromium)
}

// InCI reports whether the tests run in continuous integration, where a
// browser test must fail rather than skip.
func InCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// start launches Chromium with a fresh profile in dataDir.
func start(dataDir string) (*Browser, error) {
	path := execPath()
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(dataDir),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	startCtx, cancelStart := context.WithTimeout(ctx, startTimeout)
	defer cancelStart()
	// The first action starts the browser and opens its first tab. The
	// timeout must not end ctx itself, so it watches from the side.
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(ctx) }()
	var err error
	select {
	case err = <-errc:
	case <-startCtx.Done():
		err = errors.New("no answer within " + startTimeout.String())
	}
	b := &Browser{ctx: ctx, dataDir: dataDir, stop: func() { cancelCtx(); cancelAlloc() }}
	if err != nil {
		b.close()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	return b, nil
}

// close stops the browser and removes its profile.
func (b *Browser) close() {
	closeCtx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	chromedp.Cancel(closeCtx)
	b.stop()
	if !b.owned {
		// A profile made for the shared browser is ours to remove; an
		// owned one lives in the test's TempDir.
		os.RemoveAll(b.dataDir)
	}
}
