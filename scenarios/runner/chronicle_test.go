package runner_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The chronicle agrees with what the run saw otherwise: every completed
// operation was answered by the server the history names, within its
// call and return; leadership as the chronicle tells it matches the
// samples; faults are spans of the schedule.
func TestChronicleAgreesWithTheRun(t *testing.T) {
	// Without Record a run keeps no answers (nor every sample): it
	// explains itself when run again to be reported.
	res, err := runner.Run(runner.Options{Seed: 2, FaultTime: 10 * time.Second, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	require.Len(t, res.Samples, 1, "the last sample only")
	for _, op := range res.Cluster.History.Operations() {
		_, ok := res.Chronicle.Answer(op)
		require.False(t, ok)
	}

	for _, seed := range []uint64{2, 7} {
		res, err := runner.Run(runner.Options{Seed: seed, FaultTime: 10 * time.Second, Trace: sim.TraceHashOnly, Record: true})
		require.NoError(t, err)
		ch := res.Chronicle
		require.NotNil(t, ch)

		for i, op := range res.Cluster.History.Operations() {
			a, ok := ch.Answer(op)
			if op.Unknown {
				assert.False(t, ok)
				continue
			}
			require.True(t, ok, "seed %d op %d: %v", seed, i, op)
			assert.Equal(t, int(op.Server), a.Server)
			if op.Input.Op != kv.OpGet {
				// (A get may be answered by a follower: with read index
				// it forwards the read and answers from its own state.)
				assert.Equal(t, subject.Leader, a.Role, "only a leader answers a write")
			}
			assert.GreaterOrEqual(t, int64(a.At), op.Call)
			assert.LessOrEqual(t, int64(a.At), op.Return)
		}

		ts := ch.Tenures()
		require.NotEmpty(t, ts)
		byTerm := map[uint64]int{}
		for _, x := range ts {
			byTerm[x.Term]++
			assert.LessOrEqual(t, x.From, x.To)
		}
		for term, n := range byTerm {
			assert.Equal(t, 1, n, "seed %d: one leader in term %d", seed, term)
		}
		changed := map[sim.Time]bool{}
		for _, r := range ch.Roles {
			changed[r.At] = true
		}
		for _, l := range ch.Life {
			changed[l.At] = true
		}
		agree, judged := 0, 0
		for _, s := range res.Samples {
			if changed[s.At] {
				continue // the sample and the change race within one instant
			}
			judged++
			id, term := s.Leader()
			x, ok := ch.LeaderAt(s.At)
			if (id == 0 && !ok) || (ok && x.Node == id && x.Term == term) {
				agree++
			}
		}
		assert.Equal(t, judged, agree, "seed %d: leadership by the chronicle matches the samples", seed)

		require.NotNil(t, res.Schedule)
		assert.LessOrEqual(t, len(ch.Faults), len(res.Schedule.Faults))
		for _, f := range ch.Faults {
			want := res.Schedule.Faults[f.Index]
			assert.Equal(t, want.Kind, f.Fault.Kind)
			assert.Equal(t, sim.Time(want.At), f.Begin)
			if f.Ended {
				assert.LessOrEqual(t, f.End, sim.Time(want.Until), "ends at its Until or at the heal")
			}
		}
	}
}
