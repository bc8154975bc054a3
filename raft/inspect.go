package raft

import "github.com/seed4fee1fef/raftsim/raft/raftpb"

// Read-only accessors for invariant checkers, which look at every node
// after every simulated event and so must be cheap. None of them changes
// the node.

// BasicStatus is Status without Voters and Progress: it does not allocate.
func (n *Node) BasicStatus() Status {
	return Status{
		ID:        n.id,
		Term:      n.term,
		Vote:      n.vote,
		Commit:    n.log.committed,
		Applied:   n.log.applied,
		Lead:      n.lead,
		Role:      n.role,
		LastIndex: n.log.lastIndex(),
		LastTerm:  n.log.lastTerm(),

		Recovering: n.recovering,
		RecoverTo:  n.recoverTo,
		VoteLost:   n.voteLost,

		LogRewrites:    n.log.rewrites,
		LogRewriteFrom: n.log.rewriteFrom,
		FirstIndex:     n.log.firstIndex(),
		SnapshotIndex:  n.snap.Metadata.Index,
		LogBytes:       n.log.bytes,
	}
}

// Changes counts the calls that may have changed the node: every call of
// Step, Tick, Campaign, Propose, ProposeConfChange, ReadIndex,
// TransferLeadership, Compact, Ready and Advance (the only ways in). A
// reader that saw the same count before knows that nothing it can read
// has changed since (the invariant checker skips such nodes).
func (n *Node) Changes() uint64 { return n.changes }

// LogTerm returns the term of the entry at index i; ok is false if i is not
// in the log (beyond the last index, or compacted away). Index 0 has term 0
// while no snapshot has replaced the start of the log.
func (n *Node) LogTerm(i uint64) (term uint64, ok bool) { return n.log.term(i) }

// LogEntry returns the entry at index i; ok is false if i is not in the
// log (beyond the last index, or at or below the first index minus one).
// Data aliases the log: read it, do not modify or keep it.
func (n *Node) LogEntry(i uint64) (e raftpb.Entry, ok bool) {
	if i <= n.log.offset || i > n.log.lastIndex() {
		return raftpb.Entry{}, false
	}
	return n.log.entries[i-n.log.offset-1], true
}

// Counters are a node's work since it started, for metrics.
type Counters struct {
	// EntryBytesSent is the encoded size of the entries this node sent in
	// appends, and SnapshotBytesSent the snapshot data it sent in chunks:
	// what catching followers up cost, by either means.
	EntryBytesSent, SnapshotBytesSent uint64
	// SnapshotsInstalled counts snapshots received from a leader and
	// installed.
	SnapshotsInstalled uint64
	// Campaigns counts the elections this node started (as a candidate,
	// won or not; pre-votes not counted).
	Campaigns uint64
	// ReadRounds counts the heartbeat rounds that confirmed reads as
	// leader, RoundReads the reads they confirmed (RoundReads/ReadRounds
	// is reads per round: the batching), LeaseReads the reads answered
	// at once (under a lease, or as a single voter).
	ReadRounds, RoundReads, LeaseReads uint64
	// Transfers counts leadership transfers started as leader,
	// TransfersAborted those given up after an election timeout.
	Transfers, TransfersAborted uint64
}

// Counters returns the node's counters.
func (n *Node) Counters() Counters {
	return Counters{EntryBytesSent: n.entryBytesSent, SnapshotBytesSent: n.snapBytesSent, SnapshotsInstalled: n.snapsInstalled,
		Campaigns: n.campaigns, ReadRounds: n.readRounds, RoundReads: n.roundReads, LeaseReads: n.leaseReads,
		Transfers: n.transfers, TransfersAborted: n.transfersAborted}
}
