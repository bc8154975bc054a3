package reports_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/reports"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

func TestWriteLeavesACompleteReport(t *testing.T) {
	plant.Skip(t)
	var kinds []faults.Kind
	for _, k := range runner.DefaultKinds(5) {
		if !k.Storage() && !k.Membership() {
			kinds = append(kinds, k)
		}
	}
	// The first seed whose run catches the planted stale reads (the
	// swarm draws the load and the faults, so which one is up to it).
	var res *runner.Result
	var seed uint64
	for seed = 1; seed <= 60; seed++ {
		r, err := runner.Run(runner.Options{Seed: seed, Clients: 3, FaultTime: 10 * time.Second, Trace: sim.TraceFull,
			FaultKinds: kinds, Planted: plant.Of(plant.StaleLeaderReads)})
		require.NoError(t, err)
		if r.Linearizability.Verdict == model.NotLinearizable {
			res = r
			break
		}
	}
	require.NotNil(t, res, "some seed of 1..60 catches the planted stale reads")
	args := []string{"--seed", fmt.Sprint(seed), "--plant", "stale-leader-reads"}
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("seed-%d", seed))
	require.NoError(t, reports.Write(dir, res, reports.Summarize(res, "", args)))

	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, n := range names {
		got = append(got, n.Name())
	}
	assert.ElementsMatch(t, []string{reports.PageFile, reports.SummaryFile, reports.TraceFile, reports.HistoryFile,
		reports.SamplesFile, reports.TimelineFile, reports.VisualFile, reports.ReproFile}, got, "no temp files left behind")

	var sum reports.Summary
	data, err := os.ReadFile(filepath.Join(dir, reports.SummaryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &sum))
	assert.Equal(t, res.TraceHash, sum.TraceHash)
	assert.Equal(t, "FAIL", sum.Verdict)
	assert.Equal(t, "not-linearizable", sum.Linearizable)
	assert.Equal(t, fmt.Sprintf("%s--seed %d --plant stale-leader-reads", reports.CommandPrefix(), seed), sum.Command)
	require.NotEmpty(t, sum.Explanations, "summary.json explains the failure, structured")
	require.NotEmpty(t, sum.Explanations[0].Operations)
	stale := sum.Explanations[0].Operations[0]
	assert.Regexp(t, `^n[1-5]$`, stale.Server)
	assert.Regexp(t, `^c[1-8]$`, stale.Client) // the seed's swarm drew the read-heavy load: 8 clients
	assert.Equal(t, "leader", stale.ServerRole)

	trace, err := os.ReadFile(filepath.Join(dir, reports.TraceFile))
	require.NoError(t, err)
	assert.Equal(t, int(res.Events), strings.Count(string(trace), "\n"), "one line per event")

	typed := map[string]bool{}
	for _, line := range strings.SplitN(string(trace), "\n", 2000)[:1999] {
		var e reports.TraceEvent
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		for _, name := range []string{e.Node, e.Peer} {
			if name != "" {
				assert.Regexp(t, `^(n[1-5]|c[1-8])$`, name, "servers n1..n5, clients c1..c8: %s", line)
			}
		}
		if e.Kind == "send" {
			assert.NotEmpty(t, e.Type, "a message says what it is: %s", line)
			typed[e.Type] = true
		}
	}
	assert.True(t, typed["app"] && typed["request"] && typed["response"], "Raft and client messages by type: %v", typed)

	var hist []reports.HistoryOp
	data, err = os.ReadFile(filepath.Join(dir, reports.HistoryFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &hist))
	require.Len(t, hist, res.Cluster.History.Len())
	answered := 0
	for i, op := range hist {
		assert.Equal(t, i, op.Index)
		assert.Regexp(t, `^c[1-8]$`, op.Client)
		if op.ReturnNS != nil {
			answered++
			assert.Regexp(t, `^n[1-5]$`, op.Server, "a completed operation names its server")
			if op.Op == "get" {
				// A follower answers a read it confirmed with the leader.
				assert.Contains(t, []string{"leader", "follower"}, op.ServerRole)
			} else {
				assert.Equal(t, "leader", op.ServerRole, "only a leader answers a write")
			}
			assert.Positive(t, op.ServerTerm)
			assert.True(t, strings.HasPrefix(op.Value, op.Client+".") || op.Value == "", "values are named after their client: %+v", op)
		}
	}
	assert.Positive(t, answered)

	samples, err := os.ReadFile(filepath.Join(dir, reports.SamplesFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(samples)), "\n")
	assert.Equal(t, "t_s,node,up,role,term,lead,commit,last_index,bytes_received,restarts,recovering", lines[0])
	assert.Len(t, lines, 1+5*len(res.Samples), "a row per server per sample")

	timeline, err := os.ReadFile(filepath.Join(dir, reports.TimelineFile))
	require.NoError(t, err)
	assert.NotRegexp(t, `(?m)^\s+\S+ fault\s+n\d peer=`, string(timeline), "no line per cut link")
	assert.Contains(t, string(timeline), stale.Op, "the explanation heads the timeline")

	html, err := os.ReadFile(filepath.Join(dir, reports.VisualFile))
	require.NoError(t, err)
	assert.Contains(t, string(html), "<html")
	st, err := os.Stat(filepath.Join(dir, reports.ReproFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	repro, err := os.ReadFile(filepath.Join(dir, reports.ReproFile))
	require.NoError(t, err)
	root := reports.ModuleRoot()
	require.NotEmpty(t, root, "the tests run inside the module")
	assert.Contains(t, string(repro), "\ncd "+root+"\nexec "+sum.Command+"\n", "repro.sh works from any directory")
}

func TestCommandQuotesWhatTheShellWouldSplit(t *testing.T) {
	assert.Equal(t, reports.CommandPrefix()+`--scenario 'my file.scn' --seed 3`,
		reports.Command([]string{"--scenario", "my file.scn", "--seed", "3"}))
	assert.Equal(t, reports.CommandPrefix()+`--x 'it'\''s'`, reports.Command([]string{"--x", "it's"}))
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
