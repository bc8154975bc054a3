package raft

import (
	"encoding/binary"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/quorum"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
)

// This file is reads without the log (Raft thesis §6.4): ReadIndex gives
// the host an index such that, once it has applied up to it, its state
// machine reflects every write that completed before the read was asked
// for. The leader finds it by confirming, with a heartbeat round a quorum
// acknowledges, that it still led after the read arrived (read index);
// or, with ReadOnlyLeaseBased, by the lease such a round gives it (see
// lease.go). Followers forward reads to the leader.

// ReadOnlyOption says how a leader confirms it still leads before it
// serves a read.
type ReadOnlyOption uint8

const (
	// ReadOnlySafe: a heartbeat round sent after the read arrived and
	// acknowledged by a quorum confirms it (read index). Safe whatever
	// the clocks do.
	ReadOnlySafe ReadOnlyOption = iota
	// ReadOnlyLeaseBased: while its lease holds, the leader answers at
	// once; without a lease it confirms as ReadOnlySafe does. Safe only
	// while every clock's drift stays within Config.MaxClockDriftPPM;
	// requires CheckQuorum.
	ReadOnlyLeaseBased
)

func (o ReadOnlyOption) String() string {
	if o == ReadOnlyLeaseBased {
		return "lease"
	}
	return "index"
}

// ReadState is a read the host may serve once it has applied up to
// Index: its state machine then reflects every write that completed
// before ReadIndex was called with RequestCtx.
type ReadState struct {
	Index      uint64
	RequestCtx []byte
}

// maxPendingReads bounds the reads a leader holds unconfirmed (and a
// follower nothing: it forwards). Past it new reads are refused; a
// leader that stops hearing from a quorum steps down and drops them long
// before, with CheckQuorum.
const maxPendingReads = 1 << 12

// readRequest is one read: the host's context and the node that asked
// (this node, or a follower that forwarded it).
type readRequest struct {
	ctx  []byte
	from uint64
}

// round is one heartbeat round the leader sent: its id (the heartbeats'
// Context), the tick it was sent at, the commit index then, and the reads
// that arrived before it was sent and wait for it.
type round struct {
	id     uint64
	sentAt uint64
	index  uint64
	reads  []readRequest
}

// readOnly is the leader's read state for one term.
type readOnly struct {
	// seq is the id of the last round sent (0: none yet).
	seq uint64
	// rounds are the rounds sent and not yet confirmed, oldest first.
	// Invariant: ids strictly increase; every id is in (confirmed, seq].
	rounds []round
	// acked is, per peer, the highest round it acknowledged. An ack of
	// round r is an ack of every earlier round: the peer followed this
	// leader when a heartbeat sent after all of them reached it.
	acked map[uint64]uint64
	// confirmed is the highest round a quorum acknowledged; leaseFrom is
	// the tick it was sent at, where the lease starts (lease.go).
	confirmed, leaseFrom uint64
	// queued arrived while a round carrying reads was unconfirmed: a
	// round sent before a read arrived cannot confirm it, so they go with
	// the next round (one round, many reads).
	queued []readRequest
	// waiting arrived before this leader committed an entry of its term:
	// until then its commit index may be behind the previous leader's.
	waiting []readRequest
	// pending counts the reads in rounds, queued and waiting.
	pending int
	// revoked: the lease is given up for the rest of the term (a
	// leadership transfer began: its target campaigns past the lease).
	revoked bool
	// self is the leader's ID: it has acknowledged every round it sent.
	self uint64
}

// ReadIndex asks for a linearizable read, identified by ctx (which the
// node keeps: do not modify it). The answer is a ReadState with the same
// RequestCtx in a later Ready, unless leadership changes first: then it
// never comes, and the host should fail the read when it sees the change
// (SoftState, or the term moving). A leader answers once a heartbeat
// round confirms it still leads (or at once under a lease); a follower
// forwards the read to its leader and answers with the index it returns.
// ErrNotLeader: no leader is known to forward to; ErrProposalDropped: too
// many reads are pending.
func (n *Node) ReadIndex(ctx []byte) error {
	n.changes++
	switch {
	case n.role == Leader:
		return n.leaderRead(readRequest{ctx: ctx, from: n.id})
	case n.role == Follower && n.lead != None:
		n.send(raftpb.Message{Type: raftpb.MsgReadIndex, To: n.lead, Context: ctx})
		return nil
	}
	return ErrNotLeader
}

// stepRead handles read traffic of the current term: a follower's
// forwarded read on the leader, the leader's answer on the follower.
func (n *Node) stepRead(m *raftpb.Message) error {
	switch {
	case m.Type == raftpb.MsgReadIndex && n.role == Leader:
		if n.trk.Progress(m.From) == nil {
			return ErrStepIgnored // not a member
		}
		if err := n.leaderRead(readRequest{ctx: m.Context, from: m.From}); err != nil {
			return ErrStepIgnored // too many pending: the follower's host times out
		}
		return nil
	case m.Type == raftpb.MsgReadIndexResp && n.role == Follower && m.From == n.lead:
		n.readStates = append(n.readStates, ReadState{Index: m.Index, RequestCtx: m.Context})
		return nil
	}
	return ErrStepIgnored
}

// leaderRead takes a read on the leader.
func (n *Node) leaderRead(req readRequest) error {
	ro := &n.ro
	if ro.pending >= maxPendingReads {
		return ErrProposalDropped
	}
	if n.committedTerm() != n.term {
		// A new leader's commit index may lag the last one's: it learns
		// the true one only when an entry of its own term commits.
		ro.waiting = append(ro.waiting, req)
		ro.pending++
		return nil
	}
	if n.soleVoter() || n.leaseValid() || n.planted.Has(plant.ReadIndexWithoutRound) {
		// A quorum of one, or a lease, confirms leadership now.
		n.releaseRead(req, n.log.committed)
		n.leaseReads++
		return nil
	}
	ro.queued = append(ro.queued, req)
	ro.pending++
	if !n.readsInFlight() {
		n.bcastHeartbeat() // a new round takes the queue
	}
	return nil
}

// soleVoter reports whether this node is a quorum by itself.
func (n *Node) soleVoter() bool {
	v := n.trk.Voters
	return !v.Joint() && len(v.Incoming) == 1 && v.Incoming[0] == n.id
}

// readsInFlight reports whether a round carrying reads is unconfirmed.
func (n *Node) readsInFlight() bool {
	for i := range n.ro.rounds {
		if len(n.ro.rounds[i].reads) > 0 {
			return true
		}
	}
	return false
}

// maxRounds bounds the unconfirmed rounds a leader remembers. Rounds
// without reads are dropped oldest first past it; they matter only for
// the lease, and one that old gives none.
const maxRounds = 64

// newRound starts a heartbeat round: it takes the queued reads and
// returns the context its heartbeats carry.
func (n *Node) newRound() []byte {
	ro := &n.ro
	ro.seq++
	ro.self = n.id
	ro.rounds = append(ro.rounds, round{id: ro.seq, sentAt: n.ticks, index: n.log.committed, reads: ro.queued})
	ro.queued = nil
	if len(ro.rounds) > maxRounds {
		for i := range ro.rounds {
			if len(ro.rounds[i].reads) == 0 {
				ro.rounds = append(ro.rounds[:i], ro.rounds[i+1:]...)
				break
			}
		}
	}
	return binary.AppendUvarint(nil, ro.seq)
}

// readAck counts a heartbeat response: the round it acknowledges, and
// with it every earlier one. Rounds a quorum acknowledged release their
// reads, and the newest of them renews the lease.
func (n *Node) readAck(m *raftpb.Message) {
	ro := &n.ro
	id, k := binary.Uvarint(m.Context)
	if k <= 0 || k != len(m.Context) || id == 0 || id > ro.seq || id <= ro.acked[m.From] {
		return // no round, a malformed one, or old news
	}
	if ro.acked == nil {
		ro.acked = map[uint64]uint64{}
	}
	ro.acked[m.From] = id
	q := n.trk.Voters.CommittedIndex(ro)
	if n.planted.Has(plant.LooseQuorum) {
		q = max(q, n.looseRound())
	}
	if n.trk.Voters.Empty() || q <= ro.confirmed {
		return
	}
	ro.confirmed = q
	done := 0
	for ; done < len(ro.rounds) && ro.rounds[done].id <= q; done++ {
		r := &ro.rounds[done]
		if r.id == q {
			ro.leaseFrom = r.sentAt
		}
		for _, req := range r.reads {
			n.releaseRead(req, r.index)
		}
		if len(r.reads) > 0 {
			n.readRounds++
			n.roundReads += uint64(len(r.reads))
			ro.pending -= len(r.reads)
		}
	}
	ro.rounds = append(ro.rounds[:0], ro.rounds[done:]...)
	if len(ro.queued) > 0 {
		n.bcastHeartbeat() // the reads that waited for the next round
	}
}

// looseRound is the planted LooseQuorum's confirmed round: the highest
// acknowledged by half the voters (not a majority).
func (n *Node) looseRound() uint64 {
	acks := &n.ro
	var acked []uint64
	for _, id := range n.trk.Voters.IDs() {
		r, _ := acks.AckedIndex(id)
		acked = append(acked, r)
	}
	slices.Sort(acked)
	return acked[len(acked)-max(len(acked)/2, 1)]
}

// AckedIndex makes the acknowledged rounds a quorum.AckedIndexer: the
// highest round id acknowledged; the leader has acknowledged every round
// it sent.
func (ro *readOnly) AckedIndex(id uint64) (uint64, bool) {
	if id == ro.self {
		return ro.seq, true
	}
	r, ok := ro.acked[id]
	return r, ok
}

var _ quorum.AckedIndexer = (*readOnly)(nil)

// releaseRead answers a confirmed read with index: a ReadState for this
// node's own, a MsgReadIndexResp for a follower's.
func (n *Node) releaseRead(req readRequest, index uint64) {
	if req.from == n.id {
		n.readStates = append(n.readStates, ReadState{Index: index, RequestCtx: req.ctx})
		return
	}
	n.send(raftpb.Message{Type: raftpb.MsgReadIndexResp, To: req.from, Index: index, Context: req.ctx})
}

// releaseWaitingReads takes the reads that waited for this leader's first
// commit in its term, now that it has one.
func (n *Node) releaseWaitingReads() {
	ro := &n.ro
	if len(ro.waiting) == 0 || n.role != Leader || n.committedTerm() != n.term {
		return
	}
	waiting := ro.waiting
	ro.waiting = nil
	ro.pending -= len(waiting)
	for _, req := range waiting {
		_ = n.leaderRead(req) // the bound was checked when they arrived
	}
}

// resetReads forgets the reads of the last term: they are never answered
// (the host fails them when it sees leadership change).
func (n *Node) resetReads() { n.ro = readOnly{} }
