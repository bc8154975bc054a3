package raft_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

func TestElectionByTimeout(t *testing.T) {
	for _, tc := range []struct {
		n                    int
		preVote, checkQuorum bool
	}{
		{3, false, false}, {3, true, true}, {5, false, false}, {5, true, false}, {5, true, true},
	} {
		for seed := uint64(1); seed <= 5; seed++ {
			t.Run(fmt.Sprintf("n=%d/prevote=%t/checkquorum=%t/seed=%d", tc.n, tc.preVote, tc.checkQuorum, seed), func(t *testing.T) {
				c := newCluster(t, rafttest.Config{N: tc.n, PreVote: tc.preVote, CheckQuorum: tc.checkQuorum, Seed: seed})
				stabilize(t, c)
				ticks := tickUntil(t, c, 100, func() bool { return c.Leader() != raft.None })
				// Randomized timeouts are in [10, 20): someone times out by then.
				assert.LessOrEqual(t, ticks, 40)
				heartbeat(t, c) // carries the commit index

				lead := c.Leader()
				term := status(c, lead).Term
				for _, id := range c.IDs() {
					st := status(c, id)
					assert.Equal(t, term, st.Term, "node %d", id)
					assert.Equal(t, lead, st.Lead, "node %d follows the leader", id)
					if id != lead {
						assert.Equal(t, raft.Follower, st.Role)
					}
					// The leader's no-op commits everywhere (the heartbeat told them).
					assert.Equal(t, status(c, lead).LastIndex, st.Commit, "node %d", id)
				}
			})
		}
	}
}

// Every node campaigns at once (split votes); whatever happens, no term
// ever has two leaders, and eventually one leader is elected.
func TestAtMostOneLeaderPerTerm(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		for _, n := range []int{3, 5} {
			c := newCluster(t, rafttest.Config{N: n, Seed: seed})
			leaders := map[uint64]uint64{}
			c.OnReady = func(id uint64, rd raft.Ready) {
				if rd.SoftState != nil && rd.SoftState.Role == raft.Leader {
					term := c.Node(id).Status().Term
					if l, ok := leaders[term]; ok && l != id {
						t.Fatalf("seed %d: two leaders in term %d: %d and %d", seed, term, l, id)
					}
					leaders[term] = id
				}
			}
			for _, id := range c.IDs() {
				c.Campaign(id)
			}
			stabilize(t, c)
			tickUntil(t, c, 200, func() bool { return c.Leader() != raft.None })
			assert.NotEmpty(t, leaders)
		}
	}
}

// A node whose log is less up to date than a majority's cannot win
// (Raft §5.4.1), whether its last term is lower or its last term is equal
// and its log shorter.
func TestVoteRestriction(t *testing.T) {
	for _, tc := range []struct {
		name  string
		short []uint64 // node 1's terms after the bootstrap entries
		long  []uint64 // nodes 2 and 3
	}{
		{"lower last term", []uint64{2, 2, 2, 2}, []uint64{2, 3}},
		{"same last term, shorter", []uint64{2, 2}, []uint64{2, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, Restored: map[uint64]raft.Restored{
				1: restoredLog(3, tc.short, 3, 3),
				2: restoredLog(3, tc.long, 3, 3),
				3: restoredLog(3, tc.long, 3, 3),
			}})
			stabilize(t, c)
			c.Campaign(1)
			stabilize(t, c)
			st := status(c, 1)
			assert.NotEqual(t, raft.Leader, st.Role)
			assert.Equal(t, uint64(4), st.Term, "it campaigned")
			// Voters did move to its term but voted for nobody.
			for _, id := range []uint64{2, 3} {
				assert.Equal(t, uint64(4), status(c, id).Term)
				assert.Equal(t, raft.None, status(c, id).Vote)
			}
			// Either up-to-date node can win and bring node 1 along.
			require.NoError(t, c.ElectLeader(2))
			assert.Equal(t, status(c, 2).LastIndex, status(c, 1).LastIndex)
		})
	}
}

// A granted vote reaches the node's HardState in the same Ready that sends
// the response, so a host following the contract has the vote on disk
// before the candidate hears of it.
func TestVotePersistedBeforeResponse(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	stabilize(t, c)
	checked := 0
	c.OnReady = func(id uint64, rd raft.Ready) {
		for _, m := range rd.Messages {
			if m.Type == raftpb.MsgVoteResp && !m.Reject {
				assert.Equal(t, m.To, rd.HardState.Vote, "vote in this Ready's HardState")
				assert.Equal(t, m.Term, rd.HardState.Term)
				assert.True(t, rd.MustSync)
				assert.Equal(t, m.To, c.Disk(id).HardState.Vote, "already on disk when queued")
				checked++
			}
		}
	}
	require.NoError(t, c.ElectLeader(1))
	assert.Equal(t, 2, checked)
}

// PreVote: a node cut off from the cluster keeps failing pre-votes and
// never raises its term, so when it returns it neither bumps the cluster's
// term nor deposes the leader.
func TestPreVotePartitionedNodeRejoins(t *testing.T) {
	for _, tc := range []struct {
		name        string
		checkQuorum bool
		writes      bool // the cluster commits entries while the node is away
		disrupts    bool
	}{
		// The rejoining node's log is behind, so its pre-vote fails.
		{"prevote, log behind", false, true, false},
		// Its log is as good as anyone's; the followers' lease (CheckQuorum)
		// is what keeps them from granting the pre-vote.
		{"prevote+checkquorum, log equal", true, false, false},
		// Without the lease an up-to-date returning node can win a pre-vote
		// and then a real election: the reason to combine both options.
		{"prevote alone, log equal", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, PreVote: true, CheckQuorum: tc.checkQuorum})
			require.NoError(t, c.ElectLeader(1))
			term := status(c, 1).Term

			c.Isolate(3)
			for i := range 200 {
				c.TickAll()
				if tc.writes && i%10 == 0 {
					require.NoError(t, c.Propose(1, []byte("w")))
				}
				stabilize(t, c)
			}
			assert.Equal(t, term, status(c, 3).Term, "pre-votes never raise the term")
			assert.Equal(t, raft.PreCandidate, status(c, 3).Role)

			c.Heal()
			// The isolated node polls first, before the leader's next heartbeat.
			c.Campaign(3)
			stabilize(t, c)
			for range 50 {
				c.TickAll()
				stabilize(t, c)
			}
			if tc.disrupts {
				assert.Greater(t, status(c, 1).Term, term)
				return
			}
			for _, id := range c.IDs() {
				assert.Equal(t, term, status(c, id).Term, "node %d", id)
				assert.Equal(t, uint64(1), status(c, id).Lead, "node %d", id)
			}
			assert.Equal(t, status(c, 1).LastIndex, status(c, 3).LastIndex, "caught up")
		})
	}
}

// With CheckQuorum a follower that heard from its leader within the
// election timeout ignores vote and pre-vote requests of higher terms: it
// neither answers nor moves its term.
func TestLeaseIgnoresVoteRequests(t *testing.T) {
	for _, typ := range []raftpb.MessageType{raftpb.MsgVote, raftpb.MsgPreVote} {
		t.Run(typ.String(), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, CheckQuorum: true})
			require.NoError(t, c.ElectLeader(1))
			st := status(c, 2)
			err := c.Node(2).Step(raftpb.Message{Type: typ, From: 3, To: 2, Term: st.Term + 1,
				Index: st.LastIndex + 10, LogTerm: st.LastTerm + 1})
			require.ErrorIs(t, err, raft.ErrStepIgnored)
			assert.False(t, c.Node(2).HasReady(), "no answer, no state change")
			assert.Equal(t, st.Term, status(c, 2).Term)

			// Once the lease has run out (no word from the leader for an
			// election timeout), the same request is considered.
			for range 10 {
				c.Tick(2)
			}
			require.NoError(t, c.Node(2).Step(raftpb.Message{Type: typ, From: 3, To: 2, Term: st.Term + 1,
				Index: st.LastIndex + 10, LogTerm: st.LastTerm + 1}))
			rd := c.Node(2).Ready()
			require.Len(t, rd.Messages, 1)
			assert.False(t, rd.Messages[0].Reject)
		})
	}
}

// CheckQuorum: a leader cut off from every follower steps down within two
// election timeouts. Without CheckQuorum it would stay leader forever.
func TestCheckQuorumIsolatedLeaderStepsDown(t *testing.T) {
	for _, checkQuorum := range []bool{true, false} {
		t.Run(fmt.Sprintf("checkquorum=%t", checkQuorum), func(t *testing.T) {
			const electionTick = 10
			c := newCluster(t, rafttest.Config{N: 5, CheckQuorum: checkQuorum, ElectionTick: electionTick})
			require.NoError(t, c.ElectLeader(1))
			c.Isolate(1)
			ticks := 0
			for ; ticks < 10*electionTick && status(c, 1).Role == raft.Leader; ticks++ {
				c.TickAll()
				stabilize(t, c)
			}
			if !checkQuorum {
				assert.Equal(t, raft.Leader, status(c, 1).Role)
				return
			}
			assert.Equal(t, raft.Follower, status(c, 1).Role)
			assert.LessOrEqual(t, ticks, 2*electionTick)
			assert.Equal(t, raft.None, status(c, 1).Lead)
		})
	}
}

// A minority-side leader with CheckQuorum steps down, the majority elects a
// new leader, and after the partition heals the old leader follows it.
func TestCheckQuorumMinorityLeaderRejoins(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 5, CheckQuorum: true, PreVote: true})
	require.NoError(t, c.ElectLeader(1))
	c.Partition([]uint64{1, 2}, []uint64{3, 4, 5})
	tickUntil(t, c, 100, func() bool {
		l := c.Leader()
		return l != raft.None && l != 1 && status(c, 1).Role != raft.Leader
	})
	newLead := c.Leader()
	c.Heal()
	tickUntil(t, c, 100, func() bool { return status(c, 1).Lead == newLead && status(c, 2).Lead == newLead })
	assert.Equal(t, newLead, c.Leader())
}
