package subject

import (
	"strconv"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// Subject describes one Raft implementation the harness can run.
type Subject struct {
	// Name is how a person picks it ("raftsim", "etcd"); Version is the
	// library's version as a report should print it.
	Name, Version string
	// Open starts a replica from what its host restored from disk. It
	// reports an error (never panics) for a configuration or restored
	// state the subject cannot run from, wrapping ErrUnsupported when the
	// restored state asks for a mechanism the subject lacks.
	Open func(cfg Config, st Restored) (Replica, error)
	// Peek reads the header of a message the subject's replicas send
	// (Ready.Messages), without allocating. False means b does not start
	// like one of its messages, or is a kind the shared vocabulary has no
	// name for.
	Peek func(b []byte) (Header, bool)
	// EntrySize is what entry e costs in the subject's appends on the
	// wire (its encoding inside a message): cost checks measure catch-up
	// traffic in it.
	EntrySize func(e *raftpb.Entry) int
	// Capabilities says which optional mechanisms it has.
	Capabilities Capabilities
	// ApplyConfChange is how a committed configuration change transforms
	// a configuration under the subject's own rules (an error: the change
	// is skipped, on every replica alike). The invariant checker holds
	// every replica's Config to it.
	ApplyConfChange func(cfg tracker.Config, cc raftpb.ConfChangeV2) (tracker.Config, error)

	_ struct{}
}

// Header is the part of a message that says what it is, in the shared
// vocabulary (raftpb's message types), for traces and traffic counts.
type Header struct {
	Type     raftpb.MessageType
	From, To uint64
	Term     uint64
	Index    uint64
}

// Rand is the only source of randomness a replica may use (election
// timeouts). The host seeds it, so a run is reproducible.
type Rand interface {
	// IntN returns a number in [0, n); n > 0.
	IntN(n int) int
}

// ReadOnly is how a leader confirms it still leads before it answers a
// ReadIndex.
type ReadOnly uint8

const (
	// ReadSafe: a heartbeat round a quorum acknowledges after the read
	// arrived (read index). Safe whatever the clocks do.
	ReadSafe ReadOnly = iota
	// ReadLease: at once while the leader holds a lease (requires
	// CheckQuorum). What bounds the lease is the subject's: see
	// Capabilities.DriftBoundedLease.
	ReadLease
)

func (o ReadOnly) String() string {
	if o == ReadLease {
		return "lease"
	}
	return "index"
}

// Config is how a replica is set up; Open reads it once.
type Config struct {
	// ID identifies the replica; never 0.
	ID uint64
	// Peers are the initial voters, this replica included, for a replica
	// that restores nothing (bootstrap: every initial member writes the
	// same initial log). Ignored when there is restored state.
	Peers []uint64
	// Join starts a replica that restores nothing as a new server outside
	// the configuration instead (Peers ignored): no log and no vote until
	// a leader that added it sends it the log or a snapshot.
	Join bool

	// ElectionTick is the number of Ticks a follower waits without
	// hearing from a leader before it campaigns (randomized in
	// [ElectionTick, 2*ElectionTick)); HeartbeatTick the number between a
	// leader's heartbeats. ElectionTick > HeartbeatTick > 0.
	ElectionTick, HeartbeatTick int
	// PreVote and CheckQuorum as in the Raft thesis (§9.6, §6.2).
	PreVote, CheckQuorum bool
	// MaxSizePerMsg bounds the entries of one append message (0: one
	// entry per message); MaxInflightMsgs the appends in flight to one
	// follower (> 0).
	MaxSizePerMsg   uint64
	MaxInflightMsgs int
	// ReadOnly is how reads are confirmed; MaxClockDriftPPM bounds every
	// clock's drift for a drift-bounded lease.
	ReadOnly         ReadOnly
	MaxClockDriftPPM int64
	// Rand draws election timeouts. Required.
	Rand Rand
	// Planted lists bugs to plant in the subject's Raft layer (tests
	// proving the harness catches them); the host keeps its own. A subject
	// without Capabilities.Plants refuses any (ErrUnsupported).
	Planted plant.Set

	_ struct{}
}

// Restored is what the host replayed from its durable storage: the hard
// state, the snapshot (with its data) and the log entries after it, as of
// the end of some Ready the host processed.
type Restored struct {
	HardState raftpb.HardState
	Snapshot  raftpb.Snapshot
	Entries   []raftpb.Entry
	// Recovering, RecoverTo and VoteLost say the host found its storage
	// damaged (raft.Restored documents them). A subject without
	// Capabilities.Recovery refuses them with ErrUnsupported: it would
	// otherwise vote with data it no longer has.
	Recovering bool
	RecoverTo  uint64
	VoteLost   bool
}

// Role is what a replica currently is in the protocol. The names are the
// ones raft.Role prints, so a trace reads the same for every subject.
type Role uint8

const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "Follower"
	case PreCandidate:
		return "PreCandidate"
	case Candidate:
		return "Candidate"
	case Leader:
		return "Leader"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// SoftState is volatile state worth reporting: the leader as this replica
// knows it, and its role.
type SoftState struct {
	Lead uint64
	Role Role
}

// ReadState is a read the host may serve once it has applied up to Index:
// its state then reflects every write that completed before ReadIndex was
// called with RequestCtx.
type ReadState struct {
	Index      uint64
	RequestCtx []byte
}

// Outbound is one message to send: its recipient and its bytes in the
// subject's wire format. Data is valid until Advance; the host copies it
// (the network does) and never modifies it.
type Outbound struct {
	To   uint64
	Data []byte
}

// Ready is a batch of work for the host (see the package documentation for
// the order). Everything in it is valid until Advance and must not be
// modified.
type Ready struct {
	// SoftState is the new leader and role, or nil if unchanged.
	SoftState *SoftState
	// HardState is to be persisted, or the zero value if unchanged.
	HardState raftpb.HardState
	// Snapshot, if set, is a snapshot received from a leader: the host
	// makes it durable and installs it in its state machine before
	// anything else in this Ready.
	Snapshot *raftpb.Snapshot
	// Entries are to be appended to durable storage; if Entries[0].Index
	// is at or below the last stored index, the stored entries from it on
	// are dropped first.
	Entries []raftpb.Entry
	// Messages are to be sent once the above is durable.
	Messages []Outbound
	// CommittedEntries are to be applied in order, after persisting.
	// EntryConfChange entries carry raftpb.EncodeConfChangeV2 data; empty
	// EntryNormal entries (a new leader's) carry no command.
	CommittedEntries []raftpb.Entry
	// ReadStates are reads confirmed since the last Ready.
	ReadStates []ReadState
	// MustSync says the writes must be fsynced before Messages go out.
	MustSync bool
	// WantSnapshot says the subject needs a snapshot of the state machine
	// as applied after this Ready, taken now whatever the host's policy:
	// the one it has cannot serve a peer (etcd-io/raft: a server added
	// after it, which refuses a snapshot whose configuration lacks it).
	WantSnapshot bool
}

// Status is a copy of a replica's state for checkers and metrics. Reading
// it (View.BasicStatus) never allocates.
type Status struct {
	ID, Term, Vote, Commit, Applied, Lead uint64
	Role                                  Role
	// LastIndex and LastTerm identify the last entry of the log as the
	// host has been handed it (Ready.Entries, Ready.Snapshot).
	LastIndex, LastTerm uint64
	// FirstIndex is the first index the log holds (entries before it are
	// covered by a snapshot), SnapshotIndex the latest snapshot's index
	// (0: none), LogBytes the raftpb-encoded size of the entries held.
	FirstIndex, SnapshotIndex, LogBytes uint64
	// LogRewrites counts the times a suffix of the log was replaced (a new
	// leader overwriting uncommitted entries); LogRewriteFrom is the first
	// index the latest replacement changed.
	LogRewrites, LogRewriteFrom uint64
	// Transferee is the target of the leadership transfer this leader is
	// making (0: none).
	Transferee uint64
	// Recovering, RecoverTo, VoteLost: the recovering mode for damaged
	// storage (Restored); always false for a subject without it.
	Recovering bool
	RecoverTo  uint64
	VoteLost   bool
}

// Counters are a replica's work since it opened, for metrics. A subject
// counts what it can; Capabilities.Counters names what it leaves at zero.
type Counters struct {
	// EntryBytesSent is the encoded size of the entries sent in appends,
	// SnapshotBytesSent the snapshot data sent.
	EntryBytesSent, SnapshotBytesSent uint64
	// SnapshotsInstalled counts snapshots received and installed.
	SnapshotsInstalled uint64
	// Campaigns counts elections started as a candidate (pre-votes not
	// counted).
	Campaigns uint64
	// ReadRounds counts heartbeat rounds that confirmed reads, RoundReads
	// the reads they confirmed, LeaseReads reads answered at once.
	ReadRounds, RoundReads, LeaseReads uint64
	// Transfers counts leadership transfers started as leader,
	// TransfersAborted those given up.
	Transfers, TransfersAborted uint64
}

// View is what the invariant checker and metrics read: cheap, read-only,
// and, for BasicStatus, LogTerm and LogEntry, allocation-free (they run
// after every simulated event, for every replica).
type View interface {
	// BasicStatus is the replica's state.
	BasicStatus() Status
	// LogTerm is the term of the entry at index i; ok is false if the log
	// does not hold it (beyond the last index, or compacted away; the
	// snapshot's own index has its term).
	LogTerm(i uint64) (term uint64, ok bool)
	// LogEntry is the entry at index i (ok false outside the entries the
	// log holds). Data aliases the log: read it, never keep or modify it.
	LogEntry(i uint64) (e raftpb.Entry, ok bool)
	// Config is the configuration in force (as of the last change
	// applied), in raftsim's terms. It does not allocate: the value is
	// shared, read it and never modify it.
	Config() tracker.Config
	// Member reports whether this replica is in its configuration (a
	// voter of either half, or a learner).
	Member() bool
}

// Changer is an optional extension of View: a count of the calls that
// may have changed the replica. A reader that saw the same count before
// knows nothing View reports has changed since (the invariant checker
// then skips the replica). A subject without one is looked at in full.
type Changer interface {
	Changes() uint64
}

// Replica is one running peer of a subject. It is not safe for concurrent
// use; one host loop drives it.
type Replica interface {
	View

	// Tick advances the replica's logical clock by one unit.
	Tick() error
	// Campaign starts an election now, as if the election timeout had
	// passed (a pre-vote first with PreVote). No-op on a leader.
	Campaign() error
	// Step handles a message received from peer from, as bytes in the
	// subject's wire format. Errors wrap ErrInvalidMessage (bytes no
	// correct peer sends; nothing changed) or ErrIgnored (dropped, as Raft
	// prescribes: stale, or from a peer it does not know).
	Step(from uint64, msg []byte) error
	// Propose appends a command if this replica leads (ErrNotLeader
	// otherwise; ErrProposalDropped if it cannot take one now), at the
	// index after BasicStatus().LastIndex as it was before the call (the
	// host has drained every Ready). Success means appended, not
	// committed. The replica keeps data.
	Propose(data []byte) error
	// ProposeConfChange proposes a membership change on the leader. It is
	// refused with ErrNotLeader, ErrConfChangePending (another is not yet
	// applied), ErrConfChangeInvalid (the configuration cannot take it) or
	// ErrProposalDropped.
	ProposeConfChange(cc raftpb.ConfChangeV2) error
	// ReadIndex asks for a linearizable read identified by ctx (kept by
	// the replica); the answer is a ReadState in a later Ready, unless
	// leadership changes first. ErrNotLeader: no leader is known to ask.
	ReadIndex(ctx []byte) error
	// TransferLeadership asks this leader to hand leadership to voter to
	// (0: the follower whose log is the most up to date).
	TransferLeadership(to uint64) error

	// HasReady reports whether Ready has work (or, after a panic, the
	// error) to hand out.
	HasReady() bool
	// Ready returns the work accumulated since the previous Ready. Call
	// it once, do the work, then Advance before the next Ready.
	Ready() (Ready, error)
	// Advance tells the replica the host has done rd: persisted, sent and
	// applied it. Configuration changes among rd.CommittedEntries take
	// effect now.
	Advance(rd Ready) error

	// SnapshotMeta is the metadata of a snapshot of the state machine
	// after applying the log up to index i (applied, still in the log):
	// i's term and the configuration in force.
	SnapshotMeta(i uint64) (raftpb.SnapshotMetadata, error)
	// Compact records snap (made durable by the host) as the replica's
	// latest snapshot, the one it sends a follower that needs entries the
	// log no longer holds, and drops the entries up to snap's index minus
	// trailing. The replica keeps snap.Data.
	Compact(snap raftpb.Snapshot, trailing uint64) error

	// Match is what this leader knows peer holds: the index up to which
	// its log matches the leader's. ok is false unless the replica leads
	// and tracks peer (an operator waits on it to promote a learner).
	Match(peer uint64) (match uint64, ok bool)

	// Counters are the replica's counters.
	Counters() Counters
}
