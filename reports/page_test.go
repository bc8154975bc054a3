package reports_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

func page(t *testing.T, res *runner.Result, args ...string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, reports.WritePage(&b, res, reports.Summarize(res, "", args), []string{reports.SummaryFile}, ""))
	return b.String()
}

// The page of a stale read tells it in words, draws every server's lane
// and the failing get with the server that answered it, and shows the
// command that reproduces it; the same run gives the same page.
func TestPageOfAStaleRead(t *testing.T) {
	plant.Skip(t)
	seed := staleScenarioSeed(t)
	s, err := scenarios.Load("minority-partition")
	require.NoError(t, err)
	out, err := scenarios.Run(s, seed, func(o *runner.Options) {
		o.Trace, o.Planted = sim.TraceHashOnly, plant.Of(plant.StaleLeaderReads)
	})
	require.NoError(t, err)
	require.False(t, out.Pass)
	res := out.Result
	args := []string{"--scenario", "minority-partition", "--seed", fmt.Sprint(seed), "--plant", "stale-leader-reads"}
	html := page(t, res, args...)

	e := res.Explanations[0]
	stale := e.Operations[0]
	for _, want := range []string{
		`<span class="verdict" id="verdict">FAIL</span>`,
		"What went wrong",
		template(e.Text[0]),
		fmt.Sprintf("%s--scenario minority-partition --seed %d --plant stale-leader-reads", reports.CommandPrefix(), seed),
		`id="whole"`, `id="focus"`,
		fmt.Sprintf("✗ %s by %s ← %s", stale.Op, stale.Client, stale.Server),
		fmt.Sprintf("Cannot be ordered: %s by %s", stale.Op, stale.Client),
		fmt.Sprintf("answered by %s leader t%d", stale.Server, stale.ServerTerm),
	} {
		assert.True(t, strings.Contains(html, want), "page lacks %q", want)
	}
	for i := 1; i <= 5; i++ {
		assert.Regexp(t, fmt.Sprintf(`class="rowname server-row"[^>]*>n%d</text>`, i), html, "a lane per server")
	}
	for i := 1; i <= 8; i++ {
		assert.Regexp(t, fmt.Sprintf(`>c%d</text>`, i), html, "a row per client")
	}
	assert.NotRegexp(t, regexp.MustCompile(`(?i)<script|https?://[^"]*\.(js|css)`), html, "self-contained, no script")
	assert.Equal(t, html, page(t, res, args...), "the same run draws the same page")
}

// Whatever the history, the page stays small: 60 virtual seconds of 10
// clients, with no faults (a long history) and with the swarm's faults.
func TestPageSizeIsBounded(t *testing.T) {
	plant.Skip(t)
	// minority-partition for half a minute with 10 clients: a long
	// history on one key, and a stale read in it.
	stale, err := scenarios.Parse("long-minority.scn", []byte(`clients 10
server tick 10ms election-ticks 10 heartbeat-ticks 2
keys 1
mix put=3 get=6 append=1 cas=0
faults-until 30s
every 1s from 1100ms to 28100ms majority-minority for 700ms
`))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opts runner.Options
		fail bool
	}{
		{"long history", runner.Options{Seed: 3, Clients: 10, FaultTime: time.Minute, NoFaults: true}, false},
		{"swarm faults", runner.Options{Seed: 3, Clients: 10, FaultTime: time.Minute}, false},
		{"failing, long history on one key", stale.Options(3), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Trace = sim.TraceHashOnly
			if tc.fail {
				tc.opts.Planted = plant.Of(plant.StaleLeaderReads)
			}
			res, err := runner.Run(tc.opts)
			require.NoError(t, err)
			require.Equal(t, tc.fail, !res.Pass, "%v", res.Failures)
			html := page(t, res, "--seed", "3")
			t.Logf("%s: %d operations, %d faults, verdict %s: page %d bytes", tc.name, res.Cluster.History.Len(),
				len(res.Chronicle.Faults), res.Verdict, len(html))
			assert.Less(t, len(html), 1<<20, "at most 1 MiB")
		})
	}
}

// template is s as html/template escapes text.
func template(s string) string {
	r := strings.NewReplacer(`&`, "&amp;", `'`, "&#39;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;")
	return r.Replace(s)
}
