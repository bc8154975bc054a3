package wal

import (
	"slices"
	"sort"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// logState is what the records so far add up to. The writer keeps one
// (terms only) to validate what it is asked to write and to fill segment
// headers; replay builds one (with the entries) from the records. Both go
// through the same check and apply methods, so Save refuses exactly what
// replay would have to call corrupt.
//
// The log covers indices (snap.Index, last]. Replay that starts at a
// segment whose predecessors were released (ReleaseTo) knows that entries
// (snap.Index, hole] existed but not what they were; a later snapshot
// marker must cover them. Entries after base() are known.
type logState struct {
	hs   raftpb.HardState
	snap raftpb.SnapshotMetadata
	last uint64

	hole     uint64
	holeTerm uint64 // term of the entry at hole; 0 if unknown

	// runs holds the terms of (base(), last], one element per run of
	// equal terms, starts ascending; the first starts at base()+1.
	runs []termRun

	keepEntries bool
	ents        []raftpb.Entry // (base(), last], only if keepEntries
}

type termRun struct{ start, term uint64 }

func (s *logState) base() uint64 { return max(s.snap.Index, s.hole) }

// termAt returns the term of the entry at i, or ok false if it is not
// known (beyond the log, below the snapshot, or released).
func (s *logState) termAt(i uint64) (term uint64, ok bool) {
	switch {
	case i == s.snap.Index:
		return s.snap.Term, true
	case i < s.snap.Index || i > s.last:
		return 0, false
	case i <= s.hole:
		return s.holeTerm, i == s.hole && s.holeTerm != 0
	}
	k := sort.Search(len(s.runs), func(k int) bool { return s.runs[k].start > i }) - 1
	return s.runs[k].term, true
}

func (s *logState) lastTerm() (uint64, bool) { return s.termAt(s.last) }

// checkHardState reports why hs cannot follow the current hard state: a
// term never decreases, and a vote once cast is never changed within its
// term.
func (s *logState) checkHardState(hs raftpb.HardState) string {
	switch {
	case hs.Term < s.hs.Term:
		return sprintf("hard state term %d below the recorded term %d", hs.Term, s.hs.Term)
	case hs.Term == s.hs.Term && s.hs.Vote != 0 && hs.Vote != s.hs.Vote:
		return sprintf("vote changed from %d to %d within term %d", s.hs.Vote, hs.Vote, hs.Term)
	}
	return ""
}

// checkEntries reports why ents cannot be appended: they must be
// consecutive, start after the snapshot and at most one past the last
// index (an earlier start overwrites a suffix; a later one is a gap), and
// carry positive terms that never decrease along the log.
func (s *logState) checkEntries(ents []raftpb.Entry) string {
	if len(ents) == 0 {
		return ""
	}
	first := ents[0].Index
	switch {
	case first <= s.snap.Index:
		return sprintf("entry %d at or below the snapshot index %d", first, s.snap.Index)
	case first > s.last+1:
		return sprintf("gap: entry %d after last index %d", first, s.last)
	}
	prev, known := s.termAt(first - 1)
	for i := range ents {
		e := &ents[i]
		switch {
		case e.Index != first+uint64(i):
			return sprintf("entry %d follows entry %d", e.Index, first+uint64(i)-1)
		case e.Term == 0:
			return sprintf("entry %d has term 0", e.Index)
		case known && e.Term < prev:
			return sprintf("entry %d has term %d below the preceding term %d", e.Index, e.Term, prev)
		case e.Type > raftpb.EntryConfChange:
			return sprintf("entry %d has unknown type %d", e.Index, e.Type)
		}
		prev, known = e.Term, true
	}
	return ""
}

// checkSnapshot reports why meta cannot be recorded, and otherwise whether
// the log's entries after meta.Index survive it: they do when the log has
// meta's term at meta.Index (the snapshot is a prefix of this log), and
// are all dropped otherwise (an installed snapshot replaced a divergent
// or shorter log). known is false when the log at meta.Index was released,
// so only the recorded decision can say.
func (s *logState) checkSnapshot(meta *raftpb.SnapshotMetadata) (keep, known bool, why string) {
	switch {
	case meta.Index == 0 || meta.Term == 0:
		return false, false, sprintf("snapshot with index %d and term %d (both must be positive)", meta.Index, meta.Term)
	case meta.Index < s.snap.Index:
		return false, false, sprintf("snapshot index %d below the recorded snapshot index %d", meta.Index, s.snap.Index)
	case meta.Index == s.snap.Index && meta.Term != s.snap.Term:
		return false, false, sprintf("snapshot at index %d with term %d, recorded with term %d", meta.Index, meta.Term, s.snap.Term)
	}
	t, ok := s.termAt(meta.Index)
	if ok || meta.Index > s.last {
		return ok && t == meta.Term, true, ""
	}
	return false, false, ""
}

// truncateAfter drops every entry above i (i >= snap.Index).
func (s *logState) truncateAfter(i uint64) {
	if i >= s.last {
		return
	}
	if b := s.base(); i < b {
		s.runs, s.ents = s.runs[:0], s.ents[:0]
		if i < s.hole {
			s.hole, s.holeTerm = i, 0
		}
	} else {
		k := sort.Search(len(s.runs), func(k int) bool { return s.runs[k].start > i })
		s.runs = s.runs[:k]
		if s.keepEntries {
			s.ents = s.ents[:i-b]
		}
	}
	s.last = i
}

// appendEntries applies checked entries: they replace any entry at or
// after their first index.
func (s *logState) appendEntries(ents []raftpb.Entry) {
	if len(ents) == 0 {
		return
	}
	s.truncateAfter(ents[0].Index - 1)
	for i := range ents {
		e := &ents[i]
		if n := len(s.runs); n == 0 || s.runs[n-1].term != e.Term {
			s.runs = append(s.runs, termRun{start: e.Index, term: e.Term})
		}
		s.last = e.Index
	}
	if s.keepEntries {
		s.ents = append(s.ents, ents...)
	}
}

// applySnapshot applies a checked snapshot marker.
func (s *logState) applySnapshot(meta raftpb.SnapshotMetadata, keep bool) {
	if !keep {
		s.snap, s.last, s.hole, s.holeTerm = meta, meta.Index, 0, 0
		s.runs, s.ents = s.runs[:0], s.ents[:0]
		return
	}
	if b := s.base(); meta.Index > b {
		if meta.Index >= s.last {
			s.runs, s.ents = s.runs[:0], s.ents[:0]
		} else {
			k := sort.Search(len(s.runs), func(k int) bool { return s.runs[k].start > meta.Index+1 }) - 1
			s.runs = s.runs[k:]
			s.runs[0].start = meta.Index + 1
			if s.keepEntries {
				s.ents = s.ents[meta.Index-b:]
			}
		}
	}
	s.snap = meta
	if s.hole <= meta.Index {
		s.hole, s.holeTerm = 0, 0
	}
}

// header returns the checkpoint a new segment starting now records.
func (s *logState) header(seq uint64, prevCRC uint32) segHeader {
	t, _ := s.lastTerm()
	return segHeader{seq: seq, prevCRC: prevCRC, lastIndex: s.last, lastTerm: t, hs: s.hs, snap: s.snap}
}

// fromHeader starts a replay at a segment's checkpoint. Entries between
// the snapshot and the header's last index are released: their segments
// are gone.
func fromHeader(h *segHeader, keepEntries bool) (logState, string) {
	s := logState{hs: h.hs, snap: h.snap, last: h.lastIndex, keepEntries: keepEntries}
	switch {
	case h.lastIndex < h.snap.Index:
		return s, sprintf("checkpoint's last index %d is below its snapshot index %d", h.lastIndex, h.snap.Index)
	case h.lastIndex == h.snap.Index && h.lastTerm != h.snap.Term:
		return s, sprintf("checkpoint's last term %d differs from its snapshot's term %d at index %d", h.lastTerm, h.snap.Term, h.lastIndex)
	case h.lastIndex > h.snap.Index:
		s.hole, s.holeTerm = h.lastIndex, h.lastTerm
	}
	return s, ""
}

// matches reports whether a later segment's checkpoint agrees with the
// state replayed from the segments before it.
func (s *logState) matches(h *segHeader) bool {
	t, ok := s.lastTerm()
	return h.lastIndex == s.last && (!ok || t == h.lastTerm) &&
		h.hs == s.hs && metaEqual(&h.snap, &s.snap)
}

func metaEqual(a, b *raftpb.SnapshotMetadata) bool {
	return a.Index == b.Index && a.Term == b.Term &&
		slices.Equal(a.ConfState.Voters, b.ConfState.Voters) &&
		slices.Equal(a.ConfState.Learners, b.ConfState.Learners)
}

// cloneMeta copies meta so the WAL never aliases its caller, with empty
// lists as nil (as decoding yields them).
func cloneMeta(meta raftpb.SnapshotMetadata) raftpb.SnapshotMetadata {
	clone := func(ids []uint64) []uint64 {
		if len(ids) == 0 {
			return nil
		}
		return slices.Clone(ids)
	}
	meta.ConfState.Voters = clone(meta.ConfState.Voters)
	meta.ConfState.Learners = clone(meta.ConfState.Learners)
	return meta
}
