package quorum

import "math"

// JointConfig is the configuration during a joint-consensus membership
// change: decisions need a majority of Incoming and a majority of
// Outgoing. Outside a change Outgoing is empty, and an empty majority
// config commits everything and wins every vote (the neutral element), so
// a JointConfig with an empty Outgoing behaves exactly as Incoming alone.
type JointConfig struct {
	Incoming MajorityConfig
	Outgoing MajorityConfig
}

// Joint reports whether a change is in progress (Outgoing non-empty).
func (c JointConfig) Joint() bool { return len(c.Outgoing) > 0 }

// IDs returns every voter of either half, sorted, without duplicates.
func (c JointConfig) IDs() []uint64 {
	return NewMajorityConfig(append(append([]uint64(nil), c.Incoming...), c.Outgoing...)...)
}

// Contains reports whether id votes in either half.
func (c JointConfig) Contains(id uint64) bool {
	return c.Incoming.Contains(id) || c.Outgoing.Contains(id)
}

// Empty reports whether no one votes at all.
func (c JointConfig) Empty() bool { return len(c.Incoming) == 0 && len(c.Outgoing) == 0 }

// CommittedIndex is the highest index both halves have committed, or 0 if
// there are no voters at all (nothing can commit without a quorum).
func (c JointConfig) CommittedIndex(l AckedIndexer) uint64 {
	idx := min(c.Incoming.CommittedIndex(l), c.Outgoing.CommittedIndex(l))
	if idx == math.MaxUint64 {
		return 0
	}
	return idx
}

// VoteResult is won only if both halves are won, lost if either is lost.
// With no voters at all an election is lost.
func (c JointConfig) VoteResult(votes map[uint64]bool) VoteResult {
	if c.Empty() {
		return VoteLost
	}
	a, b := c.Incoming.VoteResult(votes), c.Outgoing.VoteResult(votes)
	switch {
	case a == b:
		return a
	case a == VoteLost || b == VoteLost:
		return VoteLost
	}
	return VotePending
}

// String prints the halves, e.g. "(1 2 3)" or "(1 2 4)&&(1 2 3)".
func (c JointConfig) String() string {
	if !c.Joint() {
		return c.Incoming.String()
	}
	return c.Incoming.String() + "&&" + c.Outgoing.String()
}
