package quorum

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// AckedIndexer says up to which log index a voter is known to hold the log.
// found is false when nothing is known about the voter (it counts as 0).
type AckedIndexer interface {
	AckedIndex(voterID uint64) (idx uint64, found bool)
}

// VoteResult is the state of an election as far as a quorum can tell.
type VoteResult uint8

const (
	// VotePending: neither enough grants to win nor enough rejections to lose.
	VotePending VoteResult = 1 + iota
	// VoteLost: a majority rejected (or cannot grant any more).
	VoteLost
	// VoteWon: a majority granted.
	VoteWon
)

func (v VoteResult) String() string {
	switch v {
	case VotePending:
		return "VotePending"
	case VoteLost:
		return "VoteLost"
	case VoteWon:
		return "VoteWon"
	}
	return "VoteResult(" + strconv.Itoa(int(v)) + ")"
}

// MajorityConfig is a set of voter IDs, any majority of which is a quorum.
//
// Invariant: sorted ascending, no duplicates, no zero ID. Build it with
// NewMajorityConfig; the order is what makes iteration deterministic.
type MajorityConfig []uint64

// NewMajorityConfig returns the set of ids (sorted, deduplicated, 0 dropped).
// The argument is not modified.
func NewMajorityConfig(ids ...uint64) MajorityConfig {
	c := make(MajorityConfig, 0, len(ids))
	for _, id := range ids {
		if id != 0 {
			c = append(c, id)
		}
	}
	slices.Sort(c)
	return slices.Compact(c)
}

// Contains reports whether id is a voter.
func (c MajorityConfig) Contains(id uint64) bool {
	_, ok := slices.BinarySearch(c, id)
	return ok
}

// String prints the voters in order, e.g. "(1 2 3)".
func (c MajorityConfig) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range c {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	b.WriteByte(')')
	return b.String()
}

// CommittedIndex is the highest index that a majority of the voters has
// acknowledged. An empty configuration returns math.MaxUint64 so that it is
// the neutral element of min when two configurations are combined (a joint
// configuration commits what both halves commit); callers with a single
// configuration must treat an empty one as "commits nothing".
func (c MajorityConfig) CommittedIndex(l AckedIndexer) uint64 {
	n := len(c)
	if n == 0 {
		return math.MaxUint64
	}
	// Clusters are small; keep the common case off the heap.
	var stk [7]uint64
	var acked []uint64
	if n <= len(stk) {
		acked = stk[:n]
	} else {
		acked = make([]uint64, n)
	}
	for i, id := range c {
		if idx, ok := l.AckedIndex(id); ok {
			acked[i] = idx
		} else {
			acked[i] = 0
		}
	}
	// Insertion sort: n is tiny and this does not allocate.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && acked[j-1] > acked[j]; j-- {
			acked[j-1], acked[j] = acked[j], acked[j-1]
		}
	}
	// Ascending order: the element at n-(n/2+1) is held by n/2+1 voters
	// (itself and everything above it), which is a majority.
	return acked[n-(n/2+1)]
}

// VoteResult tallies votes (true = granted, false = rejected, absent = not
// yet heard) over the voters; votes from non-voters are ignored. An empty
// configuration wins, the neutral element for combining two configurations.
func (c MajorityConfig) VoteResult(votes map[uint64]bool) VoteResult {
	if len(c) == 0 {
		return VoteWon
	}
	granted, missing := 0, 0
	for _, id := range c {
		v, ok := votes[id]
		switch {
		case !ok:
			missing++
		case v:
			granted++
		}
	}
	q := len(c)/2 + 1
	if granted >= q {
		return VoteWon
	}
	if granted+missing >= q {
		return VotePending
	}
	return VoteLost
}

// MapAckIndexer is an AckedIndexer backed by a map, for tests and tools.
type MapAckIndexer map[uint64]uint64

// AckedIndex implements AckedIndexer.
func (m MapAckIndexer) AckedIndex(id uint64) (uint64, bool) {
	idx, ok := m[id]
	return idx, ok
}
