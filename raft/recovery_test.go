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

// Recovery ends when the log reaches the mark; with an unknown mark, at
// the last index of the first leader heartbeat.
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
	plant.Skip(t)
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

// Issue 9, hole 1: a node whose high-water mark is unreadable does not
// know how far it had acknowledged. Node 1 commits x with the acks of
// nodes 2 and 3 and dies before node 2 learns the commit; node 3 loses
// its log tail (x with it) and its mark. Node 2 wins without node 3's
// vote, catches node 3 up to its own commit index (below x) and dies
// before x reaches it. Had node 3 recovered at node 2's commit index, it
// would now vote, and nodes 3, 4 and 5 would elect a leader without x:
// a committed entry lost. It must recover up to what node 2 held when it
// first heard from it (its last index), not what node 2 knew committed.
func TestUnknownRecoveryPointKeepsCommittedEntry(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 5, MaxSizePerMsg: 1})
	require.NoError(t, c.ElectLeader(1))
	for i := range 3 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	heartbeat(t, c) // everyone learns the writes committed
	before := status(c, 2).Commit

	// x reaches nodes 2 and 3 only; node 1 commits it on their acks and
	// dies before anyone hears of the commit.
	for _, o := range []uint64{4, 5} {
		c.Cut(1, o)
		c.Cut(o, 1)
	}
	require.NoError(t, c.Propose(1, []byte("x")))
	x := status(c, 1).LastIndex
	require.NoError(t, c.ProcessAll())
	c.DeliverAll() // the appends: nodes 2 and 3 hold x
	require.NoError(t, c.ProcessAll())
	c.DeliverAll() // their acks
	require.Equal(t, x, status(c, 1).Commit, "x is committed on nodes 1, 2 and 3")
	c.Crash(1)
	c.DropWhere(func(p rafttest.Packet) bool { return p.From == 1 })
	c.Heal()
	require.Equal(t, before, status(c, 2).Commit, "node 2 has not heard that x committed")

	// Node 3 loses everything after its first two writes, and its mark.
	require.NoError(t, c.LoseDurable(3, int(before-2)))
	c.Disk(3).RecoverTo = 0 // unreadable mark: the recovery point is unknown
	require.NoError(t, c.Restart(3))
	require.True(t, status(c, 3).Recovering)

	// Node 2 wins with nodes 4 and 5 and catches node 3 up to its commit
	// index, but x never leaves it.
	noX := func(m raftpb.Message) bool { // x never leaves node 2
		for _, e := range m.Entries {
			if e.Index == x {
				return true
			}
		}
		return false
	}
	c.Campaign(2)
	require.NoError(t, c.StabilizeDropping(noX))
	require.Equal(t, raft.Leader, status(c, 2).Role)
	for range 10 {
		c.Tick(2)
		require.NoError(t, c.StabilizeDropping(noX))
	}
	require.Less(t, status(c, 3).LastIndex, x, "x never reached node 3")
	require.Less(t, status(c, 4).LastIndex, x, "nor node 4")
	require.GreaterOrEqual(t, status(c, 3).LastIndex, before, "node 3 caught up to node 2's commit index")
	c.Crash(2)
	c.DropWhere(func(p rafttest.Packet) bool { return p.From == 2 })

	// Nodes 3, 4 and 5 remain: only node 3's vote could elect one of
	// them, and none of them holds x.
	for range 100 {
		c.TickAll()
		stabilize(t, c)
	}
	if lead := c.Leader(); lead != raft.None {
		ent := c.Disk(lead).Entries
		require.Greater(t, uint64(len(ent)), x-1, "leader %d was elected without entry %d", lead, x)
		assert.Equal(t, "x", string(ent[x-1].Data), "leader %d overwrote committed entry %d", lead, x)
	}
	assert.True(t, status(c, 3).Recovering, "node 3 must not consider itself recovered without x")
	assert.Equal(t, raft.None, c.Leader(), "without nodes 1 and 2 the cluster stays unavailable")
}

// A node that cannot vouch for its vote (its host lost the record of it)
// may have voted in a term it no longer knows: it never grants a vote or
// pre-vote and never campaigns, even once its log is complete, but it
// still accepts appends and acknowledges them.
func TestVoteLostNodeNeverVotes(t *testing.T) {
	st := restoredLog(3, repeat(2, 4), 3, 3)
	st.VoteLost = true
	n, err := raft.NewNode(rafttest.Config{}.NodeConfigFor(3, 3), st)
	require.NoError(t, err)
	require.True(t, n.Status().VoteLost)
	for _, typ := range []raftpb.MessageType{raftpb.MsgPreVote, raftpb.MsgVote} {
		require.NoError(t, n.Step(raftpb.Message{Type: typ, From: 1, To: 3, Term: 4, Index: 50, LogTerm: 3}))
		rd := n.Ready()
		require.Len(t, rd.Messages, 1)
		assert.True(t, rd.Messages[0].Reject, "%s rejected", typ)
		n.Advance(rd)
	}
	require.NoError(t, n.Step(raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 3, Term: 4, Index: 7, LogTerm: 2,
		Entries: []raftpb.Entry{{Term: 4, Index: 8, Data: []byte("x")}}, Commit: 8}))
	rd := n.Ready()
	require.Len(t, rd.Messages, 1)
	assert.Equal(t, raftpb.MsgAppResp, rd.Messages[0].Type)
	assert.False(t, rd.Messages[0].Reject)
	assert.Equal(t, uint64(8), rd.Messages[0].Index, "its acks count like anyone's")
	n.Advance(rd)
	n.Campaign()
	for range 100 {
		n.Tick()
	}
	rd = n.Ready()
	assert.Empty(t, rd.Messages, "no (pre-)vote requests")
	assert.Equal(t, raft.Follower, n.Status().Role)
	assert.Equal(t, raft.None, n.Status().Vote)
}

// A follower that lost entries it had acknowledged, while the leader
// compacted its log past what the follower still holds, is brought up by
// the snapshot. (Its reject hinted an index below the leader's log; the
// leader took its own first index for the hint, set its Match for the
// follower there, and resent the first entries it holds forever, each
// rejected: soak seed 1748.)
func TestRecoveringFollowerBehindTheCompactedLogGetsTheSnapshot(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	for i := range 40 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
		stabilize(t, c)
	}
	heartbeat(t, c)
	require.NoError(t, c.Snapshot(1, 10))
	first := status(c, 1).FirstIndex
	require.Greater(t, first, uint64(10), "the leader compacted its log")
	sends := map[raftpb.MessageType]int{}
	c.OnSend = func(m raftpb.Message, _ int) {
		if m.To == 3 {
			sends[m.Type]++
		}
	}
	require.NoError(t, c.LoseDurable(3, 4))
	require.True(t, status(c, 3).Recovering)
	tickUntil(t, c, 60, func() bool { return !status(c, 3).Recovering })
	assert.Positive(t, sends[raftpb.MsgSnap], "the snapshot was sent")
	assert.Equal(t, status(c, 1).LastIndex, status(c, 3).LastIndex, "caught up")
	assert.Equal(t, c.Applied(1), c.Applied(3), "same state machine")
}
