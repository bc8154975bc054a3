// Package native runs raftsim's own Raft (raft.Node) as a subject: a thin
// adapter that encodes its messages with raftpb, converts its Ready and
// Status to the subject types, and turns a panic into an error. Its one
// job is that conversion; the protocol is raft's.
//
// It never reads a clock, starts goroutines or draws randomness other than
// through the Config.Rand it hands to raft.Node.
package native

import (
	"errors"
	"math/bits"
	"strconv"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// Name is the subject's name.
const Name = "raftsim"

// Subject describes raftsim's own Raft.
func Subject() subject.Subject {
	return subject.Subject{
		Name:      Name,
		Version:   "this build",
		Open:      Open,
		Peek:      Peek,
		EntrySize: EntrySize,
		// raftsim's own rules, unplanted: what a correct replica does.
		ApplyConfChange: confchange.Apply,
		Capabilities: subject.Capabilities{
			Recovery:          true,
			ChunkedSnapshots:  true,
			ReadIndex:         true,
			ReadBatching:      true,
			DriftBoundedLease: true,
			Transfer:          true,
			PromotionGuard:    true,
			Plants:            true,
		},
	}
}

// EntrySize is e's size as raftpb.AppendEntry encodes it (what an append
// carries per entry), computed without encoding.
func EntrySize(e *raftpb.Entry) int {
	return uvarintSize(e.Term) + uvarintSize(e.Index) + 1 + uvarintSize(uint64(len(e.Data))) + len(e.Data)
}

func uvarintSize(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// Peek reads a raftpb wire message's header.
func Peek(b []byte) (subject.Header, bool) {
	h, ok := raftpb.PeekHeader(b)
	if !ok {
		return subject.Header{}, false
	}
	return subject.Header{Type: h.Type, From: h.From, To: h.To, Term: h.Term, Index: h.Index}, true
}

// Replica is a raft.Node behind the subject interface.
type Replica struct {
	node *raft.Node
	// rd is the raft.Ready handed out and not yet advanced.
	rd raft.Ready
	// wire holds the encoded messages of the Ready handed out; out
	// points into it.
	wire  []byte
	out   []subject.Outbound
	reads []subject.ReadState
	soft  subject.SoftState
	// dead is the panic that killed the replica, returned by every call
	// after it.
	dead error
}

// Open starts a raft.Node from cfg and st.
func Open(cfg subject.Config, st subject.Restored) (r subject.Replica, err error) {
	defer subject.Recover(&err, "Open")
	readOnly := raft.ReadOnlySafe
	if cfg.ReadOnly == subject.ReadLease {
		readOnly = raft.ReadOnlyLeaseBased
	}
	node, err := raft.NewNode(raft.Config{
		ID:               cfg.ID,
		Peers:            cfg.Peers,
		Join:             cfg.Join,
		ElectionTick:     cfg.ElectionTick,
		HeartbeatTick:    cfg.HeartbeatTick,
		PreVote:          cfg.PreVote,
		CheckQuorum:      cfg.CheckQuorum,
		MaxSizePerMsg:    cfg.MaxSizePerMsg,
		MaxInflightMsgs:  cfg.MaxInflightMsgs,
		ReadOnly:         readOnly,
		MaxClockDriftPPM: cfg.MaxClockDriftPPM,
		Rand:             cfg.Rand,
		Planted:          cfg.Planted,
	}, raft.Restored{HardState: st.HardState, Entries: st.Entries, Snapshot: st.Snapshot,
		Recovering: st.Recovering, RecoverTo: st.RecoverTo, VoteLost: st.VoteLost})
	switch {
	case errors.Is(err, raft.ErrInvalidConfig):
		return nil, subject.Mark(err, subject.ErrInvalidConfig)
	case errors.Is(err, raft.ErrInvalidRestore):
		return nil, subject.Mark(err, subject.ErrInvalidRestore)
	case err != nil:
		return nil, err
	}
	return &Replica{node: node}, nil
}

// Node is the raft.Node inside, for tests that look deeper than the
// subject interface.
func (r *Replica) Node() *raft.Node { return r.node }

// mapErr marks raft's errors with the subject's sentinels.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader):
		return subject.Mark(err, subject.ErrNotLeader)
	case errors.Is(err, raft.ErrProposalDropped), errors.Is(err, raft.ErrLearnerBehind):
		return subject.Mark(err, subject.ErrProposalDropped)
	case errors.Is(err, raft.ErrConfChangePending):
		return subject.Mark(err, subject.ErrConfChangePending)
	case errors.Is(err, confchange.ErrInvalid):
		return subject.Mark(err, subject.ErrConfChangeInvalid)
	case errors.Is(err, raft.ErrStepIgnored):
		return subject.Mark(err, subject.ErrIgnored)
	case errors.Is(err, raft.ErrInvalidMessage):
		return subject.Mark(err, subject.ErrInvalidMessage)
	case errors.Is(err, raft.ErrCompacted):
		return subject.Mark(err, subject.ErrCompacted)
	case errors.Is(err, raft.ErrTransfer):
		return subject.Mark(err, subject.ErrTransferRefused)
	}
	return err
}

func (r *Replica) Tick() (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Tick")
	r.node.Tick()
	return nil
}

func (r *Replica) Campaign() (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Campaign")
	r.node.Campaign()
	return nil
}

func (r *Replica) Step(from uint64, msg []byte) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Step")
	m, err := raftpb.Unmarshal(msg)
	if err != nil {
		return subject.Mark(err, subject.ErrInvalidMessage)
	}
	if m.From != from {
		return subject.Mark(errors.New("raft message from "+itoa(m.From)+" arrived from "+itoa(from)), subject.ErrInvalidMessage)
	}
	return mapErr(r.node.Step(m))
}

func (r *Replica) Propose(data []byte) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Propose")
	return mapErr(r.node.Propose(data))
}

func (r *Replica) ProposeConfChange(cc raftpb.ConfChangeV2) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "ProposeConfChange")
	return mapErr(r.node.ProposeConfChange(cc))
}

func (r *Replica) ReadIndex(ctx []byte) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "ReadIndex")
	return mapErr(r.node.ReadIndex(ctx))
}

func (r *Replica) TransferLeadership(to uint64) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "TransferLeadership")
	return mapErr(r.node.TransferLeadership(to))
}

func (r *Replica) HasReady() (ok bool) {
	if r.dead != nil {
		return true
	}
	defer func() {
		if v := recover(); v != nil {
			r.dead, ok = subject.Panicked("HasReady", v), true
		}
	}()
	return r.node.HasReady()
}

func (r *Replica) Ready() (rd subject.Ready, err error) {
	if r.dead != nil {
		return subject.Ready{}, r.dead
	}
	defer r.guard(&err, "Ready")
	r.rd = r.node.Ready()
	rd = subject.Ready{
		HardState:        r.rd.HardState,
		Snapshot:         r.rd.Snapshot,
		Entries:          r.rd.Entries,
		CommittedEntries: r.rd.CommittedEntries,
		MustSync:         r.rd.MustSync,
	}
	if len(r.rd.ReadStates) > 0 {
		r.reads = r.reads[:0]
		for _, rs := range r.rd.ReadStates {
			r.reads = append(r.reads, subject.ReadState{Index: rs.Index, RequestCtx: rs.RequestCtx})
		}
		rd.ReadStates = r.reads
	}
	if s := r.rd.SoftState; s != nil {
		r.soft = subject.SoftState{Lead: s.Lead, Role: subject.Role(s.Role)}
		rd.SoftState = &r.soft
	}
	if n := len(r.rd.Messages); n > 0 {
		// One buffer for every message of the Ready, then the views into
		// it: a view taken while the buffer still grew would dangle.
		r.wire, r.out = r.wire[:0], r.out[:0]
		ends := make([]int, 0, n)
		for i := range r.rd.Messages {
			r.wire = raftpb.AppendMessage(r.wire, &r.rd.Messages[i])
			ends = append(ends, len(r.wire))
		}
		start := 0
		for i, end := range ends {
			r.out = append(r.out, subject.Outbound{To: r.rd.Messages[i].To, Data: r.wire[start:end:end]})
			start = end
		}
		rd.Messages = r.out
	}
	return rd, nil
}

func (r *Replica) Advance(subject.Ready) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Advance")
	r.node.Advance(r.rd)
	r.rd = raft.Ready{}
	return nil
}

func (r *Replica) SnapshotMeta(i uint64) (meta raftpb.SnapshotMetadata, err error) {
	if r.dead != nil {
		return raftpb.SnapshotMetadata{}, r.dead
	}
	defer r.guard(&err, "SnapshotMeta")
	meta, err = r.node.SnapshotMeta(i)
	return meta, mapErr(err)
}

func (r *Replica) Compact(snap raftpb.Snapshot, trailing uint64) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Compact")
	return mapErr(r.node.Compact(snap, trailing))
}

// BasicStatus converts raft's; it does not allocate.
func (r *Replica) BasicStatus() subject.Status {
	st := r.node.BasicStatus()
	return subject.Status{
		ID: st.ID, Term: st.Term, Vote: st.Vote, Commit: st.Commit, Applied: st.Applied, Lead: st.Lead,
		Role: subject.Role(st.Role), LastIndex: st.LastIndex, LastTerm: st.LastTerm,
		FirstIndex: st.FirstIndex, SnapshotIndex: st.SnapshotIndex, LogBytes: st.LogBytes,
		LogRewrites: st.LogRewrites, LogRewriteFrom: st.LogRewriteFrom, Transferee: r.node.Transferee(),
		Recovering: st.Recovering, RecoverTo: st.RecoverTo, VoteLost: st.VoteLost,
	}
}

func (r *Replica) LogTerm(i uint64) (uint64, bool)        { return r.node.LogTerm(i) }
func (r *Replica) LogEntry(i uint64) (raftpb.Entry, bool) { return r.node.LogEntry(i) }
func (r *Replica) Config() tracker.Config                 { return r.node.Config() }
func (r *Replica) Member() bool                           { return r.node.Member() }

// Changes is raft.Node's count of the calls that may have changed it.
func (r *Replica) Changes() uint64 { return r.node.Changes() }

// Match reads the leader's progress (Status allocates; an operator asks
// rarely).
func (r *Replica) Match(peer uint64) (uint64, bool) {
	for _, p := range r.node.Status().Progress {
		if p.ID == peer {
			return p.Match, true
		}
	}
	return 0, false
}

// Counters converts raft's.
func (r *Replica) Counters() subject.Counters {
	c := r.node.Counters()
	return subject.Counters{EntryBytesSent: c.EntryBytesSent, SnapshotBytesSent: c.SnapshotBytesSent, SnapshotsInstalled: c.SnapshotsInstalled,
		Campaigns: c.Campaigns, ReadRounds: c.ReadRounds, RoundReads: c.RoundReads, LeaseReads: c.LeaseReads,
		Transfers: c.Transfers, TransfersAborted: c.TransfersAborted}
}

// guard, deferred by every method that calls into the node, turns a panic
// into the error the method returns and keeps the replica dead: a node
// that panicked may be half-way through a change.
func (r *Replica) guard(err *error, op string) {
	if v := recover(); v != nil {
		r.dead = subject.Panicked(op, v)
		*err = r.dead
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
