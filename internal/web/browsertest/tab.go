package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Timeout bounds every step a test takes in a tab. A passkey ceremony in
// the virtual authenticator takes milliseconds; this is for a stuck one.
const Timeout = 15 * time.Second

// Tab is a browser tab for one test, in a browser context of its own: it
// shares no cookies, storage or authenticator with other tests' tabs.
type Tab struct {
	t   testing.TB
	ctx context.Context

	mu         sync.Mutex
	exceptions []string // uncaught exceptions and unhandled rejections
}

// NewTab opens a tab for t in a fresh browser context, closed when t ends.
// Every console message of the page is logged to t; an uncaught exception
// or an unhandled promise rejection in the page fails t.
func NewTab(t testing.TB) *Tab {
	t.Helper()
	b := New(t)
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	tab := &Tab{t: t, ctx: ctx}
	console := chromedp.Console(ctx) // subscribes before the first page loads
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		unavailable(t, fmt.Errorf("opening a tab: %w", err))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			tab.console(m)
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			tab.postmortem()
		}
		cancel()
		<-done
		tab.mu.Lock()
		defer tab.mu.Unlock()
		for _, e := range tab.exceptions {
			t.Errorf("the page threw: %s", e)
		}
	})
	return tab
}

// postmortem logs where a failed test left the tab and what it showed, and
// keeps a screenshot ($KEYSHIFT_SCREENSHOTS, else a directory that outlives
// the test).
func (tab *Tab) postmortem() {
	ctx, cancel := context.WithTimeout(tab.ctx, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		text = "(unreadable: " + err.Error() + ")"
	}
	tab.t.Logf("the test failed at %s, showing:\n%s", tab.where(), text)
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "keyshift-browser-failures")
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		path := filepath.Join(dir, unsafeName.ReplaceAllString(tab.t.Name(), "_")+"-failed.png")
		if err = os.WriteFile(path, png, 0o644); err == nil {
			tab.t.Logf("screenshot of the failure: %s", path)
		}
	}
	if err != nil {
		tab.t.Logf("no screenshot of the failure: %v", err)
	}
}

func (tab *Tab) console(m chromedp.ConsoleMessage) {
	where := ""
	if m.URL != "" {
		where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
	}
	tab.t.Logf("browser console %s: %s%s", m.Type, m.Text, where)
	if m.Type == chromedp.ConsoleException {
		tab.mu.Lock()
		tab.exceptions = append(tab.exceptions, m.Text+where)
		tab.mu.Unlock()
	}
}

// Context is the chromedp context of the tab, for chromedp.Call and the
// like. Each step should bound itself; Run does.
func (tab *Tab) Context() context.Context { return tab.ctx }

// Run runs steps in the tab within Timeout, failing the test on an error.
func (tab *Tab) Run(steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tab.t.Fatalf("in the browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value;
// a promise is awaited.
func Eval[T any](tab *Tab, expression string) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
	if err != nil {
		tab.t.Fatalf("evaluating %s: %v", expression, err)
	}
	return v
}

// Text returns the visible text of the first element sel matches, waiting
// for it to be there.
func (tab *Tab) Text(sel string) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tab.t.Fatalf("reading the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Location returns the address of the page the tab shows.
func (tab *Tab) Location() string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		tab.t.Fatalf("reading the location: %v", err)
	}
	return u
}

// where is the tab's address for a failure message.
func (tab *Tab) where() string {
	ctx, cancel := context.WithTimeout(tab.ctx, time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return u
}

// WaitLocation waits until the tab shows path (the part after the origin,
// without a fragment) and fails the test after Timeout.
func (tab *Tab) WaitLocation(path string) {
	tab.t.Helper()
	// The new document must also be parsed: the location changes as soon as
	// the navigation commits, and on a loaded machine a test that looks for
	// an element right after would otherwise find the page still empty.
	tab.Wait("the page "+path, fmt.Sprintf("location.pathname + location.search === %q && document.readyState === \"complete\"", path))
}

// Wait evaluates a JavaScript expression in the page every 20 ms until it
// is truthy, across navigations, and fails the test after Timeout, naming
// what it waited for.
func (tab *Tab) Wait(what, expression string) {
	tab.t.Helper()
	deadline := time.Now().Add(Timeout)
	expr := "!!(" + expression + ")"
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tab.ctx, time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if tab.ctx.Err() != nil {
			break
		}
		last = err // a page on its way out answers with an error
		time.Sleep(20 * time.Millisecond)
	}
	tab.t.Fatalf("waited %v for %s (%s) at %s; last error %v", Timeout, what, expression, tab.where(), last)
}

// ColorScheme makes the page see prefers-color-scheme as "light" or
// "dark" ("" for the browser's own).
func (tab *Tab) ColorScheme(scheme string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		tab.t.Fatalf("prefers-color-scheme %s: %v", scheme, err)
	}
}

// DisableJavaScript turns scripts off for the pages the tab loads from now
// on, as for a member whose browser runs none.
func (tab *Tab) DisableJavaScript() {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		tab.t.Fatalf("disabling JavaScript: %v", err)
	}
}

// BeforeScripts runs the JavaScript source in every page the tab loads
// from now on, before the page's own scripts — to take a browser feature
// away, say.
func (tab *Tab) BeforeScripts(source string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: source}); err != nil {
		tab.t.Fatalf("adding a script to every page: %v", err)
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a PNG of the whole page as width×height (CSS pixels)
// under name, and returns its path. The directory is $KEYSHIFT_SCREENSHOTS
// when set, else the test's temporary directory; the path is logged.
func (tab *Tab) Screenshot(name string, width, height int64) string {
	tab.t.Helper()
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		dir = tab.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		tab.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(tab.ctx, Timeout)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height))
	var png []byte
	if err == nil {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	}
	if err != nil {
		tab.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatal(err)
	}
	tab.t.Logf("screenshot: %s", path)
	return path
}
