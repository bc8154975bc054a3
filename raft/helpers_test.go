package raft_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

func newCluster(t testing.TB, cfg rafttest.Config) *rafttest.Cluster {
	t.Helper()
	c, err := rafttest.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !t.Failed() {
			require.Empty(t, c.StepErrors, "no correct peer sends a message Step rejects")
		}
	})
	return c
}

func stabilize(t testing.TB, c *rafttest.Cluster) {
	t.Helper()
	require.NoError(t, c.Stabilize())
}

// tickUntil ticks every node and stabilizes after each tick, up to max
// ticks, until cond holds; it returns the ticks taken, or fails.
func tickUntil(t testing.TB, c *rafttest.Cluster, max int, cond func() bool) int {
	t.Helper()
	for i := 1; i <= max; i++ {
		c.TickAll()
		stabilize(t, c)
		if cond() {
			return i
		}
	}
	require.FailNow(t, "condition not reached", "after %d ticks:\n%s", max, c)
	return 0
}

func status(c *rafttest.Cluster, id uint64) raft.Status { return c.Node(id).Status() }

// data returns the non-empty EntryNormal payloads of ents, as strings.
func data(ents []raftpb.Entry) []string {
	var out []string
	for _, e := range ents {
		if e.Type == raftpb.EntryNormal && len(e.Data) > 0 {
			out = append(out, string(e.Data))
		}
	}
	return out
}

// restoredLog builds a Restored whose log is the bootstrap entries for
// voters 1..n followed by one entry per term in terms (index order), with
// HardState term = max(last term, term) and the given commit.
func restoredLog(n int, terms []uint64, term, commit uint64) raft.Restored {
	var ents []raftpb.Entry
	for i := 1; i <= n; i++ {
		ents = append(ents, raftpb.Entry{Term: 1, Index: uint64(i), Type: raftpb.EntryConfChange,
			Data: raftpb.EncodeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: uint64(i)})})
	}
	for _, tm := range terms {
		ents = append(ents, raftpb.Entry{Term: tm, Index: uint64(len(ents) + 1), Data: []byte{byte(tm)}})
	}
	last := ents[len(ents)-1].Term
	return raft.Restored{HardState: raftpb.HardState{Term: max(last, term), Commit: commit}, Entries: ents}
}

// repeat returns n copies of term.
func repeat(term uint64, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = term
	}
	return out
}

// heartbeat ticks the leader through one heartbeat interval and
// stabilizes: the followers learn its commit index, which appends carry
// only when there are entries to send.
func heartbeat(t testing.TB, c *rafttest.Cluster) {
	t.Helper()
	lead := c.Leader()
	require.NotEqual(t, raft.None, lead, "no leader to heartbeat")
	for range c.NodeConfig(lead).HeartbeatTick {
		c.Tick(lead)
	}
	stabilize(t, c)
}
