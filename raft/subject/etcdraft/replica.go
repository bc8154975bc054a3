package etcdraft

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	etcd "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/confchange"
	pb "go.etcd.io/raft/v3/raftpb"
	etcdtracker "go.etcd.io/raft/v3/tracker"
	"google.golang.org/protobuf/proto"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// Name is the subject's name; Version the library's module version (the
// go.mod requirement; a test holds the two together).
const (
	Name    = "etcd"
	Version = "go.etcd.io/raft/v3 v3.7.0"
)

// Subject describes go.etcd.io/raft/v3 behind this adapter.
func Subject() subject.Subject {
	return subject.Subject{
		Name:            Name,
		Version:         Version,
		Open:            Open,
		Peek:            Peek,
		EntrySize:       EntrySize,
		ApplyConfChange: ApplyConfChange,
		Capabilities: subject.Capabilities{
			ReadIndex: true,
			Transfer:  true,
			Differences: []string{
				"elections are driven by the adapter: followers and candidates advance with TickQuiesced and campaign when a timeout drawn from the seeded rand expires, where etcd-io/raft draws it from crypto/rand; leaders tick as etcd-io/raft does",
				"more than one change at once always goes through a joint configuration (raftsim makes a change of at most one voter in one step)",
				"a leader turns a configuration change it refuses into an empty entry, not an error; the adapter refuses first where it can tell",
				"a committed configuration change the configuration cannot take is skipped by every replica (etcd-io/raft would panic applying it)",
				"a learner grants votes when asked (etcd-io/raft's rule, so a promotion it has not applied yet cannot stall an election)",
				"a snapshot is reported delivered when sent (etcd-io/raft leaves that to the transport); a lost one is sent again once the follower rejects the append after it",
				"a snapshot whose configuration lacks its recipient (a server added after it was taken, which etcd-io/raft would ignore) is withheld and the host asked for a new one (Ready.WantSnapshot), as etcd's server builds a snapshot for a new member",
				"lease reads answer at once while the leader has not stepped down, which may be two election timeouts after it lost its quorum, with perfect clocks (docs/SUBJECTS.md, finding 2)",
				"the adapter asks the host to fsync the commit index before a configuration change takes effect; etcd-io/raft's MustSync does not, and a host rebuilding its configuration from the log by the commit index can then restart a server in a configuration it had left (docs/SUBJECTS.md, finding 1)",
			},
		},
	}
}

// Replica is one etcd-io/raft RawNode behind the subject interface.
type Replica struct {
	id      uint64
	rn      *etcd.RawNode
	storage *etcd.MemoryStorage

	rand         subject.Rand
	electionTick int
	// timer is the adapter's election timer for every role but leader,
	// kept exactly where etcd keeps electionElapsed (see the package
	// documentation).
	timer struct{ elapsed, timeout int }
	// resets counts the timer's resets: one for each call of etcd's
	// reset() (a test holds the two counts equal).
	resets uint64

	// conf is the configuration in force, as etcd last reported it
	// (ApplyConfChange, a restored snapshot, Open); cfg is it in
	// raftsim's terms.
	conf *pb.ConfState
	cfg  tracker.Config
	// log is the log in raftsim's format; st the rest of the status as of
	// the last call into the node.
	log mirror
	st  subject.Status
	// pendingConf is the index at or below which a configuration change
	// may still be unapplied, as etcd's leader tracks it (pendingConfIndex):
	// its last index when it took office, or its last change proposed.
	pendingConf uint64
	snapIndex   uint64

	// The Ready handed out and not yet advanced, and the memory its
	// conversion lives in.
	rd          etcd.Ready
	handedOut   bool
	snap        raftpb.Snapshot
	soft        subject.SoftState
	entBuf      []raftpb.Entry
	wire        []byte
	ends        []int
	out         []subject.Outbound
	readStates  []subject.ReadState
	snapTargets []uint64
	// sentTo are the recipients of the encoded messages, in order;
	// withheld the peers whose snapshot was withheld this Ready (reported
	// failed at Advance), wantSnap whether the host is asked for one.
	sentTo   []uint64
	withheld []uint64
	wantSnap bool

	counters subject.Counters
	// lastRound is the context of the last read round (a heartbeat
	// broadcast with a context) counted; leaseReads says reads are
	// answered at once under CheckQuorum (ReadOnlyLeaseBased).
	lastRound  []byte
	leaseReads bool
	// syncedCommit is the highest commit index a Ready with MustSync
	// handed the host to persist; literal leaves MustSync as etcd sets it
	// (Literal).
	syncedCommit uint64
	literal      bool
	// rejected counts committed configuration changes every replica
	// skipped because the configuration could not take them.
	rejected uint64
	// dead is what killed the replica (a panic, or a value the boundary
	// cannot translate); every later call returns it.
	dead error
}

// Literal is etcd-io/raft behind the adapter with Ready.MustSync exactly
// as etcd-io/raft sets it: the configuration change it applies does not
// make the host fsync the commit index covering it. It exists to
// reproduce finding 1 of docs/SUBJECTS.md; Subject is the one to test
// etcd-io/raft with.
func Literal() subject.Subject {
	s := Subject()
	s.Name, s.Open = Name+"-literal", openLiteral
	s.Capabilities.Differences = append([]string{"Ready.MustSync as etcd-io/raft sets it (finding 1 of docs/SUBJECTS.md)"}, s.Capabilities.Differences...)
	return s
}

// Open starts a RawNode from what the host restored.
func Open(cfg subject.Config, st subject.Restored) (subject.Replica, error) {
	return open(cfg, st, false)
}

func openLiteral(cfg subject.Config, st subject.Restored) (subject.Replica, error) {
	return open(cfg, st, true)
}

func open(cfg subject.Config, st subject.Restored, literal bool) (_ subject.Replica, err error) {
	defer subject.Recover(&err, "Open")
	if err := validateConfig(&cfg); err != nil {
		return nil, err
	}
	switch {
	case st.Recovering || st.VoteLost:
		return nil, subject.Mark(errors.New("etcd-io/raft has no recovering mode: a replica whose storage lost data it had acknowledged (or its record of its vote) cannot rejoin without risking a committed entry or a second vote in a term"), subject.ErrUnsupported)
	case cfg.Planted.Len() > 0:
		return nil, subject.Mark(fmt.Errorf("bugs cannot be planted in etcd-io/raft (%s)", cfg.Planted), subject.ErrUnsupported)
	}
	r := &Replica{id: cfg.ID, storage: etcd.NewMemoryStorage(), rand: cfg.Rand, electionTick: cfg.ElectionTick,
		literal: literal, leaseReads: cfg.ReadOnly == subject.ReadLease}
	r.syncedCommit = max(st.HardState.Commit, st.Snapshot.Metadata.Index)
	noLog := len(st.Entries) == 0 && st.Snapshot.IsEmpty()
	if noLog && !st.HardState.IsEmpty() && !cfg.Join {
		return nil, subject.Mark(fmt.Errorf("hard state %+v without a log: an initial member that lost its log needs the recovering mode", st.HardState), subject.ErrInvalidRestore)
	}
	if err := r.restore(&st); err != nil {
		return nil, subject.Mark(err, subject.ErrInvalidRestore)
	}
	readOnly := etcd.ReadOnlySafe
	if cfg.ReadOnly == subject.ReadLease {
		readOnly = etcd.ReadOnlyLeaseBased
	}
	r.rn, err = etcd.NewRawNode(&etcd.Config{
		ID:                cfg.ID,
		ElectionTick:      cfg.ElectionTick,
		HeartbeatTick:     cfg.HeartbeatTick,
		Storage:           r.storage,
		MaxSizePerMsg:     cfg.MaxSizePerMsg,
		MaxInflightMsgs:   cfg.MaxInflightMsgs,
		CheckQuorum:       cfg.CheckQuorum,
		PreVote:           cfg.PreVote,
		ReadOnlyOption:    readOnly,
		Logger:            newLogger(cfg.ID),
		StepDownOnRemoval: true,
	})
	if err != nil {
		return nil, subject.Mark(err, subject.ErrInvalidConfig)
	}
	r.resetTimer() // newRaft's becomeFollower
	// The configuration newRaft restored: the snapshot's. (Not
	// Status().Config: etcd's tracker.Config.Clone drops AutoLeave,
	// finding 4 of docs/SUBJECTS.md.)
	_, cs, err := r.storage.InitialState()
	if err != nil {
		return nil, err
	}
	r.setConf(proto.CloneOf(cs))
	if noLog && st.HardState.IsEmpty() && !cfg.Join {
		// Every initial member writes the same log: one AddNode per
		// voter, in ID order, at term 1 (as raftsim's Raft does, and the
		// same bytes once translated).
		peers := slices.Compact(slices.Sorted(slices.Values(cfg.Peers)))
		ps := make([]etcd.Peer, len(peers))
		for i, id := range peers {
			ps[i] = etcd.Peer{ID: id}
		}
		if err := r.rn.Bootstrap(ps); err != nil {
			return nil, subject.Mark(err, subject.ErrInvalidConfig)
		}
		// Bootstrap's becomeFollower reset etcd's timer, and it applied
		// the AddNodes itself.
		r.resetTimer()
		r.setConf(&pb.ConfState{Voters: peers, AutoLeave: new(false)})
	}
	r.sync(r.rn.BasicStatus())
	return r, nil
}

func validateConfig(cfg *subject.Config) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", subject.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case cfg.ID == 0:
		return bad("ID must not be 0")
	case cfg.HeartbeatTick <= 0:
		return bad("HeartbeatTick must be > 0, got %d", cfg.HeartbeatTick)
	case cfg.ElectionTick <= cfg.HeartbeatTick:
		return bad("ElectionTick (%d) must be greater than HeartbeatTick (%d)", cfg.ElectionTick, cfg.HeartbeatTick)
	case cfg.MaxInflightMsgs <= 0:
		return bad("MaxInflightMsgs must be > 0, got %d", cfg.MaxInflightMsgs)
	case cfg.Rand == nil:
		return bad("Rand must not be nil: election timeouts are drawn from it")
	case cfg.ReadOnly == subject.ReadLease && !cfg.CheckQuorum:
		return bad("lease reads require CheckQuorum")
	case len(cfg.Peers) == 0 && !cfg.Join:
		// Only needed to bootstrap; checked there would be too late to
		// name the field.
	}
	return nil
}

// restore loads st into the storage and the mirror, after checking it is
// a state etcd-io/raft could have produced (it panics on others).
func (r *Replica) restore(st *subject.Restored) error {
	hs, snap := st.HardState, st.Snapshot.Metadata
	if (snap.Index == 0) != (snap.Term == 0) {
		return fmt.Errorf("snapshot index %d with term %d (both or neither must be 0)", snap.Index, snap.Term)
	}
	if hs.Vote != 0 && hs.Term == 0 {
		return fmt.Errorf("vote for %d in term 0", hs.Vote)
	}
	prevIndex, prevTerm := snap.Index, snap.Term
	ents := make([]*pb.Entry, len(st.Entries))
	for i := range st.Entries {
		e := &st.Entries[i]
		if e.Index != prevIndex+1 {
			return fmt.Errorf("entry %d has index %d, want %d", i, e.Index, prevIndex+1)
		}
		if e.Term == 0 || e.Term < prevTerm {
			return fmt.Errorf("entry %d has term %d after term %d", e.Index, e.Term, prevTerm)
		}
		var err error
		if ents[i], err = entryToEtcd(e); err != nil {
			return err
		}
		prevIndex, prevTerm = e.Index, e.Term
	}
	if prevTerm > hs.Term {
		return fmt.Errorf("last entry %d has term %d above the hard state's term %d", prevIndex, prevTerm, hs.Term)
	}
	if hs.Commit > prevIndex {
		return fmt.Errorf("commit %d beyond the last index %d", hs.Commit, prevIndex)
	}
	if !st.Snapshot.IsEmpty() {
		if err := r.storage.ApplySnapshot(snapshotToEtcd(&st.Snapshot)); err != nil {
			return err
		}
		r.log.restore(snap.Index, snap.Term)
		r.snapIndex = snap.Index
	}
	if err := r.storage.Append(ents); err != nil {
		return err
	}
	if _, err := r.log.append(slices.Clone(st.Entries)); err != nil {
		return err
	}
	if !hs.IsEmpty() {
		commit := max(hs.Commit, snap.Index) // etcd's log starts committed at its snapshot
		if err := r.storage.SetHardState(&pb.HardState{Term: new(hs.Term), Vote: new(hs.Vote), Commit: new(commit)}); err != nil {
			return err
		}
	}
	return nil
}

// guard, deferred by every method that calls into the node, turns a panic
// into the error the method returns and keeps the replica dead: etcd may
// be half-way through a change.
func (r *Replica) guard(err *error, op string) {
	if v := recover(); v != nil {
		r.dead = subject.Panicked(op, v)
		*err = r.dead
	}
}

// fail keeps the replica dead with err (a value the boundary cannot
// translate: running on would hand the host a log it cannot read).
func (r *Replica) fail(err error) error {
	r.dead = fmt.Errorf("etcdraft: replica %d stopped: %w", r.id, err)
	return r.dead
}

func roleOf(s etcd.StateType) subject.Role {
	switch s {
	case etcd.StateLeader:
		return subject.Leader
	case etcd.StateCandidate:
		return subject.Candidate
	case etcd.StatePreCandidate:
		return subject.PreCandidate
	}
	return subject.Follower
}

// newLogger is the logger each replica gives etcd (a test counts etcd's
// state changes through it).
var newLogger = func(id uint64) etcd.Logger { return discard{} }

func (r *Replica) resetTimer() {
	r.resets++
	r.timer.elapsed = 0
	r.timer.timeout = r.electionTick + r.rand.IntN(r.electionTick)
}

// observe reads the node's state after a call into it and keeps the
// election timer where etcd keeps electionElapsed: reset (with a new
// timeout) wherever etcd calls reset(), that is on every change of term
// and on becoming follower, candidate or leader (becoming pre-candidate
// keeps both); zeroed when a follower hears from the leader of its term
// (m, the message just stepped: MsgApp, MsgHeartbeat, MsgSnap). A granted
// vote zeroes it too; Ready sees that (the grant is in its messages).
func (r *Replica) observe(m *pb.Message) {
	bs := r.rn.BasicStatus()
	role, term := roleOf(bs.RaftState), bs.GetTerm()
	if term != r.st.Term || role != r.st.Role && role != subject.PreCandidate {
		r.resetTimer()
	}
	if term > r.st.Term && (role == subject.Candidate || role == subject.Leader) {
		r.counters.Campaigns++
	}
	if r.st.Transferee != 0 && bs.LeadTransferee == 0 && role == subject.Leader && r.st.Role == subject.Leader && term == r.st.Term {
		r.counters.TransfersAborted++ // given up after an election timeout, still leading
	}
	if role == subject.Leader && r.st.Role != subject.Leader {
		// etcd's becomeLeader: pendingConfIndex is the last index before
		// its empty entry, which the host has not been handed yet.
		r.pendingConf = r.log.lastIndex()
	}
	if m != nil && role == subject.Follower && m.GetTerm() == term {
		switch m.GetType() {
		case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
			r.timer.elapsed = 0
		}
	}
	r.sync(bs)
}

// sync copies the node's basic status into the cached one.
func (r *Replica) sync(bs etcd.BasicStatus) {
	r.st.ID, r.st.Term, r.st.Vote, r.st.Commit = r.id, bs.GetTerm(), bs.GetVote(), bs.GetCommit()
	r.st.Applied, r.st.Lead, r.st.Role, r.st.Transferee = bs.Applied, bs.Lead, roleOf(bs.RaftState), bs.LeadTransferee
}

// promotable is etcd's: a voter of either half of the configuration (it
// also requires no snapshot pending, which holds between inputs).
func (r *Replica) promotable() bool {
	return slices.Contains(r.conf.GetVoters(), r.id) || slices.Contains(r.conf.GetVotersOutgoing(), r.id)
}

// Tick: a leader ticks etcd itself (heartbeats, CheckQuorum, transfer
// timeouts); any other role only advances etcd's electionElapsed and
// campaigns on the adapter's timer, as etcd's tickElection would on its
// own randomized timeout.
func (r *Replica) Tick() (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Tick")
	if r.st.Role == subject.Leader {
		r.rn.Tick()
	} else {
		r.rn.TickQuiesced()
		r.timer.elapsed++
		if r.promotable() && r.timer.elapsed >= r.timer.timeout {
			r.timer.elapsed = 0
			_ = r.rn.Campaign() // MsgHup never fails; hup may decline (logged and dropped)
		}
	}
	r.observe(nil)
	return nil
}

func (r *Replica) Campaign() (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Campaign")
	_ = r.rn.Campaign()
	r.observe(nil)
	return nil
}

func (r *Replica) Step(from uint64, b []byte) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Step")
	m := &pb.Message{}
	if err := proto.Unmarshal(b, m); err != nil {
		return subject.Mark(fmt.Errorf("etcd message from %d: %w", from, err), subject.ErrInvalidMessage)
	}
	switch {
	case m.Type == nil:
		return subject.Mark(fmt.Errorf("etcd message from %d has no type", from), subject.ErrInvalidMessage)
	case m.GetFrom() != from || m.GetTo() != r.id:
		return subject.Mark(fmt.Errorf("etcd %s from %d to %d arrived from %d at %d", m.GetType(), m.GetFrom(), m.GetTo(), from, r.id), subject.ErrInvalidMessage)
	case etcd.IsLocalMsg(m.GetType()):
		return subject.Mark(fmt.Errorf("etcd local message %s from %d", m.GetType(), from), subject.ErrInvalidMessage)
	}
	serr := r.rn.Step(m)
	r.observe(m)
	switch {
	case serr == nil:
		return nil
	case errors.Is(serr, etcd.ErrStepPeerNotFound):
		return subject.Mark(serr, subject.ErrIgnored)
	case errors.Is(serr, etcd.ErrProposalDropped):
		return subject.Mark(serr, subject.ErrProposalDropped)
	}
	return subject.Mark(serr, subject.ErrInvalidMessage)
}

// Propose proposes on the leader only: etcd would forward a follower's
// proposal, while the host expects to be told where the leader is.
func (r *Replica) Propose(data []byte) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Propose")
	if r.st.Role != subject.Leader {
		return subject.ErrNotLeader
	}
	perr := r.rn.Propose(data)
	r.observe(nil)
	if perr != nil {
		return subject.Mark(perr, subject.ErrProposalDropped)
	}
	return nil
}

// ProposeConfChange checks what etcd's leader checks (and what it would
// panic on when applying) so a refusal is an error, not a silent empty
// entry, then proposes cc with the automatic transition.
func (r *Replica) ProposeConfChange(cc raftpb.ConfChangeV2) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "ProposeConfChange")
	if r.st.Role != subject.Leader {
		return subject.ErrNotLeader
	}
	ecc, err := confChangeToEtcd(cc)
	if err != nil {
		return subject.Mark(err, subject.ErrConfChangeInvalid)
	}
	joint := len(r.conf.GetVotersOutgoing()) > 0
	switch {
	case r.pendingConf > r.st.Applied:
		return fmt.Errorf("%w: a change up to index %d may not be applied yet (applied %d)", subject.ErrConfChangePending, r.pendingConf, r.st.Applied)
	case joint && !ecc.LeaveJoint():
		return fmt.Errorf("%w: %s: the configuration is joint; leave it first", subject.ErrConfChangeInvalid, cc)
	case !joint && ecc.LeaveJoint():
		return fmt.Errorf("%w: not in a joint configuration", subject.ErrConfChangeInvalid)
	}
	if err := validConfChange(r.conf, ecc); err != nil {
		return fmt.Errorf("%w: %s: %v", subject.ErrConfChangeInvalid, cc, err)
	}
	perr := r.rn.ProposeConfChange(ecc)
	if perr == nil {
		r.pendingConf = r.log.lastIndex() + 1
	}
	r.observe(nil)
	if perr != nil {
		return subject.Mark(perr, subject.ErrProposalDropped)
	}
	return nil
}

// validConfChange reports whether etcd could apply cc to cs: the checks
// raft.applyConfChange runs, which panics where this returns an error.
func validConfChange(cs *pb.ConfState, cc *pb.ConfChangeV2) error {
	_, err := applyConfChange(cs, cc)
	return err
}

// applyConfChange is the configuration etcd makes of cs with cc, by the
// same steps as raft.applyConfChange, on a tracker of its own.
func applyConfChange(cs *pb.ConfState, cc *pb.ConfChangeV2) (*pb.ConfState, error) {
	cfg, prs, err := confchange.Restore(confchange.Changer{Tracker: etcdtracker.MakeProgressTracker(1, 0)}, cs)
	if err != nil {
		return nil, err
	}
	trk := etcdtracker.MakeProgressTracker(1, 0)
	trk.Config, trk.Progress = cfg, prs
	chg := confchange.Changer{Tracker: trk}
	if cc.LeaveJoint() {
		cfg, prs, err = chg.LeaveJoint()
	} else if autoLeave, ok := cc.EnterJoint(); ok {
		cfg, prs, err = chg.EnterJoint(autoLeave, cc.GetChanges()...)
	} else {
		cfg, prs, err = chg.Simple(cc.GetChanges()...)
	}
	if err != nil {
		return nil, err
	}
	trk.Config, trk.Progress = cfg, prs
	return trk.ConfState(), nil
}

// ApplyConfChange is how etcd-io/raft makes a configuration of cfg with a
// committed change cc (proposed, as the adapter proposes every change,
// with the automatic transition): for the invariant checker.
func ApplyConfChange(cfg tracker.Config, cc raftpb.ConfChangeV2) (tracker.Config, error) {
	ecc, err := confChangeToEtcd(cc)
	if err != nil {
		return tracker.Config{}, err
	}
	next, err := applyConfChange(&pb.ConfState{Voters: cfg.Voters.Incoming, VotersOutgoing: cfg.Voters.Outgoing,
		Learners: cfg.Learners, AutoLeave: new(cfg.AutoLeave)}, ecc)
	if err != nil {
		return tracker.Config{}, err
	}
	return trackerConfig(next), nil
}

func (r *Replica) ReadIndex(ctx []byte) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "ReadIndex")
	if r.st.Lead == 0 {
		return subject.ErrNotLeader
	}
	r.rn.ReadIndex(ctx)
	r.observe(nil)
	return nil
}

// TransferLeadership hands leadership to voter to (0: the voter whose log
// the leader knows to be the most up to date, lowest ID among equals).
func (r *Replica) TransferLeadership(to uint64) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "TransferLeadership")
	if r.st.Role != subject.Leader {
		return subject.ErrNotLeader
	}
	if to == 0 {
		var best uint64
		r.rn.WithProgress(func(id uint64, typ etcd.ProgressType, pr etcdtracker.Progress) {
			if id != r.id && typ == etcd.ProgressTypePeer && (to == 0 || pr.Match > best) {
				to, best = id, pr.Match
			}
		})
		if to == 0 {
			return fmt.Errorf("%w: no other voter", subject.ErrTransferRefused)
		}
	}
	switch {
	case to == r.id:
		return fmt.Errorf("%w: %d already leads", subject.ErrTransferRefused, to)
	case !slices.Contains(r.conf.GetVoters(), to) && !slices.Contains(r.conf.GetVotersOutgoing(), to):
		return fmt.Errorf("%w: %d is not a voter", subject.ErrTransferRefused, to)
	}
	r.rn.TransferLeader(to)
	r.counters.Transfers++
	r.observe(nil)
	return nil
}

// HasReady reports true after the replica died, so the host meets the
// error in Ready.
func (r *Replica) HasReady() (ok bool) {
	if r.dead != nil {
		return true
	}
	defer func() {
		if v := recover(); v != nil {
			r.dead, ok = subject.Panicked("HasReady", v), true
		}
	}()
	return r.rn.HasReady()
}

func (r *Replica) Ready() (out subject.Ready, err error) {
	if r.dead != nil {
		return subject.Ready{}, r.dead
	}
	defer r.guard(&err, "Ready")
	if r.handedOut {
		return subject.Ready{}, r.fail(errors.New("Ready called twice without Advance"))
	}
	rd := r.rn.Ready()
	r.rd, r.handedOut = rd, true
	out.MustSync = rd.MustSync
	if rd.SoftState != nil {
		r.soft = subject.SoftState{Lead: rd.SoftState.Lead, Role: roleOf(rd.SoftState.RaftState)}
		out.SoftState = &r.soft
	}
	if hs := rd.HardState; hs != nil && !etcd.IsEmptyHardState(hs) {
		out.HardState = raftpb.HardState{Term: hs.GetTerm(), Vote: hs.GetVote(), Commit: hs.GetCommit()}
	}
	if s := rd.Snapshot; s != nil && !etcd.IsEmptySnap(s) {
		if r.snap, err = snapshotFromEtcd(s); err != nil {
			return subject.Ready{}, r.fail(err)
		}
		out.Snapshot, out.MustSync = &r.snap, true
		md := s.GetMetadata()
		// etcd restored it already (at Step): its log and configuration
		// are the snapshot's.
		r.log.restore(md.GetIndex(), md.GetTerm())
		r.snapIndex = md.GetIndex()
		r.setConf(proto.CloneOf(md.GetConfState()))
		r.counters.SnapshotsInstalled++
	}
	if len(rd.Entries) > 0 {
		r.entBuf = r.entBuf[:0]
		for _, e := range rd.Entries {
			re, err := entryFromEtcd(e)
			if err != nil {
				return subject.Ready{}, r.fail(err)
			}
			r.entBuf = append(r.entBuf, re)
		}
		if out.Entries, err = r.log.append(r.entBuf); err != nil {
			return subject.Ready{}, r.fail(err)
		}
	}
	if k := len(rd.CommittedEntries); k > 0 {
		lo, hi := rd.CommittedEntries[0].GetIndex(), rd.CommittedEntries[k-1].GetIndex()
		if out.CommittedEntries, err = r.log.slice(lo, hi); err != nil {
			return subject.Ready{}, r.fail(err)
		}
		for i, e := range rd.CommittedEntries {
			if got := out.CommittedEntries[i]; got.Index != e.GetIndex() || got.Term != e.GetTerm() {
				return subject.Ready{}, r.fail(fmt.Errorf("committed entry %d/%d is %d/%d in the log handed out", e.GetIndex(), e.GetTerm(), got.Index, got.Term))
			}
		}
	}
	if !r.literal && !out.MustSync {
		for _, e := range rd.CommittedEntries {
			if e.GetType() != pb.EntryNormal && e.GetIndex() > r.syncedCommit {
				// A configuration change takes effect when applied: the
				// commit index covering it must be durable first, or a
				// restart rebuilds the configuration from an older commit
				// (finding 1 of docs/SUBJECTS.md).
				out.MustSync = true
				break
			}
		}
	}
	if out.MustSync && !r.literal {
		if out.HardState.IsEmpty() {
			// The commit moved in an earlier Ready whose hard state the
			// host need not have kept: hand it out again.
			bs := r.rn.BasicStatus()
			out.HardState = raftpb.HardState{Term: bs.GetTerm(), Vote: bs.GetVote(), Commit: bs.GetCommit()}
		}
		r.syncedCommit = max(r.syncedCommit, out.HardState.Commit)
	}
	if err := r.encode(rd.Messages); err != nil {
		return subject.Ready{}, r.fail(err)
	}
	if len(r.out) > 0 {
		out.Messages = r.out
	}
	out.WantSnapshot, r.wantSnap = r.wantSnap, false
	if len(rd.ReadStates) > 0 {
		r.readStates = r.readStates[:0]
		for _, rs := range rd.ReadStates {
			r.readStates = append(r.readStates, subject.ReadState{Index: rs.Index, RequestCtx: rs.RequestCtx})
		}
		out.ReadStates = r.readStates
		if r.st.Role == subject.Leader {
			r.countReads(uint64(len(rd.ReadStates)))
		}
	}
	return out, nil
}

// encode marshals msgs into one buffer (then takes the views: a view
// taken while the buffer still grew would dangle), counts what they carry,
// and notes what the election timer and the snapshot reports depend on. A
// snapshot whose configuration lacks its recipient is withheld: etcd-io/raft
// would ignore it (a server added after the snapshot was taken), and the
// host is asked for a new one instead (WantSnapshot), as etcd's server
// builds a snapshot for a new member when it sends one.
func (r *Replica) encode(msgs []*pb.Message) error {
	r.wire, r.ends, r.out, r.sentTo = r.wire[:0], r.ends[:0], r.out[:0], r.sentTo[:0]
	opts := proto.MarshalOptions{Deterministic: true}
	for _, m := range msgs {
		if m.GetType() == pb.MsgSnap && !inConf(m.GetSnapshot().GetMetadata().GetConfState(), m.GetTo()) {
			r.withheld = append(r.withheld, m.GetTo())
			r.wantSnap = true
			continue
		}
		var err error
		if r.wire, err = opts.MarshalAppend(r.wire, m); err != nil {
			return fmt.Errorf("marshal %s to %d: %w", m.GetType(), m.GetTo(), err)
		}
		r.ends = append(r.ends, len(r.wire))
		r.sentTo = append(r.sentTo, m.GetTo())
		switch m.GetType() {
		case pb.MsgVoteResp:
			if !m.GetReject() {
				r.timer.elapsed = 0 // etcd zeroes electionElapsed when it grants a vote
			}
		case pb.MsgApp:
			for _, e := range m.GetEntries() {
				r.counters.EntryBytesSent += entrySize(e.GetTerm(), e.GetIndex(), len(e.GetData()))
			}
		case pb.MsgSnap:
			r.counters.SnapshotBytesSent += uint64(len(m.GetSnapshot().GetData()))
			r.snapTargets = append(r.snapTargets, m.GetTo())
		case pb.MsgHeartbeat:
			// A read round is a heartbeat broadcast carrying a read's
			// context: one message per follower, the same context.
			if ctx := m.GetContext(); len(ctx) > 0 && !bytes.Equal(ctx, r.lastRound) {
				r.counters.ReadRounds++
				r.lastRound = append(r.lastRound[:0], ctx...)
			}
		case pb.MsgReadIndexResp:
			r.countReads(1) // a follower's read, confirmed by this leader
		}
	}
	start := 0
	for i, end := range r.ends {
		r.out = append(r.out, subject.Outbound{To: r.sentTo[i], Data: r.wire[start:end:end]})
		start = end
	}
	return nil
}

// inConf reports whether id is a member of cs.
func inConf(cs *pb.ConfState, id uint64) bool {
	return slices.Contains(cs.GetVoters(), id) || slices.Contains(cs.GetLearners(), id) ||
		slices.Contains(cs.GetVotersOutgoing(), id) || slices.Contains(cs.GetLearnersNext(), id)
}

// countReads counts reads this leader confirmed: at once under a lease or
// as the only voter, otherwise by a round.
func (r *Replica) countReads(n uint64) {
	if r.leaseReads || len(r.conf.GetVoters()) == 1 && len(r.conf.GetVotersOutgoing()) == 0 {
		r.counters.LeaseReads += n
	} else {
		r.counters.RoundReads += n
	}
}

// Advance persists the Ready in etcd's storage, applies its configuration
// changes (the apply hook), advances the node, and reports the snapshots
// it sent as delivered.
func (r *Replica) Advance(subject.Ready) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Advance")
	if !r.handedOut {
		return r.fail(errors.New("Advance without Ready"))
	}
	rd := r.rd
	if s := rd.Snapshot; s != nil && !etcd.IsEmptySnap(s) {
		if err := r.storage.ApplySnapshot(s); err != nil {
			return r.fail(fmt.Errorf("install snapshot %d: %w", s.GetMetadata().GetIndex(), err))
		}
	}
	if hs := rd.HardState; hs != nil && !etcd.IsEmptyHardState(hs) {
		if err := r.storage.SetHardState(hs); err != nil {
			return r.fail(err)
		}
	}
	if err := r.storage.Append(rd.Entries); err != nil {
		return r.fail(err)
	}
	for _, e := range rd.CommittedEntries {
		if e.GetType() == pb.EntryNormal {
			continue
		}
		cc, err := confChangeFromEtcd(e.GetType(), e.GetData())
		if err != nil {
			return r.fail(fmt.Errorf("entry %d: %w", e.GetIndex(), err))
		}
		if validConfChange(r.conf, cc) != nil {
			// etcd's contract lets the application reject a change
			// (and raft.applyConfChange would panic on this one).
			// Every replica has the same configuration here, so every
			// replica skips it alike.
			r.rejected++
			continue
		}
		r.setConf(r.rn.ApplyConfChange(cc))
	}
	r.rn.Advance(rd)
	for _, to := range r.snapTargets {
		r.rn.ReportSnapshot(to, etcd.SnapshotFinish)
	}
	for _, to := range r.withheld {
		// Probing again (after a heartbeat) sends the host's new one.
		r.rn.ReportSnapshot(to, etcd.SnapshotFailure)
	}
	r.rd, r.handedOut, r.snapTargets, r.withheld = etcd.Ready{}, false, r.snapTargets[:0], r.withheld[:0]
	r.observe(nil)
	return nil
}

// SnapshotMeta is index i's term and the configuration in force.
func (r *Replica) SnapshotMeta(i uint64) (meta raftpb.SnapshotMetadata, err error) {
	if r.dead != nil {
		return raftpb.SnapshotMetadata{}, r.dead
	}
	defer r.guard(&err, "SnapshotMeta")
	if i == 0 || i > r.st.Applied {
		return raftpb.SnapshotMetadata{}, fmt.Errorf("%w: snapshot at %d: applied is %d", subject.ErrCompacted, i, r.st.Applied)
	}
	t, ok := r.log.term(i)
	if !ok {
		return raftpb.SnapshotMetadata{}, fmt.Errorf("%w: snapshot at %d: the log starts after %d", subject.ErrCompacted, i, r.log.offset)
	}
	cs, err := confStateFromEtcd(r.conf)
	if err != nil {
		return raftpb.SnapshotMetadata{}, err
	}
	return raftpb.SnapshotMetadata{Index: i, Term: t, ConfState: cs}, nil
}

// Compact makes snap the storage's snapshot (what a leader sends) and
// drops the entries up to its index minus trailing.
func (r *Replica) Compact(snap raftpb.Snapshot, trailing uint64) (err error) {
	if r.dead != nil {
		return r.dead
	}
	defer r.guard(&err, "Compact")
	meta := snap.Metadata
	switch t, ok := r.log.term(meta.Index); {
	case meta.Index <= r.snapIndex:
		return fmt.Errorf("%w: snapshot at %d is not newer than the one at %d", subject.ErrCompacted, meta.Index, r.snapIndex)
	case meta.Index > r.st.Applied:
		return fmt.Errorf("%w: snapshot at %d beyond applied %d", subject.ErrCompacted, meta.Index, r.st.Applied)
	case !ok || t != meta.Term:
		return fmt.Errorf("%w: snapshot at %d has term %d, the log %d (ok %t)", subject.ErrCompacted, meta.Index, meta.Term, t, ok)
	}
	if _, err := r.storage.CreateSnapshot(meta.Index, confStateToEtcd(meta.ConfState), snap.Data); err != nil {
		return subject.Mark(err, subject.ErrCompacted)
	}
	r.snapIndex = meta.Index
	if to := meta.Index - min(trailing, meta.Index); to > r.log.offset {
		if err := r.storage.Compact(to); err != nil {
			return subject.Mark(err, subject.ErrCompacted)
		}
		r.log.compact(to)
	}
	return nil
}

// BasicStatus is the status as of the last call, with the log's figures;
// it does not allocate.
func (r *Replica) BasicStatus() subject.Status {
	st := r.st
	st.LastIndex, st.LastTerm = r.log.lastIndex(), r.log.lastTerm()
	st.FirstIndex, st.SnapshotIndex, st.LogBytes = r.log.offset+1, r.snapIndex, r.log.bytes
	st.LogRewrites, st.LogRewriteFrom = r.log.rewrites, r.log.rewriteFrom
	return st
}

func (r *Replica) LogTerm(i uint64) (uint64, bool)        { return r.log.term(i) }
func (r *Replica) LogEntry(i uint64) (raftpb.Entry, bool) { return r.log.entry(i) }

// Config is the configuration in force in raftsim's terms (built when it
// changes; staged learners, which the host never makes, are left out).
func (r *Replica) Config() tracker.Config { return r.cfg }

// setConf records the configuration etcd reports.
func (r *Replica) setConf(cs *pb.ConfState) {
	r.conf = cs
	r.cfg = trackerConfig(cs)
}

func (r *Replica) Member() bool {
	return r.promotable() || slices.Contains(r.conf.GetLearners(), r.id) || slices.Contains(r.conf.GetLearnersNext(), r.id)
}

func (r *Replica) Counters() subject.Counters { return r.counters }

// Match reads the leader's progress for peer.
func (r *Replica) Match(peer uint64) (match uint64, ok bool) {
	if r.dead != nil || r.st.Role != subject.Leader {
		return 0, false
	}
	r.rn.WithProgress(func(id uint64, _ etcd.ProgressType, pr etcdtracker.Progress) {
		if id == peer {
			match, ok = pr.Match, true
		}
	})
	return match, ok
}

// Rejected counts the committed configuration changes this replica
// skipped because the configuration could not take them.
func (r *Replica) Rejected() uint64 { return r.rejected }
