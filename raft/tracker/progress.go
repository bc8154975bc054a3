package tracker

import (
	"fmt"
	"strconv"
)

// StateType is how the leader is currently replicating to a follower.
type StateType uint8

const (
	// StateProbe: the leader does not know where the follower's log ends.
	// It sends at most one append at a time (a probe) and waits for the
	// answer, moving Next back on rejection, until an append is accepted.
	StateProbe StateType = iota
	// StateReplicate: the follower is known to match the leader up to
	// Match; the leader streams appends optimistically, advancing Next as
	// it sends, limited by the Inflights window.
	StateReplicate
	// StateSnapshot: the follower needs a snapshot because the entries it
	// lacks are gone from the leader's log. The leader sends the snapshot
	// in chunks (at most an Inflights window of them unacknowledged) and
	// appends nothing until the follower acknowledges the snapshot's index.
	StateSnapshot
)

func (s StateType) String() string {
	switch s {
	case StateProbe:
		return "StateProbe"
	case StateReplicate:
		return "StateReplicate"
	case StateSnapshot:
		return "StateSnapshot"
	}
	return "StateType(" + strconv.Itoa(int(s)) + ")"
}

// Progress is the leader's view of one follower.
type Progress struct {
	// Match is the highest log index the follower has acknowledged holding
	// (durably, and matching the leader's log up to it).
	// Invariant: Match < Next. Match never decreases while one leader term
	// lasts, with one exception: data loss. A follower whose disk lost
	// entries it had acknowledged (truncation or damage of synced data)
	// rejects an append at or below Match with a hint below Match; the
	// leader then lowers Match to that hint (see MaybeDecrTo), since the
	// follower no longer holds what it acknowledged. Lowering Match only
	// ever understates what the follower holds, so it cannot commit
	// anything early; the commit index itself never moves back.
	Match uint64
	// Next is the index of the first entry the leader will send next.
	// Invariant: Match < Next. In StateReplicate, entries in (Match, Next)
	// have been sent and are either in flight or lost.
	Next uint64

	// State selects how appends are sent; see StateType.
	State StateType

	// PendingSnapshot is the index of the snapshot being sent in
	// StateSnapshot. SnapOffset is how many bytes of its data the follower
	// has said it holds (its next wanted offset), SnapSent how many the
	// leader has sent. Invariant in StateSnapshot: SnapOffset <= SnapSent.
	PendingSnapshot      uint64
	SnapOffset, SnapSent uint64
	// SnapCheckpoint is SnapOffset at the previous heartbeat response: no
	// progress between two of them means the chunks in flight were lost.
	SnapCheckpoint uint64
	// SnapProbing: no chunk of this snapshot has been acknowledged yet, so
	// only one is sent: the follower may already hold part of it (from an
	// earlier leader) and its answer says where to go on from.
	SnapProbing bool

	// MsgAppFlowPaused is set in StateProbe once a probe has been sent and
	// cleared when it is answered (or a heartbeat response arrives, so a
	// lost probe is retried once per heartbeat), which limits probing to
	// one append in flight. In StateReplicate the Inflights window paces
	// sending instead.
	MsgAppFlowPaused bool

	// HeartbeatSent is the last index sent (Next-1) when the leader last
	// sent a heartbeat: if Match is still below it when the heartbeat's
	// response arrives, an append sent before the heartbeat went
	// unacknowledged for a round trip and may be lost (see the leader's
	// heartbeat handling).
	HeartbeatSent uint64

	// RecentActive is true if the follower has been heard from since the
	// leader last checked quorum (CheckQuorum resets it every election
	// timeout). The leader's own Progress is always active.
	RecentActive bool

	// Inflights bounds the appends sent in StateReplicate and not yet
	// acknowledged. Never nil.
	Inflights *Inflights
}

// NewProgress returns a follower in StateProbe expected to need next.
// Invariant established: Match (0) < Next (next >= 1).
func NewProgress(next uint64, maxInflight int) *Progress {
	return &Progress{Next: max(next, 1), Inflights: NewInflights(maxInflight)}
}

// resetState switches to state, clearing per-state flow control.
func (pr *Progress) resetState(state StateType) {
	pr.MsgAppFlowPaused = false
	pr.PendingSnapshot, pr.SnapOffset, pr.SnapSent, pr.SnapCheckpoint = 0, 0, 0, 0
	pr.SnapProbing = false
	pr.State = state
	pr.Inflights.Reset()
}

// BecomeSnapshot starts sending the snapshot at index snapIndex.
func (pr *Progress) BecomeSnapshot(snapIndex uint64) {
	pr.resetState(StateSnapshot)
	pr.PendingSnapshot = snapIndex
	pr.SnapProbing = true
}

// SnapshotAcked records that the follower holds offset bytes of the
// pending snapshot (its next wanted offset): the chunks up to it leave
// the window. An offset below what was sent but not acknowledged means
// chunks were lost: sending resumes from it.
func (pr *Progress) SnapshotAcked(offset uint64) {
	pr.SnapProbing = false
	pr.Inflights.FreeLE(offset)
	if offset < pr.SnapSent && pr.Inflights.Count() == 0 || offset > pr.SnapSent {
		pr.SnapSent = offset
	}
	pr.SnapOffset = offset
}

// SnapshotRewind resends from the last acknowledged offset: the chunks in
// flight are presumed lost.
func (pr *Progress) SnapshotRewind() {
	pr.Inflights.Reset()
	pr.SnapSent = pr.SnapOffset
}

// BecomeProbe starts probing from just after the last known match.
func (pr *Progress) BecomeProbe() {
	pr.resetState(StateProbe)
	pr.Next = pr.Match + 1
}

// BecomeReplicate starts streaming from just after the last known match.
func (pr *Progress) BecomeReplicate() {
	pr.resetState(StateReplicate)
	pr.Next = pr.Match + 1
}

// SentEntries records that an append carrying entries up to lastIndex
// (lastIndex = Next-1 when the message was empty) of bytes payload was
// sent. In StateReplicate Next moves past the entries and a non-empty
// message takes an Inflights slot; in StateProbe any append is a probe, and
// flow pauses until it is answered.
func (pr *Progress) SentEntries(lastIndex, bytes uint64, nonEmpty bool) {
	switch pr.State {
	case StateReplicate:
		if nonEmpty {
			pr.Next = lastIndex + 1
			pr.Inflights.Add(lastIndex, bytes)
		}
	case StateProbe:
		pr.MsgAppFlowPaused = true
	}
}

// MaybeUpdate records that the follower acknowledged the log up to n. It
// reports whether Match advanced; stale and duplicated acknowledgements
// (n <= Match) change nothing but may still move Next forward.
func (pr *Progress) MaybeUpdate(n uint64) bool {
	updated := false
	if pr.Match < n {
		pr.Match = n
		updated = true
		pr.MsgAppFlowPaused = false
	}
	pr.Next = max(pr.Next, n+1)
	return updated
}

// MaybeDecrTo handles a rejection of the append whose preceding index was
// rejected. matchHint is the leader's estimate, from the follower's hint,
// of the highest index where the logs may still agree. It reports whether
// Next moved (the rejection was not stale); the caller then probes again.
// A rejection in StateReplicate falls back to StateProbe.
//
// A rejection at or below Match whose hint is below Match means the
// follower lost entries it had acknowledged (its disk was truncated or
// damaged): Match drops to the hint and probing restarts there, so the
// follower catches up instead of rejecting probes at Match+1 forever. (A
// stale rejection, reordered or duplicated from before an ack, looks the
// same; lowering Match for it costs one extra probe round trip and is
// safe, because a lower Match understates what the follower holds.)
func (pr *Progress) MaybeDecrTo(rejected, matchHint uint64) bool {
	if rejected <= pr.Match {
		if matchHint >= pr.Match {
			return false // stale: Match is known good
		}
		pr.Match = matchHint
		pr.BecomeProbe()
		return true
	}
	if pr.State == StateReplicate {
		// The stream broke (a message was lost or reordered): fall back to
		// probing from the last known match.
		pr.BecomeProbe()
		return true
	}
	// In StateProbe only the answer to the outstanding probe counts.
	if pr.Next == 0 || pr.Next-1 != rejected {
		return false
	}
	next := rejected
	if matchHint < rejected {
		next = matchHint + 1
	}
	pr.Next = max(next, pr.Match+1)
	pr.MsgAppFlowPaused = false
	return true
}

// IsPaused reports whether the leader must not send appends now.
func (pr *Progress) IsPaused() bool {
	switch pr.State {
	case StateProbe:
		return pr.MsgAppFlowPaused
	case StateReplicate:
		return pr.Inflights.Full()
	default:
		return true
	}
}

// Clone returns an independent copy of pr.
func (pr *Progress) Clone() *Progress {
	c := *pr
	c.Inflights = pr.Inflights.Clone()
	return &c
}

func (pr *Progress) String() string {
	s := fmt.Sprintf("%s match=%d next=%d", pr.State, pr.Match, pr.Next)
	if pr.State == StateSnapshot {
		s += fmt.Sprintf(" snapshot=%d acked=%d sent=%d", pr.PendingSnapshot, pr.SnapOffset, pr.SnapSent)
	}
	if pr.MsgAppFlowPaused {
		s += " paused"
	}
	if n := pr.Inflights.Count(); n > 0 {
		s += fmt.Sprintf(" inflight=%d", n)
		if pr.Inflights.Full() {
			s += "[full]"
		}
	}
	if !pr.RecentActive {
		s += " inactive"
	}
	return s
}
