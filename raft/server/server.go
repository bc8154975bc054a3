package server

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
	"github.com/seed4fee1fef/raftsim/raft/vfs"
	"github.com/seed4fee1fef/raftsim/raft/wal"
)

// Env is what a server needs from the world it runs in.
type Env interface {
	// Send delivers msg to node to; the env copies it.
	Send(to uint64, msg []byte)
	// After calls fn after d of local time, unless the process dies first.
	After(d time.Duration, fn func())
	// Disk is the node's durable storage.
	Disk() vfs.FS
	// Rand is the node's own random stream (election timeouts).
	Rand() subject.Rand
	// Note records an annotation in the run's trace.
	Note(s string)
	// Exit stops the process (fail-stop) with err.
	Exit(err error)
	// Monotonic is the node's monotonic clock: it never jumps and keeps
	// running while the process is paused or stalled. With lease reads
	// the server counts its ticks by it.
	Monotonic() time.Duration
}

// Config is a server's tuning. Zero fields take defaults.
type Config struct {
	// Subject is the Raft implementation the server drives (the zero
	// value: raftsim's own, native.Subject).
	Subject subject.Subject

	ID    uint64
	Peers []uint64 // the initial voters, for a node with an empty disk
	// EmptyDisk says what a server whose disk holds nothing is: an
	// initial member (Bootstrap, the zero value), a new server to be
	// added by a membership change (Join), or a server that ran before
	// and lost its disk (Replaced), which must not come back as a voter
	// of the old configuration.
	EmptyDisk EmptyDisk

	// TickInterval is the local time per Raft tick; ElectionTicks and
	// HeartbeatTicks count ticks (defaults below: a heartbeat every 50ms,
	// an election timeout drawn from [500ms, 1s)).
	TickInterval    time.Duration
	ElectionTicks   int
	HeartbeatTicks  int
	MaxSizePerMsg   uint64 // default 64 KiB
	MaxInflightMsgs int    // default 64
	// SnapshotEntries, SnapshotRatio and TrailingEntries are the
	// snapshot policy: take one when at least SnapshotEntries entries
	// were applied since the last, and (unless SnapshotRatio is 0) the
	// log is larger than SnapshotRatio times the last snapshot; keep
	// TrailingEntries entries before it so a follower a little behind
	// still gets entries. SnapshotEntries 0 never snapshots (a negative
	// value means 0; the zero value takes the default).
	SnapshotEntries int     // default DefaultSnapshotEntries
	SnapshotRatio   float64 // default 10 (the lesson's heuristic)
	TrailingEntries int     // default 1000
	WAL             wal.Options
	// Reads is how gets are answered (default ReadIndex); MaxDriftPPM
	// bounds every clock's drift for ReadLease's lease (a negative value
	// means 0: the zero value is left for a swarm to size).
	Reads       ReadMode
	MaxDriftPPM int64
	// Planted lists bugs to plant on purpose (tests proving the harness
	// catches them); none in real use.
	Planted plant.Set
	// OnApply, if set, sees every committed entry as the server applies it
	// (the invariant checker's view of state machine safety). It must not
	// keep e.Data.
	OnApply func(id uint64, e *raftpb.Entry)
	// OnRole, if set, sees every change of the node's role or leader.
	OnRole func(id uint64, role subject.Role, lead, term uint64)
	// OnSnapshot, if set, sees every snapshot the server takes, installs
	// or restores at start, with the state its store holds after it (the
	// checker compares it with the committed prefix the snapshot claims).
	// It must not keep snap.Data.
	OnSnapshot func(id uint64, ev SnapshotEvent, snap *raftpb.Snapshot)
	// OnPropose, if set, sees every client command the server proposes
	// as leader, with its log index; OnCommit every rise of its commit
	// index while it leads. Together: commit latency on the leader.
	OnPropose func(id, index uint64)
	OnCommit  func(id, index uint64)
	// OnCounters, if set, sees how much the node's subject.Counters rose
	// in each Ready in which they did (they restart from zero with the
	// server, so the increases add up across restarts).
	OnCounters func(id uint64, delta subject.Counters)
	// OnRead, if set, sees each get this server asks its node to confirm
	// by read index (or lease), and each one the node confirmed: the
	// harness holds every confirmation to the moment it was asked for.
	OnRead func(id uint64, ev ReadEvent)

	_ struct{}
}

func (c *Config) setDefaults() {
	if c.Subject.Open == nil {
		c.Subject = native.Subject()
	}
	if c.Reads == ReadDefault {
		c.Reads = ReadIndex
	}
	if c.TickInterval == 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.ElectionTicks == 0 {
		c.ElectionTicks = DefaultElectionTicks
	}
	if c.HeartbeatTicks == 0 {
		c.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = 64 << 10
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = 64
	}
	switch {
	case c.SnapshotEntries == 0:
		c.SnapshotEntries = DefaultSnapshotEntries
	case c.SnapshotEntries < 0:
		c.SnapshotEntries = 0
	}
	switch {
	case c.SnapshotRatio == 0:
		c.SnapshotRatio = 10
	case c.SnapshotRatio < 0:
		c.SnapshotRatio = 0
	}
	switch {
	case c.TrailingEntries == 0:
		c.TrailingEntries = 1000
	case c.TrailingEntries < 0:
		c.TrailingEntries = 0
	}
}

// EmptyDisk is what a server with nothing on its disk starts as.
type EmptyDisk uint8

const (
	// Bootstrap: an initial member; it writes the initial configuration
	// (Peers), identical on every initial member.
	Bootstrap EmptyDisk = iota
	// Join: a new server outside the configuration; it has no log and
	// no vote until a leader adds it and sends it the log or a snapshot.
	Join
	// Replaced: a server that ran before and lost its whole disk. It
	// starts like Join, but whatever votes it cast are gone with the
	// disk, so it never votes again (subject.Restored.VoteLost); a
	// membership change replaces it.
	Replaced
)

// The default timing: a tick of 50ms, a heartbeat every tick, an
// election timeout of ten ticks (drawn from [500ms, 1s) by Raft). A
// heartbeat to each follower every 50ms keeps an idle cluster of three
// at 40 RPCs a second, within the MIT 6.5840 lab's 60, and the first
// election well within its 30 RPCs (scenarios/cluster's economy test
// counts both); etcd's defaults are 100ms and 1s, with the same ratio of
// ten heartbeats to an election timeout. A tick is an event for the
// simulator, so it is as coarse as the heartbeat: with a 10ms tick and
// a 20ms heartbeat, ticks and heartbeats were a third of a default
// run's events.
const (
	DefaultTickInterval   = 50 * time.Millisecond
	DefaultElectionTicks  = 10
	DefaultHeartbeatTicks = 1
)

// DefaultSnapshotEntries is Config.SnapshotEntries when it is 0. A
// restarted server replays the WAL since its last snapshot and applies
// it again, so the interval bounds a restart's cost; at 10,000 (etcd's
// snapshot count) a restart late in a long run replayed up to ten
// thousand entries and the cost of a simulated second grew with the run
// (a fifth of a 1,280 s run's CPU went to restarts). A snapshot of the
// store is small, so it is cheap to take one every thousand entries.
const DefaultSnapshotEntries = 1000

// ElectionTimeout is the shortest election timeout c gives a server
// (TickInterval × ElectionTicks, zero fields taken as their defaults):
// the unit a harness sizes its faults and phases in.
func (c Config) ElectionTimeout() time.Duration {
	c.setDefaults()
	return c.TickInterval * time.Duration(c.ElectionTicks)
}

// Server is one running incarnation of a node.
type Server struct {
	cfg  Config
	env  Env
	node subject.Replica
	// changer is node's count of changes, if its subject keeps one.
	changer subject.Changer
	log     *wal.WAL
	store   *kv.Store
	// pending maps a client to the request it is waiting on at this
	// server (clients issue one request at a time).
	pending map[uint64]pendingRequest
	// reads maps a client to the get it is waiting on at this server
	// (ReadIndex and ReadLease; reads.go).
	reads map[uint64]pendingRead
	// confirmedReads counts the reads in reads Raft has confirmed (the
	// ones that wait only for apply).
	confirmedReads int
	// monoStart is the monotonic clock at start and ticked the ticks
	// given to the node since (lease reads count ticks by the clock).
	monoStart time.Duration
	ticked    uint64
	// soft, term, commit and counters are what the last Ready left, to
	// see what changed.
	soft     subject.SoftState
	term     uint64
	commit   uint64
	counters subject.Counters
	// Replayed is what the WAL gave back at start, for tests and reports.
	Replayed wal.State
	// marks is the durable high-water mark file; mark is its last record.
	marks *hwmWriter
	mark  hwmRecord
	// walSnap is the snapshot the WAL records; snapIndex and snapBytes
	// are the last snapshot's index and size (for the policy).
	walSnap   raftpb.SnapshotMetadata
	snapIndex uint64
	snapBytes uint64
	stats     Stats
	halted    bool
	// wire is the buffer outgoing messages are encoded into, tag and body
	// together; Env.Send copies it, so one buffer serves every send.
	wire []byte
	// tickFn is s.tick as a func value, made once (each use of s.tick
	// as a value allocates a closure, and it is scheduled every tick).
	tickFn func()
}

// Stats counts a server's work since it started.
type Stats struct {
	Ticks, Readies, Saves   uint64
	MessagesSent, BytesSent uint64
	EntriesApplied          uint64
	ClientRequests          uint64
	Redirects               uint64
	// ReadsAsked counts gets sent to Raft for a read index, ReadsAnswered
	// gets answered from the state machine (any mode but ReadLog).
	ReadsAsked, ReadsAnswered uint64
	SnapshotsTaken            uint64
	SnapshotsInstalled        uint64
}

// Start replays the node's WAL, rebuilds its store, and starts ticking.
func Start(env Env, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if cfg.Planted.Has(plant.BlankRestart) {
		// The bug: forget the disk and come back as a new initial member.
		if err := wipe(env.Disk()); err != nil {
			return nil, err
		}
		cfg.EmptyDisk = Bootstrap
	}
	fs := env.Disk()
	names, err := fs.List()
	if err != nil {
		return nil, fmt.Errorf("server %d: list disk: %w", cfg.ID, err)
	}
	if len(names) == 0 {
		// The mark exists before anything else does, so a WAL without a
		// mark always means the mark was lost (see below); and a
		// replaced server's first mark already says it never votes.
		m, err := createHWM(fs, hwmRecord{VoteLost: cfg.EmptyDisk == Replaced})
		if err != nil {
			return nil, fmt.Errorf("server %d: write %s: %w", cfg.ID, hwmFile, err)
		}
		m.close()
	}
	mark, markStatus, markWhy, err := readHWM(fs)
	if err != nil {
		return nil, fmt.Errorf("server %d: %w", cfg.ID, err)
	}
	wopts := cfg.WAL
	wopts.KeepValidPrefix = true
	w, st, err := wal.Open(fs, wopts)
	if err != nil {
		return nil, fmt.Errorf("server %d: replay WAL: %w", cfg.ID, err)
	}
	snap, err := loadSnapshot(fs, st.Snapshot, cfg.Planted)
	if errors.Is(err, errSnapDamaged) {
		// The state machine the log stands on is gone: never run on it.
		// Start over from the hard state alone; the mark makes the node
		// recover (from a leader's snapshot) before it votes.
		env.Note(fmt.Sprintf("storage fault: %v: dropping the WAL, keeping term and vote, recovering from the leader", err))
		if w, st, err = restartFromHardState(fs, w, wopts, st.HardState); err != nil {
			return nil, fmt.Errorf("server %d: %w", cfg.ID, err)
		}
		snap = raftpb.Snapshot{}
	} else if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("server %d: %w", cfg.ID, err)
	}
	if err := removeSnapshotsExcept(fs, snapFileName(snap.Metadata.Index, snap.Metadata.Term)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("server %d: remove leftover snapshots: %w", cfg.ID, err)
	}
	walHS := st.HardState
	if markStatus == hwmMissing && (!st.HardState.IsEmpty() || len(st.Entries) > 0 || st.Snapshot.Index > 0) {
		// A WAL but no mark: the mark was written first, so it was lost
		// (cut to nothing). That is as unknown as a damaged one.
		markStatus, markWhy = hwmDamaged, "no complete record, but the WAL holds state"
	}
	// A disk with no Raft state is empty whatever files it holds: a crash
	// during the first start can leave the first mark or a WAL header
	// without the rest (and a Join or Replaced server that came back as
	// a blank initial voter could vote twice in a term).
	emptyDisk := markStatus != hwmDamaged && mark == (hwmRecord{VoteLost: mark.VoteLost}) &&
		st.HardState.IsEmpty() && len(st.Entries) == 0 && st.Snapshot.Index == 0
	if emptyDisk && cfg.EmptyDisk == Replaced {
		env.Note("storage fault: empty disk on a server that ran before (a replaced disk): it starts outside the configuration and never votes again")
	}
	rec := reconcile(&st, mark, markStatus)
	if st.Corrupt != nil {
		env.Note(fmt.Sprintf("storage fault: WAL damaged, kept the valid prefix: %v", st.Corrupt))
	}
	switch {
	case markStatus == hwmDamaged:
		env.Note(fmt.Sprintf("storage fault: %s damaged (%s): high-water mark unknown; the last vote cannot be vouched for, so this node will never vote again", hwmFile, markWhy))
	case markWhy != "":
		env.Note(fmt.Sprintf("storage fault: %s damaged (%s)", hwmFile, markWhy))
	}
	if rec.Recovering {
		env.Note(fmt.Sprintf("storage fault: WAL holds %d/%d, high-water mark %d/%d: recovering until %d (0: the last index of the first leader heard)",
			rec.LastIndex, rec.LastTerm, mark.LastIndex, mark.LastTerm, rec.RecoverTo))
	}
	if st.HardState != walHS {
		// Term and vote never go back: the mark's win, and the WAL
		// learns them before anything else happens.
		if err := w.Save(st.HardState, nil); err != nil && !errors.Is(err, wal.ErrInvalid) {
			_ = w.Close()
			return nil, fmt.Errorf("server %d: persist restored hard state: %w", cfg.ID, err)
		}
	}
	if emptyDisk && cfg.EmptyDisk == Replaced {
		// Before the mark is written: a restart must still know it, or
		// a replaced server whose WAL is then lost votes again.
		rec.VoteLost = true
	}
	marks, err := createHWM(fs, rec)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("server %d: write %s: %w", cfg.ID, hwmFile, err)
	}
	if cfg.Planted.Has(plant.ForgetVoteOnRestart) {
		st.HardState.Vote = 0
	}
	store := kv.New()
	if !snap.IsEmpty() {
		if err := store.Restore(snap.Data); err != nil || store.AppliedIndex() != snap.Metadata.Index {
			_ = w.Close()
			marks.close()
			return nil, fmt.Errorf("server %d: snapshot %d does not restore (applied %d): %v", cfg.ID, snap.Metadata.Index, store.AppliedIndex(), err)
		}
	}
	readOnly := subject.ReadSafe
	if cfg.Reads == ReadLease {
		readOnly = subject.ReadLease
	}
	node, err := cfg.Subject.Open(subject.Config{
		ID:    cfg.ID,
		Peers: cfg.Peers,
		// An empty disk that is not a bootstrap, or a server that is no
		// initial voter: with no log it is outside the configuration (a
		// joiner may have learned a term before any entry; raftsim's
		// Raft looks at Join only with nothing restored, etcd-io/raft's
		// adapter also with a term alone). EmptyDisk alone does not say
		// the latter: a restarted initial voter's is Replaced.
		Join:             emptyDisk && cfg.EmptyDisk != Bootstrap || !slices.Contains(cfg.Peers, cfg.ID),
		ElectionTick:     cfg.ElectionTicks,
		HeartbeatTick:    cfg.HeartbeatTicks,
		PreVote:          true,
		CheckQuorum:      true,
		ReadOnly:         readOnly,
		MaxClockDriftPPM: max(cfg.MaxDriftPPM, 0),
		MaxSizePerMsg:    cfg.MaxSizePerMsg,
		MaxInflightMsgs:  cfg.MaxInflightMsgs,
		Rand:             env.Rand(),
		Planted:          cfg.Planted.InRaft(),
	}, subject.Restored{HardState: st.HardState, Entries: st.Entries, Snapshot: snap,
		Recovering: rec.Recovering, RecoverTo: rec.RecoverTo, VoteLost: rec.VoteLost})
	if err != nil {
		_ = w.Close()
		marks.close()
		if errors.Is(err, subject.ErrUnsupported) {
			return nil, fmt.Errorf("server %d: %s cannot run here: %w", cfg.ID, cfg.Subject.Name, err)
		}
		return nil, fmt.Errorf("server %d: restore raft state: %w", cfg.ID, err)
	}
	changer, _ := node.(subject.Changer)
	s := &Server{cfg: cfg, env: env, node: node, changer: changer, log: w, store: store,
		pending: map[uint64]pendingRequest{}, reads: map[uint64]pendingRead{}, monoStart: env.Monotonic(),
		Replayed: st, marks: marks, mark: rec,
		walSnap: snap.Metadata, snapIndex: snap.Metadata.Index, snapBytes: uint64(len(snap.Data))}
	hs := st.HardState
	env.Note(fmt.Sprintf("replayed term=%d vote=%d commit=%d snapshot=%d entries=%d", hs.Term, hs.Vote, hs.Commit, snap.Metadata.Index, len(st.Entries)))
	if !snap.IsEmpty() && cfg.OnSnapshot != nil {
		cfg.OnSnapshot(cfg.ID, SnapshotRestored, &raftpb.Snapshot{Metadata: snap.Metadata, Data: store.Snapshot()})
	}
	s.soft, s.term, s.commit = subject.SoftState{Role: subject.Follower}, node.BasicStatus().Term, node.BasicStatus().Commit
	s.tickFn = s.tick
	env.After(cfg.TickInterval, s.tickFn)
	s.ready()
	return s, nil
}

func (s *Server) tick() {
	if s.halted {
		return
	}
	ticks, next := 1, s.cfg.TickInterval
	if s.cfg.Reads == ReadLease {
		ticks, next = s.ticksDue()
	}
	if !s.tickN(ticks) {
		return
	}
	s.ready()
	s.env.After(next, s.tickFn)
}

// tickN gives the node k ticks; false if it halted.
func (s *Server) tickN(k int) bool {
	for range k {
		s.stats.Ticks++
		if err := s.node.Tick(); err != nil {
			s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
			return false
		}
	}
	return true
}

// catchUp gives the node, under a lease, the ticks the monotonic clock
// says are overdue, before it handles a message: after a pause or a
// stall, what waited is handled in arrival order, so a get that arrived
// before the timer fired would otherwise be answered from a lease that
// ran out during the pause. False if the node halted.
func (s *Server) catchUp() bool {
	if s.cfg.Reads != ReadLease {
		return true
	}
	k, _ := s.ticksDue()
	return s.tickN(k)
}

// ticksDue returns how many ticks the monotonic clock says are due since
// the last ones given to the node, and the time to the next. A lease is
// counted in the leader's ticks, so a server that was paused, or stalled
// on a slow fsync, must count the ticks its timer could not deliver: one
// tick per late timer would stretch the lease in real time by the length
// of the stall. Never more than the clock says, either: a follower whose
// ticks ran ahead would time out, and stop honouring the lease, early.
func (s *Server) ticksDue() (int, time.Duration) {
	el := max(s.env.Monotonic()-s.monoStart, 0)
	due := uint64(el / s.cfg.TickInterval)
	k := due - min(s.ticked, due)
	s.ticked = max(s.ticked, due)
	return int(k), s.cfg.TickInterval - el%s.cfg.TickInterval
}

// Receive handles a message from the network: Raft traffic or a client request.
func (s *Server) Receive(from uint64, msg []byte) {
	if s.halted {
		return
	}
	tag, body, err := kv.SplitTag(msg)
	if err != nil {
		s.env.Note(fmt.Sprintf("bad message from %d: %v", from, err))
		return
	}
	if !s.catchUp() {
		return
	}
	switch tag {
	case kv.TagRaft:
		switch err := s.node.Step(from, body); {
		case err == nil, errors.Is(err, subject.ErrIgnored):
		case errors.Is(err, subject.ErrPanicked):
			s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
			return
		default:
			what := "message"
			if h, ok := s.cfg.Subject.Peek(body); ok {
				what = h.Type.String()
			}
			s.env.Note(fmt.Sprintf("step %s from %d: %v", what, from, err))
		}
	case kv.TagRequest:
		req, err := kv.DecodeRequest(body)
		if err != nil {
			s.env.Note(fmt.Sprintf("bad request from %d: %v", from, err))
			return
		}
		s.handleRequest(from, req)
	default:
		s.env.Note(fmt.Sprintf("unexpected tag %q from %d", tag, from))
		return
	}
	s.ready()
}

func (s *Server) handleRequest(from uint64, req kv.Request) {
	s.stats.ClientRequests++
	st := s.node.BasicStatus()
	if req.Cmd.Op == kv.OpGet && s.cfg.Planted.Has(plant.StaleLeaderReads) && st.Role == subject.Leader {
		// The bug: a leader answers from its own state, without
		// confirming it still leads.
		v, found := s.store.Get(req.Cmd.Key)
		s.respond(from, kv.Response{ClientID: req.ClientID, Seq: req.Seq, Status: kv.StatusOK,
			Result: kv.Result{Value: v, Found: found}})
		return
	}
	if req.Cmd.Op == kv.OpGet && s.handleGet(from, req, &st) {
		return
	}
	if st.Role != subject.Leader {
		s.stats.Redirects++
		hint := st.Lead
		if !s.node.Member() {
			hint = 0 // removed (or not yet added): what it knows of leaders is stale
		}
		s.respond(from, kv.Response{ClientID: req.ClientID, Seq: req.Seq, Status: kv.StatusNotLeader, LeaderHint: hint})
		return
	}
	if err := s.node.Propose(req.Cmd.Encode()); err != nil {
		if errors.Is(err, subject.ErrPanicked) {
			s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
			return
		}
		s.respond(from, kv.Response{ClientID: req.ClientID, Seq: req.Seq, Status: kv.StatusNotLeader, LeaderHint: st.Lead})
		return
	}
	s.pending[req.ClientID] = pendingRequest{from: from, seq: req.Seq}
	if s.cfg.OnPropose != nil {
		// Appended right after the log's last entry (Replica.Propose).
		s.cfg.OnPropose(s.cfg.ID, st.LastIndex+1)
	}
}

// pendingRequest is a client request this leader proposed and will answer
// when its entry applies.
type pendingRequest struct {
	from uint64
	seq  uint64
}

func (s *Server) respond(to uint64, resp kv.Response) {
	s.wire = resp.Append(append(s.wire[:0], kv.TagResponse))
	s.send(to, s.wire)
}

func (s *Server) send(to uint64, b []byte) {
	s.stats.MessagesSent++
	s.stats.BytesSent += uint64(len(b))
	s.env.Send(to, b)
}

// ready drains the node's Ready in the one safe order: persist and fsync,
// then send, then apply.
func (s *Server) ready() {
	for !s.halted && s.node.HasReady() {
		rd, err := s.node.Ready()
		if err != nil {
			s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
			return
		}
		s.stats.Readies++
		if s.snapshotsPastApplied() {
			// The bug: snapshot before this Ready's entries are applied.
			if err := s.maybeSnapshot(false); err != nil {
				s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
				return
			}
		}
		if rd.Snapshot != nil {
			if err := s.installSnapshot(rd.Snapshot); err != nil {
				s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
				return
			}
		}
		if err := s.lowerMarkForOverwrite(rd.Entries); err != nil {
			s.halt(fmt.Errorf("server %d: persist %s: %w", s.cfg.ID, hwmFile, err))
			return
		}
		// A Ready whose only change is the commit index need not be
		// persisted: commit is a hint that a restarted node re-learns.
		if len(rd.Entries) > 0 || rd.MustSync {
			s.stats.Saves++
			if err := s.log.Save(rd.HardState, rd.Entries); err != nil {
				// Fail-stop: a node that cannot persist must not speak.
				s.halt(fmt.Errorf("server %d: persist: %w", s.cfg.ID, err))
				return
			}
		}
		// The high-water mark follows the WAL, before any message that
		// depends on it goes out.
		next := s.mark
		if k := len(rd.Entries); k > 0 {
			next.LastIndex, next.LastTerm = rd.Entries[k-1].Index, rd.Entries[k-1].Term
		} else if sn := rd.Snapshot; sn != nil && sn.Metadata.Index > next.LastIndex {
			next.LastIndex, next.LastTerm = sn.Metadata.Index, sn.Metadata.Term
		}
		if !rd.HardState.IsEmpty() {
			next.Term, next.Vote = rd.HardState.Term, rd.HardState.Vote
		}
		st := s.node.BasicStatus()
		next.Recovering, next.RecoverTo, next.VoteLost = st.Recovering, st.RecoverTo, st.VoteLost
		if next != s.mark {
			if err := s.marks.put(next); err != nil {
				s.halt(fmt.Errorf("server %d: persist %s: %w", s.cfg.ID, hwmFile, err))
				return
			}
			if s.mark.Recovering && !next.Recovering {
				s.env.Note("recovered: caught up after a storage fault")
			}
			s.mark = next
		}
		if rd.SoftState != nil {
			s.env.Note(fmt.Sprintf("role=%s lead=%d", rd.SoftState.Role, rd.SoftState.Lead))
			if s.cfg.OnRole != nil {
				s.cfg.OnRole(s.cfg.ID, rd.SoftState.Role, rd.SoftState.Lead, st.Term)
			}
			if rd.SoftState.Role != subject.Leader {
				s.failPending()
			}
		}
		for _, m := range rd.Messages {
			s.wire = append(append(s.wire[:0], kv.TagRaft), m.Data...)
			s.send(m.To, s.wire)
		}
		for i := range rd.CommittedEntries {
			if err := s.apply(&rd.CommittedEntries[i]); err != nil {
				s.halt(err)
				return
			}
		}
		for _, rs := range rd.ReadStates {
			s.confirmRead(rs)
		}
		s.observe(rd.SoftState)
		s.answerReads()
		if err := s.node.Advance(rd); err != nil {
			s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
			return
		}
		if !s.snapshotsPastApplied() {
			if err := s.maybeSnapshot(rd.WantSnapshot); err != nil {
				s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
				return
			}
		}
	}
}

// lowerMarkForOverwrite makes the durable mark safe for a Save that
// replaces entries at or below it (a new leader overwriting an
// uncommitted suffix): it first lowers the mark to the entry before the
// overwrite. Otherwise a crash after the WAL fsync and before the new
// mark's would leave a mark naming an entry (index, term) the WAL no
// longer holds, and the node would restart believing its disk lost data:
// refusing votes it may give, and, after a power cut across a majority,
// leaving a cluster that can never elect a leader. The lowered mark is
// true before, during and after the Save.
func (s *Server) lowerMarkForOverwrite(ents []raftpb.Entry) error {
	if len(ents) == 0 || ents[0].Index > s.mark.LastIndex || s.cfg.Planted.Has(plant.UnsafeMarkOverwrite) {
		return nil
	}
	low := s.mark
	low.LastIndex = ents[0].Index - 1
	low.LastTerm, _ = s.node.LogTerm(low.LastIndex)
	if err := s.marks.put(low); err != nil {
		return err
	}
	s.mark = low
	return nil
}

func (s *Server) apply(e *raftpb.Entry) error {
	s.stats.EntriesApplied++
	if s.cfg.OnApply != nil {
		s.cfg.OnApply(s.cfg.ID, e)
	}
	if e.Type != raftpb.EntryNormal {
		// Membership is fixed in this issue; the store only counts the index.
		_, err := s.store.Apply(e.Index, nil)
		return err
	}
	cmd, res, err := s.store.ApplyEntry(e.Index, e.Data)
	if err != nil {
		return fmt.Errorf("server %d: apply entry %d: %w", s.cfg.ID, e.Index, err)
	}
	if len(e.Data) == 0 {
		return nil
	}
	if req, ok := s.pending[cmd.ClientID]; ok && req.seq == cmd.Seq {
		delete(s.pending, cmd.ClientID)
		s.respond(req.from, kv.Response{ClientID: cmd.ClientID, Seq: cmd.Seq, Status: kv.StatusOK, Result: res})
	}
	return nil
}

// failPending tells waiting clients that this server is no longer leader
// (StatusUnavailable: proposed, outcome unknown).
// Their commands may still commit; the client retries with the same
// sequence number, and the store's sessions apply it once.
func (s *Server) failPending() {
	ids := make([]uint64, 0, len(s.pending))
	for id := range s.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	lead := s.node.BasicStatus().Lead
	for _, id := range ids {
		req := s.pending[id]
		delete(s.pending, id)
		s.respond(req.from, kv.Response{ClientID: id, Seq: req.seq, Status: kv.StatusUnavailable, LeaderHint: lead})
	}
}

// restartFromHardState drops the WAL (its snapshot is lost) and opens a
// new one that holds only the hard state's term and vote.
func restartFromHardState(fs vfs.FS, w *wal.WAL, opts wal.Options, hs raftpb.HardState) (*wal.WAL, wal.State, error) {
	_ = w.Close()
	if err := wal.Destroy(fs); err != nil {
		return nil, wal.State{}, fmt.Errorf("drop the WAL: %w", err)
	}
	if err := removeSnapshotsExcept(fs, ""); err != nil {
		return nil, wal.State{}, fmt.Errorf("remove snapshots: %w", err)
	}
	w, st, err := wal.Open(fs, opts)
	if err != nil {
		return nil, wal.State{}, fmt.Errorf("reopen the WAL: %w", err)
	}
	hs.Commit = 0
	if !hs.IsEmpty() {
		if err := w.Save(hs, nil); err != nil {
			_ = w.Close()
			return nil, wal.State{}, fmt.Errorf("save the hard state: %w", err)
		}
		st.HardState = hs
	}
	return w, st, nil
}

// wipe removes every file on the disk: the planted BlankRestart bug, a
// node that comes back with no memory of the cluster.
func wipe(fs vfs.FS) error {
	names, err := fs.List()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := fs.Remove(name); err != nil {
			return err
		}
	}
	return fs.SyncDir()
}

func (s *Server) halt(err error) {
	s.halted = true
	s.marks.close()
	s.env.Exit(err)
}

// Propose proposes data as a command from this node itself (an embedded
// application, or a benchmark filling the log); it fails unless the node
// leads. Clients go through Receive.
func (s *Server) Propose(data []byte) error {
	return s.input(func() error { return s.node.Propose(data) })
}

// ProposeConfChange proposes a membership change (an operator's); it
// fails unless the node leads, with the reason Raft gives (a change
// pending, or one the configuration cannot take).
func (s *Server) ProposeConfChange(cc raftpb.ConfChangeV2) error {
	return s.input(func() error { return s.node.ProposeConfChange(cc) })
}

// input runs an operator's or an embedded application's input on a live
// server and drains what it caused; a subject that panics halts it.
func (s *Server) input(f func() error) error {
	if s.halted {
		return subject.ErrNotLeader
	}
	err := f()
	if errors.Is(err, subject.ErrPanicked) {
		s.halt(fmt.Errorf("server %d: %w", s.cfg.ID, err))
		return err
	}
	s.ready()
	return err
}

// Config is the configuration in force at this server.
func (s *Server) Config() tracker.Config { return s.node.Config() }

// Match is what this server, if it leads, knows peer holds.
func (s *Server) Match(peer uint64) (uint64, bool) { return s.node.Match(peer) }

// Subject is the Raft implementation the server drives.
func (s *Server) Subject() subject.Subject { return s.cfg.Subject }

// Store is the server's state machine, for checkers (read only).
func (s *Server) Store() *kv.Store { return s.store }

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return s.stats }

// WALStats returns the WAL's counters.
func (s *Server) WALStats() wal.Stats { return s.log.Stats() }
