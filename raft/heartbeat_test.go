package raft_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// A healthy leader with nothing to replicate keeps its followers from
// timing out: thousands of quiet ticks, no term change (seed failure 2:
// "the leader, when it stayed quiet for a while with no writes, would
// silently get demoted").
func TestQuietLeaderIsNotDeposed(t *testing.T) {
	for _, tc := range []struct {
		n                    int
		heartbeatTick        int
		preVote, checkQuorum bool
	}{
		{3, 1, false, false}, {3, 3, true, true}, {5, 1, false, true}, {5, 4, true, false},
	} {
		t.Run(fmt.Sprintf("n=%d/hb=%d/prevote=%t/checkquorum=%t", tc.n, tc.heartbeatTick, tc.preVote, tc.checkQuorum), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: tc.n, HeartbeatTick: tc.heartbeatTick,
				PreVote: tc.preVote, CheckQuorum: tc.checkQuorum, Seed: 7})
			require.NoError(t, c.ElectLeader(1))
			term := status(c, 1).Term
			heartbeats := 0
			c.OnSend = func(m raftpb.Message, _ int) {
				if m.Type == raftpb.MsgHeartbeat {
					heartbeats++
				}
			}
			const ticks = 5000
			for range ticks {
				c.TickAll()
				stabilize(t, c)
			}
			for _, id := range c.IDs() {
				st := status(c, id)
				assert.Equal(t, term, st.Term, "node %d", id)
				assert.Equal(t, uint64(1), st.Lead, "node %d", id)
			}
			assert.InDelta(t, (tc.n-1)*ticks/tc.heartbeatTick, heartbeats, float64(tc.n-1), "one heartbeat per follower per HeartbeatTick")
		})
	}
}

// The same cluster with heartbeats lost does hold an election: the test
// above passes because of heartbeats, not because nothing ever times out.
func TestLostHeartbeatsCauseElection(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	term := status(c, 1).Term
	for range 100 {
		c.TickAll()
		require.NoError(t, c.ProcessAll())
		c.DropWhere(func(p rafttest.Packet) bool { return p.Type == raftpb.MsgHeartbeat })
		stabilize(t, c)
	}
	assert.Greater(t, status(c, 2).Term, term)
}

// A follower that missed writes is brought up to date by the responses to
// heartbeats, with no further writes to carry the catch-up.
func TestHeartbeatResponseTriggersCatchUp(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3, HeartbeatTick: 2})
	require.NoError(t, c.ElectLeader(1))
	c.Cut(1, 3)
	for i := range 20 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	require.Less(t, status(c, 3).LastIndex, status(c, 1).LastIndex)

	c.Heal()
	stabilize(t, c) // nothing moves without a trigger
	require.Less(t, status(c, 3).LastIndex, status(c, 1).LastIndex)
	tickUntil(t, c, 10, func() bool { return status(c, 3).Commit == status(c, 1).Commit })
	assert.Equal(t, data(c.Applied(1)), data(c.Applied(3)))
	assert.Len(t, data(c.Applied(3)), 20)
}

// The commit index in a heartbeat is capped at what the follower holds, so
// a heartbeat never makes a follower commit entries it has not matched.
func TestHeartbeatCommitCappedAtMatch(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	c.Cut(1, 3)
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)
	match3 := status(c, 3).LastIndex
	require.Greater(t, status(c, 1).Commit, match3)

	var hb []raftpb.Message
	c.OnSend = func(m raftpb.Message, _ int) {
		if m.Type == raftpb.MsgHeartbeat {
			hb = append(hb, m)
		}
	}
	c.Tick(1)
	require.NoError(t, c.Process(1))
	require.Len(t, hb, 2)
	for _, m := range hb {
		if m.To == 3 {
			assert.Equal(t, match3, m.Commit)
		} else {
			assert.Equal(t, status(c, 1).Commit, m.Commit)
		}
	}
}
