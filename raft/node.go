package raft

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/quorum"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// Role is what a node currently is in the protocol.
type Role uint8

const (
	Follower     Role = iota // follows Lead (or waits for one)
	PreCandidate             // polling peers before starting an election (PreVote)
	Candidate                // campaigning in its current term
	Leader                   // replicating its log to the others
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

// SoftState is volatile state worth reporting but never persisted.
type SoftState struct {
	Lead uint64
	Role Role
}

// Restored is what the host replayed from its durable storage: the last
// HardState, the log entries after the snapshot, and the snapshot (empty
// until snapshots exist). It must be the state as of the end of some Ready
// the host processed: each Ready's HardState and Entries become durable
// together, or (torn by a crash) not at all.
type Restored struct {
	HardState raftpb.HardState
	Entries   []raftpb.Entry
	Snapshot  raftpb.Snapshot
	// Recovering says the host found its storage shorter or damaged
	// compared with what it had made durable (its separately stored
	// high-water mark): entries it acknowledged, and perhaps its vote,
	// may be gone. The node then neither votes (nor grants pre-votes) nor
	// campaigns until its log matches a leader's up to RecoverTo.
	// RecoverTo 0 means unknown (the mark itself was damaged): the node
	// recovers up to the last index of the first leader it hears a
	// heartbeat from, which holds every committed entry. With storage
	// faults on a minority of nodes nothing committed is lost: every
	// committed entry is held by a majority whose remaining members are
	// the only ones who can vote.
	Recovering bool
	RecoverTo  uint64
	// VoteLost says the host cannot vouch for the term and vote it
	// restored: the record that proves them (its high-water mark) was
	// damaged, and its log may have lost its tail with the last vote in
	// it. The node may then have voted in a term it no longer knows, and
	// a second vote in that term could elect a second leader, so it
	// never grants a vote (or pre-vote) nor campaigns again. It still
	// replicates, its acknowledgements count, and it serves as a
	// follower; a membership change replaces it as a voter.
	VoteLost bool
}

func (st *Restored) isEmpty() bool {
	return st.HardState.IsEmpty() && len(st.Entries) == 0 && st.Snapshot.IsEmpty()
}

// noLog reports whether st holds no log at all (nothing to learn the
// members from): a new node, or one whose storage lost all of its log
// but kept (through its high-water mark) its term and vote.
func (st *Restored) noLog() bool { return len(st.Entries) == 0 && st.Snapshot.IsEmpty() }

// Ready is a batch of work for the host. See the package documentation for
// the order in which it must be done.
type Ready struct {
	// SoftState is the new leader/role, or nil if unchanged since the
	// previous Ready.
	SoftState *SoftState
	// HardState must be persisted (before sending Messages); it is the
	// zero value if unchanged.
	HardState raftpb.HardState
	// Entries must be appended to durable storage before sending
	// Messages. If Entries[0].Index is at or below the last index the
	// host has stored, the host must first drop its stored entries from
	// that index on (a new leader overwrote an uncommitted suffix).
	Entries []raftpb.Entry
	// Messages are to be sent after HardState and Entries are durable.
	// Each has To set; order among them does not matter.
	Messages []raftpb.Message
	// CommittedEntries are to be applied to the state machine, in order,
	// after persisting. They include entries the host must skip: empty
	// EntryNormal entries (each new leader's no-op) and EntryConfChange
	// entries (membership; today only the initial voters).
	CommittedEntries []raftpb.Entry
	// Snapshot, if set, is a snapshot received from the leader that
	// replaces the log and the state machine up to its index. The host
	// must make it durable and record it before persisting HardState and
	// Entries, and install it in the state machine before applying
	// CommittedEntries (which follow it). It keeps a reference: do not
	// modify it.
	Snapshot *raftpb.Snapshot
	// ReadStates are reads confirmed since the last Ready (ReadIndex):
	// each may be served once the host has applied up to its Index, and
	// not before.
	ReadStates []ReadState
	// MustSync says HardState.Term/Vote or Entries changed, or
	// CommittedEntries hold a configuration change (whose commit index
	// must be durable before it takes effect), so the writes must be
	// fsynced before Messages go out and entries are applied. (A change of commit alone
	// need not be synced: commit is re-learned after a restart.)
	MustSync bool
}

// Status is a copy of a node's state for invariant checkers, metrics and
// debugging; holding it does not keep the node from changing.
type Status struct {
	ID        uint64
	Term      uint64
	Vote      uint64
	Commit    uint64
	Applied   uint64
	Lead      uint64
	Role      Role
	LastIndex uint64
	LastTerm  uint64
	// Recovering: the node lost durable data and neither votes nor
	// campaigns until its log reaches RecoverTo (0: not yet known; the
	// first leader heartbeat sets it). See Restored.Recovering.
	Recovering bool
	RecoverTo  uint64
	// VoteLost: the node cannot vouch for its term and vote and never
	// votes or campaigns again. See Restored.VoteLost.
	VoteLost bool
	// LogRewrites counts the times a suffix of the log was replaced since
	// the node started (a new leader overwriting uncommitted entries);
	// LogRewriteFrom is the first index the latest replacement changed.
	// A checker comparing counts knows exactly which entries changed.
	LogRewrites    uint64
	LogRewriteFrom uint64
	// FirstIndex is the first index the log holds (entries before it are
	// covered by a snapshot); SnapshotIndex is the index of the node's
	// latest snapshot (0: none), at or above FirstIndex-1. LogBytes is
	// the encoded size of the entries the log holds.
	FirstIndex    uint64
	SnapshotIndex uint64
	LogBytes      uint64
	// Voters is the membership the node currently counts quorums over;
	// during a joint-consensus change, the incoming voters, with the
	// outgoing ones in VotersOutgoing. Learners replicate and never vote.
	Voters, VotersOutgoing, Learners []uint64
	// Progress is the leader's view of every peer (itself included), in ID
	// order; empty unless Role is Leader.
	Progress []PeerProgress
}

// PeerProgress is a copy of the leader's tracker.Progress for one peer.
type PeerProgress struct {
	ID           uint64
	Match        uint64
	Next         uint64
	State        tracker.StateType
	RecentActive bool
	Paused       bool
	Inflight     int // append messages in flight
}

// Node is one Raft peer as a deterministic state machine: inputs are Tick,
// Step, Propose and Campaign; outputs are collected in Ready. A Node is not
// safe for concurrent use; a host drives it from one loop.
type Node struct {
	id uint64

	// changes counts the calls that may change the node (Step, Tick,
	// Propose, Ready, Advance...): see Changes.
	changes uint64

	// term, vote: the persistent state (with the log). Invariant: term
	// never decreases; vote changes only from None within one term.
	term uint64
	vote uint64
	// lead is the leader of term as far as this node knows, or None.
	lead uint64
	role Role

	log raftLog
	trk *tracker.ProgressTracker
	// recovering, recoverTo: see Restored.Recovering. recoverTo 0 while
	// recovering means not yet known.
	recovering bool
	recoverTo  uint64
	// voteLost: see Restored.VoteLost. Never cleared.
	voteLost bool
	// confApplied is the index of the last configuration entry whose
	// change the tracker reflects (changes take effect when applied).
	// pendingConfIndex is the index of the last change this leader
	// proposed (or of its first entry, when it took office): no other
	// change is proposed until it is applied.
	confApplied, pendingConfIndex uint64
	// syncedCommit is the highest commit index the host was told to make
	// durable (a Ready with MustSync, or the restored hard state).
	syncedCommit uint64
	// snap is the latest snapshot (taken by the host or installed from a
	// leader), with its data: what this node sends a follower that needs
	// entries the log no longer holds. pendingSnap points to it while an
	// installed snapshot waits for the host (Ready.Snapshot). recv is a
	// snapshot being received, chunk by chunk.
	snap        raftpb.Snapshot
	pendingSnap *raftpb.Snapshot
	recv        *snapRecv
	// sending holds, for each follower being sent a snapshot, the one
	// it is being sent (it may be older than snap).
	sending map[uint64]raftpb.Snapshot
	// Counters for metrics.
	snapBytesSent, entryBytesSent, snapsInstalled uint64
	campaigns, leaseReads, readRounds, roundReads uint64
	transfers, transfersAborted                   uint64

	// ticks counts every Tick since the node started: the leader's clock
	// for its lease (lease.go).
	ticks uint64
	// readOnly, leaseTicks: how reads are confirmed, and how long a lease
	// lasts (0 with ReadOnlySafe). ro is the leader's read state for its
	// term; readStates are answered reads waiting for the next Ready.
	readOnly   ReadOnlyOption
	leaseTicks uint64
	ro         readOnly
	readStates []ReadState
	// startHold counts down the ticks after a start during which the
	// node honours a lease it may have granted before it restarted
	// (lease.go).
	startHold int
	// leadTransferee is the target of the leadership transfer under way
	// (None: none), transferElapsed the ticks since it began; a target
	// campaigning on its MsgTimeoutNow has transferCampaign set while it
	// sends its vote requests (transfer.go).
	leadTransferee   uint64
	transferElapsed  int
	transferCampaign bool
	// handoff: this leader is outside its own configuration (its removal
	// applied, or it won as a caretaker) and leads only to hand over to
	// a voter; handedTo are the voters it has tried (handoff.go).
	handoff  bool
	handedTo []uint64
	// msgs are outputs waiting for the next Ready.
	msgs []raftpb.Message

	// electionElapsed counts ticks since the last reset: on followers and
	// candidates since they last heard from a leader or granted a vote; on
	// the leader since its last quorum check. heartbeatElapsed counts
	// ticks since the leader's last heartbeat.
	electionElapsed  int
	heartbeatElapsed int
	// randomizedElectionTimeout is in [electionTick, 2*electionTick),
	// redrawn on each reset.
	randomizedElectionTimeout int

	electionTick  int
	heartbeatTick int
	preVote       bool
	checkQuorum   bool
	planted       plant.Set // bugs planted on purpose by tests; none in real use
	maxMsgSize    uint64
	maxInflight   int
	rand          Rand

	// prevSoft and prevHard are what the last Ready reported, so the next
	// one carries only changes.
	prevSoft SoftState
	prevHard raftpb.HardState
}

// NewNode creates a node. With an empty Restored it bootstraps a new
// cluster member from cfg.Peers: it writes one EntryConfChange per peer at
// term 1 (identical on every member, so their logs agree) and treats them
// as committed. Otherwise it resumes from st: its term, vote and log come
// back, commit starts at st.HardState.Commit, and everything after the
// snapshot up to commit is handed out again in CommittedEntries for the
// host to rebuild its state machine.
func NewNode(cfg Config, st Restored) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		id:            cfg.ID,
		electionTick:  cfg.ElectionTick,
		heartbeatTick: cfg.HeartbeatTick,
		preVote:       cfg.PreVote,
		checkQuorum:   cfg.CheckQuorum,
		maxMsgSize:    cfg.MaxSizePerMsg,
		maxInflight:   cfg.MaxInflightMsgs,
		rand:          cfg.Rand,
		planted:       cfg.Planted,
		sending:       map[uint64]raftpb.Snapshot{},
		readOnly:      cfg.ReadOnly,
	}
	if cfg.ReadOnly == ReadOnlyLeaseBased {
		n.leaseTicks = leaseTicks(cfg.ElectionTick, cfg.MaxClockDriftPPM, cfg.Planted)
		if !st.isEmpty() {
			// Restarted: it may have acknowledged a round that gave some
			// leader a lease, and forgot whom it followed.
			n.startHold = cfg.ElectionTick
		}
	}
	if cfg.Planted.Has(plant.LeaseWithoutCheckQuorum) {
		// The bug: followers no longer honour the lease (Validate made
		// sure lease reads came with CheckQuorum).
		n.checkQuorum = false
	}
	var conf tracker.Config
	switch {
	case st.isEmpty() && cfg.Join:
		// A new server: no log, no configuration, term 0. It is no
		// voter until a leader's log (or snapshot) makes it one.
	case st.noLog():
		if len(cfg.Peers) == 0 {
			return nil, fmt.Errorf("%w: Peers is empty and there is no persisted state to learn the members from", ErrInvalidConfig)
		}
		voters := quorum.NewMajorityConfig(cfg.Peers...)
		conf.Voters.Incoming = voters
		ents := make([]raftpb.Entry, len(voters))
		for i, id := range voters {
			ents[i] = raftpb.Entry{Term: 1, Index: uint64(i + 1), Type: raftpb.EntryConfChange,
				Data: raftpb.EncodeConfChange(raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: id})}
		}
		n.log.entries = ents
		n.log.bytes = sizeOf(ents)
		n.log.committed = uint64(len(ents))
		n.confApplied = n.log.committed // the configuration already is theirs
		n.term = 1
		if !st.isEmpty() {
			// A node whose storage lost its whole log but whose term and
			// vote survived: rebuild the initial log (identical on every
			// member) and keep the term and vote, which never go back.
			switch hs := st.HardState; {
			case hs.Vote != None && hs.Term == 0:
				return nil, fmt.Errorf("%w: vote for %d in term 0", ErrInvalidRestore, hs.Vote)
			case hs.Term == 0:
				return nil, fmt.Errorf("%w: HardState term is 0 although there is persisted state", ErrInvalidRestore)
			}
			n.term, n.vote = st.HardState.Term, st.HardState.Vote
		}
	default:
		var err error
		if conf, err = validateRestored(&st, cfg.Planted); err != nil {
			return nil, err
		}
		snap := st.Snapshot.Metadata
		n.log = raftLog{offset: snap.Index, offsetTerm: snap.Term, entries: slices.Clip(slices.Clone(st.Entries))}
		n.log.bytes = sizeOf(n.log.entries)
		n.snap = st.Snapshot
		n.log.committed = max(st.HardState.Commit, snap.Index)
		n.log.applied, n.log.applying = snap.Index, snap.Index
		n.log.stabled = n.log.lastIndex()
		n.term, n.vote = st.HardState.Term, st.HardState.Vote
		n.prevHard = st.HardState
		n.confApplied = n.log.committed
		n.syncedCommit = st.HardState.Commit
	}
	n.trk = tracker.NewWithConfig(n.maxInflight, conf, n.log.lastIndex()+1)
	n.voteLost = st.VoteLost
	if st.Recovering {
		n.recovering, n.recoverTo = true, st.RecoverTo
		n.maybeRecovered(n.log.committed)
	}
	n.becomeFollower(n.term, None)
	n.prevSoft = n.softState()
	return n, nil
}

// validateRestored checks st for anything this package could not have
// produced and returns the configuration in force at its commit index:
// the snapshot's, changed by the committed ConfChange entries in order.
// (Configuration changes take effect when they commit; one still
// uncommitted takes effect when it does.)
func validateRestored(st *Restored, planted plant.Set) (tracker.Config, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRestore, fmt.Sprintf(format, args...))
	}
	hs, snap := st.HardState, st.Snapshot.Metadata
	if (snap.Index == 0) != (snap.Term == 0) {
		return tracker.Config{}, bad("snapshot index %d with term %d (both or neither must be 0)", snap.Index, snap.Term)
	}
	if hs.Vote != None && hs.Term == 0 {
		return tracker.Config{}, bad("vote for %d in term 0", hs.Vote)
	}
	prevIndex, prevTerm := snap.Index, snap.Term
	for i := range st.Entries {
		e := &st.Entries[i]
		if e.Index != prevIndex+1 {
			return tracker.Config{}, bad("entry %d has index %d, want %d (entries must be contiguous after snapshot index %d)", i, e.Index, prevIndex+1, snap.Index)
		}
		if e.Term == 0 || e.Term < prevTerm {
			return tracker.Config{}, bad("entry %d has term %d after term %d (terms must be positive and non-decreasing)", e.Index, e.Term, prevTerm)
		}
		if e.Type > raftpb.EntryConfChange {
			return tracker.Config{}, bad("entry %d has unknown type %d", e.Index, e.Type)
		}
		prevIndex, prevTerm = e.Index, e.Term
	}
	if prevTerm > hs.Term {
		return tracker.Config{}, bad("last entry %d has term %d above HardState term %d (HardState and entries must be persisted together)", prevIndex, prevTerm, hs.Term)
	}
	if hs.Term == 0 {
		return tracker.Config{}, bad("HardState term is 0 although there is persisted state")
	}
	if hs.Commit > prevIndex {
		return tracker.Config{}, bad("HardState commit %d beyond last index %d (committed entries are missing from the log)", hs.Commit, prevIndex)
	}

	conf := confchange.Restore(st.Snapshot.Metadata.ConfState)
	for i := range st.Entries {
		e := &st.Entries[i]
		if e.Index > hs.Commit {
			break
		}
		if e.Type != raftpb.EntryConfChange {
			continue
		}
		cc, err := raftpb.DecodeConfChangeV2(e.Data)
		if err != nil {
			return tracker.Config{}, bad("entry %d: %v", e.Index, err)
		}
		if next, err := applyConfChange(conf, cc, planted); err == nil {
			conf = next
		}
		// A committed change that does not apply is skipped, here as
		// when it was first applied (every member does the same).
	}
	return conf, nil
}

// Tick advances the node's logical clock by one unit. Elections and
// heartbeats are measured in ticks.
func (n *Node) Tick() {
	n.changes++
	n.ticks++
	if n.startHold > 0 {
		n.startHold--
	}
	if n.role == Leader {
		n.tickHeartbeat()
	} else {
		n.tickElection()
	}
}

// Campaign starts an election now (a pre-vote first if PreVote is on), as
// if the election timeout had elapsed. It does nothing on a leader or on a
// node that is not a voter.
func (n *Node) Campaign() {
	n.changes++
	n.hup()
}

// Propose appends data to the log if this node is the leader. It returns
// ErrNotLeader otherwise (Status().Lead is the leader to retry at, if
// known). The node keeps data: do not modify it afterwards. Success means
// the entry was appended, not that it will commit: the host learns that
// from CommittedEntries.
func (n *Node) Propose(data []byte) error {
	n.changes++
	if n.role != Leader {
		return ErrNotLeader
	}
	if !n.trk.IsVoter(n.id) {
		return ErrProposalDropped
	}
	if err := n.refuseProposal(); err != nil {
		return err
	}
	n.appendEntries(raftpb.Entry{Type: raftpb.EntryNormal, Data: data})
	n.bcastProposed()
	return nil
}

// HasReady reports whether Ready would return any work.
func (n *Node) HasReady() bool {
	if n.softState() != n.prevSoft {
		return true
	}
	if hs := n.hardState(); !hs.IsEmpty() && hs != n.prevHard {
		return true
	}
	return len(n.msgs) > 0 || len(n.readStates) > 0 || n.log.stabled < n.log.lastIndex() || n.log.applying < n.log.committed || n.pendingSnap != nil
}

// Ready returns the work accumulated since the previous Ready and takes
// ownership of it: call it once, do the work, then call Advance with it
// before the next Ready.
func (n *Node) Ready() Ready {
	n.changes++
	rd := Ready{
		Entries:          n.log.unstable(),
		Messages:         n.msgs,
		CommittedEntries: n.log.toApply(),
		ReadStates:       n.readStates,
	}
	n.readStates = nil
	if n.pendingSnap != nil {
		s := *n.pendingSnap // a copy: a later Compact may replace n.snap
		rd.Snapshot = &s
		n.pendingSnap = nil
	}
	n.msgs = nil
	if ss := n.softState(); ss != n.prevSoft {
		changed := ss // allocated only when it changed (&ss put every Ready's ss on the heap)
		rd.SoftState = &changed
		n.prevSoft = ss
	}
	if hs := n.hardState(); hs != n.prevHard {
		rd.HardState = hs
		rd.MustSync = hs.Term != n.prevHard.Term || hs.Vote != n.prevHard.Vote
		n.prevHard = hs
	}
	if len(rd.Entries) > 0 || rd.Snapshot != nil {
		rd.MustSync = true
	}
	if slices.ContainsFunc(rd.CommittedEntries, func(e raftpb.Entry) bool {
		return e.Type == raftpb.EntryConfChange && e.Index > n.syncedCommit
	}) {
		// A configuration change takes effect when applied: the commit
		// index that covers it must be durable first, so a restart comes
		// back with the configuration it had acted on. (Otherwise a
		// removed server could restart in the old configuration and,
		// with another such, elect a leader the new one never agreed to.)
		rd.MustSync = true
	}
	if rd.MustSync {
		n.syncedCommit = n.log.committed // the host syncs this Ready's hard state
	}
	if len(rd.CommittedEntries) > 0 {
		n.log.applying = rd.CommittedEntries[len(rd.CommittedEntries)-1].Index
	}
	return rd
}

// Advance tells the node the host has done rd: persisted its HardState and
// Entries, sent its Messages and applied its CommittedEntries. The
// configuration changes among them take effect now. The node takes
// rd.Messages' memory back for the next Ready, so the host must not use
// rd.Messages after Advance.
func (n *Node) Advance(rd Ready) {
	n.changes++
	if n.msgs == nil && cap(rd.Messages) > 0 {
		clear(rd.Messages) // keep no entries alive through the buffer
		n.msgs = rd.Messages[:0]
	}
	if k := len(rd.Entries); k > 0 {
		last := rd.Entries[k-1]
		n.log.stableTo(last.Index, last.Term)
	}
	if k := len(rd.CommittedEntries); k > 0 {
		if idx := rd.CommittedEntries[k-1].Index; idx > n.log.applied && idx <= n.log.applying {
			n.log.applied = idx
		}
	}
	for i := range rd.CommittedEntries {
		if e := &rd.CommittedEntries[i]; e.Type == raftpb.EntryConfChange && e.Index > n.confApplied {
			n.applyConfEntry(e)
		}
	}
	n.maybeAutoLeave()
}

// Status returns a copy of the node's state.
func (n *Node) Status() Status {
	s := n.BasicStatus()
	s.Voters = slices.Clone(n.trk.Voters.Incoming)
	s.VotersOutgoing = slices.Clone(n.trk.Voters.Outgoing)
	s.Learners = slices.Clone(n.trk.Learners)
	if n.role == Leader {
		n.trk.Visit(func(id uint64, pr *tracker.Progress) {
			s.Progress = append(s.Progress, PeerProgress{
				ID: id, Match: pr.Match, Next: pr.Next, State: pr.State,
				RecentActive: pr.RecentActive, Paused: pr.IsPaused(), Inflight: pr.Inflights.Count(),
			})
		})
	}
	return s
}

// Recovery reports whether the node is recovering from lost durable data
// and up to which index (0: not yet known); see Restored.Recovering. A
// host persists it (with its high-water mark) so a restart before the
// node caught up does not forget it.
func (n *Node) Recovery() (recovering bool, to uint64) { return n.recovering, n.recoverTo }

// VoteLost reports whether the node can no longer vouch for its vote and
// never votes again; see Restored.VoteLost. A host keeps it with its
// high-water mark.
func (n *Node) VoteLost() bool { return n.voteLost }

func (n *Node) softState() SoftState { return SoftState{Lead: n.lead, Role: n.role} }

func (n *Node) hardState() raftpb.HardState {
	return raftpb.HardState{Term: n.term, Vote: n.vote, Commit: n.log.committed}
}
