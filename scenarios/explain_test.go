package scenarios_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

func fullRun(t *testing.T, name string, seed uint64, bugs plant.Set) *scenarios.Outcome {
	t.Helper()
	s, err := scenarios.Load(name)
	require.NoError(t, err)
	out, err := scenarios.Run(s, seed, func(o *runner.Options) {
		o.Trace = sim.TraceFull
		o.Planted = bugs
	})
	require.NoError(t, err)
	return out
}

// A stale read is told as: which get, by which client, answered by which
// server in which term while which server led a higher one, the write it
// missed, and the partition that cut the old leader off.
func TestStaleReadIsExplained(t *testing.T) {
	plant.Skip(t)
	var out *scenarios.Outcome
	for seed := uint64(1); seed <= 20 && (out == nil || out.Pass); seed++ {
		out = fullRun(t, "minority-partition", seed, plant.Of(plant.StaleLeaderReads))
	}
	require.False(t, out.Pass, "minority-partition caught no planted stale read on seeds 1..20")
	res := out.Result
	require.Len(t, res.Explanations, 1, "one failing key")
	e := res.Explanations[0]
	assert.Equal(t, "k0", e.Key)
	assert.Equal(t, "history not linearizable on keys k0", e.Failure)

	parts := map[string]runner.ExplainedOp{}
	for _, op := range e.Operations {
		parts[op.Part] = op
	}
	stale, missed := parts["cannot be ordered"], parts["completed before it was called"]
	require.True(t, strings.HasPrefix(stale.Op, "get(k0)"), "%+v", e.Operations)
	assert.Equal(t, "leader", stale.ServerRole)
	assert.NotEmpty(t, stale.Server)
	assert.NotEqual(t, stale.Server, stale.Leader, "a deposed leader answered")
	assert.Less(t, stale.ServerTerm, stale.LeaderTerm)
	require.NotEmpty(t, missed.Op, "a completed write proves the read stale")
	assert.Less(t, missed.ReturnNS, stale.CallNS)
	assert.Equal(t, stale.Leader, missed.Server, "the write went through the real leader")

	// The server that answered was on the other side of a partition from
	// the real leader at that moment.
	ops := res.Cluster.History.Operations()
	require.Equal(t, stale.Client, res.Chronicle.Names.Client(ops[stale.Index].ClientID))
	server, _ := res.Chronicle.Names.ID(stale.Server)
	leader, _ := res.Chronicle.Names.ID(stale.Leader)
	cut := false
	for _, f := range res.Chronicle.ActiveAt(sim.Time(stale.CallNS)) {
		for _, g := range f.Fault.Groups {
			if contains(g, server) != contains(g, leader) {
				cut = true
			}
		}
	}
	assert.True(t, cut, "faults then: %v", e.Faults)

	text := strings.Join(e.Text, "\n")
	for _, want := range []string{stale.Op, "by " + stale.Client, stale.Server + " as leader of term", "It was stale", "majority-minority"} {
		assert.Contains(t, text, want)
	}
	assert.LessOrEqual(t, e.FromNS, stale.CallNS)
	assert.GreaterOrEqual(t, e.ToNS, stale.ReturnNS)
}

func contains(g []int, x int) bool {
	for _, y := range g {
		if y == x {
			return true
		}
	}
	return false
}

// A broken invariant is told with the event after which it broke, every
// server's state, and the faults around it.
func TestInvariantIsExplained(t *testing.T) {
	plant.Skip(t)
	out := fullRun(t, "figure8", 1, plant.Of(plant.CommitPriorTerm))
	require.False(t, out.Pass)
	require.NotEmpty(t, out.Result.Explanations)
	e := out.Result.Explanations[0]
	require.NotNil(t, e.Invariant)
	assert.Equal(t, out.Result.Invariant.Invariant, e.Invariant.Name)
	assert.NotEmpty(t, e.Invariant.Event, "the full trace was kept")
	assert.Len(t, e.Invariant.Nodes, 5, "one line per server")
	assert.Contains(t, strings.Join(e.Text, "\n"), "partition")
	assert.Equal(t, int64(out.Result.Invariant.At), e.AtNS)
}

// A cluster that never recovers is told with its last leader and every
// server's state at the end.
func TestLivenessIsExplained(t *testing.T) {
	s, err := scenarios.Parse("dead-majority.scn", []byte("no-heal\nsettle 2s\nfaults-until 4s\nat 3s kill n3,n4,n5 until 1m\n"))
	require.NoError(t, err)
	out, err := scenarios.Run(s, 1, func(o *runner.Options) { o.Trace = sim.TraceHashOnly })
	require.NoError(t, err)
	require.False(t, out.Pass)
	require.False(t, out.Result.Liveness.OK)
	var e *runner.Explanation
	for i := range out.Result.Explanations {
		if strings.HasPrefix(out.Result.Explanations[i].Failure, "liveness") {
			e = &out.Result.Explanations[i]
		}
	}
	require.NotNil(t, e, "%+v", out.Result.Explanations)
	text := strings.Join(e.Text, "\n")
	assert.Contains(t, text, "did not elect a leader and complete an operation")
	assert.Regexp(t, `The last leader was n\d in term \d+, from [0-9.]+s until it (crash|stepped down)`, text)
	for _, down := range []string{"n3 down", "n4 down", "n5 down"} {
		assert.Contains(t, text, down)
	}
}
