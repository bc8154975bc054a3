package reports_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

func TestWriteLeavesACompleteReport(t *testing.T) {
	var kinds []faults.Kind
	for _, k := range runner.DefaultKinds(5) {
		if !k.Storage() {
			kinds = append(kinds, k)
		}
	}
	res, err := runner.Run(runner.Options{Seed: 12, FaultTime: 10 * time.Second, Trace: sim.TraceFull,
		FaultKinds: kinds, Planted: plant.Of(plant.StaleLeaderReads)})
	require.NoError(t, err)
	require.False(t, res.Pass, "seed 12 catches the planted stale reads")
	args := []string{"--seed", "12", "--plant", "stale-leader-reads"}
	dir := filepath.Join(t.TempDir(), "seed-12")
	require.NoError(t, reports.Write(dir, res, reports.Summarize(res, "", args)))

	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	assert.ElementsMatch(t, []string{reports.SummaryFile, reports.TraceFile, reports.HistoryFile,
		reports.TimelineFile, reports.VisualFile, reports.ReproFile}, got, "no temp files left behind")

	var sum reports.Summary
	data, err := os.ReadFile(filepath.Join(dir, reports.SummaryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &sum))
	assert.Equal(t, res.TraceHash, sum.TraceHash)
	assert.Equal(t, "FAIL", sum.Verdict)
	assert.Equal(t, "not-linearizable", sum.Linearizable)
	assert.Equal(t, "go run ./cmd/simrun --seed 12 --plant stale-leader-reads", sum.Command)

	trace, err := os.ReadFile(filepath.Join(dir, reports.TraceFile))
	require.NoError(t, err)
	assert.Equal(t, int(res.Events), strings.Count(string(trace), "\n"), "one line per event")

	var hist []map[string]any
	data, err = os.ReadFile(filepath.Join(dir, reports.HistoryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &hist))
	assert.Len(t, hist, res.Cluster.History.Len())

	html, err := os.ReadFile(filepath.Join(dir, reports.VisualFile))
	require.NoError(t, err)
	assert.Contains(t, string(html), "<html")
	st, err := os.Stat(filepath.Join(dir, reports.ReproFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
}

func TestCommandQuotesWhatTheShellWouldSplit(t *testing.T) {
	assert.Equal(t, `go run ./cmd/simrun --scenario 'my file.scn' --seed 3`,
		reports.Command([]string{"--scenario", "my file.scn", "--seed", "3"}))
	assert.Equal(t, `go run ./cmd/simrun --x 'it'\''s'`, reports.Command([]string{"--x", "it's"}))
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	require.NoError(t, reports.WriteFileAtomic(p, []byte("one")))
	require.NoError(t, reports.WriteFileAtomic(p, []byte("two")))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "two", string(data))
	entries, err := os.ReadDir(filepath.Dir(p))
	require.NoError(t, err)
	assert.Len(t, entries, 1)
}
