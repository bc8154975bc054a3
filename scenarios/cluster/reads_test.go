package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Under a lease a server counts its ticks by its monotonic clock: a pause
// (or a stall on slow fsyncs) costs it the ticks it could not take, so the
// lease it counts in them cannot outlive its time. Other modes tick once
// per timer, as before.
func TestLeaseTicksCountAPause(t *testing.T) {
	for _, tc := range []struct {
		reads    server.ReadMode
		min, max uint64
	}{
		{server.ReadLease, 10, 11}, // 500ms of 50ms ticks
		{server.ReadIndex, 1, 2},
	} {
		t.Run(tc.reads.String(), func(t *testing.T) {
			w, c := newCluster(t, 4, 3, 0, client.Workload{}, func(cfg *cluster.Config) { cfg.Server.Reads = tc.reads })
			w.RunFor(time.Second)
			s := c.Server(2)
			before := s.Stats().Ticks
			require.NoError(t, w.Pause(2))
			w.RunFor(500 * time.Millisecond)
			require.NoError(t, w.Resume(2))
			w.RunFor(5 * time.Millisecond)
			got := s.Stats().Ticks - before
			assert.GreaterOrEqual(t, got, tc.min, "ticks over a 500ms pause")
			assert.LessOrEqual(t, got, tc.max)
		})
	}
}

// The monotonic ticks never run ahead of the clock: over a long quiet
// run with clock jumps and drift, a lease server took exactly the ticks
// its monotonic clock allowed.
func TestLeaseTicksFollowTheMonotonicClock(t *testing.T) {
	w, c := newCluster(t, 5, 3, 0, client.Workload{}, func(cfg *cluster.Config) { cfg.Server.Reads = server.ReadLease })
	require.NoError(t, w.SetClockDrift(1, 200_000))
	w.RunFor(time.Second)
	require.NoError(t, w.JumpClock(1, -3*time.Second))
	w.RunFor(time.Second)
	require.NoError(t, w.JumpClock(1, 5*time.Second))
	w.RunFor(time.Second)
	// 3s of world time at +20%: 3.6s of monotonic time, 72 ticks of 50ms.
	got := c.Server(1).Stats().Ticks
	assert.Equal(t, server.DefaultTickInterval, 50*time.Millisecond)
	assert.InDelta(t, 72, float64(got), 1)
}

// A lease leader paused for longer than its lease must count the ticks the
// pause cost it before it handles what waited for it: a get that reached
// it during the pause, handled at the resume before the overdue tick,
// was answered from a lease that had run out seconds before, while the
// others had elected a new leader (the swarm's read-safety check, seed
// 113). The leader is paused as a client's get leaves for it, and
// resumed two seconds later.
func TestLeaseLeaderResumedFromAPauseCountsItFirst(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			wl := client.DefaultWorkload()
			wl.Keys, wl.Put, wl.Get, wl.Append, wl.CAS = 1, 0, 1, 0, 0
			var (
				w      *sim.World
				c      *cluster.Cluster
				newest uint64 // the latest term a leader was elected in
				stale  []string
			)
			w, c = newCluster(t, seed, 3, 1, wl, func(cfg *cluster.Config) {
				cfg.Server.Reads = server.ReadLease
				// Bound to the leader: a follower forwards a get, and a
				// stale leader's answer to it would not be taken.
				cfg.Clients, cfg.Groups = 0, []cluster.ClientGroup{{Count: 1, Servers: []int{faults.RefLeader}, From: time.Second, Until: 5 * time.Second}}
				cfg.Server.OnRole = func(_ uint64, role subject.Role, _, term uint64) {
					if role == subject.Leader {
						newest = max(newest, term)
					}
				}
				cfg.Server.OnRead = func(id uint64, ev server.ReadEvent) {
					if st := c.Server(int(id)).BasicStatus(); ev.Confirmed && st.Role == subject.Leader && st.Term < newest {
						stale = append(stale, fmt.Sprintf("n%d, leader of term %d, confirmed a read at %v after term %d's leader was elected", id, st.Term, c.W.Now(), newest))
					}
				}
			})
			c.StartLoad()
			w.RunFor(1100 * time.Millisecond)
			lead, _ := leaderNow(t, w, c)
			paused := false
			w.Trace().OnEvent = func(e *sim.Event) {
				if !paused && e.Kind == sim.KindSend && int(e.Node) == 4 && int(e.Peer) == lead {
					paused = true
					w.After(0, func() { require.NoError(t, w.Pause(sim.NodeID(lead))) })
					w.After(2*time.Second, func() { require.NoError(t, w.Resume(sim.NodeID(lead))) })
				}
			}
			w.RunFor(3 * time.Second)
			require.True(t, paused, "the client never sent to the leader n%d", lead)
			assert.Empty(t, stale)
		})
	}
}
