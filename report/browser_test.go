package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds the browser: $CNIGATE_CHROMIUM, else chromium on PATH.
// Without one the test is skipped, saying why, unless
// CNIGATE_BROWSER_TEST=require (make report-browser-test) makes it a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CNIGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium on PATH: apt-get install -y chromium, or run make report-browser-test (installs it)"
	if os.Getenv("CNIGATE_BROWSER_TEST") == "require" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pageCheck is what one rendered page must show: a selector and how many
// elements match it (at least, when min).
type pageCheck struct {
	selector string
	count    int
	min      bool
}

// TestPagesRenderInChromium loads each report page in headless Chromium from
// a file:// URL and checks that its cells and charts are there, that its
// script works, that it logged no error and that it requested nothing but
// itself.
func TestPagesRenderInChromium(t *testing.T) {
	browser := chromiumPath(t)
	dir := t.TempDir()
	for kind, r := range fixtures(t) {
		if _, err := Write(dir, kind, r); err != nil {
			t.Fatal(err)
		}
	}
	var published bytes.Buffer
	if err := WritePublishedHTML(&published, publishedFixture(t, false), "published", []Fact{{Name: "kernel", Value: "6.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "published.html"), published.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	// report diff: a cell turned red between two e2e runs, a slower ADD
	// between two bench runs.
	ma, mb := matrixPair(t)
	for name, d := range map[string]*Diff{
		"diff-e2e":   DiffMatrix("before/matrix.json", ma, "after/matrix.json", mb, DefaultDiffTolerance),
		"diff-bench": DiffBench("before/bench.json", benchRun(1, 1), "after/bench.json", benchRun(2, 1.1), DefaultDiffTolerance),
	} {
		var page bytes.Buffer
		if err := WriteDiffHTML(&page, d); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".html"), page.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // root, as on CI runners' sudo and this VM
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if _, err := chromedp.Run(browserCtx, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatalf("starting %s: %v", browser, err)
	}

	for _, tc := range []struct {
		kind   string
		checks []pageCheck
		// interact runs after the checks and returns what it found wrong.
		interact func(ctx context.Context) error
	}{
		{"e2e", []pageCheck{
			{"table.matrix[data-protocol]", 3, false},
			{`table.matrix[data-protocol="icmp"] td.cell`, 7, false},
			{"table.matrix[data-protocol] td.cell.fail", 1, false},
			{"table.matrix[data-protocol] td.cell.skip", 1, false},
			{"table.matrix[data-protocol] td.cell.pass", 11, false},
			// node x node per behaviour, the failing behaviour first
			{"#behaviours figure.behaviour table.nodes", 6, false},
			{"#behaviours figure.behaviour:first-child.failing td.cell.fail", 1, false},
			{"#behaviours figure.failing", 1, false},
			{"svg#waterfall rect.phase", 6, false},
			{"#cases tr.case", 14, false},
		}, func(ctx context.Context) error {
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("table.matrix[data-protocol] td.cell.fail"))); err != nil {
				return err
			}
			detail, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("detail")))
			if err != nil {
				return err
			}
			if !strings.Contains(detail, "want the node's 172.18.0.3 (NAT)") {
				return fmt.Errorf("clicking the failed cell shows %q", detail)
			}
			bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`getComputedStyle(document.querySelector("table.matrix[data-protocol] td.cell.pass")).backgroundColor`))
			if err != nil {
				return err
			}
			if !strings.HasPrefix(bg, "rgb(") || bg == "rgb(255, 255, 255)" {
				return fmt.Errorf("a passed cell's background is %q, want a shade of green", bg)
			}
			return nil
		}},
		{"bench", []pageCheck{
			{"svg#cdf-add path.cdf", 3, false},
			{"svg#cdf-del path.cdf", 3, false},
			{`svg#cdf-add path.cdf[data-contender="podnet"]`, 1, false},
			{"svg#bursts rect.bar", 6, false},
			{"#bench-table tr", 13, false},
			{"#targets td.pass", 5, false},
		}, func(ctx context.Context) error {
			if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("filter"), "bridge")); err != nil {
				return err
			}
			shown, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("shown")))
			if err != nil {
				return err
			}
			if shown != "1 of 3 cases" {
				return fmt.Errorf("filtering the cases for %q shows %q", "bridge", shown)
			}
			return nil
		}},
		{"conformance", []pageCheck{
			{"#conformance th.version", 6, false},
			{"#conformance td.fail", 1, false},
			{"#conformance td.pass", 13, false},
			{"details.failure[open]", 1, false},
			{"#conformance tr", 11, false},
		}, nil},
		{"diff-e2e", []pageCheck{
			{"#turned-red + table td.fail", 1, false},
			{"#turned-green + table td.pass", 1, false},
			{"#slower-cells + table tr", 2, false},
			{"#verdict.bad", 1, false},
		}, nil},
		{"diff-bench", []pageCheck{
			{"#bench-deltas td.slower", 1, false},
			{"#bench-deltas td.same", 5, false},
			{"#verdict.bad", 1, false},
		}, nil},
		// docs/conformance/index.html: the plugin x clause grid first, a
		// section per plugin, the failure off the list marked NEW.
		{"published", []pageCheck{
			{"#grid tr", 3, false}, // header, spec:ADD (no spec ran it), other
			{"#grid th a", 3, false},
			{"#grid td.cell.fail", 2, false},
			{"#summary tr", 4, false},
			{"h2[id]", 3, false},
			{"details.failure", 2, false},
			{"details.failure.known", 1, false},
			{"details.specs", 2, false},
		}, func(ctx context.Context) error {
			verdict, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID("verdict")))
			if err != nil {
				return err
			}
			if !strings.HasPrefix(verdict, "1 NEW failures") {
				return fmt.Errorf("verdict %q, want it to name the new failure", verdict)
			}
			return nil
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			problems := loadPage(t, browserCtx, "file://"+filepath.Join(dir, tc.kind+".html"), tc.checks, tc.interact)
			for _, p := range problems {
				t.Error(p)
			}
		})
	}
}

// loadPage opens url in a new tab, runs the checks and returns every problem:
// wrong counts, console errors, exceptions, log errors, requests elsewhere.
func loadPage(t *testing.T, browserCtx context.Context, url string, checks []pageCheck, interact func(context.Context) error) []string {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	defer cancel()
	var mu sync.Mutex
	var problems []string
	add := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, a...))
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, fmt.Sprint(a.Value)+a.Description)
				}
				add("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
			add("exception at line %d: %s %s", d.LineNumber+1, d.Text, desc)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				add("log error (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			if u := ev.Request.URL; !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
				add("the page requested %s", u)
			}
		}
	})
	if err != nil {
		return []string{fmt.Sprintf("listening to the page: %v", err)}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		return append(problems, fmt.Sprintf("loading %s: %v", url, err))
	}
	for _, c := range checks {
		js := fmt.Sprintf("document.querySelectorAll(%q).length", c.selector)
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			add("%s: %v", c.selector, err)
			continue
		}
		if (c.min && n < c.count) || (!c.min && n != c.count) {
			add("%s: %d elements, want %d", c.selector, n, c.count)
		}
	}
	if interact != nil {
		if err := interact(ctx); err != nil {
			add("%v", err)
		}
	}
	// Let late events (a script error after load) arrive before judging.
	if err := chromedp.Do(ctx, chromedp.Sleep(200*time.Millisecond)); err != nil {
		add("%v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return problems
}
