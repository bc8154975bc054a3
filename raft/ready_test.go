package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// Advance takes the Ready's message buffer back, so a node that answers
// message after message reuses one buffer; a message queued between Ready
// and Advance is kept, not overwritten.
func TestAdvanceReusesMessageBuffer(t *testing.T) {
	n := newTestNode(t, 2, []uint64{1}, 1, 3)
	heartbeat := func(commit uint64) raftpb.Message {
		return raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 1, Commit: commit}
	}
	require.NoError(t, n.Step(heartbeat(0)))
	rd := n.Ready()
	require.Len(t, rd.Messages, 1)
	first := &rd.Messages[0]
	n.Advance(rd)
	assert.Equal(t, raftpb.Message{}, *first, "the old message is cleared, holding no entries")

	require.NoError(t, n.Step(heartbeat(0)))
	rd = n.Ready()
	require.Len(t, rd.Messages, 1)
	assert.Same(t, first, &rd.Messages[0], "the buffer is reused")
	assert.Equal(t, raftpb.MsgHeartbeatResp, rd.Messages[0].Type)

	// A message queued before Advance stays queued.
	require.NoError(t, n.Step(heartbeat(0)))
	n.Advance(rd)
	rd = n.Ready()
	require.Len(t, rd.Messages, 1)
	assert.Equal(t, raftpb.MsgHeartbeatResp, rd.Messages[0].Type)
	assert.NotSame(t, first, &rd.Messages[0])
}
