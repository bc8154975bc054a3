package raft_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// A node that lost durable data (its storage is shorter than its
// high-water mark) neither votes, nor grants pre-votes, nor campaigns
// until its log reaches the mark.
func TestRecoveringNodeDoesNotVoteOrCampaign(t *testing.T) {
	st := restoredLog(3, repeat(2, 4), 3, 3)
	st.Recovering, st.RecoverTo = true, 20
	for _, tc := range []struct {
		name string
		typ  raftpb.MessageType
	}{
		{"vote", raftpb.MsgVote},
		{"pre-vote", raftpb.MsgPreVote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := raft.NewNode(rafttest.Config{}.NodeConfigFor(3, 3), st)
			require.NoError(t, err)
			s := n.Status()
			require.True(t, s.Recovering)
			require.Equal(t, uint64(20), s.RecoverTo)
			// A candidate with a longer log in a later term.
			require.NoError(t, n.Step(raftpb.Message{Type: tc.typ, From: 1, To: 3, Term: 4, Index: 50, LogTerm: 3}))
			rd := n.Ready()
			require.Len(t, rd.Messages, 1)
			assert.True(t, rd.Messages[0].Reject, "a recovering node rejects %s", tc.typ)
			assert.Equal(t, raft.None, n.Status().Vote)
			n.Advance(rd)
		})
	}
	t.Run("campaign", func(t *testing.T) {
		n, err := raft.NewNode(rafttest.Config{}.NodeConfigFor(3, 3), st)
		require.NoError(t, err)
		n.Campaign()
		for range 100 {
			n.Tick()
		}
		rd := n.Ready()
		assert.Empty(t, rd.Messages, "no (pre-)vote requests")
		assert.Equal(t, raft.Follower, n.Status().Role)
	})
}

// The leader does not count a recovering follower's acks toward commit;
// once the follower's log reaches its mark it counts again, votes again,
// and says so in Status.
func TestRecoveringAcksDoNotCommit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		planted plant.Set
		commits bool
	}{
		{"recovering rule", 0, false},
		{"planted ignore-recovery", plant.Set(plant.IgnoreRecovery), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, Planted: tc.planted})
			require.NoError(t, c.ElectLeader(1))
			for i := range 5 {
				require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
			}
			stabilize(t, c)
			// Node 3 lost its log after the bootstrap and says it had
			// reached far beyond what exists (it stays recovering).
			c.Disk(3).RecoverTo = 1000
			require.NoError(t, c.LoseDurable(3, 3))
			require.True(t, status(c, 3).Recovering)
			c.Isolate(2)
			commit := status(c, 1).Commit
			require.NoError(t, c.Propose(1, []byte("x")))
			for range 5 {
				c.TickAll()
				stabilize(t, c)
			}
			assert.Equal(t, status(c, 1).LastIndex, status(c, 3).LastIndex, "node 3 caught up its log")
			if tc.commits {
				assert.Greater(t, status(c, 1).Commit, commit, "the planted bug counts node 3")
				return
			}
			assert.Equal(t, commit, status(c, 1).Commit, "node 3's acks do not count while it recovers")
			var recovering bool
			for _, p := range status(c, 1).Progress {
				if p.ID == 3 {
					recovering = p.Recovering
				}
			}
			assert.True(t, recovering, "the leader sees node 3 recovering")
			c.Heal()
			tickUntil(t, c, 20, func() bool { return status(c, 1).Commit == status(c, 1).LastIndex })
		})
	}
}

// Recovery ends when the log reaches the mark; with an unknown mark, at
// the first commit index a leader sends.
func TestRecoveryEnds(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recoverTo func(last uint64) uint64
	}{
		{"known mark", func(last uint64) uint64 { return last }},
		{"unknown mark", func(uint64) uint64 { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3})
			require.NoError(t, c.ElectLeader(1))
			for i := range 5 {
				require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
			}
			stabilize(t, c)
			last := status(c, 3).LastIndex
			require.NoError(t, c.LoseDurable(3, 4))
			c.Disk(3).RecoverTo = tc.recoverTo(last)
			require.NoError(t, c.Restart(3))
			s := status(c, 3)
			require.True(t, s.Recovering)
			require.Equal(t, uint64(4), s.LastIndex)
			tickUntil(t, c, 20, func() bool { return !status(c, 3).Recovering })
			assert.False(t, c.Disk(3).Recovering, "the end of recovery is persisted")
			assert.GreaterOrEqual(t, status(c, 3).LastIndex, last)
			// It votes and campaigns again.
			c.Crash(1)
			tickUntil(t, c, 100, func() bool { return c.Leader() != raft.None })
		})
	}
}

// The planted-bug check: node 1 leads and commits entry x with node 3's
// ack only (node 2 is cut off). Node 3 then loses x from its disk, node 1
// dies, and node 2, which never had x, campaigns. Without the recovering
// rule nodes 2 and 3 elect a leader between them and x, committed, is
// gone; with it neither can win.
func TestRecoveringRuleKeepsCommittedEntry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		planted plant.Set
		lost    bool
	}{
		{"recovering rule", 0, false},
		{"planted ignore-recovery", plant.Set(plant.IgnoreRecovery), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, Planted: tc.planted})
			require.NoError(t, c.ElectLeader(1))
			stabilize(t, c)
			c.Isolate(2)
			require.NoError(t, c.Propose(1, []byte("x")))
			stabilize(t, c)
			x := status(c, 1).LastIndex
			require.Equal(t, x, status(c, 1).Commit, "x committed by nodes 1 and 3")
			require.Less(t, status(c, 2).LastIndex, x)

			c.Crash(1)
			require.NoError(t, c.LoseDurable(3, int(x-1)))
			c.Heal()
			c.Cut(1, 2)
			c.Cut(2, 1)
			c.Cut(1, 3)
			c.Cut(3, 1)
			for range 60 {
				c.TickAll()
				stabilize(t, c)
			}
			if tc.lost {
				lead := c.Leader()
				require.NotEqual(t, raft.None, lead, "nodes 2 and 3 elect a leader without x")
				require.NoError(t, c.Propose(lead, []byte("y")))
				stabilize(t, c)
				ent := c.Disk(lead).Entries[x-1]
				assert.NotEqual(t, "x", string(ent.Data), "committed entry x was overwritten: the bug is caught")
				return
			}
			assert.Equal(t, raft.None, c.Leader(), "no leader without node 1: node 3 does not vote")
		})
	}
}
