package raft_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// queued counts the packets of type typ from node from waiting in the
// network.
func queued(c *rafttest.Cluster, from uint64, typ raftpb.MessageType) int {
	k := 0
	for _, p := range c.Queue {
		if p.From == from && p.Type == typ {
			k++
		}
	}
	return k
}

func ctxs(rs []raft.ReadState) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r.RequestCtx))
	}
	return out
}

// A leader answers a read only once a heartbeat round sent after the read
// arrived is acknowledged by a quorum, with its commit index then.
func TestReadIndexWaitsForAQuorumRound(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 5})
	require.NoError(t, c.ElectLeader(1))
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)
	commit := status(c, 1).Commit

	// Only node 2 hears the leader: with it, two of five.
	for _, id := range []uint64{3, 4, 5} {
		c.Cut(1, id)
	}
	require.NoError(t, c.ReadIndex(1, "r"))
	require.NoError(t, c.ProcessAll())
	assert.Equal(t, 4, queued(c, 1, raftpb.MsgHeartbeat), "the read starts a round at once")
	stabilize(t, c)
	assert.Empty(t, c.ReadStates(1), "no quorum acknowledged the round")

	// A third acknowledgement makes a quorum; the periodic heartbeat
	// retries the round.
	c.Heal()
	c.Cut(1, 4)
	c.Cut(1, 5)
	heartbeat(t, c)
	require.Equal(t, []raft.ReadState{{Index: commit, RequestCtx: []byte("r")}}, c.ReadStates(1))
	assert.Equal(t, raft.Counters{ReadRounds: 1, RoundReads: 1}, readCounters(c, 1))
}

// readCounters is the read part of a node's counters.
func readCounters(c *rafttest.Cluster, id uint64) raft.Counters {
	k := c.Node(id).Counters()
	return raft.Counters{ReadRounds: k.ReadRounds, RoundReads: k.RoundReads, LeaseReads: k.LeaseReads}
}

// Reads that arrive while a round is in flight cannot be confirmed by it
// (its heartbeats left before they arrived): they wait for the next round,
// and one round confirms all of them.
func TestReadIndexBatchesReadsIntoTheNextRound(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))

	require.NoError(t, c.ReadIndex(1, "a"))
	require.NoError(t, c.ProcessAll())
	c.DeliverWhere(func(p rafttest.Packet) bool { return p.Type == raftpb.MsgHeartbeat }) // round 1 arrives
	require.NoError(t, c.ProcessAll())
	for _, r := range []string{"b", "c", "d"} {
		require.NoError(t, c.ReadIndex(1, r))
	}
	require.NoError(t, c.ProcessAll())
	assert.Zero(t, queued(c, 1, raftpb.MsgHeartbeat), "no round per read: they queue")

	c.DeliverAll() // round 1's acknowledgements: "a" only
	require.NoError(t, c.ProcessAll())
	assert.Equal(t, []string{"a"}, ctxs(c.ReadStates(1)))
	assert.Equal(t, 2, queued(c, 1, raftpb.MsgHeartbeat), "the queued reads go out in the next round")

	stabilize(t, c)
	assert.Equal(t, []string{"a", "b", "c", "d"}, ctxs(c.ReadStates(1)))
	assert.Equal(t, raft.Counters{ReadRounds: 2, RoundReads: 4}, readCounters(c, 1), "4 reads in 2 rounds")
}

// A new leader answers no read before an entry of its own term commits:
// until then its commit index may be behind the one its predecessor
// reached.
func TestReadIndexWaitsForTheLeadersFirstCommit(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	c.Campaign(2)
	require.NoError(t, c.StabilizeDropping(func(m raftpb.Message) bool { return m.Type == raftpb.MsgAppResp && m.To == 2 }))
	require.Equal(t, raft.Leader, status(c, 2).Role)
	noop := status(c, 2).LastIndex
	require.Less(t, status(c, 2).Commit, noop, "its no-op is not committed")

	require.NoError(t, c.ReadIndex(2, "r"))
	require.NoError(t, c.ProcessAll())
	assert.Zero(t, queued(c, 2, raftpb.MsgHeartbeat), "no round before the first commit")
	c.Tick(2) // a periodic round; its acks do not confirm the read either
	require.NoError(t, c.StabilizeDropping(func(m raftpb.Message) bool { return m.Type == raftpb.MsgAppResp && m.To == 2 }))
	assert.Empty(t, c.ReadStates(2))

	heartbeat(t, c) // the no-op commits, then a round confirms the read
	require.Len(t, c.ReadStates(2), 1)
	assert.GreaterOrEqual(t, c.ReadStates(2)[0].Index, noop)
}

// A follower forwards a read to the leader and gets its read index back,
// which may be beyond what the follower has applied: its host must wait.
func TestReadIndexOnAFollower(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.ErrorIs(t, c.ReadIndex(2, "none"), raft.ErrNotLeader, "no leader known to forward to")
	require.NoError(t, c.ElectLeader(1))
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)

	require.NoError(t, c.ReadIndex(2, "f"))
	require.NoError(t, c.ProcessAll())
	require.Equal(t, 1, queued(c, 2, raftpb.MsgReadIndex))
	// The round is confirmed by node 3; the answer overtakes the
	// heartbeat (which carries the commit index) to node 2.
	notTo2 := func(p rafttest.Packet) bool { return p.To != 2 || p.Type == raftpb.MsgReadIndexResp }
	for range 4 {
		c.DeliverWhere(notTo2)
		require.NoError(t, c.ProcessAll())
	}
	require.Equal(t, []raft.ReadState{{Index: status(c, 1).Commit, RequestCtx: []byte("f")}}, c.ReadStates(2))
	assert.Less(t, status(c, 2).Applied, status(c, 1).Commit, "the follower has not applied x yet")
	assert.Empty(t, c.ReadStates(1), "the leader's host sees none of it")
	stabilize(t, c)
}

// A leader cut off from its quorum never answers, and after it steps down
// (CheckQuorum) it holds no reads.
func TestReadIndexOnACutOffLeader(t *testing.T) {
	plant.Skip(t)
	for _, tc := range []struct {
		bug     plant.Set
		answers int
	}{
		{0, 0},
		{plant.Of(plant.ReadIndexWithoutRound), 1}, // the bug answers at once
	} {
		t.Run(tc.bug.String(), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 5, CheckQuorum: true, Planted: tc.bug})
			require.NoError(t, c.ElectLeader(1))
			c.Isolate(1)
			require.NoError(t, c.ReadIndex(1, "r"))
			for range 30 {
				c.TickAll()
				stabilize(t, c)
			}
			assert.NotEqual(t, raft.Leader, status(c, 1).Role)
			assert.Len(t, c.ReadStates(1), tc.answers)
			c.Heal()
			for range 30 {
				c.TickAll()
				stabilize(t, c)
			}
			assert.Len(t, c.ReadStates(1), tc.answers, "a read is never answered after its leader stepped down")
		})
	}
}

// Heartbeat rounds carry the read index's context and their responses
// echo it; a malformed or unknown round context is ignored.
func TestReadIndexIgnoresBadRoundContexts(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	require.NoError(t, c.ReadIndex(1, "r"))
	require.NoError(t, c.ProcessAll())
	term := status(c, 1).Term
	for _, ctx := range [][]byte{nil, {0}, {0xff}, {0x80, 0x01, 0x00}, {99}} {
		for _, from := range []uint64{2, 3} {
			require.NoError(t, c.Node(1).Step(raftpb.Message{Type: raftpb.MsgHeartbeatResp, From: from, To: 1, Term: term, Context: ctx}))
		}
	}
	require.NoError(t, c.ProcessAll())
	assert.Empty(t, c.ReadStates(1))
	stabilize(t, c)
	assert.Len(t, c.ReadStates(1), 1)
}
