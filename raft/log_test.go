package raft

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// logOf builds a log whose entry i+1 has term terms[i].
func logOf(terms ...uint64) raftLog {
	var l raftLog
	for i, t := range terms {
		l.entries = append(l.entries, raftpb.Entry{Term: t, Index: uint64(i + 1), Data: []byte{byte(i)}})
	}
	return l
}

func TestEntrySizeMatchesEncoding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := raftpb.Entry{
			Term:  rapid.Uint64().Draw(t, "term"),
			Index: rapid.Uint64().Draw(t, "index"),
			Type:  raftpb.EntryType(rapid.IntRange(0, 1).Draw(t, "type")),
			Data:  rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "data"),
		}
		if got, want := entrySize(&e), uint64(len(raftpb.AppendEntry(nil, &e))); got != want {
			t.Fatalf("entrySize %d, encoding %d bytes", got, want)
		}
	})
}

func TestFindConflictByTerm(t *testing.T) {
	l := logOf(1, 1, 2, 2, 2, 5, 5, 6)
	for _, tc := range []struct {
		index, term       uint64
		wantIdx, wantTerm uint64
	}{
		{8, 6, 8, 6},  // matches at once
		{8, 5, 7, 5},  // skip the term-6 entry
		{8, 4, 5, 2},  // skip terms 6 and 5 in one go
		{8, 1, 2, 1},  // back to term 1
		{8, 0, 0, 0},  // to the start
		{99, 9, 8, 6}, // index beyond the log is clamped
		{3, 9, 3, 2},
	} {
		idx, term := l.findConflictByTerm(tc.index, tc.term)
		assert.Equal(t, tc.wantIdx, idx, "findConflictByTerm(%d, %d)", tc.index, tc.term)
		assert.Equal(t, tc.wantTerm, term, "findConflictByTerm(%d, %d)", tc.index, tc.term)
	}
	// With a snapshot offset the walk stops at the offset.
	s := raftLog{offset: 10, offsetTerm: 3, entries: []raftpb.Entry{{Term: 4, Index: 11}, {Term: 4, Index: 12}}}
	for _, tc := range []struct {
		index, term       uint64
		wantIdx, wantTerm uint64
	}{
		{12, 3, 10, 3}, // the walk stops at the offset, whose term is known
		{12, 2, 9, 0},  // the offset's term is too high: below it, unknown
		{5, 1, 5, 0},   // a hint below the log stays where it is, term unknown
		{10, 3, 10, 3},
	} {
		idx, term := s.findConflictByTerm(tc.index, tc.term)
		assert.Equal(t, tc.wantIdx, idx, "findConflictByTerm(%d, %d) with offset 10", tc.index, tc.term)
		assert.Equal(t, tc.wantTerm, term, "findConflictByTerm(%d, %d) with offset 10", tc.index, tc.term)
	}
}

func TestEntriesFromRespectsSizeLimit(t *testing.T) {
	l := logOf(1, 1, 1, 1, 1, 1) // each entry encodes to 5 bytes
	sz := entrySize(&l.entries[0])
	require.Equal(t, uint64(5), sz)
	for _, tc := range []struct {
		lo, max uint64
		want    int
	}{
		{1, 0, 1},   // always at least one entry
		{1, 4, 1},   // even if it alone is over the limit
		{1, 10, 2},  // exactly two fit
		{1, 14, 2},  // a third would not
		{1, 100, 6}, // everything
		{5, 100, 2},
		{7, 100, 0}, // nothing after the last index
	} {
		ents, size, ok := l.entriesFrom(tc.lo, tc.max)
		require.True(t, ok)
		assert.Len(t, ents, tc.want, "entriesFrom(%d, %d)", tc.lo, tc.max)
		assert.Equal(t, uint64(tc.want)*sz, size)
		assert.Equal(t, len(ents), cap(ents), "capacity clipped so holders cannot append into the log")
	}
	s := raftLog{offset: 10, offsetTerm: 3}
	_, _, ok := s.entriesFrom(10, 100)
	assert.False(t, ok, "compacted")
}

func TestMaybeAppend(t *testing.T) {
	for _, tc := range []struct {
		name             string
		index, logTerm   uint64
		commit           uint64
		ents             []uint64 // terms, from index+1
		wantOK           bool
		wantLast         uint64
		wantCommit       uint64
		wantTerms        []uint64
		wantStabled      uint64
		wantErr          bool
		initialCommitted uint64
	}{
		{name: "mismatch", index: 3, logTerm: 9, wantOK: false, wantCommit: 1, wantTerms: []uint64{1, 1, 2, 2}, wantStabled: 4, initialCommitted: 1},
		{name: "beyond last", index: 7, logTerm: 2, wantOK: false, wantCommit: 1, wantTerms: []uint64{1, 1, 2, 2}, wantStabled: 4, initialCommitted: 1},
		{name: "append new", index: 4, logTerm: 2, commit: 5, ents: []uint64{3}, wantOK: true, wantLast: 5, wantCommit: 5,
			wantTerms: []uint64{1, 1, 2, 2, 3}, wantStabled: 4, initialCommitted: 1},
		{name: "duplicate changes nothing", index: 2, logTerm: 1, commit: 3, ents: []uint64{2, 2}, wantOK: true, wantLast: 4, wantCommit: 3,
			wantTerms: []uint64{1, 1, 2, 2}, wantStabled: 4, initialCommitted: 1},
		{name: "stale short append does not truncate", index: 1, logTerm: 1, commit: 2, ents: []uint64{1}, wantOK: true, wantLast: 2, wantCommit: 2,
			wantTerms: []uint64{1, 1, 2, 2}, wantStabled: 4, initialCommitted: 1},
		{name: "conflict truncates suffix", index: 2, logTerm: 1, commit: 9, ents: []uint64{3}, wantOK: true, wantLast: 3, wantCommit: 3,
			wantTerms: []uint64{1, 1, 3}, wantStabled: 2, initialCommitted: 1},
		{name: "commit capped at last new entry", index: 2, logTerm: 1, commit: 9, ents: nil, wantOK: true, wantLast: 2, wantCommit: 2,
			wantTerms: []uint64{1, 1, 2, 2}, wantStabled: 4, initialCommitted: 1},
		{name: "conflict with committed is an error", index: 1, logTerm: 1, commit: 9, ents: []uint64{3}, wantErr: true, wantCommit: 2,
			wantTerms: []uint64{1, 1, 2, 2}, wantStabled: 4, initialCommitted: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := logOf(1, 1, 2, 2)
			l.stabled = 4
			l.committed = tc.initialCommitted
			old := l.slice(1, 5)
			var ents []raftpb.Entry
			for i, term := range tc.ents {
				ents = append(ents, raftpb.Entry{Term: term, Index: tc.index + 1 + uint64(i)})
			}
			last, ok, err := l.maybeAppend(tc.index, tc.logTerm, tc.commit, ents)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrInvalidMessage)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tc.wantOK, ok)
				assert.Equal(t, tc.wantLast, last)
			}
			assert.Equal(t, tc.wantCommit, l.committed)
			var terms []uint64
			for _, e := range l.entries {
				terms = append(terms, e.Term)
			}
			assert.Equal(t, tc.wantTerms, terms)
			assert.Equal(t, tc.wantStabled, l.stabled)
			assert.Equal(t, []uint64{1, 1, 2, 2}, []uint64{old[0].Term, old[1].Term, old[2].Term, old[3].Term},
				"slices handed out earlier are never rewritten")
		})
	}
}

func newTestNode(t *testing.T, id uint64, terms []uint64, term, commit uint64) *Node {
	t.Helper()
	var ents []raftpb.Entry
	for i := uint64(1); i <= 3; i++ {
		ents = append(ents, raftpb.Entry{Term: 1, Index: i, Type: raftpb.EntryConfChange,
			Data: raftpb.EncodeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: i})})
	}
	for _, tm := range terms {
		ents = append(ents, raftpb.Entry{Term: tm, Index: uint64(len(ents) + 1)})
	}
	n, err := NewNode(Config{ID: id, ElectionTick: 10, HeartbeatTick: 1, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256,
		Rand: rand.New(rand.NewPCG(uint64(id), 0))}, Restored{HardState: raftpb.HardState{Term: term, Commit: commit}, Entries: ents})
	require.NoError(t, err)
	n.Advance(n.Ready())
	return n
}

// The host may Step between Ready and Advance. If a truncation rewrote the
// entries the Ready handed out, Advance must not mark the new ones stable:
// they go out again in the next Ready.
func TestAdvanceAfterTruncationRace(t *testing.T) {
	n := newTestNode(t, 2, []uint64{2}, 2, 3)
	require.NoError(t, n.Step(raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 2, Index: 4, LogTerm: 2,
		Entries: []raftpb.Entry{{Term: 2, Index: 5}, {Term: 2, Index: 6}}}))
	rd := n.Ready()
	require.Len(t, rd.Entries, 2)
	// A new leader replaces 5 and 6 before the host calls Advance.
	require.NoError(t, n.Step(raftpb.Message{Type: raftpb.MsgApp, From: 3, To: 2, Term: 3, Index: 4, LogTerm: 2,
		Entries: []raftpb.Entry{{Term: 3, Index: 5}}}))
	n.Advance(rd)
	rd2 := n.Ready()
	require.Len(t, rd2.Entries, 1)
	assert.Equal(t, raftpb.Entry{Term: 3, Index: 5}, rd2.Entries[0], "the rewrite is handed out for persisting")
	assert.Equal(t, uint64(2), rd.Entries[0].Term, "the earlier Ready's slice is untouched")
}

// Handling the steady-state append on a follower and its acknowledgement
// on the leader does not allocate beyond the amortized growth of the log
// and the outgoing message buffer.
func TestStepHotPathAllocations(t *testing.T) {
	f := newTestNode(t, 2, []uint64{2}, 2, 3)
	next := uint64(5)
	ent := []raftpb.Entry{{}}
	payload := []byte("x")
	allocs := testing.AllocsPerRun(2000, func() {
		ent[0] = raftpb.Entry{Term: 2, Index: next, Data: payload}
		if err := f.Step(raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 2, Index: next - 1, LogTerm: 2,
			Entries: ent, Commit: next - 1}); err != nil {
			t.Fatal(err)
		}
		next++
		if len(f.msgs) > 512 {
			f.msgs = f.msgs[:0]
		}
	})
	t.Logf("follower MsgApp: %.2f allocs", allocs)
	assert.LessOrEqual(t, allocs, 0.1, "follower MsgApp")

	l := newTestNode(t, 1, []uint64{2}, 2, 3)
	l.Campaign()
	for _, id := range []uint64{2, 3} {
		require.NoError(t, l.Step(raftpb.Message{Type: raftpb.MsgVoteResp, From: id, To: 1, Term: 3}))
	}
	require.Equal(t, Leader, l.role)
	last := l.log.lastIndex()
	for _, id := range []uint64{2, 3} {
		require.NoError(t, l.Step(raftpb.Message{Type: raftpb.MsgAppResp, From: id, To: 1, Term: 3, Index: last}))
	}
	allocs = testing.AllocsPerRun(2000, func() {
		if err := l.Propose(payload); err != nil {
			t.Fatal(err)
		}
		last++
		for _, id := range []uint64{2, 3} {
			if err := l.Step(raftpb.Message{Type: raftpb.MsgAppResp, From: id, To: 1, Term: 3, Index: last}); err != nil {
				t.Fatal(err)
			}
		}
		if len(l.msgs) > 512 {
			l.msgs = l.msgs[:0]
		}
	})
	t.Logf("leader propose + acks: %.2f allocs", allocs)
	assert.LessOrEqual(t, allocs, 0.1, "leader propose + two acks")
}
