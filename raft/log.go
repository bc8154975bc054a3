package raft

import (
	"fmt"
	"math/bits"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// raftLog is the node's whole log, in memory, with the four positions that
// say how far each part of it has got:
//
//	offset < ... <= applied <= applying <= committed <= lastIndex
//	offset <= stabled <= lastIndex
//
// Entries in (stabled, lastIndex] have not been handed to the host for
// persisting yet (Ready.Entries); entries in (applying, committed] have not
// been handed to it for applying (Ready.CommittedEntries).
type raftLog struct {
	// offset is the index just before entries[0]: the last index a
	// snapshot replaced (0 when there is none), and offsetTerm its term.
	// Invariant: entries[i].Index == offset+1+i, terms non-decreasing and
	// >= offsetTerm.
	offset, offsetTerm uint64
	entries            []raftpb.Entry

	// committed is the highest index known to be stored on a quorum.
	// Invariant: applying <= committed <= lastIndex; never decreases.
	committed uint64
	// applying is the highest index handed out in Ready.CommittedEntries;
	// applied the highest the host said (Advance) it applied.
	// Invariant: offset <= applied <= applying <= committed.
	applying, applied uint64
	// stabled is the highest index the host has been told to persist and
	// acknowledged with Advance (or that was restored from its disk).
	// Invariant: offset <= stabled <= lastIndex. Truncating the log below
	// it lowers it, so the rewritten suffix is handed out again.
	stabled uint64

	// rewrites counts the times a suffix of the log was replaced (by
	// entries or by an installed snapshot), and rewriteFrom is the first
	// index the latest replacement changed: a checker that remembers the
	// count sees exactly which entries changed under it, without
	// rescanning the log.
	rewrites, rewriteFrom uint64

	// bytes is the encoded size of entries (entrySize each): what a
	// snapshot policy weighs against the size of the last snapshot.
	bytes uint64
}

func sizeOf(ents []raftpb.Entry) uint64 {
	var n uint64
	for i := range ents {
		n += entrySize(&ents[i])
	}
	return n
}

func (l *raftLog) firstIndex() uint64 { return l.offset + 1 }
func (l *raftLog) lastIndex() uint64  { return l.offset + uint64(len(l.entries)) }

// term returns the term of the entry at i; ok is false if i is outside
// [offset, lastIndex] (compacted away or not yet there).
func (l *raftLog) term(i uint64) (t uint64, ok bool) {
	if i == l.offset {
		return l.offsetTerm, true
	}
	if i < l.offset || i > l.lastIndex() {
		return 0, false
	}
	return l.entries[i-l.offset-1].Term, true
}

func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// matchTerm reports whether the log holds an entry at i of term t.
func (l *raftLog) matchTerm(i, t uint64) bool {
	lt, ok := l.term(i)
	return ok && lt == t
}

// isUpToDate reports whether a log ending at (lasti, term) is at least as
// up to date as this one (Raft §5.4.1): a later last term wins, and with
// equal last terms the longer log wins.
func (l *raftLog) isUpToDate(lasti, term uint64) bool {
	lt := l.lastTerm()
	return term > lt || (term == lt && lasti >= l.lastIndex())
}

// slice returns entries [lo, hi), lo > offset, hi <= lastIndex+1. The
// result aliases the log but has its capacity clipped, so appends by a
// holder cannot write into the log.
func (l *raftLog) slice(lo, hi uint64) []raftpb.Entry {
	if lo >= hi {
		return nil
	}
	a, b := lo-l.offset-1, hi-l.offset-1
	return l.entries[a:b:b]
}

// entriesFrom returns entries from lo on, at most maxBytes of encoded
// entries in total (but always at least one entry if any exist), and their
// encoded size. ok is false when lo is not in the log (compacted away).
func (l *raftLog) entriesFrom(lo, maxBytes uint64) (ents []raftpb.Entry, size uint64, ok bool) {
	if lo <= l.offset {
		return nil, 0, false
	}
	last := l.lastIndex()
	if lo > last {
		return nil, 0, true
	}
	hi := lo
	for hi <= last {
		s := entrySize(&l.entries[hi-l.offset-1])
		if hi > lo && size+s > maxBytes {
			break
		}
		size += s
		hi++
	}
	return l.slice(lo, hi), size, true
}

// findConflict returns the index of the first entry of ents (contiguous,
// all above offset) that the log does not hold with the same term, or 0 if
// it holds all of them.
func (l *raftLog) findConflict(ents []raftpb.Entry) uint64 {
	for i := range ents {
		if !l.matchTerm(ents[i].Index, ents[i].Term) {
			return ents[i].Index
		}
	}
	return 0
}

// findConflictByTerm returns the largest index <= index whose term is <=
// term, with that term. It is the heart of fast backtracking: every entry
// above it has a term the other side cannot hold at that index, so a whole
// term's worth of entries is skipped per round trip. index is clamped to
// the log. Below offset the terms are unknown, so a match there is
// possible: the walk returns the first such index with term 0 (unknown),
// never more than index (a leader that took its first index for a hint
// below it would probe above what the follower holds, forever).
func (l *raftLog) findConflictByTerm(index, term uint64) (uint64, uint64) {
	index = min(index, l.lastIndex())
	for index > l.offset {
		t := l.entries[index-l.offset-1].Term
		if t <= term {
			return index, t
		}
		index--
	}
	if index == l.offset {
		if l.offsetTerm <= term {
			return index, l.offsetTerm
		}
		if index > 0 {
			index--
		}
	}
	return index, 0
}

// truncateAndAppend appends ents (contiguous, ents[0].Index in
// (offset, lastIndex+1]), first dropping any entries at or after
// ents[0].Index. Truncation copies into a new array: earlier Ready and
// message slices may still alias the old one.
func (l *raftLog) truncateAndAppend(ents []raftpb.Entry) {
	if len(ents) == 0 {
		return
	}
	first := ents[0].Index
	switch {
	case first == l.lastIndex()+1:
		l.entries = append(l.entries, ents...)
		l.bytes += sizeOf(ents)
	case first > l.offset && first <= l.lastIndex():
		keep := first - l.offset - 1
		if first <= l.committed {
			panic(fmt.Sprintf("raft: truncating committed entry %d (committed %d)", first, l.committed))
		}
		l.bytes -= sizeOf(l.entries[keep:])
		l.bytes += sizeOf(ents)
		l.entries = append(l.entries[:keep:keep], ents...)
		l.stabled = min(l.stabled, first-1)
		l.rewrites++
		l.rewriteFrom = first
	default:
		panic(fmt.Sprintf("raft: appending entry %d to log (%d, %d]", first, l.offset, l.lastIndex()))
	}
}

// maybeAppend handles the entries of a MsgApp whose preceding entry is
// (index, logTerm): if the log holds that entry, it appends what it lacks,
// replacing a conflicting suffix, and advances the commit index to
// min(committed, the last entry the message vouches for). It returns that
// last index; ok is false if the log does not hold (index, logTerm).
// ents must be validated by the caller (contiguous from index+1).
func (l *raftLog) maybeAppend(index, logTerm, committed uint64, ents []raftpb.Entry) (lastNew uint64, ok bool, err error) {
	if !l.matchTerm(index, logTerm) {
		return 0, false, nil
	}
	lastNew = index + uint64(len(ents))
	if ci := l.findConflict(ents); ci != 0 {
		if ci <= l.committed {
			// A correct leader never contradicts a committed entry
			// (Leader Completeness); this message is corrupt or forged.
			return 0, false, fmt.Errorf("%w: entry %d conflicts with committed index %d", ErrInvalidMessage, ci, l.committed)
		}
		l.truncateAndAppend(ents[ci-index-1:])
	}
	// Entries beyond lastNew may be stale leftovers from another leader;
	// only what this message vouches for can be committed on its say-so.
	l.commitTo(min(committed, lastNew))
	return lastNew, true, nil
}

// commitTo raises the commit index to c (never lowers it).
func (l *raftLog) commitTo(c uint64) {
	if c > l.committed {
		if c > l.lastIndex() {
			panic(fmt.Sprintf("raft: commit %d beyond last index %d", c, l.lastIndex()))
		}
		l.committed = c
	}
}

// compact drops the entries up to i (offset <= i <= applied, so nothing
// not yet applied is dropped): a snapshot stands in for them. The kept
// entries move to a new array so the dropped ones can be collected.
func (l *raftLog) compact(i uint64) {
	if i <= l.offset {
		return
	}
	t, _ := l.term(i)
	k := i - l.offset
	l.bytes -= sizeOf(l.entries[:k])
	l.entries = append([]raftpb.Entry(nil), l.entries[k:]...)
	l.offset, l.offsetTerm = i, t
}

// restore replaces the whole log with a snapshot at (index, term) that
// does not match it: nothing before or after the snapshot is kept, and the
// snapshot counts as committed, applied (the host installs it before any
// later entry) and persisted (the host persists it before anything else
// of the Ready carrying it).
func (l *raftLog) restore(index, term uint64) {
	if l.lastIndex() > l.offset {
		l.rewrites++
		l.rewriteFrom = l.offset + 1
	}
	l.offset, l.offsetTerm = index, term
	l.entries, l.bytes = nil, 0
	l.committed, l.applying, l.applied, l.stabled = index, index, index, index
}

// unstable returns the entries the host has not yet persisted.
func (l *raftLog) unstable() []raftpb.Entry {
	return l.slice(l.stabled+1, l.lastIndex()+1)
}

// stableTo records that the host persisted the log up to (i, t). It is
// ignored if the log has since changed at i (a truncation raced the Ready):
// then the entries will be handed out again.
func (l *raftLog) stableTo(i, t uint64) {
	if i > l.stabled && l.matchTerm(i, t) {
		l.stabled = i
	}
}

// toApply returns the committed entries not yet handed out for applying.
func (l *raftLog) toApply() []raftpb.Entry {
	return l.slice(l.applying+1, l.committed+1)
}

// entrySize is the encoded size of e as raftpb.AppendEntry writes it:
// term and index as uvarints, one type byte, then the length-prefixed data.
// Computed rather than encoded so sizing a batch does not allocate.
func entrySize(e *raftpb.Entry) uint64 {
	return uvarintSize(e.Term) + uvarintSize(e.Index) + 1 + uvarintSize(uint64(len(e.Data))) + uint64(len(e.Data))
}

func uvarintSize(v uint64) uint64 {
	return uint64(bits.Len64(v|1)+6) / 7
}
