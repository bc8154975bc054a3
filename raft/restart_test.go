package raft_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// Seed failure 1: a restarted node must come back as itself, not as a
// blank follower. From its disk alone it has its term, vote and log back,
// and its state machine is rebuilt from the committed entries.
func TestRestartRemembersTermVoteAndLog(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(2))
	for i := range 30 {
		require.NoError(t, c.Propose(2, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	c.TickAll()
	stabilize(t, c)

	for _, id := range c.IDs() {
		before := status(c, id)
		applied := data(c.Applied(id))
		disk := *c.Disk(id)
		require.NoError(t, c.Restart(id))
		after := status(c, id)
		assert.Equal(t, before.Term, after.Term, "node %d term", id)
		assert.Equal(t, before.Vote, after.Vote, "node %d vote", id)
		assert.Equal(t, before.LastIndex, after.LastIndex, "node %d log", id)
		assert.Equal(t, before.LastTerm, after.LastTerm, "node %d log", id)
		assert.Equal(t, disk.HardState.Commit, after.Commit, "node %d commit from the hint", id)
		assert.Equal(t, raft.Follower, after.Role)
		assert.Equal(t, []uint64{1, 2, 3}, after.Voters, "membership comes from the log")

		// The first Ready re-delivers (applied, commit] and nothing else.
		var rd raft.Ready
		c.OnReady = func(_ uint64, r raft.Ready) { rd = r }
		require.NoError(t, c.Process(id))
		c.OnReady = nil
		assert.Empty(t, rd.Entries, "nothing new to persist")
		assert.True(t, rd.HardState.IsEmpty(), "hard state unchanged")
		assert.False(t, rd.MustSync)
		assert.Nil(t, rd.SoftState)
		require.Len(t, rd.CommittedEntries, int(after.Commit))
		assert.Empty(t, rd.Messages)
		assert.Equal(t, applied, data(c.Applied(id)), "node %d rebuilds the same state", id)
		assert.Equal(t, after.Commit, status(c, id).Applied)
	}
	// The cluster carries on with the same leader once it is heard from.
	tickUntil(t, c, 30, func() bool { return c.Leader() != raft.None })
	assert.Equal(t, status(c, 1).Term, status(c, 3).Term)
}

// After a restart the leader sends the node only what it missed, not the
// whole log (seed failure 1's "replay the entire log from scratch").
func TestRestartedFollowerReceivesOnlyMissedEntries(t *testing.T) {
	for _, inflight := range []int{256, 4} {
		t.Run(fmt.Sprintf("inflight=%d", inflight), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, MaxInflightMsgs: inflight})
			require.NoError(t, c.ElectLeader(1))
			for i := range 100 {
				require.NoError(t, c.Propose(1, fmt.Appendf(nil, "a%d", i)))
			}
			stabilize(t, c)
			c.Crash(3)
			for i := range 50 {
				require.NoError(t, c.Propose(1, fmt.Appendf(nil, "b%d", i)))
				stabilize(t, c)
			}
			missed := int(status(c, 1).LastIndex - c.Disk(3).LastIndex())
			require.Equal(t, 50, missed)

			received := 0
			c.OnDeliver = func(m raftpb.Message) {
				if m.To == 3 && m.Type == raftpb.MsgApp {
					received += len(m.Entries)
				}
			}
			require.NoError(t, c.Restart(3))
			tickUntil(t, c, 20, func() bool { return status(c, 3).Commit == status(c, 1).Commit })
			assert.Equal(t, missed, received, "entries sent to the restarted node")
			assert.Equal(t, data(c.Applied(1)), data(c.Applied(3)))
			assert.Less(t, received, int(status(c, 1).LastIndex)/2)
		})
	}
}

// A crash between Ready and persisting loses only what nobody was told:
// the vote was never sent, so forgetting it is safe, and the node comes
// back exactly as its disk says.
func TestCrashBeforePersistingForgetsUnsentVote(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	stabilize(t, c)
	c.Campaign(1)
	require.NoError(t, c.Process(1))
	c.DeliverWhere(func(p rafttest.Packet) bool { return p.To == 2 })
	require.Equal(t, uint64(1), status(c, 2).Vote, "voted in memory")
	c.Crash(2) // before its Ready (vote + response) was processed
	c.DropWhere(func(rafttest.Packet) bool { return true })
	require.NoError(t, c.Restart(2))
	assert.Equal(t, c.Disk(2).HardState.Term, status(c, 2).Term)
	assert.Equal(t, raft.None, status(c, 2).Vote)
	assert.NotEqual(t, raft.Leader, status(c, 1).Role, "the vote never reached the candidate")
}

// The first Ready of a brand-new node asks the host to persist the
// bootstrap: one EntryConfChange per voter at term 1, committed.
func TestFreshNodeBootstrap(t *testing.T) {
	n, err := raft.NewNode(raft.Config{ID: 2, Peers: []uint64{3, 1, 2}, ElectionTick: 10, HeartbeatTick: 1,
		MaxInflightMsgs: 8, Rand: rand.New(rand.NewPCG(1, 1))}, raft.Restored{})
	require.NoError(t, err)
	st := n.Status()
	assert.Equal(t, []uint64{1, 2, 3}, st.Voters)
	assert.Equal(t, uint64(1), st.Term)
	require.True(t, n.HasReady())
	rd := n.Ready()
	assert.Equal(t, raftpb.HardState{Term: 1, Commit: 3}, rd.HardState)
	assert.True(t, rd.MustSync)
	require.Len(t, rd.Entries, 3)
	assert.Equal(t, rd.Entries, rd.CommittedEntries)
	for i, e := range rd.Entries {
		assert.Equal(t, raftpb.EntryConfChange, e.Type)
		cc, err := raftpb.DecodeConfChangeV2(e.Data)
		require.NoError(t, err)
		assert.Equal(t, raftpb.ConfChangeV2{Changes: []raftpb.ConfChange{{Type: raftpb.ConfChangeAddNode, NodeID: uint64(i + 1)}}}, cc)
	}
	assert.Empty(t, rd.Messages)
	n.Advance(rd)
	assert.False(t, n.HasReady())

	// Restarted from that, Peers no longer matter.
	n2, err := raft.NewNode(raft.Config{ID: 2, Peers: []uint64{7}, ElectionTick: 10, HeartbeatTick: 1,
		MaxInflightMsgs: 8, Rand: rand.New(rand.NewPCG(1, 1))}, raft.Restored{HardState: rd.HardState, Entries: rd.Entries})
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2, 3}, n2.Status().Voters)
}

func validConfig() raft.Config {
	return raft.Config{ID: 1, Peers: []uint64{1, 2, 3}, ElectionTick: 10, HeartbeatTick: 1,
		MaxSizePerMsg: 1024, MaxInflightMsgs: 8, Rand: rand.New(rand.NewPCG(1, 1))}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*raft.Config)
		want   string // substring of the error; "" means valid
	}{
		{"valid", func(*raft.Config) {}, ""},
		{"zero MaxSizePerMsg is one entry per message", func(c *raft.Config) { c.MaxSizePerMsg = 0 }, ""},
		{"ID", func(c *raft.Config) { c.ID = 0 }, "ID must not be 0"},
		{"HeartbeatTick", func(c *raft.Config) { c.HeartbeatTick = 0 }, "HeartbeatTick must be > 0"},
		{"ElectionTick", func(c *raft.Config) { c.ElectionTick = 1 }, "ElectionTick (1) must be greater than HeartbeatTick (1)"},
		{"MaxInflightMsgs", func(c *raft.Config) { c.MaxInflightMsgs = 0 }, "MaxInflightMsgs must be > 0"},
		{"Rand", func(c *raft.Config) { c.Rand = nil }, "Rand must not be nil"},
		{"zero peer", func(c *raft.Config) { c.Peers = []uint64{1, 0} }, "Peers[1] is 0"},
		{"duplicate peer", func(c *raft.Config) { c.Peers = []uint64{1, 2, 1} }, "Peers[2] = 1 appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.modify(&cfg)
			err := cfg.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, raft.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
			_, err = raft.NewNode(cfg, raft.Restored{})
			assert.ErrorIs(t, err, raft.ErrInvalidConfig)
		})
	}
	cfg := validConfig()
	cfg.Peers = nil
	_, err := raft.NewNode(cfg, raft.Restored{})
	assert.ErrorIs(t, err, raft.ErrInvalidConfig, "a fresh node needs Peers")
}

func TestNewNodeRejectsInvalidRestoredState(t *testing.T) {
	good := restoredLog(3, []uint64{2, 2, 3}, 3, 4)
	for _, tc := range []struct {
		name   string
		modify func(*raft.Restored)
		want   string
	}{
		{"gap", func(r *raft.Restored) { r.Entries[3].Index = 9 }, "must be contiguous"},
		{"not starting after snapshot", func(r *raft.Restored) { r.Entries = r.Entries[1:] }, "must be contiguous"},
		{"decreasing terms", func(r *raft.Restored) { r.Entries[4].Term = 1 }, "non-decreasing"},
		{"zero term", func(r *raft.Restored) { r.Entries[0].Term = 0 }, "positive"},
		{"unknown type", func(r *raft.Restored) { r.Entries[3].Type = 9 }, "unknown type"},
		{"entry above hard state term", func(r *raft.Restored) { r.HardState.Term = 2 }, "above HardState term"},
		{"commit beyond log", func(r *raft.Restored) { r.HardState.Commit = 7 }, "beyond last index 6"},
		{"vote in term 0", func(r *raft.Restored) { *r = raft.Restored{HardState: raftpb.HardState{Vote: 2}} }, "term 0"},
		{"commit without term", func(r *raft.Restored) { *r = raft.Restored{HardState: raftpb.HardState{Commit: 1}} }, "term is 0"},
		{"snapshot without term", func(r *raft.Restored) { r.Snapshot.Metadata.Index = 3 }, "snapshot index 3 with term 0"},
		{"bad conf change", func(r *raft.Restored) { r.Entries[0].Data = []byte{9} }, "entry 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := restoredLog(3, []uint64{2, 2, 3}, 3, 4)
			tc.modify(&st)
			_, err := raft.NewNode(validConfig(), st)
			require.ErrorIs(t, err, raft.ErrInvalidRestore)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := raft.NewNode(validConfig(), good)
	assert.NoError(t, err)
}
