package etcdraft

import (
	"fmt"
	"math/bits"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// mirror is the log in raftsim's format, as the host has been handed it
// (Ready.Snapshot, Ready.Entries) and compacted it: what the checker reads
// through the view, without allocating and without reaching into etcd's
// unexported log. Between inputs (the host drains every Ready) it equals
// etcd's log; CommittedEntries are views of it.
type mirror struct {
	// offset is the index before the first entry held, offsetTerm its term
	// (a snapshot's or a compaction point's; 0, 0 for an empty log).
	offset, offsetTerm uint64
	ents               []raftpb.Entry
	// bytes is the raftpb-encoded size of ents.
	bytes uint64
	// rewrites counts suffix replacements, rewriteFrom is the first index
	// the latest one changed.
	rewrites, rewriteFrom uint64
}

func (m *mirror) lastIndex() uint64 { return m.offset + uint64(len(m.ents)) }

func (m *mirror) lastTerm() uint64 {
	if len(m.ents) == 0 {
		return m.offsetTerm
	}
	return m.ents[len(m.ents)-1].Term
}

func (m *mirror) term(i uint64) (uint64, bool) {
	switch {
	case i == m.offset:
		return m.offsetTerm, true
	case i < m.offset || i > m.lastIndex():
		return 0, false
	}
	return m.ents[i-m.offset-1].Term, true
}

func (m *mirror) entry(i uint64) (raftpb.Entry, bool) {
	if i <= m.offset || i > m.lastIndex() {
		return raftpb.Entry{}, false
	}
	return m.ents[i-m.offset-1], true
}

// slice is the entries [lo, hi], a view whose capacity is clipped (an
// append by the holder cannot reach the mirror).
func (m *mirror) slice(lo, hi uint64) ([]raftpb.Entry, error) {
	if lo <= m.offset || hi > m.lastIndex() || lo > hi {
		return nil, fmt.Errorf("etcdraft: entries [%d, %d] are not in the log (%d, %d]", lo, hi, m.offset, m.lastIndex())
	}
	return m.ents[lo-m.offset-1 : hi-m.offset : hi-m.offset], nil
}

// append adds ents (contiguous) after dropping the entries they replace,
// and returns the view of them it now holds.
func (m *mirror) append(ents []raftpb.Entry) ([]raftpb.Entry, error) {
	if len(ents) == 0 {
		return nil, nil
	}
	first := ents[0].Index
	if first <= m.offset || first > m.lastIndex()+1 {
		return nil, fmt.Errorf("etcdraft: entries from %d do not fit the log (%d, %d]", first, m.offset, m.lastIndex())
	}
	if first <= m.lastIndex() {
		// A new leader overwrote an uncommitted suffix. Copy what stays
		// into a new array: views handed out earlier keep what they saw.
		keep := m.ents[:first-m.offset-1]
		m.bytes = sizeOf(keep)
		m.ents = append(make([]raftpb.Entry, 0, len(keep)+len(ents)), keep...)
		m.rewrites++
		m.rewriteFrom = first
	}
	at := len(m.ents)
	m.ents = append(m.ents, ents...)
	m.bytes += sizeOf(ents)
	return m.ents[at:len(m.ents):len(m.ents)], nil
}

// restore replaces the log with a snapshot's last index and term. Like a
// suffix overwrite, it counts as a rewrite when it drops entries: the
// checker's copy of the log must forget them (and the entry at the
// snapshot's index may now have another term).
func (m *mirror) restore(index, term uint64) {
	if len(m.ents) > 0 {
		m.rewrites++
		m.rewriteFrom = m.offset + 1
	}
	m.offset, m.offsetTerm, m.ents, m.bytes = index, term, nil, 0
}

// compact drops the entries up to index to (no-op at or below offset).
func (m *mirror) compact(to uint64) {
	if to <= m.offset || to > m.lastIndex() {
		return
	}
	t, _ := m.term(to)
	drop := m.ents[:to-m.offset]
	m.bytes -= sizeOf(drop)
	m.ents = append([]raftpb.Entry(nil), m.ents[to-m.offset:]...)
	m.offset, m.offsetTerm = to, t
}

func sizeOf(ents []raftpb.Entry) uint64 {
	var n uint64
	for i := range ents {
		n += entrySize(ents[i].Term, ents[i].Index, len(ents[i].Data))
	}
	return n
}

// entrySize is the size of an entry as raftpb.AppendEntry encodes it, so
// log sizes compare across subjects.
func entrySize(term, index uint64, data int) uint64 {
	return uvarintSize(term) + uvarintSize(index) + 1 + uvarintSize(uint64(data)) + uint64(data)
}

func uvarintSize(v uint64) uint64 { return uint64(bits.Len64(v|1)+6) / 7 }
