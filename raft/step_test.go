package raft_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// Nothing a peer can send makes a node panic or break its own invariants:
// messages of every type with stale, current and future terms, indexes in
// and out of range, unknown senders, garbage entries. (Forged messages may
// of course mislead a node about the cluster; Raft does not tolerate
// Byzantine peers. They must not crash it.)
func TestStepArbitraryMessagesNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c, err := rafttest.New(rafttest.Config{N: 3,
			PreVote: rapid.Bool().Draw(t, "prevote"), CheckQuorum: rapid.Bool().Draw(t, "checkquorum")})
		require.NoError(t, err)
		require.NoError(t, c.ElectLeader(1))
		for i := range rapid.IntRange(0, 10).Draw(t, "writes") {
			require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
		}
		c.Cut(1, 3)
		require.NoError(t, c.Stabilize())
		target := rapid.Uint64Range(1, 3).Draw(t, "target")
		if rapid.Bool().Draw(t, "candidate") {
			c.Campaign(target)
		}
		n := c.Node(target)

		near := func(label string, around uint64) uint64 {
			switch rapid.IntRange(0, 2).Draw(t, label+"kind") {
			case 0:
				return around + rapid.Uint64Range(0, 4).Draw(t, label) - min(around, 2)
			case 1:
				return rapid.Uint64Range(0, 20).Draw(t, label)
			default:
				return rapid.Uint64().Draw(t, label)
			}
		}
		for range rapid.IntRange(1, 30).Draw(t, "messages") {
			st := n.Status()
			m := raftpb.Message{
				Type:       raftpb.MessageType(rapid.IntRange(0, 16).Draw(t, "type")),
				From:       rapid.Uint64Range(0, 5).Draw(t, "from"),
				To:         rapid.SampledFrom([]uint64{target, target, target, 0, 4}).Draw(t, "to"),
				Term:       near("term", st.Term),
				LogTerm:    near("logterm", st.LastTerm),
				Index:      near("index", st.LastIndex),
				Commit:     near("commit", st.Commit),
				Reject:     rapid.Bool().Draw(t, "reject"),
				RejectHint: near("hint", st.LastIndex),
			}
			for i := range rapid.IntRange(0, 3).Draw(t, "entries") {
				e := raftpb.Entry{Term: near("eterm", m.Term), Index: m.Index + 1 + uint64(i), Data: []byte{byte(i)}}
				if rapid.IntRange(0, 5).Draw(t, "garble") == 0 {
					e.Index = near("eindex", e.Index)
					e.Type = raftpb.EntryType(rapid.IntRange(0, 3).Draw(t, "etype"))
				}
				m.Entries = append(m.Entries, e)
			}
			err := n.Step(m)
			if err != nil && !errors.Is(err, raft.ErrStepIgnored) && !errors.Is(err, raft.ErrInvalidMessage) &&
				!errors.Is(err, raft.ErrNotLeader) && !errors.Is(err, raft.ErrProposalDropped) {
				t.Fatalf("Step(%s): unexpected error %v", m, err)
			}
			after := n.Status()
			if after.Commit > after.LastIndex || after.Applied > after.Commit || after.Term < st.Term {
				t.Fatalf("Step(%s) broke an invariant: %+v -> %+v", m, st, after)
			}
			// The host can still persist and apply whatever it produced.
			require.NoError(t, c.Process(target))
			if n.Tick(); rapid.Bool().Draw(t, "tick") {
				require.NoError(t, c.Process(target))
			}
		}
	})
}
