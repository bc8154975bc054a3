package subjecttest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
)

// Run runs every check of the suite against s, each as a subtest on a
// fresh cluster.
func Run(t *testing.T, s subject.Subject) {
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != nil {
				if why := tc.needs(s.Capabilities); why != "" {
					t.Skipf("%s lacks %s", s.Name, why)
				}
			}
			tc.run(t, s)
		})
	}
}

type check struct {
	name  string
	needs func(subject.Capabilities) string // "" if s can run the check
	run   func(t *testing.T, s subject.Subject)
}

var checks = []check{
	{"ElectsOneLeader", nil, electsOneLeader},
	{"BootstrapLogsAgree", nil, bootstrapLogsAgree},
	{"ProposalsCommitInOrderEverywhere", nil, proposalsCommitInOrder},
	{"RestartKeepsCommittedEntries", nil, restartKeepsCommitted},
	{"MembershipLearnerPromoteRemove", nil, membership},
	{"SnapshotCatchesUpALaggingReplica", nil, snapshotCatchUp},
	{"JoinerCatchesUpFromASnapshot", nil, joinerFromSnapshot},
	{"ReadIndexReturnsAReadState", func(c subject.Capabilities) string { return lack(c.ReadIndex, "read index") }, readIndex},
	{"TransferLeadership", func(c subject.Capabilities) string { return lack(c.Transfer, "leadership transfer") }, transfer},
	{"SameSeedSameMessages", nil, sameSeedSameMessages},
	{"PlantedPanicBecomesError", nil, plantedPanic},
	{"BadBytesAreInvalidMessages", nil, badBytes},
	{"ViewDoesNotAllocate", nil, viewDoesNotAllocate},
	{"SafeUnderRandomSchedules", nil, safeUnderRandomSchedules},
}

// confState is r's configuration as a ConfState: sorted slices, nil
// when empty.
func confState(r subject.Replica) raftpb.ConfState {
	cs := confchange.ConfState(r.Config())
	for _, ids := range []*[]uint64{&cs.Voters, &cs.VotersOutgoing, &cs.Learners} {
		if len(*ids) == 0 {
			*ids = nil
		}
	}
	return cs
}

func lack(has bool, what string) string {
	if has {
		return ""
	}
	return what
}

// newCluster is a cluster of n voters (and extra joiners) that has elected
// a leader, which it returns.
func newCluster(t *testing.T, s subject.Subject, n, extra int, seed uint64) (*Cluster, uint64) {
	t.Helper()
	c, err := NewCluster(s, n, extra, seed, DefaultConfig())
	require.NoError(t, err)
	lead := c.ElectLeader(200)
	require.NotZero(t, lead, "no leader after 200 rounds")
	return c, lead
}

// noViolations asserts the cluster saw no safety or boundary failure.
func noViolations(t *testing.T, c *Cluster) {
	t.Helper()
	assert.Empty(t, c.Violations)
}

// propose proposes cmds at the leader and runs rounds until every node up
// applied them (or fails the test).
func propose(t *testing.T, c *Cluster, cmds ...string) {
	t.Helper()
	for _, cmd := range cmds {
		lead := c.ElectLeader(200)
		require.NotZero(t, lead)
		require.NoError(t, c.Propose(lead, cmd), "propose %q at n%d", cmd, lead)
		c.Deliver(1 << 16)
	}
	last := cmds[len(cmds)-1]
	ok := c.Until(100, func() bool {
		for _, n := range c.Nodes[1:] {
			if n.Up() && n.R.Member() && !c.cut[c.Leader()][n.ID] && !slices.Contains(n.Commands, last) {
				return false
			}
		}
		return true
	})
	require.True(t, ok, "%q not applied everywhere", last)
}

func cmds(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func electsOneLeader(t *testing.T, s subject.Subject) {
	for seed := uint64(1); seed <= 5; seed++ {
		c, lead := newCluster(t, s, 5, 0, seed)
		term := c.Nodes[lead].R.BasicStatus().Term
		for _, n := range c.Nodes[1:] {
			st := n.R.BasicStatus()
			assert.Equal(t, lead, st.Lead, "seed %d n%d", seed, n.ID)
			assert.Equal(t, term, st.Term, "seed %d n%d", seed, n.ID)
			assert.Equal(t, n.ID == lead, st.Role == subject.Leader, "seed %d n%d", seed, n.ID)
		}
		// A stable leader keeps its term: heartbeats hold the others, who
		// do not even ask for (pre-)votes.
		c.Rounds(5)
		votes := c.SentByType[raftpb.MsgPreVote] + c.SentByType[raftpb.MsgVote]
		c.Rounds(100)
		assert.Equal(t, votes, c.SentByType[raftpb.MsgPreVote]+c.SentByType[raftpb.MsgVote], "seed %d: vote requests under a stable leader", seed)
		assert.Equal(t, lead, c.Leader(), "seed %d", seed)
		assert.Equal(t, term, c.Nodes[lead].R.BasicStatus().Term, "seed %d", seed)
		noViolations(t, c)
	}
}

func bootstrapLogsAgree(t *testing.T, s subject.Subject) {
	c, _ := newCluster(t, s, 3, 0, 1)
	for i := uint64(1); i <= 3; i++ {
		want := raftpb.Entry{Term: 1, Index: i, Type: raftpb.EntryConfChange,
			Data: raftpb.EncodeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: i})}
		for _, n := range c.Nodes[1:] {
			got, ok := n.R.LogEntry(i)
			require.True(t, ok, "n%d holds entry %d", n.ID, i)
			assert.Equal(t, want, got, "n%d entry %d", n.ID, i)
		}
	}
	for _, n := range c.Nodes[1:] {
		assert.Equal(t, []uint64{1, 2, 3}, confState(n.R).Voters, "n%d", n.ID)
		assert.True(t, n.R.Member())
	}
}

func proposalsCommitInOrder(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 2)
	want := cmds("x", 30)
	propose(t, c, want...)
	for _, n := range c.Nodes[1:] {
		assert.Equal(t, want, n.Commands, "n%d", n.ID)
		st := n.R.BasicStatus()
		assert.Equal(t, c.Nodes[lead].R.BasicStatus().Commit, st.Commit, "n%d", n.ID)
		assert.Equal(t, st.Commit, st.Applied, "n%d", n.ID)
		assert.Equal(t, st.Commit, n.Applied, "n%d", n.ID)
	}
	// Log matching: every index holds the same term everywhere.
	last := c.Nodes[lead].R.BasicStatus().LastIndex
	for i := uint64(1); i <= last; i++ {
		want, ok := c.Nodes[lead].R.LogTerm(i)
		require.True(t, ok)
		for _, n := range c.Nodes[1:] {
			got, ok := n.R.LogTerm(i)
			assert.True(t, ok && got == want, "n%d term at %d: %d (ok %t), leader %d", n.ID, i, got, ok, want)
		}
	}
	// A proposal goes right after the last entry (the host's latency
	// hook relies on it).
	last = c.Nodes[lead].R.BasicStatus().LastIndex
	require.NoError(t, c.Propose(lead, "where"))
	e, ok := c.Nodes[lead].R.LogEntry(last + 1)
	require.True(t, ok)
	assert.Equal(t, "where", string(e.Data))
	// A follower refuses proposals and names no one else as leader.
	follower := lead%3 + 1
	assert.ErrorIs(t, c.Propose(follower, "nope"), subject.ErrNotLeader)
	noViolations(t, c)
}

func restartKeepsCommitted(t *testing.T, s subject.Subject) {
	c, _ := newCluster(t, s, 3, 0, 3)
	first := cmds("a", 10)
	propose(t, c, first...)
	terms := map[uint64]uint64{}
	for _, n := range c.Nodes[1:] {
		terms[n.ID] = n.R.BasicStatus().Term
		c.Crash(n.ID)
	}
	for _, n := range c.Nodes[1:] {
		require.NoError(t, c.Restart(n.ID))
		st := n.R.BasicStatus()
		assert.GreaterOrEqual(t, st.Term, terms[n.ID], "n%d's term went back", n.ID)
		// The restarted replica hands committed entries out again: its
		// state machine is rebuilt from the log.
		assert.Equal(t, first, n.Commands, "n%d after restart", n.ID)
	}
	second := cmds("b", 5)
	propose(t, c, second...)
	for _, n := range c.Nodes[1:] {
		assert.Equal(t, append(slices.Clone(first), second...), n.Commands, "n%d", n.ID)
	}
	// One node restarted alone catches up from the others.
	c.Crash(2)
	third := cmds("c", 5)
	propose(t, c, third...)
	require.NoError(t, c.Restart(2))
	propose(t, c, "d")
	assert.Equal(t, c.Nodes[1].Commands, c.Nodes[2].Commands)
	noViolations(t, c)
}

func membership(t *testing.T, s subject.Subject) {
	c, _ := newCluster(t, s, 3, 2, 4)
	propose(t, c, cmds("m", 5)...)
	require.NoError(t, c.Join(4))
	assert.False(t, c.Nodes[4].R.Member(), "a joining server is outside the configuration")

	change := func(cc raftpb.ConfChangeV2, done func(raftpb.ConfState) bool) {
		t.Helper()
		ok := c.Until(300, func() bool {
			lead := c.Leader()
			if lead == 0 {
				return false
			}
			if done(confState(c.Nodes[lead].R)) {
				return true
			}
			err := c.ProposeConfChange(lead, cc)
			if err != nil && !errors.Is(err, subject.ErrConfChangePending) && !errors.Is(err, subject.ErrProposalDropped) {
				require.NoError(t, err, "propose %s", cc)
			}
			return false
		})
		require.True(t, ok, "%s never took effect", cc)
	}
	one := func(typ raftpb.ConfChangeType, id uint64) raftpb.ConfChangeV2 {
		return raftpb.ConfChangeV2{Changes: []raftpb.ConfChange{{Type: typ, NodeID: id}}}
	}

	change(one(raftpb.ConfChangeAddLearner, 4), func(cs raftpb.ConfState) bool { return slices.Contains(cs.Learners, 4) })
	propose(t, c, "after-learner")
	lead := c.ElectLeader(200)
	match, ok := c.Nodes[lead].R.Match(4)
	assert.True(t, ok && match == c.Nodes[lead].R.BasicStatus().Commit, "the leader knows the learner caught up: match %d (ok %t)", match, ok)
	_, ok = c.Nodes[lead%3+1].R.Match(4)
	assert.False(t, ok, "only the leader tracks progress")
	assert.True(t, c.Nodes[4].R.Member())
	assert.Equal(t, c.Nodes[1].Commands, c.Nodes[4].Commands, "the learner replicates everything")
	assert.Equal(t, []uint64{4}, confState(c.Nodes[4].R).Learners)

	change(one(raftpb.ConfChangeAddNode, 4), func(cs raftpb.ConfState) bool { return slices.Contains(cs.Voters, 4) })
	propose(t, c, "after-promote")
	for _, n := range c.Nodes[1:5] {
		cs := confState(n.R)
		assert.Equal(t, []uint64{1, 2, 3, 4}, cs.Voters, "n%d", n.ID)
		assert.Empty(t, cs.Learners, "n%d", n.ID)
	}

	// A change of two voters at once goes through a joint configuration
	// and leaves it on its own.
	require.NoError(t, c.Join(5))
	lead = c.ElectLeader(200)
	other := lead%3 + 1
	change(raftpb.ConfChangeV2{Changes: []raftpb.ConfChange{
		{Type: raftpb.ConfChangeAddNode, NodeID: 5}, {Type: raftpb.ConfChangeRemoveNode, NodeID: other}}},
		func(cs raftpb.ConfState) bool { return slices.Contains(cs.Voters, 5) })
	ok = c.Until(100, func() bool { l := c.Leader(); return l != 0 && len(confState(c.Nodes[l].R).VotersOutgoing) == 0 })
	require.True(t, ok, "the joint configuration was never left")
	propose(t, c, "after-joint")
	for _, n := range c.Nodes[1:] {
		if n.ID != other {
			cs := confState(n.R)
			assert.Contains(t, cs.Voters, uint64(5), "n%d", n.ID)
			assert.NotContains(t, cs.Voters, other, "n%d", n.ID)
			assert.Empty(t, cs.VotersOutgoing, "n%d", n.ID)
		}
	}
	assert.Equal(t, c.Nodes[lead].Commands, c.Nodes[5].Commands)
	// Removing the leader makes it step down; the others elect another.
	lead = c.ElectLeader(200)
	change(one(raftpb.ConfChangeRemoveNode, lead), func(cs raftpb.ConfState) bool { return !slices.Contains(cs.Voters, lead) })
	ok = c.Until(300, func() bool { l := c.Leader(); return l != 0 && l != lead })
	require.True(t, ok, "no new leader after removing n%d", lead)
	propose(t, c, "after-leader-removed")
	noViolations(t, c)
}

func snapshotCatchUp(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 5)
	lag := lead%3 + 1
	c.Isolate(lag)
	propose(t, c, cmds("s", 40)...)
	for _, n := range c.Nodes[1:] {
		if n.ID != lag {
			require.NoError(t, c.Snapshot(n.ID, 5), "snapshot at n%d", n.ID)
			st := n.R.BasicStatus()
			assert.Equal(t, n.Applied, st.SnapshotIndex, "n%d", n.ID)
			assert.Equal(t, n.Applied-5+1, st.FirstIndex, "n%d keeps 5 entries", n.ID)
			_, ok := n.R.LogEntry(st.FirstIndex - 1)
			assert.False(t, ok, "n%d compacted", n.ID)
		}
	}
	before := c.Nodes[lag].R.BasicStatus()
	require.Greater(t, before.LastIndex, before.FirstIndex-1, "the lagging node holds entries")
	c.Heal()
	propose(t, c, "after-heal")
	assert.Positive(t, c.Nodes[lag].SnapshotsInstalled, "the lagging node got a snapshot")
	// The snapshot replaced the entries it held: a checker's copy of its
	// log must learn that (Status.LogRewrites).
	after := c.Nodes[lag].R.BasicStatus()
	assert.Greater(t, after.LogRewrites, before.LogRewrites)
	assert.Equal(t, before.FirstIndex, after.LogRewriteFrom)
	assert.Equal(t, c.Nodes[lead].Commands, c.Nodes[lag].Commands)
	assert.Positive(t, c.Nodes[lag].R.BasicStatus().SnapshotIndex)
	// It restarts from its installed snapshot.
	c.Crash(lag)
	require.NoError(t, c.Restart(lag))
	assert.Equal(t, c.Nodes[lead].Commands, c.Nodes[lag].Commands)
	propose(t, c, "after-restart")
	noViolations(t, c)
}

// A server added after every log was compacted gets a snapshot that
// brings it in (etcd-io/raft ignores one whose configuration lacks it: the
// subject asks its host for a new one, Ready.WantSnapshot).
func joinerFromSnapshot(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 1, 11)
	propose(t, c, cmds("j", 20)...)
	for id := uint64(1); id <= 3; id++ {
		require.NoError(t, c.Snapshot(id, 0))
	}
	require.NoError(t, c.Join(4))
	ok := c.Until(300, func() bool {
		lead = c.Leader()
		if lead == 0 {
			return false
		}
		if slices.Contains(confState(c.Nodes[lead].R).Learners, 4) {
			return true
		}
		err := c.ProposeConfChange(lead, raftpb.ConfChangeV2{Changes: []raftpb.ConfChange{{Type: raftpb.ConfChangeAddLearner, NodeID: 4}}})
		if err != nil && !errors.Is(err, subject.ErrConfChangePending) && !errors.Is(err, subject.ErrProposalDropped) {
			require.NoError(t, err)
		}
		return false
	})
	require.True(t, ok, "n4 never added")
	propose(t, c, "after-join")
	ok = c.Until(100, func() bool { return slices.Contains(c.Nodes[4].Commands, "after-join") })
	require.True(t, ok, "n4 never caught up")
	assert.Positive(t, c.Nodes[4].SnapshotsInstalled, "n4 caught up from a snapshot")
	assert.Equal(t, c.Nodes[lead].Commands, c.Nodes[4].Commands)
	noViolations(t, c)
}

func readIndex(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 6)
	propose(t, c, "w1")
	commit := c.Nodes[lead].R.BasicStatus().Commit
	require.NoError(t, c.ReadIndex(lead, "at-leader"))
	follower := lead%3 + 1
	require.NoError(t, c.ReadIndex(follower, "at-follower"))
	ok := c.Until(50, func() bool { return len(c.Nodes[lead].Reads) > 0 && len(c.Nodes[follower].Reads) > 0 })
	require.True(t, ok, "no read state")
	for _, want := range []struct {
		id  uint64
		ctx string
	}{{lead, "at-leader"}, {follower, "at-follower"}} {
		id, ctx := want.id, want.ctx
		rs := c.Nodes[id].Reads[0]
		assert.Equal(t, ctx, string(rs.RequestCtx))
		assert.GreaterOrEqual(t, rs.Index, commit, "n%d's read index is below the commit at the call", id)
		assert.LessOrEqual(t, rs.Index, c.Nodes[lead].R.BasicStatus().Commit)
	}
	// Without a leader there is no one to ask.
	c2, err := NewCluster(s, 3, 0, 6, DefaultConfig())
	require.NoError(t, err)
	assert.ErrorIs(t, c2.ReadIndex(1, "x"), subject.ErrNotLeader)
	noViolations(t, c)
}

func transfer(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 7)
	propose(t, c, "t1")
	target := lead%3 + 1
	require.NoError(t, c.TransferLeadership(lead, target))
	ok := c.Until(50, func() bool { return c.Leader() == target })
	require.True(t, ok, "n%d did not take over from n%d", target, lead)
	// To "anyone": the most up-to-date follower.
	require.NoError(t, c.TransferLeadership(target, 0))
	ok = c.Until(50, func() bool { l := c.Leader(); return l != 0 && l != target })
	require.True(t, ok, "leadership did not move from n%d", target)
	assert.ErrorIs(t, c.TransferLeadership(target, lead), subject.ErrNotLeader)
	now := c.Leader()
	assert.ErrorIs(t, c.TransferLeadership(now, now), subject.ErrTransferRefused)
	assert.ErrorIs(t, c.TransferLeadership(now, 9), subject.ErrTransferRefused)
	propose(t, c, "t2")
	// A transfer to a server cut off is given up after an election
	// timeout, and counted so.
	now = c.ElectLeader(200)
	cut := now%3 + 1
	c.Isolate(cut)
	before := c.Nodes[now].R.Counters()
	require.NoError(t, c.TransferLeadership(now, cut))
	c.Rounds(3 * DefaultConfig().ElectionTick)
	assert.Equal(t, now, c.Leader(), "the leader stays")
	after := c.Nodes[now].R.Counters()
	assert.Equal(t, before.Transfers+1, after.Transfers)
	assert.Equal(t, before.TransfersAborted+1, after.TransfersAborted)
	c.Heal()
	propose(t, c, "t3")
	noViolations(t, c)
}

func sameSeedSameMessages(t *testing.T, s subject.Subject) {
	a, err := Trace(s, 11)
	require.NoError(t, err)
	b, err := Trace(s, 11)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, different messages")
	differs := false
	for seed := uint64(12); seed <= 14 && !differs; seed++ {
		h, err := Trace(s, seed)
		require.NoError(t, err)
		differs = h != a
	}
	assert.True(t, differs, "the hash does not depend on the seed")
}

func plantedPanic(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 8)
	victim := lead%3 + 1
	c.Arm(victim)
	c.Isolate(lead) // the others elect another leader: the victim draws a timeout
	ok := c.Until(300, func() bool { return c.Nodes[victim].Err != nil })
	require.True(t, ok, "the armed rand was never drawn")
	err := c.Nodes[victim].Err
	require.ErrorIs(t, err, subject.ErrPanicked)
	var pe *subject.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Value, "planted panic")
	assert.Contains(t, pe.Where, "subjecttest")
	assert.Contains(t, err.Error(), "planted panic")
	// Dead from then on: every call returns the error, nothing panics.
	r := c.Nodes[victim].R
	assert.ErrorIs(t, r.Tick(), subject.ErrPanicked)
	assert.ErrorIs(t, r.Step(lead, []byte{1, 2, 3}), subject.ErrPanicked)
	assert.ErrorIs(t, r.Propose([]byte("x")), subject.ErrPanicked)
	assert.True(t, r.HasReady())
	_, err = r.Ready()
	assert.ErrorIs(t, err, subject.ErrPanicked)
	// The rest of the cluster carries on.
	c.Heal()
	propose(t, c, "after-panic")
	noViolations(t, c)
}

func badBytes(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 9)
	r := c.Nodes[lead].R
	before := r.BasicStatus()
	for _, b := range [][]byte{nil, {0xff}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte("not a raft message")} {
		err := r.Step(2, b)
		assert.ErrorIs(t, err, subject.ErrInvalidMessage, "%q", b)
	}
	// A real message replayed from the wrong sender is refused too.
	c.Tick()
	require.NotEmpty(t, c.queue)
	e := c.queue[0]
	wrong := e.from%3 + 1
	if wrong == e.to {
		wrong = wrong%3 + 1
	}
	assert.ErrorIs(t, c.Nodes[e.to].R.Step(wrong, e.data), subject.ErrInvalidMessage)
	assert.Equal(t, before.Term, r.BasicStatus().Term)
	c.Deliver(1 << 16)
	propose(t, c, "after-garbage")
	noViolations(t, c)
}

func viewDoesNotAllocate(t *testing.T, s subject.Subject) {
	c, lead := newCluster(t, s, 3, 0, 10)
	propose(t, c, cmds("v", 5)...)
	var v subject.View = c.Nodes[lead].R
	last := v.BasicStatus().LastIndex
	var sink uint64
	allocs := testing.AllocsPerRun(100, func() {
		st := v.BasicStatus()
		tm, _ := v.LogTerm(last)
		e, _ := v.LogEntry(last)
		sink += st.Commit + tm + uint64(len(e.Data))
	})
	assert.Zero(t, allocs, "BasicStatus, LogTerm and LogEntry allocate")
	assert.NotZero(t, sink)
}

// safeUnderRandomSchedules drives a cluster through random crashes,
// partitions, proposals and snapshots, and checks safety throughout
// (election safety, state machine safety, contiguous applies) and that
// it recovers once everything heals.
func safeUnderRandomSchedules(t *testing.T, s subject.Subject) {
	rapid.Check(t, func(rt *rapid.T) {
		seed := rapid.Uint64Range(1, 1<<20).Draw(rt, "seed")
		c, err := NewCluster(s, rapid.SampledFrom([]int{3, 5}).Draw(rt, "voters"), 0, seed, DefaultConfig())
		if err != nil {
			rt.Fatal(err)
		}
		faulty := Net{
			Loss:      rapid.SampledFrom([]float64{0, 0.05, 0.2}).Draw(rt, "loss"),
			Duplicate: rapid.SampledFrom([]float64{0, 0.05, 0.2}).Draw(rt, "dup"),
			Reorder:   rapid.SampledFrom([]float64{0, 0.1, 0.3}).Draw(rt, "reorder"),
		}
		c.Net = faulty
		steps := rapid.IntRange(10, 80).Draw(rt, "steps")
		for i := range steps {
			id := uint64(rapid.IntRange(1, len(c.Nodes)-1).Draw(rt, "node"))
			n := c.Nodes[id]
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0:
				c.Crash(id)
			case 1:
				if n.R == nil {
					if err := c.Restart(id); err != nil {
						rt.Fatal(err)
					}
				}
			case 2:
				c.Isolate(id)
			case 3:
				c.Heal()
			case 4:
				if n.Up() && n.Applied > 0 {
					_ = c.Snapshot(id, uint64(rapid.IntRange(0, 3).Draw(rt, "trailing")))
				}
			case 5, 6:
				if lead := c.Leader(); lead != 0 {
					_ = c.Propose(lead, fmt.Sprintf("r%d", i))
				}
			default:
				c.Rounds(rapid.IntRange(1, 15).Draw(rt, "rounds"))
			}
			if len(c.Violations) > 0 {
				rt.Fatalf("%v", c.Violations)
			}
			for _, n := range c.Nodes[1:] {
				if n.Err != nil {
					rt.Fatalf("n%d halted: %v", n.ID, n.Err)
				}
			}
		}
		c.Heal()
		c.Net = Net{}
		for _, n := range c.Nodes[1:] {
			if n.R == nil {
				if err := c.Restart(n.ID); err != nil {
					rt.Fatal(err)
				}
			}
		}
		lead := c.ElectLeader(400)
		if lead == 0 {
			rt.Fatalf("no leader after healing")
		}
		if err := c.Propose(lead, "final"); err != nil {
			rt.Fatalf("propose at n%d: %v", lead, err)
		}
		if !c.Until(200, func() bool {
			for _, n := range c.Nodes[1:] {
				if !slices.Contains(n.Commands, "final") {
					return false
				}
			}
			return true
		}) {
			rt.Fatalf("final write not applied everywhere")
		}
		if len(c.Violations) > 0 {
			rt.Fatalf("%v", c.Violations)
		}
	})
}
