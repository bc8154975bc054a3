// Package plant names bugs that tests plant in raft and its server on
// purpose, to prove the harness catches each one. A harness that a known
// bug slips past is not done. Real configurations plant nothing: the zero
// Set.
//
// Every bug here is one raftsim exists to catch; its comment says which
// check must report it.
//
// The checks are compiled only with the build tag raftsim_plant (the
// tests and `simrun --plant` use it: `go test -tags raftsim_plant ./...`,
// `go run -tags raftsim_plant ./cmd/simrun --plant BUG`). Without it,
// Set.Has is the constant false, so every planted branch is dead code the
// compiler removes, and Check refuses a non-empty Set: a production build
// carries no planted bug, and cannot be asked for one.
package plant

import (
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strings"
)

// Bug is one planted bug.
type Bug uint32

const (
	// BlankRestart: a restarted server ignores its WAL and comes back as a
	// blank follower (seed failure 1). Caught by restart-remembers: the
	// node's replayed state and its catch-up traffic.
	BlankRestart Bug = 1 << iota
	// NoHeartbeats: a leader sends no heartbeats when it has nothing to
	// replicate (seed failure 2). Caught by quiet-leader: terms change in a
	// quiet period.
	NoHeartbeats
	// ResendWholeLog: every append resends the log from its first entry
	// (seed failure 3). Caught by the per-write cost checks.
	ResendWholeLog
	// ForgetVoteOnRestart: a restarted server drops the vote it persisted.
	// Caught by the invariant that vote never moves backwards across a
	// restart. (It cannot reach two leaders in one term: the WAL refuses
	// to record a second vote within a term, and the server stops.)
	ForgetVoteOnRestart
	// CommitPriorTerm: a leader commits an entry of an earlier term by
	// counting replicas (Raft paper, Figure 8). Caught by the committed-
	// entry-never-lost and state machine safety invariants.
	CommitPriorTerm
	// StaleLeaderReads: a leader answers gets from its local state without
	// confirming it still leads. Caught by linearizability when a deposed
	// leader serves a stale value.
	StaleLeaderReads
	// IgnoreRecovery: a node that found its durable data truncated or
	// damaged (its WAL shorter than its high-water mark) votes and
	// campaigns at once, as if nothing was lost. Caught by the
	// committed-entry-never-lost invariant when storage faults hit nodes
	// a commit counted on.
	IgnoreRecovery
	// LooseQuorum: elections are won, entries committed and reads
	// confirmed by half the voters instead of a majority, so two halves
	// can both make progress.
	// Caught by even-split (commits while split 2-2, two leaders in a
	// term) and majority-failure (progress with 2 of 5 up).
	LooseQuorum
	// NoStepDown: a leader cut off from its quorum never steps down
	// (CheckQuorum without its teeth). Caught by leader-isolation: two
	// nodes believe they lead while the old one is cut off.
	NoStepDown
	// UnsafeMarkOverwrite: a server overwriting an uncommitted suffix
	// saves the new entries before lowering its high-water mark, so a
	// crash between the two fsyncs leaves a mark naming an entry the WAL
	// legitimately replaced: the node restarts believing its disk lost
	// data. Caught by power-cut-overwrite: a server reports storage damage
	// no fault dealt it.
	UnsafeMarkOverwrite
	// SnapshotOffByOne: a snapshot's metadata names the entry before the
	// last one its state machine applied. Caught by the snapshot-integrity
	// invariant (the state a snapshot holds is not the state after the
	// prefix it claims), and by the node that installs it.
	SnapshotOffByOne
	// SnapshotPastApplied: a server snapshots as of its commit index
	// while the entries up to it are still being applied, so the
	// snapshot claims entries its state machine lacks. Caught by the
	// snapshot-integrity invariant.
	SnapshotPastApplied
	// SnapshotNotSynced: a snapshot file is renamed into place without
	// its fsyncs before the WAL records it and releases what it covers;
	// a crash loses the file the WAL names. Caught by snapshot-crash: the
	// node reports storage damage no fault dealt it.
	SnapshotNotSynced
	// SnapshotDropsSessions: a follower installs a snapshot without its
	// client sessions, so a retried write applies twice. Caught by the
	// snapshot-integrity invariant (the next snapshot it takes lacks
	// them) and by linearizability.
	SnapshotDropsSessions
	// SnapshotUnchecked: a server loads its snapshot file without
	// verifying its checksum, and runs on whatever a damaged file holds.
	// Caught by snapshot-damage: the snapshot-integrity invariant (it
	// restored a state no node took) or a halted node.
	SnapshotUnchecked
	// FixedElectionTimeout: every election timeout is the minimum, never
	// randomized, so servers that start (or lose a leader) together time
	// out together and split the vote, round after round. Caught by
	// election-budget: far more vote requests than one election needs.
	FixedElectionTimeout
	// NaiveChange: a change of several voters is made in one step, with
	// no joint phase, so a majority of the old voters and a disjoint
	// majority of the new ones can both decide. Caught by naive-change:
	// two leaders in one term, or a committed entry lost.
	NaiveChange
	// TwoPendingChanges: the leader accepts a configuration change while
	// another is not yet applied. Caught by two-changes.
	TwoPendingChanges
	// LearnerCounts: a learner's acknowledgements count toward commit.
	// Caught by learner-join.
	LearnerCounts
	// PromoteLaggingLearner: a learner is promoted to voter before it
	// holds what is committed, so the quorum waits for it to catch up.
	// Caught by promote-lagging: no progress for as long as that takes.
	PromoteLaggingLearner
	// EarlyRemoval: a follower applies a removal as soon as it appends
	// it, before it commits. Caught by the config-safety invariant.
	EarlyRemoval
	// ReadIndexWithoutRound: a leader answers a read index at once, with
	// its commit index, without the heartbeat round that confirms it
	// still leads. Caught by read-index-partition: a deposed leader's
	// clients complete reads (and linearizability, when one is stale).
	ReadIndexWithoutRound
	// ReadBeforeApply: a server answers a confirmed read before it has
	// applied up to the read's index (a follower whose state machine is
	// behind). Caught by read-index-batching: linearizability.
	ReadBeforeApply
	// LeaseNoDriftMargin: a lease lasts the whole election timeout, not
	// shortened for clock drift and tick phase. Caught by
	// lease-drift-within: drift within the bound lets a new leader be
	// elected inside the old one's lease, which serves a stale read.
	LeaseNoDriftMargin
	// LeaseWithoutCheckQuorum: lease reads stay on while followers no
	// longer honour the lease (CheckQuorum off), so a candidate is
	// elected while the old leader still serves from its lease. Caught
	// by lease-checkquorum: linearizability.
	LeaseWithoutCheckQuorum
	// TransferKeepsProposing: a leader transferring leadership still
	// takes proposals, so its target never catches up and the transfer
	// fails. Caught by leader-transfer: the leader does not change.
	TransferKeepsProposing
	bugEnd
)

var names = map[Bug]string{
	BlankRestart:          "blank-restart",
	NoHeartbeats:          "no-heartbeats",
	ResendWholeLog:        "resend-whole-log",
	ForgetVoteOnRestart:   "forget-vote-on-restart",
	CommitPriorTerm:       "commit-prior-term",
	StaleLeaderReads:      "stale-leader-reads",
	LooseQuorum:           "loose-quorum",
	NoStepDown:            "no-step-down",
	IgnoreRecovery:        "ignore-recovery",
	UnsafeMarkOverwrite:   "unsafe-mark-overwrite",
	SnapshotOffByOne:      "snapshot-off-by-one",
	SnapshotPastApplied:   "snapshot-past-applied",
	SnapshotNotSynced:     "snapshot-not-synced",
	SnapshotDropsSessions: "snapshot-drops-sessions",
	SnapshotUnchecked:     "snapshot-unchecked",
	FixedElectionTimeout:  "fixed-election-timeout",
	NaiveChange:           "naive-change",
	TwoPendingChanges:     "two-pending-changes",
	LearnerCounts:         "learner-counts",
	PromoteLaggingLearner: "promote-lagging-learner",
	EarlyRemoval:          "early-removal",

	ReadIndexWithoutRound:   "read-index-without-round",
	ReadBeforeApply:         "read-before-apply",
	LeaseNoDriftMargin:      "lease-no-drift-margin",
	LeaseWithoutCheckQuorum: "lease-without-checkquorum",
	TransferKeepsProposing:  "transfer-keeps-proposing",
}

func (b Bug) String() string {
	if s, ok := names[b]; ok {
		return s
	}
	return fmt.Sprintf("bug(%#x)", uint32(b))
}

// All lists every bug, in declaration order.
func All() []Bug {
	var out []Bug
	for b := Bug(1); b < bugEnd; b <<= 1 {
		out = append(out, b)
	}
	return out
}

// Parse returns the bug with the given name.
func Parse(name string) (Bug, error) {
	for _, b := range All() {
		if b.String() == name {
			return b, nil
		}
	}
	known := make([]string, 0, len(names))
	for _, b := range All() {
		known = append(known, b.String())
	}
	sort.Strings(known)
	return 0, fmt.Errorf("unknown bug %q (known: %s)", name, strings.Join(known, ", "))
}

// inRaft are the bugs planted in the Raft protocol itself (raft.Node:
// the subject under test), as opposed to its host (raft/server: the WAL,
// the mark, snapshots on disk, reads): only a subject that can plant
// bugs runs a scenario that plants one of these; the host's bugs plant
// under any subject.
var inRaft = Of(NoHeartbeats, ResendWholeLog, CommitPriorTerm, LooseQuorum, NoStepDown, IgnoreRecovery,
	SnapshotPastApplied, FixedElectionTimeout, NaiveChange, TwoPendingChanges, LearnerCounts,
	PromoteLaggingLearner, EarlyRemoval, ReadIndexWithoutRound, LeaseNoDriftMargin,
	LeaseWithoutCheckQuorum, TransferKeepsProposing)

// InRaft reports whether b is planted in the Raft protocol (the subject)
// rather than in its host.
func (b Bug) InRaft() bool { return inRaft&Set(b) != 0 }

// InRaft is the part of s planted in the Raft protocol (the subject).
func (s Set) InRaft() Set { return s & inRaft }

// Set is a set of planted bugs.
type Set uint32

// Of returns the set of the given bugs.
func Of(bugs ...Bug) Set {
	var s Set
	for _, b := range bugs {
		s |= Set(b)
	}
	return s
}

// Contains reports whether s names b. It is bookkeeping (printing,
// validating); whether a bug is planted in the code is Has, which a
// build without the raftsim_plant tag compiles to false.
func (s Set) Contains(b Bug) bool { return s&Set(b) != 0 }

// Len is the number of bugs planted.
func (s Set) Len() int { return bits.OnesCount32(uint32(s)) }

func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	var parts []string
	for _, b := range All() {
		if s.Contains(b) {
			parts = append(parts, b.String())
		}
	}
	return strings.Join(parts, ",")
}

// ErrNotCompiled is what Check returns in a build without the checks.
var ErrNotCompiled = errors.New("planted bugs are compiled out of this build")

// Tag is the build tag that compiles the planted bugs in.
const Tag = "raftsim_plant"

// Check returns an error if s plants bugs this build cannot plant.
func Check(s Set) error {
	if s != 0 && !Compiled {
		return fmt.Errorf("%w (asked for %s): build with -tags %s, e.g. go run -tags %s ./cmd/simrun --plant %s",
			ErrNotCompiled, s, Tag, Tag, s)
	}
	return nil
}

// Skip skips a test that needs planted bugs in a build without them.
func Skip(t interface {
	Helper()
	Skip(args ...any)
}) {
	t.Helper()
	if !Compiled {
		t.Skip("planted bugs are compiled out: run with -tags " + Tag)
	}
}
