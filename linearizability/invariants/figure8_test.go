package invariants_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// figure8 drives a five-node cluster through the Raft paper's Figure 8,
// the one history in which committing an earlier term's entry by counting
// its replicas loses it:
//
//  1. Leader L1 (term a) is cut off with one follower F1 and appends an
//     entry P at index i, which only F1 receives.
//  2. The other three elect L2 (term b > a), which appends its no-op at
//     index i and is isolated the moment it becomes leader, before that
//     entry reaches anyone.
//  3. Everyone but L2 reunites and elects L1 or F1 (term c > b: their logs
//     end in (i, a), ahead of the others'). Its no-op goes at i+1, and
//     with one entry per append (MaxSizePerMsg 1) it replicates P to the
//     others one round trip before the no-op: for that round trip P is on
//     a majority but the no-op is not. A correct leader waits; one with
//     CommitPriorTerm commits P there, and the trap below fires.
//  4. Trap: the leader, and every node that already holds an entry of its
//     term, are cut off at once; L2 (whose log ends in (i, b), b > a) can
//     now win with the two nodes that hold P but nothing newer, and would
//     overwrite the committed P.
//
// Traps act from a world callback at the same virtual time, never from
// inside the trace hook: messages already in flight from a node cut off
// are dropped on arrival.
//
// It returns how many of the steps it got through: 4 when the trap fired.
func figure8(t testing.TB, seed uint64, bugs plant.Set, opts invariants.Options) (r *run, steps int) {
	r = newRun(t, seed, 5, 0, opts, func(cfg *cluster.Config) {
		cfg.Server.Planted = bugs
		cfg.Server.MaxSizePerMsg = 1
	})
	w, c, n := r.w, r.c, r.c.Servers()
	seq := uint64(0)
	propose := func(id int) {
		seq++
		cmd := kv.Command{ClientID: 99, Seq: seq, Op: kv.OpPut, Key: "k", Value: fmt.Sprint(seq)}
		require.NoError(t, c.Server(id).Propose(cmd.Encode()))
	}
	all := func(except ...int) []sim.NodeID {
		var ids []sim.NodeID
	next:
		for id := 1; id <= n; id++ {
			for _, x := range except {
				if id == x {
					continue next
				}
			}
			ids = append(ids, sim.NodeID(id))
		}
		return ids
	}
	waitFor := func(d time.Duration, done func() bool) bool {
		for end := w.Now().Add(d); !done() && w.Now() < end; {
			if stopped, _ := w.Stopped(); stopped {
				return false
			}
			w.RunFor(5 * time.Millisecond)
		}
		return done()
	}

	// A settled cluster with a few committed entries.
	l1 := r.leader()
	require.NotZero(t, l1)
	for k := 0; k < 3; k++ {
		propose(l1)
	}
	w.RunFor(300 * time.Millisecond)
	if id, _ := c.Leader(); id != l1 {
		return r, 0
	}

	// 1. L1 and F1 apart; P reaches F1 only.
	f1 := 1 + l1%n
	require.NoError(t, w.Net().Partition([]sim.NodeID{sim.NodeID(l1), sim.NodeID(f1)}, all(l1, f1)))
	propose(l1)
	w.RunFor(20 * time.Millisecond)

	// 2. The other three elect L2, isolated as it takes office.
	l2 := 0
	hook := func(e *sim.Event) {
		if l2 == 0 && e.Kind == sim.KindNote && int(e.Node) != l1 && int(e.Node) != f1 &&
			int(e.Node) <= n && strings.HasPrefix(e.Note, "role=Leader") {
			l2 = int(e.Node)
			w.At(w.Now(), func() {
				require.NoError(t, w.Net().Partition([]sim.NodeID{sim.NodeID(l2)}, all(l2)))
			})
		}
	}
	tr := w.Trace()
	prev := tr.OnEvent
	tr.OnEvent = func(e *sim.Event) { prev(e); hook(e) }
	if !waitFor(3*time.Second, func() bool { return l2 != 0 }) {
		return r, 1
	}

	// 3. The rest elect L1 or F1; the trap waits for a leader to move its
	// commit index onto an entry of an earlier term.
	type lt struct {
		id   int
		term uint64
	}
	base := map[lt]uint64{} // commit index of each leader when first seen leading
	l3 := 0
	hook = func(e *sim.Event) {
		if l3 != 0 {
			return
		}
		for id := 1; id <= n; id++ {
			s := c.Server(id)
			if s == nil {
				continue
			}
			st := s.BasicStatus()
			if st.Role != subject.Leader {
				continue
			}
			k := lt{id, st.Term}
			b, ok := base[k]
			if !ok {
				base[k] = st.Commit
				continue
			}
			if ct, _ := s.LogTerm(st.Commit); st.Commit > b && ct < st.Term {
				l3 = id
				term := st.Term
				w.At(w.Now(), func() { cutOff(t, r, l2, l3, term) })
				return
			}
		}
	}
	if !waitFor(3*time.Second, func() bool {
		if id, term := c.Leader(); id != 0 && id != l2 && steps < 3 {
			if _, seen := base[lt{id, term}]; seen {
				steps = 3 // L1 or F1 leads the reunited majority
			}
		}
		return l3 != 0
	}) {
		// No trap: let the cluster heal and converge under the checker.
		w.Net().Heal()
		w.RunFor(2 * time.Second)
		return r, max(steps, 2)
	}
	// 4. L2 may now win with the nodes that hold P and nothing newer.
	w.RunFor(3 * time.Second)
	w.Net().Heal()
	w.RunFor(time.Second)
	return r, 4
}

// cutOff isolates the leader l3 and every node holding an entry of its
// term, and joins L2 with everyone else.
func cutOff(t testing.TB, r *run, l2, l3 int, term uint64) {
	groups := [][]sim.NodeID{{sim.NodeID(l2)}}
	for id := 1; id <= r.c.Servers(); id++ {
		if id == l2 {
			continue
		}
		s := r.c.Server(id)
		if id == l3 || s == nil || s.BasicStatus().LastTerm >= term {
			groups = append(groups, []sim.NodeID{sim.NodeID(id)})
		} else {
			groups[0] = append(groups[0], sim.NodeID(id))
		}
	}
	require.NoError(t, r.w.Net().Partition(groups...))
}

func TestCommitPriorTermIsCaught(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.CommitPriorTerm, 10,
		[]string{invariants.LeaderCompleteness, invariants.CommittedNeverLost, invariants.StateMachineSafety},
		func(seed uint64) *run {
			r, _ := figure8(t, seed, plant.Of(plant.CommitPriorTerm), invariants.Options{StopWorld: true})
			return r
		})
}

// The same history without the bug: the trap never fires (a correct leader
// never commits an earlier term's entry by counting), and nothing is
// reported.
func TestFigure8OnTheRealImplementation(t *testing.T) {
	reachedStep3 := 0
	for seed := uint64(1); seed <= 20; seed++ {
		r, steps := figure8(t, seed, 0, invariants.Options{StopWorld: true})
		require.Less(t, steps, 4, "seed %d: a correct leader committed an earlier term's entry by counting", seed)
		v := r.ck.Violation()
		require.Nil(t, v, "seed %d: %v", seed, v)
		if steps == 3 {
			reachedStep3++
		}
	}
	// The scenario is not vacuous: the history got as far as the moment
	// the bug would strike.
	require.GreaterOrEqual(t, reachedStep3, 15)
}
