package reports_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The browser test opens generated reports in headless Chromium (Debian's
// chromium package) and looks at them as a person would: no console
// errors, the lanes drawn, the failing operation and the server that
// answered it on screen, the command that reproduces the run readable.
// It saves a screenshot of each page in $RAFTSIM_SCREENSHOTS (default: a
// temporary directory, logged).
//
// Without a browser it skips, except in CI (CI or RAFTSIM_REQUIRE_BROWSER
// set), where a missing browser is a failure: .ci/run installs chromium.

// browserPath finds Chromium, or says why the test cannot run.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" || os.Getenv("RAFTSIM_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium on PATH, and CI requires the browser test (apt-get install -y chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install -y chromium); CI runs this test")
	return ""
}

// browser starts one headless Chromium with a fresh profile for the test.
func browser(t *testing.T) context.Context {
	path := browserPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx), "start %s", path)
	return ctx
}

// visit opens file in a new tab, collects what the page writes to its
// console while check runs, and saves a full-page screenshot as name.
func visit(t *testing.T, bctx context.Context, file, name string, check func(ctx context.Context)) []chromedp.ConsoleMessage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, time.Minute)
	defer cancelTime()
	cctx, stopConsole := context.WithCancel(ctx)
	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
		done     = make(chan struct{})
	)
	console := chromedp.Console(cctx)
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("file://"+file)))
	check(ctx)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(screenshots(t), name), shot, 0o644))
	stopConsole()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return messages
}

func screenshots(t *testing.T) string {
	dir := os.Getenv("RAFTSIM_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "raftsim-screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

func errorsIn(ms []chromedp.ConsoleMessage) []string {
	var out []string
	for _, m := range ms {
		if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
			out = append(out, m.String())
		}
	}
	return out
}

// onScreen reports whether the first element matching sel is drawn: it
// has a size, and after scrolling to it, it lies inside the viewport.
func onScreen(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const e = document.querySelector(%q);
		if (!e) return false;
		e.scrollIntoView({block: "center", inline: "center"});
		const r = e.getBoundingClientRect();
		const s = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none" &&
			r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
	})()`, sel)))
	require.NoError(t, err, sel)
	return ok
}

// text is the text of every element matching sel, joined by newlines.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll(%q)].map(e => e.textContent).join("\n")`, sel)))
	require.NoError(t, err, sel)
	return s
}

// drawn reports whether a screenshot of the element matching sel, taken
// after scrolling to it, shows something: at least 5%% of its pixels are
// not the background (a page that renders blank when scrolled fails).
func drawn(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(sel))
	require.NoError(t, err, sel)
	img, _, err := image.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	b := img.Bounds()
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	return ink*20 > b.Dx()*b.Dy()
}

var _ = png.Decode // screenshots are PNG

func TestReportsInABrowser(t *testing.T) {
	plant.Skip(t)
	ctx := browser(t)
	dir := t.TempDir()

	t.Run("the console check sees errors", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.html")
		require.NoError(t, os.WriteFile(bad, []byte(`<!doctype html><p>x</p><script>console.error("boom")</script>`), 0o644))
		ms := visit(t, ctx, bad, "console-check.png", func(context.Context) {})
		assert.NotEmpty(t, errorsIn(ms), "a page that logs an error must be caught")
	})

	t.Run("failing run", func(t *testing.T) {
		seed := staleScenarioSeed(t)
		s, err := scenarios.Load("minority-partition")
		require.NoError(t, err)
		out, err := scenarios.Run(s, seed, func(o *runner.Options) {
			o.Trace, o.Planted = sim.TraceFull, plant.Of(plant.StaleLeaderReads)
		})
		require.NoError(t, err)
		require.False(t, out.Pass)
		args := []string{"--scenario", "minority-partition", "--seed", fmt.Sprint(seed), "--plant", "stale-leader-reads"}
		rdir := filepath.Join(dir, "failing")
		sum := reports.Summarize(out.Result, "minority-partition", args)
		require.NoError(t, reports.Write(rdir, out.Result, sum))
		stale := sum.Explanations[0].Operations[0]

		ms := visit(t, ctx, filepath.Join(rdir, reports.PageFile), "failing-run.png", func(ctx context.Context) {
			assert.Equal(t, "FAIL", text(t, ctx, "#verdict"))
			assert.True(t, onScreen(t, ctx, "#what-went-wrong"), "the explanation")
			assert.Contains(t, text(t, ctx, "#what-went-wrong"), stale.Op+" by "+stale.Client)
			assert.Contains(t, text(t, ctx, "#what-went-wrong"), "answered by "+stale.Server+" as leader of term")

			assert.True(t, onScreen(t, ctx, "#command"), "the reproduce command")
			assert.Equal(t, sum.Command, text(t, ctx, "#command"))

			assert.True(t, onScreen(t, ctx, "#whole"), "the lanes of the whole run")
			assert.Equal(t, "leader\nn1\nn2\nn3\nn4\nn5", text(t, ctx, "#whole .rowname.leader-row, #whole .rowname.server-row"))
			assert.True(t, drawn(t, ctx, "#whole svg"), "the lanes are drawn, not blank")

			assert.True(t, onScreen(t, ctx, "#focus"), "the zoom on the failure")
			assert.True(t, drawn(t, ctx, "#focus svg"), "the zoom is drawn after scrolling to it")
			labels := text(t, ctx, "#focus .labels text")
			assert.Contains(t, labels, fmt.Sprintf("· %s t%d", stale.Server, stale.ServerTerm), "the failing get shows who answered it")
			assert.Contains(t, text(t, ctx, "#focus .lines text"), fmt.Sprintf("%s by %s ← %s", stale.Op, stale.Client, stale.Server))

			assert.True(t, onScreen(t, ctx, "#health .chart"), "the charts")
		})
		assert.Empty(t, errorsIn(ms))
	})

	t.Run("passing run", func(t *testing.T) {
		res, err := runner.Run(runner.Options{Seed: 2, FaultTime: 10 * time.Second, Trace: sim.TraceFull})
		require.NoError(t, err)
		require.True(t, res.Pass, "%v", res.Failures)
		rdir := filepath.Join(dir, "passing")
		sum := reports.Summarize(res, "", []string{"--seed", "2", "--duration", "10s"})
		require.NoError(t, reports.Write(rdir, res, sum))
		ms := visit(t, ctx, filepath.Join(rdir, reports.PageFile), "passing-run.png", func(ctx context.Context) {
			assert.Equal(t, "PASS", text(t, ctx, "#verdict"))
			assert.Contains(t, text(t, ctx, "header"), "Passed")
			assert.True(t, onScreen(t, ctx, "#command"))
			assert.True(t, onScreen(t, ctx, "#whole"))
			assert.True(t, drawn(t, ctx, "#whole svg"))
			assert.False(t, onScreen(t, ctx, "#what-went-wrong"), "nothing went wrong")
		})
		assert.Empty(t, errorsIn(ms))
	})

	t.Run("soak", func(t *testing.T) {
		sdir := filepath.Join(dir, "soak")
		var runs []reports.SeedRun
		for seed := uint64(1); seed <= 4; seed++ {
			res, err := runner.Run(runner.Options{Seed: seed, FaultTime: 5 * time.Second, Trace: sim.TraceHashOnly})
			require.NoError(t, err)
			runs = append(runs, reports.SeedRunOf(reports.Summarize(res, "", []string{"--seed", fmt.Sprint(seed)}), ""))
		}
		runs[2].Verdict, runs[2].Failures = "FAIL", []string{"history not linearizable on keys k1"} // as a failing seed would
		runs[2].Report = "seed-3"
		soak := reports.Soak{Command: "go run ./cmd/simrun soak --seeds 1-4", Seeds: "1-4", Shards: []string{"0/1"},
			Runs: runs, WallNS: int64(time.Second), Parallel: 2}
		require.NoError(t, reports.WriteSoak(sdir, soak))
		ms := visit(t, ctx, filepath.Join(sdir, reports.SoakPageFile), "soak.png", func(ctx context.Context) {
			assert.Equal(t, "FAIL", text(t, ctx, "#verdict"))
			assert.True(t, onScreen(t, ctx, "#groups"))
			assert.Contains(t, text(t, ctx, "#groups"), "not linearizable: an operation cannot be placed")
			assert.True(t, onScreen(t, ctx, "#distributions .chart"))
			assert.True(t, drawn(t, ctx, "#distributions .chart svg"))
			assert.True(t, strings.Contains(text(t, ctx, "#throughput"), "runs per second"))
		})
		assert.Empty(t, errorsIn(ms))
	})
	t.Logf("screenshots in %s", screenshots(t))
}
