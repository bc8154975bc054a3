package reports_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/reports"
)

func TestSignatureDropsWhatDiffersBetweenSeeds(t *testing.T) {
	for _, c := range []struct{ failure, want string }{
		{"history not linearizable on keys k0,k3", "not linearizable: an operation cannot be placed"},
		{"invariant election-safety broken at 2.1s: n1 and n3 lead term 4", "invariant election-safety broken"},
		{"liveness: no leader and completed operation within 10s after the heal", "liveness: no recovery after the heal"},
		{"node n3 halted: server 3: persist: disk full at 4096 bytes", "a node halted: persist"},
		{"node n5 halted: server 5: snapshot 948 does not restore (applied 0): kv: x", "a node halted: snapshot N does not restore (applied N)"},
		{"n2 reported storage damage, but no storage fault hit it: a crash must never look like data loss", "storage damage reported with no storage fault"},
		{"check leader-overlap: n1 led term 3 for 2.5s after n4 led term 4", "check leader-overlap"},
		{"expect stable-leader from 4s to 28s: at 4.05s n4 led term 10", "expect stable-leader"},
		{"storage faults exceeded what Raft tolerates: durable data damaged on 3 of 5 servers [1 2 3]", "storage faults exceeded what Raft tolerates"},
		{"something new after 12.5ms", "something new after N"},
	} {
		assert.Equal(t, c.want, reports.Signature(c.failure), c.failure)
	}
}

func soakOf(runs ...reports.SeedRun) reports.Soak {
	return reports.Soak{Command: "go run ./cmd/simrun soak --seeds 1-6", Seeds: "1-6", Shards: []string{"0/1"}, Runs: runs,
		WallNS: 2e9, Parallel: 2, Build: "test"}
}

func run(seed uint64, verdict string, virtual int64, failures ...string) reports.SeedRun {
	r := reports.SeedRun{Seed: seed, Verdict: verdict, Failures: failures, VirtualTimeNS: virtual, Events: uint64(virtual / 1000),
		Command: fmt.Sprintf("go run ./cmd/simrun --seed %d", seed)}
	r.Metrics.OpsCompleted = seed * 100
	if verdict != "PASS" {
		r.Report = fmt.Sprintf("seed-%d", seed)
	}
	return r
}

func TestGroupFailuresKeepsTheShortestReproduction(t *testing.T) {
	runs := []reports.SeedRun{
		run(1, "PASS", 20e9),
		run(2, "FAIL", 23e9, "history not linearizable on keys k1"),
		run(3, "FAIL", 9e9, "invariant log-matching broken at 3s: x"),
		run(4, "FAIL", 12e9, "history not linearizable on keys k0"),
		run(5, "FAIL", 30e9, "history not linearizable on keys k2"),
	}
	gs := reports.GroupFailures(runs)
	require.Len(t, gs, 2)
	assert.Equal(t, "not linearizable: an operation cannot be placed", gs[0].Signature, "most frequent first")
	assert.Equal(t, []uint64{2, 4, 5}, gs[0].Seeds)
	assert.Equal(t, uint64(4), gs[0].Shortest)
	assert.Equal(t, "seed-4", gs[0].Report)
	assert.Equal(t, uint64(3), gs[1].Shortest)
}

func TestMergeSoaksJoinsShards(t *testing.T) {
	a := soakOf(run(1, "PASS", 1e9), run(3, "FAIL", 2e9, "liveness: x"))
	a.Shards = []string{"0/2"}
	b := soakOf(run(2, "PASS", 1e9), run(4, "PASS", 1e9))
	b.Shards, b.WallNS = []string{"1/2"}, 5e9
	m := reports.MergeSoaks([]reports.Soak{a, b})
	var seeds []uint64
	for _, r := range m.Runs {
		seeds = append(seeds, r.Seed)
	}
	assert.Equal(t, []uint64{1, 2, 3, 4}, seeds)
	assert.Equal(t, []string{"0/2", "1/2"}, m.Shards)
	assert.Equal(t, int64(5e9), m.WallNS, "shards run side by side: the longest")
}

func TestSoakPageSaysWhatFailedAndHowOften(t *testing.T) {
	s := soakOf(run(1, "PASS", 20e9), run(2, "FAIL", 23e9, "history not linearizable on keys k1"),
		run(3, "PASS", 21e9), run(4, "FAIL", 12e9, "history not linearizable on keys k0"))
	var b bytes.Buffer
	require.NoError(t, reports.WriteSoakPage(&b, s))
	page := b.String()
	for _, want := range []string{"2 of 4 runs failed, in 1 way.", "not linearizable", `href="seed-4/index.html"`,
		"Operations completed", "runs per second", "go run ./cmd/simrun soak --seeds 1-6"} {
		assert.True(t, strings.Contains(page, want), "page lacks %q", want)
	}

	dir := t.TempDir()
	require.NoError(t, reports.WriteSoak(dir, s))
	back, err := reports.ReadSoak(filepath.Join(dir, reports.SoakDataFile))
	require.NoError(t, err)
	assert.Equal(t, s, back)
	_, err = reports.ReadSoak(filepath.Join(dir, reports.SoakPageFile))
	assert.ErrorContains(t, err, "soak.html")
}

// A group's shrunk script is on the page, with how much it shrank.
func TestSoakPageShowsTheShrunkScript(t *testing.T) {
	s := soakOf(run(1, "PASS", 20e9), run(2, "FAIL", 23e9, "history not linearizable on keys k1"))
	s.Groups = reports.GroupFailures(s.Runs)
	s.Groups[0].Script = "at 1s kill n1 until 2s\n"
	s.Groups[0].ScriptFile = "shrunk/1-x.scn"
	s.Groups[0].Shrunk = &reports.ShrinkStats{Runs: 40, Done: true,
		Before: reports.RunSize{Faults: 31, FaultLines: 31, Operations: 900, VirtualTimeNS: 23e9, Servers: 5, Clients: 3, Keys: 4},
		After:  reports.RunSize{Faults: 1, FaultLines: 1, Operations: 40, VirtualTimeNS: 2e9, Servers: 3, Clients: 1, Keys: 1}}
	var b bytes.Buffer
	require.NoError(t, reports.WriteSoakPage(&b, s))
	page := b.String()
	for _, want := range []string{`href="shrunk/1-x.scn"`, "at 1s kill n1 until 2s", "from 31 faults (31 lines), 900 operations, 23s of virtual time, 5 servers, 3 clients, 4 keys",
		"to 1 fault (1 line), 40 operations, 2s of virtual time, 3 servers, 1 client, 1 key (40 candidates run)"} {
		assert.Contains(t, page, want)
	}
}
