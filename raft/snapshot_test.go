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

// snapCluster is 3 nodes with small messages (so a snapshot takes several
// chunks); node 1 leads, node 3 was down while writes accumulated, and
// node 1 has snapshotted and compacted its log past what node 3 holds.
func snapCluster(t *testing.T, trailing uint64) (c *rafttest.Cluster, snapIndex uint64, sends map[raftpb.MessageType]int) {
	t.Helper()
	c = newCluster(t, rafttest.Config{N: 3, MaxSizePerMsg: 128, MaxInflightMsgs: 4})
	require.NoError(t, c.ElectLeader(1))
	c.Crash(3)
	for i := range 60 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "write-%02d", i)))
		stabilize(t, c)
	}
	heartbeat(t, c) // node 2 learns the last write committed
	require.NoError(t, c.Snapshot(1, trailing))
	st := status(c, 1)
	require.Equal(t, st.Applied, st.SnapshotIndex)
	require.Equal(t, st.SnapshotIndex-trailing+1, st.FirstIndex, "compacted, keeping the trailing entries")
	sends = map[raftpb.MessageType]int{}
	c.OnSend = func(m raftpb.Message, _ int) { sends[m.Type]++ }
	return c, st.SnapshotIndex, sends
}

// A follower whose next entry the leader compacted away is brought up by
// the snapshot, sent in chunks, and then by entries from its index on.
func TestSnapshotBringsUpAFollowerTheLogCannot(t *testing.T) {
	c, snapIndex, sends := snapCluster(t, 5)
	require.NoError(t, c.Restart(3))
	for range 10 {
		c.TickAll()
		stabilize(t, c)
	}
	require.NoError(t, c.Propose(1, []byte("after")))
	stabilize(t, c)
	heartbeat(t, c)

	s3 := status(c, 3)
	assert.Equal(t, status(c, 1).LastIndex, s3.LastIndex, "node 3 caught up")
	assert.Equal(t, status(c, 1).Commit, s3.Commit)
	assert.Equal(t, snapIndex+1, s3.FirstIndex, "its log starts after the snapshot")
	assert.Equal(t, snapIndex, c.Disk(3).Snapshot.Metadata.Index, "the snapshot is durable")
	assert.Equal(t, c.Applied(1), c.Applied(3), "same state machine")
	assert.Equal(t, uint64(1), c.Node(3).Counters().SnapshotsInstalled)
	total := len(c.Disk(1).Snapshot.Data)
	assert.GreaterOrEqual(t, sends[raftpb.MsgSnap], (total+127)/128, "chunks of at most 128 bytes")
	assert.Equal(t, uint64(total), c.Node(1).Counters().SnapshotBytesSent, "each byte sent once")
}

// A follower only a little behind gets entries: the trailing tail the
// leader kept covers what it missed, so no snapshot is sent.
func TestSlightlyBehindFollowerGetsEntries(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	for i := range 20 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	c.Crash(3)
	for i := range 5 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "x%d", i)))
	}
	stabilize(t, c)
	require.NoError(t, c.Snapshot(1, 10))
	sends := map[raftpb.MessageType]int{}
	c.OnSend = func(m raftpb.Message, _ int) { sends[m.Type]++ }
	require.NoError(t, c.Restart(3))
	for range 5 {
		c.TickAll()
		stabilize(t, c)
	}
	assert.Equal(t, status(c, 1).LastIndex, status(c, 3).LastIndex)
	assert.Zero(t, sends[raftpb.MsgSnap], "no snapshot for a follower the trailing entries cover")
	assert.Equal(t, c.Applied(1), c.Applied(3))
}

// A lost chunk stalls the transfer until the next heartbeat response,
// which resumes it from the last chunk the follower acknowledged.
func TestSnapshotResumesAfterALostChunk(t *testing.T) {
	c, snapIndex, sends := snapCluster(t, 0)
	require.NoError(t, c.Restart(3))
	dropped := 0
	drop := func(m raftpb.Message) bool {
		if m.Type == raftpb.MsgSnap && m.SnapOffset > 0 && dropped < 2 {
			dropped++
			return true
		}
		return false
	}
	for range 20 {
		c.TickAll()
		require.NoError(t, c.StabilizeDropping(drop))
	}
	require.Equal(t, 2, dropped)
	assert.Equal(t, snapIndex, c.Disk(3).Snapshot.Metadata.Index)
	assert.Equal(t, c.Applied(1), c.Applied(3))
	assert.Positive(t, sends[raftpb.MsgSnapResp])
}

// A leader change in the middle of a transfer: the new leader holds the
// same snapshot, and the follower keeps what it received, so the transfer
// resumes where it stopped instead of starting over.
func TestSnapshotResumesAcrossALeaderChange(t *testing.T) {
	c, snapIndex, _ := snapCluster(t, 0)
	require.NoError(t, c.Snapshot(2, 0))
	require.Equal(t, c.Disk(1).Snapshot.Data, c.Disk(2).Snapshot.Data, "same index, same state: same bytes")
	total := uint64(len(c.Disk(1).Snapshot.Data))
	require.NoError(t, c.Restart(3))

	// Node 1 gets three chunks through, then dies.
	through := 0
	for through < 3 {
		c.TickAll()
		require.NoError(t, c.ProcessAll())
		for i := 0; i < len(c.Queue); i++ {
			p := c.Queue[i]
			if p.Type == raftpb.MsgSnap {
				if through == 3 {
					c.Queue = append(c.Queue[:i], c.Queue[i+1:]...)
					i--
					continue
				}
				through++
			}
		}
		c.DeliverAll()
	}
	c.Crash(1)
	c.DropWhere(func(p rafttest.Packet) bool { return p.From == 1 })
	require.NoError(t, c.ProcessAll())
	c.DeliverAll()
	require.NoError(t, c.ProcessAll())

	var bytesFrom2 uint64
	c.OnSend = func(m raftpb.Message, _ int) {
		if m.Type == raftpb.MsgSnap && m.From == 2 {
			bytesFrom2 += uint64(len(m.Snapshot.Data))
		}
	}
	require.NoError(t, c.ElectLeader(2))
	for range 20 {
		c.TickAll()
		stabilize(t, c)
	}
	assert.Equal(t, snapIndex, c.Disk(3).Snapshot.Metadata.Index)
	assert.Equal(t, c.Applied(2), c.Applied(3))
	assert.Less(t, bytesFrom2, total, "node 2 sent only what node 3 lacked")
}

// A node restarts from its snapshot plus the entries after it, and comes
// back with the same log and state machine.
func TestRestartFromSnapshot(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3})
	require.NoError(t, c.ElectLeader(1))
	for i := range 30 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
	}
	stabilize(t, c)
	require.NoError(t, c.Snapshot(2, 0))
	for i := range 5 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "y%d", i)))
	}
	stabilize(t, c)
	before := status(c, 2)
	applied := c.Applied(2)
	require.NoError(t, c.Restart(2))
	stabilize(t, c)
	after := status(c, 2)
	assert.Equal(t, before.LastIndex, after.LastIndex)
	assert.Equal(t, before.SnapshotIndex, after.SnapshotIndex)
	assert.Equal(t, before.SnapshotIndex+1, after.FirstIndex)
	assert.Equal(t, applied, c.Applied(2), "snapshot plus replayed entries rebuild the state machine")
}

// Compact refuses what would lose information.
func TestCompactRefuses(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 1})
	require.NoError(t, c.ElectLeader(1))
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)
	n := c.Node(1)
	st := n.Status()
	_, err := n.SnapshotMeta(st.Applied + 1)
	assert.ErrorIs(t, err, raft.ErrCompacted, "beyond applied")
	meta, err := n.SnapshotMeta(st.Applied)
	require.NoError(t, err)
	bad := meta
	bad.Term++
	assert.ErrorIs(t, n.Compact(raftpb.Snapshot{Metadata: bad}, 0), raft.ErrCompacted, "wrong term")
	require.NoError(t, n.Compact(raftpb.Snapshot{Metadata: meta, Data: []byte("s")}, 0))
	assert.ErrorIs(t, n.Compact(raftpb.Snapshot{Metadata: meta}, 0), raft.ErrCompacted, "not newer")
	_, err = n.SnapshotMeta(meta.Index - 1)
	assert.ErrorIs(t, err, raft.ErrCompacted, "compacted away")
}
