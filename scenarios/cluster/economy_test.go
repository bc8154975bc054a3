package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The MIT 6.5840 Raft lab's bounds on an idle cluster of three
// (TestCount3B): at most 30 RPCs until the tester, polling every 500 ms,
// first sees a leader, and at most 60 RPCs in a second of idleness. An
// RPC is a request (its response is part of it).
const (
	mitRPCsToLeader = 30
	mitIdleRPCs     = 60
)

// idleEconomy is what an idle three-server cluster sends, counted from a
// deterministic run.
type idleEconomy struct {
	leaderAt      time.Duration // when a leader first existed
	toLeader      int           // RPCs sent until then
	toFirstPoll   int           // RPCs sent until the first 500 ms poll that sees a leader (MIT's count)
	idlePerSecond float64       // RPCs per second over the 10 s after that poll
}

func measureIdle(t *testing.T, seed uint64) idleEconomy {
	t.Helper()
	w, c := newCluster(t, seed, 3, 0, client.Workload{}, nil)
	rpcs := 0
	w.Trace().OnEvent = func(e *sim.Event) {
		if e.Kind == sim.KindSend && cluster.IsRaft(e.MsgType) && !cluster.IsResponse(e.MsgType) {
			rpcs++
		}
	}
	var out idleEconomy
	for out.leaderAt == 0 {
		w.Step()
		if id, _ := c.Leader(); id != 0 {
			out.leaderAt, out.toLeader = w.Now().Duration(), rpcs
		}
		require.Less(t, w.Now().Duration(), 30*time.Second, "no leader")
	}
	for {
		poll := w.Now().Duration().Truncate(500*time.Millisecond) + 500*time.Millisecond
		w.RunUntil(sim.Time(poll))
		if id, _ := c.Leader(); id != 0 {
			break
		}
	}
	out.toFirstPoll = rpcs
	before := rpcs
	const window = 10 * time.Second
	w.RunFor(window)
	out.idlePerSecond = float64(rpcs-before) / window.Seconds()
	return out
}

// TestIdleRPCsWithinMITBounds pins the message economy of the default
// timing against the MIT lab's bounds, by counting, never timing.
func TestIdleRPCsWithinMITBounds(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			e := measureIdle(t, seed)
			t.Logf("leader at %v after %d RPCs; %d RPCs by the first poll; %.1f idle RPCs/s", e.leaderAt, e.toLeader, e.toFirstPoll, e.idlePerSecond)
			assert.LessOrEqual(t, e.toFirstPoll, mitRPCsToLeader, "RPCs until the first poll that sees a leader")
			assert.LessOrEqual(t, e.idlePerSecond, float64(mitIdleRPCs), "RPCs per idle second")
		})
	}
}
