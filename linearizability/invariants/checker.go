// Package invariants is the Raft safety checker: it watches every node of a
// simulated cluster with a global view that no node has, after every traced
// event, and reports the first violation of Raft's safety properties.
//
// Wiring (the cluster takes the apply hook before the checker can see the
// cluster):
//
//	ck := invariants.New(invariants.Options{StopWorld: true})
//	cfg.Server.OnApply = ck.OnApply
//	c, err := cluster.New(w, cfg)
//	ck.Install(c) // any Cluster; Attach, and chain w.Trace().OnEvent to ck.OnEvent
//	... run ...
//	if v := ck.Violation(); v != nil { ... }
//
// The invariants, by short id:
//
//   - election-safety: at most one leader per term, ever (terms are
//     remembered after their leader dies).
//   - log-matching: every (index, term) pair that appears in any node's log
//     names one entry (same data) with one predecessor term. By induction
//     on the index this is exactly "two logs with an entry of the same
//     index and term are identical up to it"; it is checked incrementally,
//     each entry once when it first appears in a node's log.
//   - leader-completeness: a leader of term T holds every entry known to be
//     committed in a term below T (checked in full when a node is first
//     seen leading a term, and incrementally as commits become known).
//   - state-machine-safety: no two nodes apply different entries (term,
//     type or data) at one index, and within one incarnation a node applies
//     indexes in order, each once.
//   - committed-never-lost: once an entry is known committed (applied
//     anywhere, or under some node's commit index), no node's commit index
//     ever covers a different entry (term or data) at that index, no
//     node's committed prefix is ever rewritten, and no node's log is ever
//     shorter than its own commit index.
//   - durable-monotonic: a node's term never decreases and its vote never
//     changes within a term, within an incarnation and across a restart (a
//     restarted node must come back with at least the term and vote it had
//     made durable before the crash).
//   - commit-monotonic: a live node's commit index never decreases within
//     one incarnation.
//   - snapshot-integrity: the state a snapshot holds is the state after
//     applying exactly the committed prefix it claims to cover. The
//     checker keeps its own replica of each node's state machine, fed by
//     the node's applies (themselves checked against the committed
//     entries); a snapshot a node takes must equal that replica at its
//     index, and one it installs or restores must be one a node took.
//   - config-safety: membership changes follow the rules that keep two
//     majorities from deciding apart. A node's configuration is always
//     what the changes it applied make of the one it started with, read
//     the safe way (one voter at a time, or through a joint
//     configuration: confchange.Apply), so none takes effect before it
//     commits; and a leader appends a change only when the previous one
//     in its log is committed and it has committed an entry of its own
//     term.
//
// "Known committed" is the checker's own knowledge: an entry at or below
// some live node's commit index, or one that a node applied. Each such
// entry is tagged with the term of the node that revealed it, an upper
// bound on the term in which it was committed; leader-completeness only
// demands entries whose tag is below the leader's term, which keeps the
// check sound for stale leaders cut off from newer commits.
//
// Durability: the checker records a node's (term, vote) as durable only
// where it must be: at event boundaries (timers, deliveries and world
// callbacks are traced before any process runs, so every node has finished
// and persisted its previous work, unless a slow fsync of its is still in
// flight) and when the node sends a message (the host persists before
// sending, and the message leaves only once that fsync completed). State a node held only in memory and
// never acted on may be lost by a crash without violating anything.
//
// Cost: after each event the checker looks only at the nodes that event
// (or the one before it) names, every node during world callbacks; each
// log entry is hashed and registered once per node incarnation, so the
// per-event cost does not grow with the log (see OnEvent and the
// benchmarks).
package invariants

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Node is the read-only view of one running server that the checker
// reads after every event; its methods must not allocate or change the
// server. Any Raft a host drives can offer it.
type Node interface {
	// BasicStatus is the node's Raft state without slices.
	BasicStatus() subject.Status
	// LogTerm is the term of the entry at index i (ok false if the log
	// does not hold it, or only as the snapshot's last index).
	LogTerm(i uint64) (term uint64, ok bool)
	// LogEntry is the entry at index i; its Data aliases the log.
	LogEntry(i uint64) (e raftpb.Entry, ok bool)
}

// Configured is an optional extension of Node: the membership
// configuration in force at the node (config-safety compares it with the
// changes the node applied).
type Configured interface {
	Config() tracker.Config
}

// Changer is an optional extension of Node: a count of the calls that
// may have changed the node (raft.Node.Changes). While it stands still
// nothing the checker reads of the node can have changed, so the checker
// looks again only at what depends on other nodes (leader completeness,
// as commits become known elsewhere) and skips the rest.
// ok is false when the node keeps no count (then it is looked at in full).
type Changer interface {
	Changes() (n uint64, ok bool)
}

// Replayer is an optional extension of Node: what the server replayed
// from its disk when it started, for messages about restarts.
type Replayer interface {
	ReplayedState() (hs raftpb.HardState, entries int)
}

// Cluster is what the checker watches: servers 1..Servers() on a World.
type Cluster interface {
	World() *sim.World
	Servers() int
	// Node is the running incarnation of server id, or nil while it is
	// down. It returns the same value for one incarnation and a different
	// one after a restart (the checker compares them to tell).
	Node(id int) Node
}

// Invariant ids, as reported in Violation.Invariant.
const (
	ElectionSafety     = "election-safety"
	LogMatching        = "log-matching"
	LeaderCompleteness = "leader-completeness"
	StateMachineSafety = "state-machine-safety"
	CommittedNeverLost = "committed-never-lost"
	DurableMonotonic   = "durable-monotonic"
	CommitMonotonic    = "commit-monotonic"
	SnapshotIntegrity  = "snapshot-integrity"
	ConfigSafety       = "config-safety"
)

// inv indexes the invariants (for cheap skip checks).
type inv uint8

const (
	invElection inv = iota
	invLogMatching
	invLeaderCompleteness
	invStateMachine
	invCommittedNeverLost
	invDurable
	invCommitMonotonic
	invSnapshot
	invConfig
	invCount
)

var invNames = [invCount]string{ElectionSafety, LogMatching, LeaderCompleteness, StateMachineSafety,
	CommittedNeverLost, DurableMonotonic, CommitMonotonic, SnapshotIntegrity, ConfigSafety}

// unknownTerm tags a committed entry whose revealing node's term is not
// known (applied while its server was still starting).
const unknownTerm = math.MaxUint64

// Invariants lists every invariant id the checker knows.
func Invariants() []string { return append([]string(nil), invNames[:]...) }

// Options tune a Checker. The zero value checks everything and leaves the
// world running after a violation.
type Options struct {
	// StopWorld makes the first violation call World.Stop, so the run ends
	// after the current event with the checker's message as the reason.
	StopWorld bool
	// Skip lists invariant ids not to check (tests use it to prove that
	// another invariant catches the same bug on its own). An unknown id
	// panics.
	Skip []string
	// ApplyConfChange is how a committed configuration change makes a
	// configuration under the rules of the Raft implementation being
	// checked (subject.Subject.ApplyConfChange); nil is raftsim's own,
	// confchange.Apply. A change it refuses is skipped, as every node
	// skips it.
	ApplyConfChange func(tracker.Config, raftpb.ConfChangeV2) (tracker.Config, error)
}

// Violation is the first broken invariant of a run.
type Violation struct {
	Invariant string   // short id, one of Invariants()
	At        sim.Time // world time
	// EventSeq is the trace sequence number (as Trace.Each counts) of the
	// event after which the violation was seen; a violation seen in the
	// apply hook, in the middle of an event's processing, carries the
	// last event traced before it.
	EventSeq uint64
	Message  string
	// Nodes is a dense dump of every server's state, one line each: role,
	// term, vote, commit, applied, last index/term and leader, or "down"
	// with what it had when last seen.
	Nodes string
}

func (v *Violation) String() string {
	return fmt.Sprintf("%s at %v (event %d): %s\n%s", v.Invariant, v.At, v.EventSeq, v.Message, v.Nodes)
}

// Error lets a Violation be returned as an error.
func (v *Violation) Error() string {
	return fmt.Sprintf("invariant %s violated at %v (event %d): %s", v.Invariant, v.At, v.EventSeq, v.Message)
}

// Stats counts the checker's work.
type Stats struct {
	Events       uint64 // events seen by OnEvent
	Checks       uint64 // full passes over every node (one per event until a violation)
	Applies      uint64 // entries seen by OnApply
	Incarnations uint64 // server incarnations observed (starts and restarts)
	Leaders      int    // terms with a known leader
	Committed    uint64 // highest index known committed
	Registered   uint64 // log entries checked for log matching (each once per node incarnation, plus rescans after truncation)
	// Looks counts nodes looked at, Unchanged those of them whose
	// Changes count stood still (only what depends on others rechecked).
	Looks, Unchanged uint64
}

// Checker is the invariant checker. It is not safe for concurrent use; it
// runs inside one simulated world like everything else.
type Checker struct {
	opts Options
	skip [invCount]bool
	c    Cluster
	w    *sim.World

	nodes   []nodeState       // by node id; index 0 unused
	leaders map[uint64]uint64 // term -> the node that led it
	// snapshots holds the hash of every snapshot a node took (and the
	// checker verified), by (index, term).
	snapshots map[pairKey]uint64

	// committed[i-floor] is what the checker knows was committed at index
	// i.
	committed []committedEntry
	high      uint64 // highest index in committed with known set

	// pairs[i-floor] is the first (term, data, predecessor term) seen at
	// index i in any log; extraPairs holds other terms seen at the same
	// index.
	pairs      []pairInfo
	extraPairs map[pairKey]pairInfo
	// floor is the least index the tables above still hold: every
	// server's copy of its log starts at or above it (its snapshot
	// covers what is below), and a server only ever registers, commits
	// or applies an index above its snapshot's, so nothing below floor
	// is looked up again. A long run's tables are as long as the logs
	// the servers hold, not the whole history.
	floor uint64

	// prevMask names the nodes the previous event named; inCall is set
	// while a world callback runs.
	prevMask uint64
	inCall   bool

	viol  *Violation
	stats Stats
}

type committedEntry struct {
	known   bool
	applied bool // defined by an apply (else by a node's commit index)
	term    uint64
	hash    uint64 // of type and data
	obsTerm uint64 // lowest term of a node seen holding it committed
	by      int    // the node that defined it
}

// lastSeen is what the checker keeps of a node's status between looks:
// scalars only, so keeping it costs no write barriers (a subject.Status
// holds slices; copying one into the heap on every event was a tenth of
// the checker's time).
type lastSeen struct {
	role                              subject.Role
	term, vote, commit, applied, lead uint64
	lastIndex, lastTerm, firstIndex   uint64
}

func (l *lastSeen) set(st *subject.Status) {
	*l = lastSeen{role: st.Role, term: st.Term, vote: st.Vote, commit: st.Commit, applied: st.Applied, lead: st.Lead,
		lastIndex: st.LastIndex, lastTerm: st.LastTerm, firstIndex: st.FirstIndex}
}

func (l *lastSeen) status() subject.Status {
	return subject.Status{Role: l.role, Term: l.term, Vote: l.vote, Commit: l.commit, Applied: l.applied, Lead: l.lead,
		LastIndex: l.lastIndex, LastTerm: l.lastTerm, FirstIndex: l.firstIndex}
}

type pairKey struct{ index, term uint64 }

type pairInfo struct {
	set            bool
	term, prevTerm uint64
	hash           uint64
	by             int
}

// shadowEntry is the checker's copy of one entry of a node's log.
type shadowEntry struct{ term, hash uint64 }

// shadowLog is the checker's copy of a node's log from base on: what is
// below base is behind the node's snapshot, never looked at again (a
// term 0 entry: unknown), so a long run's copy is as long as the log the
// node holds, not its whole history.
type shadowLog struct {
	base    uint64
	entries []shadowEntry // entries[i] is index base+i
}

// reset starts the copy at index base, whose term (the snapshot's, or 0
// at index 0) is term.
func (s *shadowLog) reset(base, term uint64) {
	s.base = base
	s.entries = append(s.entries[:0], shadowEntry{term: term})
}

// last is the last index copied.
func (s *shadowLog) last() uint64 { return s.base + uint64(len(s.entries)) - 1 }

// at is the copy of index j (term 0 below base).
func (s *shadowLog) at(j uint64) shadowEntry {
	if j < s.base {
		return shadowEntry{}
	}
	return s.entries[j-s.base]
}

// set replaces the copy of index j (ignored below base).
func (s *shadowLog) set(j uint64, e shadowEntry) {
	if j >= s.base {
		s.entries[j-s.base] = e
	}
}

// truncate keeps the indexes below j (at least base).
func (s *shadowLog) truncate(j uint64) {
	s.entries = s.entries[:max(j, s.base+1)-s.base]
}

func (s *shadowLog) append(e shadowEntry) { s.entries = append(s.entries, e) }

// trim forgets the indexes below to (a node's snapshot moved past them),
// once that is many entries: copying the rest stays linear.
func (s *shadowLog) trim(to uint64) {
	if to <= s.base || to-s.base < 4096 || to > s.last() {
		return
	}
	s.entries = slices.Clone(s.entries[to-s.base:])
	s.base = to
}

type nodeState struct {
	srv   Node     // current incarnation, nil while down
	stale Node     // the last incarnation: Cluster.Node may still return it while restarting
	seen  bool     // has ever been observed live
	last  lastSeen // as last observed (for the dump while down)
	// changer is the incarnation's Changer (nil: it has none); changes
	// its count when last looked at, confChanges when its configuration
	// was last compared (at a boundary).
	changer              Changer
	changes, confChanges uint64

	// durable (term, vote), as of the last point where it had to be on
	// disk; kept across incarnations.
	durKnown         bool
	durTerm, durVote uint64
	// voteLostTerm is the term a node that lost its vote record came back
	// with (0: it did not); it may vote in no later term.
	voteLostTerm uint64

	// Per incarnation.
	term, vote, commit uint64
	leaderTerm         uint64    // term this incarnation was last seen leading (0: none)
	lcNext             uint64    // next committed index to check against its log while it leads
	shadow             shadowLog // its log as registered, from its snapshot's index (a sentinel) on
	rewrites           uint64    // its Status.LogRewrites when shadow was last brought up to date
	checkedCommit      uint64    // committed prefix already compared with the committed table

	// Applies, per incarnation (reset at the start event, which precedes
	// the replay's applies). sm is the checker's own replica of the
	// node's state machine, fed the same entries.
	applied    uint64
	appliedAny bool
	sm         *kv.Store
	// conf is the configuration the changes the node applied make of the
	// one it started with (safely read); startCommit is its commit index
	// when the incarnation started: the node's own configuration already
	// reflects the changes up to it, the checker's once it applied them.
	conf        tracker.Config
	startCommit uint64
	// confIdx are the indexes of the configuration entries in shadow.
	confIdx []uint64
}

// New returns a checker. Its OnApply can be wired into the cluster's
// server config at once; OnEvent and Check need a cluster (Attach).
func New(opts Options) *Checker {
	ck := &Checker{opts: opts, leaders: map[uint64]uint64{}, extraPairs: map[pairKey]pairInfo{}, snapshots: map[pairKey]uint64{}}
	for _, name := range opts.Skip {
		found := false
		for i, id := range invNames {
			if id == name {
				ck.skip[i], found = true, true
			}
		}
		if !found {
			panic(fmt.Sprintf("invariants: unknown invariant %q in Options.Skip (known: %s)", name, strings.Join(invNames[:], ", ")))
		}
	}
	return ck
}

func (ck *Checker) skipped(i inv) bool { return ck.skip[i] }

func (ck *Checker) applyConfChange(cfg tracker.Config, cc raftpb.ConfChangeV2) (tracker.Config, error) {
	if ck.opts.ApplyConfChange != nil {
		return ck.opts.ApplyConfChange(cfg, cc)
	}
	return confchange.Apply(cfg, cc)
}

// Attach gives the checker its cluster. Call it once, right after
// cluster.New, before the world runs.
func (ck *Checker) Attach(c Cluster) {
	ck.c, ck.w = c, c.World()
	ck.grow(c.Servers())
}

// Install attaches c and makes the world's trace call OnEvent after every
// event (after any OnEvent hook already installed).
func (ck *Checker) Install(c Cluster) {
	ck.Attach(c)
	tr := c.World().Trace()
	if prev := tr.OnEvent; prev != nil {
		tr.OnEvent = func(e *sim.Event) {
			prev(e)
			ck.OnEvent(e)
		}
	} else {
		tr.OnEvent = ck.OnEvent
	}
	ck.Check()
}

// Hook returns OnApply as a function value, for server.Config.OnApply.
func (ck *Checker) Hook() func(id uint64, e *raftpb.Entry) { return ck.OnApply }

// Violation is the first violation found, or nil.
func (ck *Checker) Violation() *Violation { return ck.viol }

// Stats returns the checker's counters.
func (ck *Checker) Stats() Stats {
	s := ck.stats
	s.Leaders = len(ck.leaders)
	s.Committed = ck.high
	return s
}

func (ck *Checker) grow(n int) {
	for len(ck.nodes) <= n {
		ck.nodes = append(ck.nodes, nodeState{})
	}
}

// OnEvent is the trace hook: it checks every invariant after event e.
//
// A node's state changes only while it handles an event of its own (a
// timer, a delivery, its start) or while the harness calls into it from a
// world callback, and everything it does meanwhile is traced under its id.
// So after each event the checker looks at the nodes the event or the one
// before it names (the one before: a node's last change may follow its
// last traced event) and at every node while a world callback runs; the
// others cannot have changed since it last looked.
func (ck *Checker) OnEvent(e *sim.Event) {
	ck.stats.Events++
	if ck.viol != nil || ck.c == nil {
		return
	}
	boundary := false
	mask := nodeBit(e.Node)
	switch e.Kind {
	case sim.KindCrash, sim.KindStart, sim.KindRestart:
		// The process's old incarnation is gone (at a start, the cluster
		// still returns its old server until the new one is built).
		if id := int(e.Node); id >= 1 && id < len(ck.nodes) {
			ck.endIncarnation(&ck.nodes[id])
		}
	case sim.KindCall:
		// A world callback may call into any server.
		ck.inCall = true
		boundary = true
	case sim.KindTimer, sim.KindDeliver:
		// Traced as the world starts an event, before any process runs:
		// every node has finished (and persisted) its previous work.
		// (Faults, kills and pauses are not counted: a harness may inject
		// them from a trace hook in the middle of a node's work.)
		ck.inCall = false
		boundary = true
	case sim.KindDrop:
		// Dropped at send time, the sender is the peer.
		mask |= nodeBit(e.Peer)
	case sim.KindDisk:
		// A disk operation happens in the middle of its node's work
		// (persisting before it sends), is no boundary and makes nothing
		// durable the checker counts on (sends and boundaries do); the
		// node is looked at again at its next send or after its next
		// event, as after any event (prevMask). A quarter of all events
		// are disk operations.
		return
	}
	if ck.inCall {
		mask = allNodes
	}
	sender := 0
	if e.Kind == sim.KindSend {
		sender = int(e.Node)
	}
	ck.check(mask|ck.prevMask, boundary, sender)
	ck.prevMask = mask
}

// allNodes is the node mask that checks every node.
const allNodes = ^uint64(0)

// nodeBit is the mask bit of node id; the world (0) and ids beyond the
// mask stand for every node.
func nodeBit(id sim.NodeID) uint64 {
	if id <= 0 || id >= 64 {
		return allNodes
	}
	return 1 << uint(id)
}

// Check checks every invariant on every node now, without treating the
// moment as one where every node's state is durable.
func (ck *Checker) Check() {
	if ck.viol != nil || ck.c == nil {
		return
	}
	ck.check(allNodes, false, 0)
}

func (ck *Checker) endIncarnation(ns *nodeState) {
	if ns.srv != nil {
		ns.stale = ns.srv
	}
	ns.srv = nil
	ns.applied, ns.appliedAny = 0, false
	ns.sm = nil
	ns.conf = tracker.Config{}
}

// check looks at the nodes in mask. At a
// boundary every live node's (term, vote) is durable, and so is the
// sender's when a message leaves it.
func (ck *Checker) check(mask uint64, boundary bool, sender int) {
	ck.stats.Checks++
	n := ck.c.Servers()
	if len(ck.nodes) <= n {
		ck.grow(n)
	}
	for id := 1; id <= n && ck.viol == nil; id++ {
		ns := &ck.nodes[id]
		if mask&nodeBit(sim.NodeID(id)) == 0 {
			// Unchanged since it was last looked at.
			if boundary && ns.srv != nil {
				ck.durable(id, ns, ns.last.term, ns.last.vote)
			}
			continue
		}
		s := ck.c.Node(id)
		if s == nil || s == ns.stale {
			if ns.srv != nil {
				ck.endIncarnation(ns)
			}
			continue
		}
		ck.stats.Looks++
		if s == ns.srv && ns.changer != nil {
			if c, ok := ns.changer.Changes(); ok && c == ns.changes {
				ck.stats.Unchanged++
				ck.unchanged(id, ns, s, boundary, sender)
				continue
			}
		}
		if s != ns.srv {
			ns.changer, _ = s.(Changer)
		}
		if ns.changer != nil {
			ns.changes, _ = ns.changer.Changes()
		}
		status := s.BasicStatus()
		st := &status
		ns.last.set(st)
		if s != ns.srv {
			ck.startIncarnation(id, ns, s, st)
			if ck.viol != nil {
				return
			}
		}
		ck.checkNode(id, ns, s, st)
		if ck.viol == nil && boundary {
			ck.checkConfig(id, ns, s)
			ns.confChanges = ns.changes
		}
		// A node with a slow fsync in flight has not made its latest
		// state durable (and has sent nothing that depends on it).
		if ck.viol == nil && (boundary || sender == id) {
			ck.durable(id, ns, st.Term, st.Vote)
		}
	}
}

// unchanged is check for a node whose Changes count stood still since it
// was last looked at: its own state is what the checker saw then, so
// only what depends on other nodes is looked at again.
func (ck *Checker) unchanged(id int, ns *nodeState, s Node, boundary bool, sender int) {
	if ns.last.role == subject.Leader {
		// Other nodes may have revealed commits it must hold.
		st := ns.last.status()
		ck.checkLeader(id, ns, &st)
		if ck.viol != nil {
			return
		}
	}
	if boundary && ns.confChanges != ns.changes {
		ck.checkConfig(id, ns, s)
		if ck.viol != nil {
			return
		}
		ns.confChanges = ns.changes
	}
	if boundary || sender == id {
		ck.durable(id, ns, ns.last.term, ns.last.vote)
	}
}

// durable records that node id's (term, vote) is on its disk now, unless
// a slow fsync of its is still in flight.
func (ck *Checker) durable(id int, ns *nodeState, term, vote uint64) {
	if ns.durKnown && ns.durTerm == term && ns.durVote == vote {
		return // already known: no need to ask the disk
	}
	if !ck.w.Syncing(sim.NodeID(id)) {
		ns.durKnown, ns.durTerm, ns.durVote = true, term, vote
	}
}

// startIncarnation is the first sight of server s at node id.
func (ck *Checker) startIncarnation(id int, ns *nodeState, s Node, st *subject.Status) {
	ck.stats.Incarnations++
	ns.srv, ns.stale = s, nil
	// A node that says it cannot vouch for its vote (its record of it was
	// damaged) may come back with less; it must then never vote again,
	// which checkNode holds it to.
	if ns.durKnown && !st.VoteLost && !ck.skipped(invDurable) {
		replayed := ""
		if r, ok := s.(Replayer); ok {
			hs, n := r.ReplayedState()
			replayed = fmt.Sprintf(" (replayed term %d vote %d, %d entries)", hs.Term, hs.Vote, n)
		}
		switch {
		case st.Term < ns.durTerm:
			ck.fail(invDurable, "n%d restarted at term %d%s but had made term %d (vote %d) durable before it went down",
				id, st.Term, replayed, ns.durTerm, ns.durVote)
			return
		case st.Term == ns.durTerm && ns.durVote != 0 && st.Vote != ns.durVote:
			ck.fail(invDurable, "n%d restarted in term %d with vote %d%s but had durably voted for n%d in that term before it went down",
				id, st.Term, st.Vote, replayed, ns.durVote)
			return
		}
	}
	ns.seen = true
	ns.confChanges = ^uint64(0) // not yet compared in this incarnation
	ns.term, ns.vote, ns.commit = st.Term, st.Vote, st.Commit
	ns.voteLostTerm = 0
	if st.VoteLost {
		ns.voteLostTerm = st.Term
	}
	ns.leaderTerm, ns.lcNext = 0, 0
	// The copy starts at the snapshot's index: what is behind it the node
	// applied before (OnApply saw it) or installed (the snapshot checks
	// cover it).
	base := max(st.FirstIndex, 1) - 1
	term, _ := s.LogTerm(base)
	ns.shadow.reset(base, term)
	ns.confIdx = ns.confIdx[:0]
	ns.startCommit = st.Commit
	ns.rewrites = st.LogRewrites
	ns.checkedCommit = 0
}

func (ck *Checker) checkNode(id int, ns *nodeState, s Node, st *subject.Status) {
	// Term, vote and commit move forward only.
	if !ck.skipped(invDurable) {
		switch {
		case st.Term < ns.term:
			ck.fail(invDurable, "n%d's term went back from %d to %d", id, ns.term, st.Term)
			return
		case st.Term == ns.term && ns.vote != 0 && st.Vote != ns.vote:
			ck.fail(invDurable, "n%d changed its vote in term %d from n%d to %d", id, st.Term, ns.vote, st.Vote)
			return
		case ns.voteLostTerm > 0 && st.Term > ns.voteLostTerm && st.Vote != 0:
			ck.fail(invDurable, "n%d voted for n%d in term %d after losing the record of its vote (it came back at term %d): it may have voted in that term before",
				id, st.Vote, st.Term, ns.voteLostTerm)
			return
		}
	}
	if st.Commit < ns.commit && !ck.skipped(invCommitMonotonic) {
		ck.fail(invCommitMonotonic, "n%d's commit index went back from %d to %d", id, ns.commit, st.Commit)
		return
	}
	prevCommit := ns.commit
	ns.term, ns.vote, ns.commit = st.Term, st.Vote, st.Commit

	ck.trackLog(id, ns, s, st, prevCommit)
	if ck.viol != nil {
		return
	}
	ck.trackCommit(id, ns, s, st)
	if ck.viol != nil {
		return
	}
	if st.Role == subject.Leader {
		ck.checkLeader(id, ns, st)
	}
}

// checkConfig compares the node's configuration with the one the changes
// it applied make (at a boundary, when it has finished its work, and once
// it has applied what it had committed when it started).
func (ck *Checker) checkConfig(id int, ns *nodeState, s Node) {
	c, ok := s.(Configured)
	if !ok || ck.skipped(invConfig) || !ns.appliedAny || ns.applied < ns.startCommit {
		return
	}
	if got := c.Config(); !got.Equal(ns.conf) {
		ck.fail(invConfig, "n%d's configuration is %s, but the changes it applied make %s: a change took effect that is not committed, or not safely",
			id, got, ns.conf)
	}
}

// checkConfAppend checks a configuration change the leader id appended
// at index j in its term: the change before it must be committed, and so
// must every entry of an earlier term.
func (ck *Checker) checkConfAppend(id int, ns *nodeState, st *subject.Status, s Node, j uint64) {
	if ck.skipped(invConfig) {
		return
	}
	var prev uint64
	for _, i := range ns.confIdx {
		if i < j {
			prev = i
		}
	}
	if prev > st.Commit {
		ck.fail(invConfig, "n%d leads term %d and appended a configuration change at %d while the one at %d is not committed (commit %d): two changes pending",
			id, st.Term, j, prev, st.Commit)
		return
	}
	// Every entry of an earlier term must be committed: then the leader
	// has applied every change that committed before its term (they are
	// all in its log), and its configuration is the latest. raftsim's Raft
	// waits for an entry of its own term to commit, which implies it;
	// etcd-io/raft waits for what its log held when it took office.
	if t, ok := s.LogTerm(st.Commit + 1); ok && t != st.Term {
		ck.fail(invConfig, "n%d leads term %d and appended a configuration change at %d while entry %d of term %d is not committed (commit %d): it may not have applied every committed change",
			id, st.Term, j, st.Commit+1, t, st.Commit)
	}
}

// trackLog keeps ns.shadow equal to the node's log and registers every
// entry that appears in it for log matching. It is exact: the node counts
// every replacement of a log suffix (Status.LogRewrites, with the first
// index the latest one changed), so the checker knows which entries
// changed since it last looked without rescanning the log. An entry at or
// below the commit index the node had when last checked must never
// change (a follower may truncate a suffix and commit over the new
// entries in one step, so only entries at or below prevCommit count), and
// a log must never be shorter than its own commit index.
func (ck *Checker) trackLog(id int, ns *nodeState, s Node, st *subject.Status, prevCommit uint64) {
	if st.LastIndex < st.Commit && !ck.skipped(invCommittedNeverLost) {
		ck.fail(invCommittedNeverLost, "n%d's log ends at %d, below its own commit index %d: committed entries are gone",
			id, st.LastIndex, st.Commit)
		return
	}
	checked := ns.shadow.last()
	last := st.LastIndex
	from := checked + 1
	if st.LogRewrites != ns.rewrites || last < checked {
		// A suffix was replaced. With one replacement since the last
		// look its first changed index is known; with more (or a log
		// that shrank without one, which no correct node does), compare
		// everything.
		start := uint64(1)
		if st.LogRewrites == ns.rewrites+1 && last >= checked {
			start = max(st.LogRewriteFrom, 1)
		}
		ns.rewrites = st.LogRewrites
		lo := max(start, 1)
		if fi := st.FirstIndex; fi > 1 {
			// What the log no longer holds below its snapshot's index
			// the snapshot replaced: unknown here (the snapshot checks
			// cover it), not a difference.
			for j := max(lo, ns.shadow.base); j < fi-1 && j <= checked; j++ {
				ns.shadow.set(j, shadowEntry{})
			}
			lo = max(lo, fi-1)
		}
		j := ck.firstDifference(s, ns, lo, min(checked, last))
		if c := min(prevCommit, checked); j <= c && !ck.skipped(invCommittedNeverLost) {
			got := "nothing"
			if t, ok := s.LogTerm(j); ok {
				got = fmt.Sprintf("term %d", t)
			}
			ck.fail(invCommittedNeverLost, "n%d's committed entry %d (term %d) was replaced by %s: its log was rewritten at or below its commit index %d",
				id, j, ns.shadow.at(j).term, got, prevCommit)
			return
		}
		ns.shadow.truncate(j)
		ns.checkedCommit = min(ns.checkedCommit, j-1)
		for len(ns.confIdx) > 0 && ns.confIdx[len(ns.confIdx)-1] >= j {
			ns.confIdx = ns.confIdx[:len(ns.confIdx)-1]
		}
		from = j
	}
	for j := from; j <= last; j++ {
		e, ok := s.LogEntry(j)
		if !ok {
			// Compacted away (behind a snapshot): nothing to compare.
			t, _ := s.LogTerm(j)
			ns.shadow.append(shadowEntry{term: t})
			continue
		}
		h := hashEntry(&e)
		prev := ns.shadow.at(j - 1).term
		ns.shadow.append(shadowEntry{term: e.Term, hash: h})
		ck.stats.Registered++
		if e.Type == raftpb.EntryConfChange {
			if st.Role == subject.Leader && e.Term == st.Term {
				ck.checkConfAppend(id, ns, st, s, j)
				if ck.viol != nil {
					return
				}
			}
			ns.confIdx = append(ns.confIdx, j)
		}
		if !ck.skipped(invLogMatching) {
			ck.register(id, j, e.Term, prev, h)
			if ck.viol != nil {
				return
			}
		}
	}
	ns.shadow.trim(max(st.FirstIndex, 1) - 1)
	ck.raiseFloor()
}

// raiseFloor drops the tables' indexes below every server's copy of its
// log (see floor), once that is many entries.
func (ck *Checker) raiseFloor() {
	low := uint64(math.MaxUint64)
	for id := 1; id < len(ck.nodes); id++ {
		if ns := &ck.nodes[id]; ns.seen {
			low = min(low, ns.shadow.base)
		} else if ck.c != nil && id <= ck.c.Servers() {
			return // a server not seen yet may register anything
		}
	}
	if low == math.MaxUint64 || low < ck.floor+8192 {
		return
	}
	k := low - ck.floor
	ck.pairs = slices.Clone(ck.pairs[min(k, uint64(len(ck.pairs))):])
	ck.committed = slices.Clone(ck.committed[min(k, uint64(len(ck.committed))):])
	for key := range ck.extraPairs { //detguard:unordered deleting what is below the floor, in any order
		if key.index < low {
			delete(ck.extraPairs, key)
		}
	}
	ck.floor = low
}

// firstDifference is the first index in [from, to] where the node's log
// differs (term or data) from its shadow, or to+1 if none does. Entries
// before from that the log no longer holds are behind a snapshot, which
// the snapshot checks cover.
func (ck *Checker) firstDifference(s Node, ns *nodeState, from, to uint64) uint64 {
	for j := from; j <= to; j++ {
		e, ok := s.LogEntry(j)
		if !ok {
			if t, ok := s.LogTerm(j); ok && t == ns.shadow.at(j).term {
				continue // compacted: only the term is left to compare
			}
			return j
		}
		if se := ns.shadow.at(j); e.Term != se.term || hashEntry(&e) != se.hash {
			return j
		}
	}
	return to + 1
}

// register records that node id's log holds (index, term) with data hash h
// after an entry of term prev, and checks that against every other log.
func (ck *Checker) register(id int, index, term, prev, h uint64) {
	if index < ck.floor {
		return // behind every snapshot: see floor
	}
	for uint64(len(ck.pairs)) <= index-ck.floor {
		ck.pairs = append(ck.pairs, pairInfo{})
	}
	p := &ck.pairs[index-ck.floor]
	var got pairInfo
	switch {
	case !p.set:
		*p = pairInfo{set: true, term: term, prevTerm: prev, hash: h, by: id}
		return
	case p.term == term:
		got = *p
	default:
		k := pairKey{index, term}
		x, ok := ck.extraPairs[k]
		if !ok {
			ck.extraPairs[k] = pairInfo{set: true, term: term, prevTerm: prev, hash: h, by: id}
			return
		}
		got = x
	}
	switch {
	case got.hash != h:
		ck.fail(invLogMatching, "n%d and n%d both hold an entry at index %d of term %d, with different data (hash %016x vs %016x)",
			got.by, id, index, term, got.hash, h)
	case got.prevTerm != prev:
		ck.fail(invLogMatching, "n%d and n%d both hold (index %d, term %d) but their logs differ before it: entry %d has term %d on n%d and %d on n%d",
			got.by, id, index, term, index-1, got.prevTerm, got.by, prev, id)
	}
}

// trackCommit compares the node's newly committed entries, term and
// data, with the committed table, filling it where the node is the first
// to know.
func (ck *Checker) trackCommit(id int, ns *nodeState, s Node, st *subject.Status) {
	top := min(st.Commit, ns.shadow.last())
	// (Entries behind the snapshot are not in the log to compare.)
	for j := max(ns.checkedCommit+1, st.FirstIndex); j <= top; j++ {
		e, ok := s.LogEntry(j)
		if !ok {
			continue // compacted: not comparable
		}
		ck.observeCommitted(id, j, e.Term, hashEntry(&e), st.Term, false)
		if ck.viol != nil {
			return
		}
	}
	if top > ns.checkedCommit {
		ns.checkedCommit = top
	}
}

// observeCommitted records that node id holds (index, term, h) as
// committed (applied, or under its commit index) while at term obs.
func (ck *Checker) observeCommitted(id int, index, term, h, obs uint64, applied bool) {
	if index < ck.floor {
		return // behind every snapshot: see floor
	}
	for uint64(len(ck.committed)) <= index-ck.floor {
		ck.committed = append(ck.committed, committedEntry{})
	}
	ce := &ck.committed[index-ck.floor]
	if !ce.known {
		*ce = committedEntry{known: true, applied: applied, term: term, hash: h, obsTerm: obs, by: id}
		if index > ck.high {
			ck.high = index
		}
		return
	}
	if ce.term == term && ce.hash == h {
		if obs < ce.obsTerm {
			ce.obsTerm = obs
		}
		return
	}
	how := "committed on"
	if ce.applied {
		how = "applied by"
	}
	if applied {
		if !ck.skipped(invStateMachine) {
			ck.fail(invStateMachine, "n%d applied entry %d of term %d (hash %016x), but entry %d was %s n%d with term %d (hash %016x)",
				id, index, term, h, index, how, ce.by, ce.term, ce.hash)
		}
		return
	}
	if !ck.skipped(invCommittedNeverLost) {
		ck.fail(invCommittedNeverLost, "n%d's commit index covers entry %d of term %d (hash %016x), but entry %d was %s n%d with term %d (hash %016x)",
			id, index, term, h, index, how, ce.by, ce.term, ce.hash)
	}
}

// checkLeader checks election safety and leader completeness for a node
// that leads its term.
func (ck *Checker) checkLeader(id int, ns *nodeState, st *subject.Status) {
	term := st.Term
	if ns.leaderTerm != term {
		ns.leaderTerm = term
		if prev, ok := ck.leaders[term]; ok && prev != uint64(id) {
			if !ck.skipped(invElection) {
				ck.fail(invElection, "n%d and n%d both became leader of term %d", prev, id, term)
				return
			}
		} else if !ok {
			ck.leaders[term] = uint64(id)
		}
		// Newly seen leading: it must hold everything committed before.
		// Entries behind its snapshot are not compared: it applied each
		// of them, and OnApply compared it with the committed one (a scan
		// from index 1 cost every election the length of the whole
		// history).
		from := max(st.FirstIndex, 2, ck.floor+1) - 1
		if !ck.skipped(invLeaderCompleteness) {
			for j := max(from, ck.floor); j <= ck.high; j++ {
				if ce := &ck.committed[j-ck.floor]; ce.known && ce.obsTerm < term {
					if !ck.leaderHolds(id, ns, st, j, ce) {
						return
					}
				}
			}
		}
		ns.lcNext = from
	}
	if ck.skipped(invLeaderCompleteness) {
		return
	}
	// Then, as commits become known, everything committed below its term.
	ns.lcNext = max(ns.lcNext, ck.floor)
	for ns.lcNext <= ck.high {
		ce := &ck.committed[ns.lcNext-ck.floor]
		if !ce.known || ce.obsTerm >= term {
			break
		}
		if !ck.leaderHolds(id, ns, st, ns.lcNext, ce) {
			return
		}
		ns.lcNext++
	}
}

func (ck *Checker) leaderHolds(id int, ns *nodeState, st *subject.Status, j uint64, ce *committedEntry) bool {
	how := "committed on"
	if ce.applied {
		how = "applied by"
	}
	if j > ns.shadow.last() {
		ck.fail(invLeaderCompleteness, "n%d leads term %d with last index %d, but entry %d (term %d) was %s n%d at term %d",
			id, st.Term, st.LastIndex, j, ce.term, how, ce.by, ce.obsTerm)
		return false
	}
	if se := ns.shadow.at(j); se.term != 0 && se.term != ce.term {
		ck.fail(invLeaderCompleteness, "n%d leads term %d with entry %d of term %d, but entry %d of term %d was %s n%d at term %d",
			id, st.Term, j, se.term, j, ce.term, how, ce.by, ce.obsTerm)
		return false
	}
	return true
}

// OnApply is the server apply hook (server.Config.OnApply): node id
// applies e. It works before Attach too (the initial servers apply their
// bootstrap entries inside cluster.New).
func (ck *Checker) OnApply(id uint64, e *raftpb.Entry) {
	ck.stats.Applies++
	if ck.viol != nil {
		return
	}
	nid := int(id)
	ck.grow(nid)
	ns := &ck.nodes[nid]
	if ns.appliedAny && e.Index != ns.applied+1 && !ck.skipped(invStateMachine) {
		ck.fail(invStateMachine, "n%d applied entry %d right after entry %d", id, e.Index, ns.applied)
		return
	}
	if !ns.appliedAny && e.Index == 1 {
		ns.sm = kv.New() // from the start; else from the snapshot OnSnapshot gives
	}
	ns.applied, ns.appliedAny = e.Index, true
	if e.Type == raftpb.EntryConfChange {
		if cc, err := raftpb.DecodeConfChangeV2(e.Data); err == nil {
			if next, err := ck.applyConfChange(ns.conf, cc); err == nil {
				ns.conf = next
			}
		}
	}
	if ns.sm != nil {
		data := e.Data
		if e.Type != raftpb.EntryNormal {
			data = nil // the host applies a configuration entry as empty data
		}
		if _, err := ns.sm.Apply(e.Index, data); err != nil {
			// Not a command the store takes (the server halts on it and
			// the run says so): this node's state is no longer tracked.
			ns.sm = nil
		}
	}
	obs := uint64(unknownTerm)
	if ck.c != nil {
		if s := ck.c.Node(nid); s != nil && s == ns.srv {
			obs = s.BasicStatus().Term
		}
	}
	ck.observeCommitted(nid, e.Index, e.Term, hashEntry(e), obs, true)
}

// SnapshotKind says how a snapshot reached a node, for OnSnapshot.
type SnapshotKind uint8

const (
	SnapshotTaken     SnapshotKind = iota // from the node's own state machine
	SnapshotInstalled                     // received from a leader
	SnapshotRestored                      // loaded from the node's disk at start
)

// OnSnapshot is the server snapshot hook: node id took, installed or
// restored a snapshot at meta whose state machine (as the node now holds
// it, for an install or restore) is data. It must be called before the
// node applies anything after it; it does not keep data.
func (ck *Checker) OnSnapshot(id uint64, kind SnapshotKind, meta raftpb.SnapshotMetadata, data []byte) {
	if ck.viol != nil || ck.skipped(invSnapshot) {
		return
	}
	nid := int(id)
	ck.grow(nid)
	ns := &ck.nodes[nid]
	h := hashBytes(data)
	key := pairKey{meta.Index, meta.Term}
	switch kind {
	case SnapshotTaken:
		switch {
		case !ns.appliedAny || meta.Index != ns.applied:
			ck.fail(invSnapshot, "n%d took a snapshot at %d/%d, but it had applied up to %d: the snapshot claims a prefix its state is not",
				id, meta.Index, meta.Term, ns.applied)
			return
		case ns.sm != nil && !bytes.Equal(data, ns.sm.Snapshot()):
			ck.fail(invSnapshot, "n%d took a snapshot at %d/%d whose state differs from the committed prefix it claims (as the checker's replica holds it)",
				id, meta.Index, meta.Term)
			return
		}
		if old, ok := ck.snapshots[key]; ok && old != h {
			ck.fail(invSnapshot, "n%d took a snapshot at %d/%d that differs from the one another node took there", id, meta.Index, meta.Term)
			return
		}
		ck.snapshots[key] = h
		return
	}
	if want, ok := ck.snapshots[key]; !ok || want != h {
		what := "no node took a snapshot there"
		if ok {
			what = "its state differs from the snapshot a node took there"
		}
		ck.fail(invSnapshot, "n%d %s a snapshot at %d/%d: %s", id, kind, meta.Index, meta.Term, what)
		return
	}
	ns.conf = confchange.Restore(meta.ConfState)
	ns.sm = kv.New()
	if err := ns.sm.Restore(data); err != nil {
		ck.fail(invSnapshot, "n%d %s a snapshot at %d/%d that does not decode: %v", id, kind, meta.Index, meta.Term, err)
		return
	}
	ns.applied, ns.appliedAny = meta.Index, true
}

func (k SnapshotKind) String() string {
	switch k {
	case SnapshotTaken:
		return "took"
	case SnapshotInstalled:
		return "installed"
	}
	return "restored"
}

func hashBytes(b []byte) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * prime
	}
	return h
}

func (ck *Checker) fail(i inv, format string, args ...any) {
	invariant := invNames[i]
	if ck.viol != nil {
		return
	}
	v := &Violation{Invariant: invariant, Message: fmt.Sprintf(format, args...)}
	if ck.w != nil {
		v.At = ck.w.Now()
		if n := ck.w.Trace().Len(); n > 0 {
			v.EventSeq = n - 1
		}
	}
	v.Nodes = ck.dump()
	ck.viol = v
	if ck.opts.StopWorld && ck.w != nil {
		ck.w.Stop("invariant " + invariant + ": " + v.Message)
	}
}

// dump renders every server's state, one line each.
func (ck *Checker) dump() string {
	if ck.c == nil {
		return ""
	}
	var b strings.Builder
	for id := 1; id <= ck.c.Servers(); id++ {
		if id > 1 {
			b.WriteByte('\n')
		}
		var ns *nodeState
		if id < len(ck.nodes) {
			ns = &ck.nodes[id]
		}
		s := ck.c.Node(id)
		switch {
		case s != nil && (ns == nil || s != ns.stale):
			st := s.BasicStatus()
			fmt.Fprintf(&b, "n%d %s", id, formatStatus(&st))
		case ns != nil && ns.seen:
			last := ns.last.status()
			fmt.Fprintf(&b, "n%d down (last seen %s)", id, formatStatus(&last))
		default:
			fmt.Fprintf(&b, "n%d down", id)
		}
	}
	return b.String()
}

func formatStatus(st *subject.Status) string {
	return fmt.Sprintf("%s term=%d vote=%d commit=%d applied=%d last=%d/%d lead=%d",
		st.Role, st.Term, st.Vote, st.Commit, st.Applied, st.LastIndex, st.LastTerm, st.Lead)
}

// hashEntry is FNV-1a over the entry's type and data.
func hashEntry(e *raftpb.Entry) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	h = (h ^ uint64(e.Type)) * prime
	for _, c := range e.Data {
		h = (h ^ uint64(c)) * prime
	}
	return h
}
