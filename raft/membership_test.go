package raft_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

func change(changes ...any) raftpb.ConfChangeV2 {
	var cc raftpb.ConfChangeV2
	for i := 0; i < len(changes); i += 2 {
		cc.Changes = append(cc.Changes, raftpb.ConfChange{Type: changes[i].(raftpb.ConfChangeType), NodeID: uint64(changes[i+1].(int))})
	}
	return cc
}

const (
	addVoter   = raftpb.ConfChangeAddNode
	addLearner = raftpb.ConfChangeAddLearner
	removeNode = raftpb.ConfChangeRemoveNode
)

// memberCluster has voters 1..3 and new servers 4 and 5 outside the
// configuration; node 1 leads and has committed an entry of its term.
func memberCluster(t *testing.T, planted plant.Set) *rafttest.Cluster {
	t.Helper()
	c := newCluster(t, rafttest.Config{N: 5, Voters: []uint64{1, 2, 3}, Planted: planted})
	require.NoError(t, c.ElectLeader(1))
	stabilize(t, c)
	return c
}

func config(c *rafttest.Cluster, id uint64) string { return c.Node(id).Config().String() }

// A learner gets the log, never counts toward a commit, and becomes a
// voter when promoted; every node, the learner included, ends up with the
// same configuration.
func TestLearnerJoinsAndIsPromoted(t *testing.T) {
	c := memberCluster(t, 0)
	assert.Equal(t, "voters=() ", config(c, 4)+" ", "a new server knows no configuration")
	assert.False(t, c.Node(4).Status().Role == raft.Leader)

	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	for _, id := range []uint64{1, 2, 3, 4} {
		assert.Equal(t, "voters=(1 2 3) learners=(4)", config(c, id), "n%d", id)
	}
	assert.Equal(t, status(c, 1).LastIndex, status(c, 4).LastIndex, "the learner has the log")

	// With n2 and n3 cut off, n1 and the learner are no quorum.
	c.Isolate(2)
	c.Isolate(3)
	commit := status(c, 1).Commit
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)
	assert.Equal(t, commit, status(c, 1).Commit, "a learner's ack never counts")
	c.Heal()
	stabilize(t, c)
	tickUntil(t, c, 20, func() bool { return status(c, 1).Commit == status(c, 1).LastIndex })

	require.NoError(t, c.ProposeConfChange(1, change(addVoter, 4)))
	stabilize(t, c)
	for _, id := range []uint64{1, 2, 3, 4} {
		assert.Equal(t, "voters=(1 2 3 4)", config(c, id), "n%d", id)
	}
	// Now n1, n2 and n4 commit without n3.
	c.Isolate(3)
	commit = status(c, 1).Commit
	require.NoError(t, c.Propose(1, []byte("y")))
	stabilize(t, c)
	assert.Greater(t, status(c, 1).Commit, commit)
}

// One change at a time: a second is refused while the first is not
// applied, and so is one proposed by a leader before its own first entry
// is applied.
func TestOneChangeAtATime(t *testing.T) {
	plant.Skip(t)
	c := memberCluster(t, 0)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	err := c.ProposeConfChange(1, change(addLearner, 5))
	assert.ErrorIs(t, err, raft.ErrConfChangePending)
	stabilize(t, c)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 5)), "applied: the next may go")
	stabilize(t, c)

	// A new leader refuses until it has applied the entry of its term.
	c.Campaign(2)
	require.NoError(t, c.ProcessAll())
	c.DeliverWhere(func(p rafttest.Packet) bool { return p.Type == raftpb.MsgPreVote || p.Type == raftpb.MsgVote })
	require.NoError(t, c.ProcessAll())
	c.DeliverWhere(func(p rafttest.Packet) bool { return p.Type == raftpb.MsgPreVoteResp || p.Type == raftpb.MsgVoteResp })
	require.NoError(t, c.ProcessAll())
	c.DeliverWhere(func(p rafttest.Packet) bool { return p.Type == raftpb.MsgPreVote || p.Type == raftpb.MsgVote })
	require.NoError(t, c.ProcessAll())
	c.DeliverWhere(func(p rafttest.Packet) bool { return p.Type == raftpb.MsgPreVoteResp || p.Type == raftpb.MsgVoteResp })
	require.NoError(t, c.ProcessAll())
	require.Equal(t, raft.Leader, status(c, 2).Role)
	assert.ErrorIs(t, c.ProposeConfChange(2, change(removeNode, 5)), raft.ErrConfChangePending)
	stabilize(t, c)
	require.NoError(t, c.ProposeConfChange(2, change(removeNode, 5)))

	// The planted bug accepts the second change at once.
	c = memberCluster(t, plant.Of(plant.TwoPendingChanges))
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	assert.NoError(t, c.ProposeConfChange(1, change(addLearner, 5)))
}

// A change the configuration cannot take is refused with a reason.
func TestInvalidChangeIsRefused(t *testing.T) {
	c := memberCluster(t, 0)
	err := c.ProposeConfChange(1, change(removeNode, 9))
	assert.ErrorIs(t, err, confchange.ErrInvalid)
	assert.ErrorContains(t, err, "n9 is not a member")
	assert.ErrorIs(t, c.ProposeConfChange(2, change(addLearner, 4)), raft.ErrNotLeader)
}

// Three voters to five in one change go through a joint configuration:
// while joint, a commit needs a majority of the old voters and of the new
// ones; the leader leaves the joint configuration on its own.
func TestJointConsensusThreeToFive(t *testing.T) {
	c := memberCluster(t, 0)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 5)))
	stabilize(t, c)

	// Enter the joint configuration, then stop before it is left.
	require.NoError(t, c.ProposeConfChange(1, change(addVoter, 4, addVoter, 5)))
	for config(c, 1) != "voters=(1 2 3 4 5)&&(1 2 3) autoleave" {
		require.NoError(t, c.ProcessAll())
		c.DeliverWhere(func(p rafttest.Packet) bool { return true })
		require.NoError(t, c.ProcessAll())
	}
	// n1, n4 and n5 are a majority of the new voters but only n1 of the
	// old: nothing commits without n2 or n3.
	c.Isolate(2)
	c.Isolate(3)
	commit := status(c, 1).Commit
	require.NoError(t, c.Propose(1, []byte("needs both")))
	stabilize(t, c)
	assert.Equal(t, commit, status(c, 1).Commit, "the old voters' majority is needed too")
	c.Heal()
	for range 5 {
		c.TickAll()
		stabilize(t, c)
	}
	for _, id := range []uint64{1, 2, 3, 4, 5} {
		assert.Equal(t, "voters=(1 2 3 4 5)", config(c, id), "n%d left the joint configuration", id)
	}
	assert.Equal(t, status(c, 1).LastIndex, status(c, 1).Commit)
}

// Replacing two voters in one change: the removed ones vote until the
// joint configuration is left, then are no members at all.
func TestReplaceTwoVoters(t *testing.T) {
	c := memberCluster(t, 0)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 5)))
	stabilize(t, c)
	require.NoError(t, c.ProposeConfChange(1, change(removeNode, 2, removeNode, 3, addVoter, 4, addVoter, 5)))
	for range 5 {
		c.TickAll()
		stabilize(t, c)
	}
	assert.Equal(t, "voters=(1 4 5)", config(c, 1))
	// n2 and n3 can no longer decide anything: the cluster goes on
	// without them.
	c.Crash(2)
	c.Crash(3)
	require.NoError(t, c.Propose(1, []byte("z")))
	stabilize(t, c)
	assert.Equal(t, status(c, 1).LastIndex, status(c, 1).Commit)
}

// A leader that removes itself steps down once the change is applied;
// the others elect a leader among themselves.
func TestRemovedLeaderStepsDown(t *testing.T) {
	c := memberCluster(t, 0)
	require.NoError(t, c.ProposeConfChange(1, change(removeNode, 1)))
	stabilize(t, c)
	assert.Equal(t, raft.Follower, status(c, 1).Role)
	assert.Equal(t, "voters=(2 3)", config(c, 2))
	tickUntil(t, c, 100, func() bool { return c.Leader() == 2 || c.Leader() == 3 })
	for range 50 {
		c.TickAll()
		stabilize(t, c)
	}
	assert.NotEqual(t, raft.Leader, status(c, 1).Role, "a removed node never campaigns")
}

// A restarted node recovers its configuration from its log (and from its
// snapshot, if the log was compacted).
func TestConfigurationSurvivesRestartAndSnapshot(t *testing.T) {
	c := memberCluster(t, 0)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	require.NoError(t, c.ProposeConfChange(1, change(removeNode, 3)))
	stabilize(t, c)
	want := "voters=(1 2) learners=(4)"
	require.NoError(t, c.Restart(2))
	stabilize(t, c)
	assert.Equal(t, want, config(c, 2))

	for i := range 10 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	require.NoError(t, c.Snapshot(2, 0))
	assert.Equal(t, []uint64{1, 2}, c.Disk(2).Snapshot.Metadata.ConfState.Voters)
	assert.Equal(t, []uint64{4}, c.Disk(2).Snapshot.Metadata.ConfState.Learners)
	require.NoError(t, c.Restart(2))
	assert.Equal(t, want, config(c, 2), "from the snapshot alone")

	// A new server brought up by that snapshot learns the configuration
	// from it.
	require.NoError(t, c.Snapshot(1, 0))
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 5)))
	for range 10 {
		c.TickAll()
		stabilize(t, c)
	}
	assert.Equal(t, "voters=(1 2) learners=(4 5)", config(c, 5))
	assert.Positive(t, c.Node(5).Counters().SnapshotsInstalled)
}

// A learner is promoted only once it holds everything committed; until
// then the leader refuses with ErrLearnerBehind (the operator retries).
func TestPromotionWaitsForTheLearner(t *testing.T) {
	plant.Skip(t)
	c := memberCluster(t, 0)
	c.Isolate(4)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	for i := range 5 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	err := c.ProposeConfChange(1, change(addVoter, 4))
	assert.ErrorIs(t, err, raft.ErrLearnerBehind)
	assert.ErrorContains(t, err, "n4 holds up to 0")
	c.Heal()
	for range 3 {
		c.TickAll()
		stabilize(t, c)
	}
	require.NoError(t, c.ProposeConfChange(1, change(addVoter, 4)), "caught up: promoted")

	// The planted bug promotes at once.
	c = memberCluster(t, plant.Of(plant.PromoteLaggingLearner))
	c.Isolate(4)
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	assert.NoError(t, c.ProposeConfChange(1, change(addVoter, 4)))
}

// The Ready that hands out a committed configuration change must be
// synced, hard state (and so the commit index covering the change)
// included: a restart then comes back with the configuration it acted on.
func TestAppliedChangeIsDurableFirst(t *testing.T) {
	c := memberCluster(t, 0)
	var synced []bool
	c.OnReady = func(id uint64, rd raft.Ready) {
		for _, e := range rd.CommittedEntries {
			if e.Type == raftpb.EntryConfChange && id == 2 {
				synced = append(synced, rd.MustSync && rd.HardState.Commit >= e.Index)
			}
		}
	}
	require.NoError(t, c.ProposeConfChange(1, change(addLearner, 4)))
	stabilize(t, c)
	assert.Equal(t, []bool{true}, synced, "n2 syncs the commit of the change before applying it")
}

// A replaced server (term 0, no log, its votes lost) asked for a pre-vote
// stays silent rather than reject with a term it does not have (that
// panicked: a wiped disk in the random swarm found it).
func TestReplacedServerIgnoresPreVote(t *testing.T) {
	cfg := rafttest.Config{}.NodeConfigFor(4, 3)
	cfg.Join = true
	n, err := raft.NewNode(cfg, raft.Restored{VoteLost: true})
	require.NoError(t, err)
	require.Equal(t, uint64(0), n.Status().Term)
	require.NoError(t, n.Step(raftpb.Message{Type: raftpb.MsgPreVote, From: 1, To: 4, Term: 3, Index: 10, LogTerm: 2}))
	rd := n.Ready()
	for _, m := range rd.Messages {
		assert.NotEqual(t, uint64(0), m.Term, "%s", m)
	}
}

// Config shares memory with the node, so a configuration a caller holds
// must never change under it: every change builds a new one (through the
// joint phase and out of it, and for a learner).
func TestHeldConfigNeverChanges(t *testing.T) {
	c := memberCluster(t, 0)
	steps := []raftpb.ConfChangeV2{change(addLearner, 4), change(addVoter, 4), change(addVoter, 5, removeNode, 2)}
	for _, cc := range steps {
		held := c.Node(1).Config()
		want := held.String()
		require.NoError(t, c.ProposeConfChange(1, cc))
		stabilize(t, c)
		tickUntil(t, c, 50, func() bool { return !c.Node(1).Config().Voters.Joint() })
		assert.NotEqual(t, want, config(c, 1), "%s took effect", cc)
		assert.Equal(t, want, held.String(), "a held configuration changed under its holder")
	}
}

// A removed leader whose commit of its own removal never reached the
// others still holds the only way forward: they count it as a voter
// (they have not applied its removal), its log is longer than theirs,
// and with one voter down nobody else reaches a quorum. It hands
// leadership over instead of stepping down, and after a restart (when it
// is only a follower outside its configuration) it campaigns as a
// caretaker once it has to refuse a candidate (soak seed 102, shrunk).
func TestRemovedLeaderHandsOffWhenOthersCannotElect(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			// PreVote and CheckQuorum as servers run (a stale leader learns
			// the new term from the answer to its heartbeat).
			c := newCluster(t, rafttest.Config{N: 4, PreVote: true, CheckQuorum: true})
			require.NoError(t, c.ElectLeader(1))
			stabilize(t, c)
			c.Crash(4)

			require.NoError(t, c.ProposeConfChange(1, change(removeNode, 1)))
			require.NoError(t, c.Process(1))
			c.DeliverAll()                     // the removal reaches n2 and n3
			require.NoError(t, c.ProcessAll()) // which acknowledge it
			c.Cut(1, 2)
			c.Cut(1, 3)
			require.NoError(t, c.Propose(1, []byte("tail"))) // n1's log grows past theirs
			stabilize(t, c)                                  // n1 commits and applies its removal; nothing it sends arrives
			assert.Equal(t, "voters=(2 3 4)", config(c, 1))
			assert.Equal(t, "voters=(1 2 3 4)", config(c, 2), "n2 has not learned the removal committed")
			require.Greater(t, status(c, 1).LastIndex, status(c, 2).LastIndex)
			if restart {
				c.Crash(1)
				require.NoError(t, c.Restart(1))
			}
			c.Heal()
			tickUntil(t, c, 300, func() bool {
				lead := c.Leader()
				return (lead == 2 || lead == 3) && config(c, lead) == "voters=(2 3 4)"
			})
			// Its next heartbeat meets the new term, and it steps down for good.
			tickUntil(t, c, 50, func() bool { return status(c, 1).Role == raft.Follower })
			for range 100 {
				c.TickAll()
				stabilize(t, c)
			}
			assert.Equal(t, raft.Follower, status(c, 1).Role)
		})
	}
}
