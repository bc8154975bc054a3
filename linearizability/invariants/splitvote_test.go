package invariants_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// swingVoter kills a voter right after it votes and brings it back at
// once among nodes that have not seen the election. After the cluster
// settles, every node is isolated until the leader steps down (pre-votes
// change no term); then n1..n3 elect a leader A in some term T. The moment
// A takes office it is cut off, and a node V that voted for it is killed,
// restarted and joined with n4 and n5, still at the term before the
// isolation. A V that remembers its vote refuses any candidate in T; a V
// that forgot it may vote in T again, and a V whose disk was wiped votes
// in any term, so n4 or n5 can win T (two leaders in one term) or a lower
// term and commit there what A, leader of the higher term T, lacks (leader
// completeness) — unless V, restarted with a fresh election timer,
// campaigns first, which is why this takes a few seeds.
func swingVoter(t testing.TB, seed uint64, bugs plant.Set, opts invariants.Options) *run {
	r := newRun(t, seed, 5, 0, opts, func(cfg *cluster.Config) { cfg.Server.Planted = bugs })
	w, c := r.w, r.c
	require.NotZero(t, r.leader())
	w.RunFor(300 * time.Millisecond)
	ids := func(xs ...int) []sim.NodeID {
		out := make([]sim.NodeID, len(xs))
		for i, x := range xs {
			out[i] = sim.NodeID(x)
		}
		return out
	}
	require.NoError(t, w.Net().Partition(ids(1), ids(2), ids(3), ids(4), ids(5)))
	w.RunFor(time.Second) // the leader steps down; pre-votes change no term

	a := 0
	tr := w.Trace()
	prev := tr.OnEvent
	tr.OnEvent = func(e *sim.Event) {
		prev(e)
		if a != 0 || e.Kind != sim.KindNote || e.Node < 1 || e.Node > 3 || !strings.HasPrefix(e.Note, "role=Leader") {
			return
		}
		a = int(e.Node)
		w.At(w.Now(), func() {
			v := 0
			for id := 1; id <= 3; id++ {
				if s := c.Server(id); id != a && s != nil && s.BasicStatus().Vote == uint64(a) {
					v = id
				}
			}
			if v == 0 {
				return
			}
			x := 6 - a - v // the third of n1..n3
			require.NoError(t, w.Net().Partition(ids(a), ids(x), ids(v, 4, 5)))
			require.NoError(t, w.Kill(sim.NodeID(v), false))
			require.NoError(t, w.Restart(sim.NodeID(v)))
		})
	}
	require.NoError(t, w.Net().Partition(ids(1, 2, 3), ids(4), ids(5)))
	w.RunFor(2 * time.Second)
	w.Net().Heal()
	w.RunFor(time.Second)
	return r
}

func TestSwingVoterOnTheRealImplementation(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := swingVoter(t, seed, 0, invariants.Options{StopWorld: true})
		v := r.ck.Violation()
		require.Nil(t, v, "seed %d: %v", seed, v)
	}
}

// A voter killed right after it votes and restarted without its vote is
// caught as it comes back. (With durable-monotonic off, the forgotten vote
// makes no second leader here: the WAL refuses to record a different vote
// within the replayed term and the server fail-stops before the vote
// leaves it.)
func TestForgetVoteOnRestartIsCaughtAtTheSwingVoter(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.ForgetVoteOnRestart, 3, []string{invariants.DurableMonotonic}, func(seed uint64) *run {
		return swingVoter(t, seed, plant.Of(plant.ForgetVoteOnRestart), invariants.Options{StopWorld: true})
	})
}

// A wiped voter, on the other hand, votes again (its WAL is empty): with
// durable-monotonic off, that shows as two leaders in one term, or as a
// leader lacking an entry committed in a lower term.
func TestBlankRestartIsCaughtWithoutDurableMonotonic(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.BlankRestart, 20, []string{invariants.ElectionSafety, invariants.LeaderCompleteness}, func(seed uint64) *run {
		return swingVoter(t, seed, plant.Of(plant.BlankRestart),
			invariants.Options{StopWorld: true, Skip: []string{invariants.DurableMonotonic}})
	})
}
