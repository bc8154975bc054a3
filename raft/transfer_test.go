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

// A transfer hands leadership to its target in the next term, even though
// every follower is inside the old leader's lease (CheckQuorum, PreVote):
// the target's vote requests say they come from a transfer.
func TestTransferToAnUpToDateFollower(t *testing.T) {
	for _, readOnly := range []raft.ReadOnlyOption{raft.ReadOnlySafe, raft.ReadOnlyLeaseBased} {
		t.Run(readOnly.String(), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 5, PreVote: true, CheckQuorum: true, ReadOnly: readOnly})
			require.NoError(t, c.ElectLeader(1))
			heartbeat(t, c)
			term := status(c, 1).Term
			var timeoutNow, preVotes int
			c.OnSend = func(m raftpb.Message, _ int) {
				switch m.Type {
				case raftpb.MsgTimeoutNow:
					timeoutNow++
				case raftpb.MsgPreVote:
					preVotes++
				}
			}
			require.NoError(t, c.Node(1).TransferLeadership(3))
			stabilize(t, c)
			assert.Equal(t, uint64(3), c.Leader())
			assert.Equal(t, term+1, status(c, 3).Term)
			assert.Equal(t, raft.Follower, status(c, 1).Role)
			assert.Equal(t, 1, timeoutNow)
			assert.Zero(t, preVotes, "the target skips PreVote")
			assert.Equal(t, uint64(1), c.Node(1).Counters().Transfers)
		})
	}
}

// A lagging target is first brought up to date; meanwhile the leader
// refuses proposals, which would keep it behind.
func TestTransferCatchesTheTargetUpFirst(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3, CheckQuorum: true})
	require.NoError(t, c.ElectLeader(1))
	c.Cut(1, 3)
	for i := range 5 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	c.Heal()
	require.Less(t, status(c, 3).LastIndex, status(c, 1).LastIndex)

	require.NoError(t, c.Node(1).TransferLeadership(3))
	assert.Equal(t, uint64(3), c.Node(1).Transferee())
	assert.ErrorIs(t, c.Propose(1, []byte("no")), raft.ErrProposalDropped)
	assert.ErrorIs(t, c.Node(1).Step(raftpb.Message{Type: raftpb.MsgProp, Entries: []raftpb.Entry{{Data: []byte("no")}}}), raft.ErrProposalDropped)
	c.Tick(1) // the heartbeat response starts the catch-up
	stabilize(t, c)
	assert.Equal(t, uint64(3), c.Leader())
	assert.Equal(t, c.Disk(1).Entries[:5], c.Disk(3).Entries[:5])
	for _, id := range c.IDs() {
		assert.NotContains(t, data(c.Disk(id).Entries), "no")
	}
}

// A transfer to a node that is down or cut off is given up after an
// election timeout; the old leader goes on leading and takes proposals
// again. With the planted bug it takes them all along.
func TestTransferToAnUnreachableNodeIsGivenUp(t *testing.T) {
	plant.Skip(t)
	for _, tc := range []struct {
		bug      plant.Set
		proposal error
	}{
		{0, raft.ErrProposalDropped},
		{plant.Of(plant.TransferKeepsProposing), nil},
	} {
		t.Run(tc.bug.String(), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, CheckQuorum: true, Planted: tc.bug})
			require.NoError(t, c.ElectLeader(1))
			c.Crash(3)
			require.NoError(t, c.Node(1).TransferLeadership(3))
			if tc.proposal == nil {
				assert.NoError(t, c.Propose(1, []byte("during")))
			} else {
				assert.ErrorIs(t, c.Propose(1, []byte("during")), tc.proposal)
			}
			for range 9 {
				c.Tick(1)
				stabilize(t, c)
			}
			assert.Equal(t, uint64(3), c.Node(1).Transferee(), "still trying")
			c.Tick(1)
			stabilize(t, c)
			assert.Equal(t, raft.None, c.Node(1).Transferee(), "given up after an election timeout")
			assert.Equal(t, uint64(1), c.Leader())
			require.NoError(t, c.Propose(1, []byte("after")))
			assert.Equal(t, uint64(1), c.Node(1).Counters().TransfersAborted)
		})
	}
}

// With no target named, the leader picks the follower whose log is the
// most up to date; a bad target is refused.
func TestTransferTargets(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.ErrorIs(t, c.Node(1).TransferLeadership(2), raft.ErrNotLeader)
	require.NoError(t, c.ElectLeader(1))
	c.Cut(1, 2)
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)
	c.Heal()
	for _, bad := range []uint64{1, 9} {
		assert.ErrorIs(t, c.Node(1).TransferLeadership(bad), raft.ErrTransfer, "target %d", bad)
	}
	require.NoError(t, c.Node(1).TransferLeadership(raft.None))
	assert.Equal(t, uint64(3), c.Node(1).Transferee(), "node 3 holds x, node 2 does not")
}

// A transfer gives up the lease: from then on, in this term, the leader
// confirms reads with a round even if the transfer fails.
func TestTransferGivesUpTheLease(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3, CheckQuorum: true, ReadOnly: raft.ReadOnlyLeaseBased})
	require.NoError(t, c.ElectLeader(1))
	heartbeat(t, c)
	require.NoError(t, c.ReadIndex(1, "before"))
	require.NoError(t, c.Process(1))
	require.Len(t, c.ReadStates(1), 1, "under the lease")

	c.Crash(3)
	require.NoError(t, c.Node(1).TransferLeadership(3))
	for range 10 {
		c.Tick(1)
		stabilize(t, c)
	}
	require.Equal(t, raft.None, c.Node(1).Transferee())
	require.NoError(t, c.ReadIndex(1, "after"))
	require.NoError(t, c.Process(1))
	assert.Len(t, c.ReadStates(1), 1, "no lease: the read waits for a round")
	stabilize(t, c)
	assert.Len(t, c.ReadStates(1), 2)
}
