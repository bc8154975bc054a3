package faults

import (
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/sim"
)

// Kind names a fault kind exactly as the scenario language spells it.
type Kind string

// The kinds. The package doc lists what each does and undoes; the kinds
// table below says everything else about them.
const (
	Kill             Kind = "kill"
	TornKill         Kind = "torn-kill"
	Pause            Kind = "pause"
	Isolate          Kind = "isolate"
	IsolateLeader    Kind = "isolate-leader"
	Partition        Kind = "partition"
	MajorityMinority Kind = "majority-minority"
	EvenSplit        Kind = "even-split"
	Bridge           Kind = "bridge"
	OneWay           Kind = "one-way"
	Loss             Kind = "loss"
	Delay            Kind = "delay"
	Duplicate        Kind = "duplicate"
	Reorder          Kind = "reorder"
	ClockSkew        Kind = "clock-skew"
	ClockDrift       Kind = "clock-drift"
	ClockJump        Kind = "clock-jump"
	Truncate         Kind = "truncate"
	Bitflip          Kind = "bitflip"
	TruncateMark     Kind = "truncate-mark"
	BitflipMark      Kind = "bitflip-mark"
	TruncateSnapshot Kind = "truncate-snapshot"
	BitflipSnapshot  Kind = "bitflip-snapshot"
	Wipe             Kind = "wipe"
	SlowFsync        Kind = "slow-fsync"
	FullDisk         Kind = "full-disk"
	FailFsync        Kind = "fail-fsync"
	Quiet            Kind = "quiet"
	// Membership changes, made by an operator at the leader (instants).
	AddLearner Kind = "add-learner"
	Promote    Kind = "promote"
	Add        Kind = "add"
	Remove     Kind = "remove"
	Change     Kind = "change"
	// Transfer is no failure but an operator's action: hand leadership
	// to a server. It is never drawn unless named (DefaultKinds leaves
	// it out); the runner's swarm adds transfers from a stream of its own.
	Transfer Kind = "transfer"
)

// target is what a kind acts on, and how a line writes it.
type target uint8

const (
	targetNone   target = iota // the whole cluster (quiet) or resolved at start (isolate-leader)
	targetNodes                // Nodes, or Leader, or a random draw
	targetGroups               // Groups, separated by " | "
	targetOneWay               // Groups[0] -> Groups[1]
	targetChange               // Groups[0] added, Groups[1] removed: +n4,+n5,-n1
)

// untilRule says whether a line of the kind writes an end.
type untilRule uint8

const (
	untilRequired  untilRule = iota // a state held from At to Until
	untilOptional                   // kill-shaped: without an end, restart at once
	untilForbidden                  // instantaneous: Until == At, nothing to undo
)

// kindSpec is everything about one kind: how a line writes it, what it may
// target, the flags the generator and the runner read, and what it does.
// Adding a kind is adding one entry to kinds (and its line in the package
// doc and in docs/SCENARIOS.md); TestEveryKind walks the table and proves
// the entry prints, parses, validates, applies and undoes.
type kindSpec struct {
	kind Kind
	// How a line writes it (line.go prints and parses all three).
	target target
	param  param
	until  untilRule
	// example is a valid line of the kind on five servers (four, for a
	// kind that needs an even count): Kind.Example, and what tests run.
	example string
	// family groups kinds a report draws alike (Kind.Family).
	family string

	// What it may target.
	leader bool // Leader may stand for Nodes
	// leaderVia is, for a node kind that takes no Leader target, the
	// kind that does what it would (isolate: isolate-leader).
	leaderVia Kind
	// onLeader: the kind acts on the server leading at At (isolate-leader),
	// and is skipped with no leader then.
	onLeader bool
	// leaderPicks: Leader asks the leader to pick the target (transfer:
	// its most up-to-date follower), so the leader itself is no target.
	leaderPicks bool
	// one: a target drawn at start is one server, not a random minority.
	one bool
	// minServers and evenServers are the cluster sizes the kind fits
	// (Validate and the generator both ask).
	minServers  int
	evenServers bool
	// shape checks a group kind's groups, given the servers each names
	// once resolved (nil: any shape).
	shape func(f Fault, sizes []int, n int) string
	// check is any further rule on the targets (nil: none).
	check func(f Fault, n int) string

	// Flags.
	// down: the fault may take its nodes down (kill-shaped kinds and the
	// disk faults that make a server fail-stop); the generator's down
	// budget counts it.
	down    bool
	storage bool // damages durable data
	member  bool // a membership change: one node (or the leader) at an instant
	// operator: an operator's action, not a fault Raft must tolerate;
	// DefaultKinds leaves it out.
	operator bool

	// Behaviour (nemesis.go, generate.go).
	// drawGroups resolves a group kind's groups at start when the line
	// names none, from all servers shuffled (nil: the line must name them).
	drawGroups func(nm *nemesis, shuffled []int) [][]int
	apply      func(nm *nemesis, r *run)
	undo       func(nm *nemesis, r *run) // nil exactly for an instantaneous kind
	// link is how one active fault of a link kind changes a link's
	// configuration (nil for other kinds).
	link func(cfg *sim.LinkConfig, f Fault)
	// knobs draws the swarm's intensity for the kind (nil: it has none).
	knobs func(r *sim.Rand, kn *Knobs)
	// timed: the drawn delay competes with Raft's timers (a link delay,
	// a slow fsync), so like lengths and gaps it stretches with an
	// election timeout beyond ReferenceElection.
	timed bool
	// draw fills a generated fault's targets and parameter, or reports
	// false if the generator's rules leave no room for it now (nil: the
	// targets are resolved at start).
	draw func(g *generator, kn Knobs, f *Fault) bool
}

// kinds is every kind, in canonical order: Kinds, Summary and error
// messages list them in it, and the generator draws its swarm in it.
var kinds = []kindSpec{
	{
		kind: Kill, target: targetNodes, until: untilOptional, family: "kill",
		example: "at 2s kill n3 until 4s",
		leader:  true, down: true,
		apply: (*nemesis).applyKill, undo: (*nemesis).undoDown,
		draw: drawDown(true, nil),
	},
	{
		kind: TornKill, target: targetNodes, until: untilOptional, family: "kill",
		example: "at 2s torn-kill leader until 3s",
		leader:  true, down: true,
		apply: (*nemesis).applyTornKill, undo: (*nemesis).undoDown,
		draw: drawDown(true, nil),
	},
	{
		kind: Pause, target: targetNodes, family: "pause",
		example: "at 2s pause n1,n2 until 3s",
		leader:  true,
		apply:   (*nemesis).applyPause, undo: (*nemesis).undoPause,
		draw: drawPause,
	},
	{
		kind: Isolate, target: targetNodes, family: "isolate",
		example:   "at 2s isolate n2 until 4s",
		leaderVia: IsolateLeader, one: true,
		apply: (*nemesis).applyIsolate, undo: (*nemesis).undoCuts,
		draw: drawOne,
	},
	{
		kind: IsolateLeader, target: targetNone, family: "isolate",
		example:  "at 4s isolate-leader until 6s",
		onLeader: true,
		apply:    (*nemesis).applyIsolate, undo: (*nemesis).undoCuts,
	},
	{
		kind: Partition, target: targetGroups, family: "partition",
		example:    "at 2s partition n1,n2 | n3,n4,n5 until 5s",
		minServers: 2, shape: partitionShape,
		apply: (*nemesis).applySplit, undo: (*nemesis).undoCuts,
		draw: drawPartition,
	},
	{
		kind: MajorityMinority, target: targetGroups, family: "partition",
		example:    "at 3s majority-minority until 5s",
		minServers: 3, shape: majorityMinorityShape, drawGroups: drawMajorityMinority,
		apply: (*nemesis).applySplit, undo: (*nemesis).undoCuts,
	},
	{
		kind: EvenSplit, target: targetGroups, family: "partition",
		example:    "at 3s even-split n1,n4 | n2,n3 until 5s",
		minServers: 2, evenServers: true, shape: evenSplitShape, drawGroups: drawEvenSplit,
		apply: (*nemesis).applySplit, undo: (*nemesis).undoCuts,
	},
	{
		kind: Bridge, target: targetGroups, family: "partition",
		example:    "at 2s bridge n1,n2 | n3 | n4,n5 until 4s",
		minServers: 3, shape: bridgeShape, drawGroups: drawBridge,
		apply: (*nemesis).applyBridge, undo: (*nemesis).undoCuts,
	},
	{
		kind: OneWay, target: targetOneWay, family: "partition",
		example:    "at 1s one-way n1 -> n2,n3 until 2s",
		minServers: 2, shape: oneWayShape, drawGroups: drawOneWay,
		apply: (*nemesis).applyOneWay, undo: (*nemesis).undoCuts,
	},
	{
		kind: Loss, target: targetNodes, param: paramProb, family: "link",
		example: "at 2s loss 0.2 n1,n2 until 4s",
		leader:  true,
		apply:   (*nemesis).applyLink, undo: (*nemesis).undoLink,
		link:  func(cfg *sim.LinkConfig, f Fault) { cfg.Loss = orProb(cfg.Loss, f.Prob) },
		knobs: maxProb, draw: spread(drawProb),
	},
	{
		kind: Delay, target: targetNodes, param: paramDelay, family: "link",
		example: "at 2s delay 50ms leader until 3s",
		leader:  true,
		apply:   (*nemesis).applyLink, undo: (*nemesis).undoLink,
		link: func(cfg *sim.LinkConfig, f Fault) {
			cfg.MinLatency += f.Delay
			cfg.MaxLatency += f.Delay
		},
		knobs: maxDelay(5, 300), timed: true, draw: spread(drawDelay),
	},
	{
		kind: Duplicate, target: targetNodes, param: paramProb, family: "link",
		example: "at 2s duplicate 0.1 n3 until 3s",
		leader:  true,
		apply:   (*nemesis).applyLink, undo: (*nemesis).undoLink,
		link:  func(cfg *sim.LinkConfig, f Fault) { cfg.Duplicate = orProb(cfg.Duplicate, f.Prob) },
		knobs: maxProb, draw: spread(drawProb),
	},
	{
		kind: Reorder, target: targetNodes, param: paramProb, family: "link",
		example: "at 2s reorder 0.3 n1 until 3s",
		leader:  true,
		apply:   (*nemesis).applyLink, undo: (*nemesis).undoLink,
		link:  func(cfg *sim.LinkConfig, f Fault) { cfg.Reorder = orProb(cfg.Reorder, f.Prob) },
		knobs: maxProb, draw: spread(drawProb),
	},
	{
		kind: ClockSkew, target: targetNodes, param: paramSigned, family: "clock",
		example: "at 2s clock-skew +1.5s n2 until 4s",
		leader:  true,
		apply:   (*nemesis).applyJump, undo: (*nemesis).undoSkew,
		knobs: maxDelay(10, 20000), draw: spread(drawSigned),
	},
	{
		kind: ClockDrift, target: targetNodes, param: paramPPM, family: "clock",
		example: "at 3s clock-drift +500ppm n2 until 9s",
		leader:  true,
		apply:   (*nemesis).applyDrift, undo: (*nemesis).undoDrift,
		knobs: maxPPM, draw: spread(drawPPM),
	},
	{
		kind: ClockJump, target: targetNodes, param: paramSigned, until: untilForbidden, family: "clock",
		example: "at 7s clock-jump -2s n4",
		leader:  true,
		apply:   (*nemesis).applyJump,
		knobs:   maxDelay(10, 20000), draw: spread(drawSigned),
	},
	{
		kind: Truncate, target: targetNodes, param: paramBytes, until: untilOptional, family: "disk",
		example: "at 5s truncate 512B n2 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(truncating(walSegments)), undo: (*nemesis).undoDown,
		knobs: maxBytes(1, 4096), draw: drawDamage(false, drawCut),
	},
	{
		kind: Bitflip, target: targetNodes, param: paramFlip, until: untilOptional, family: "disk",
		example: "at 5s bitflip @8812:3 n4 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(flipping(walSegments, false)), undo: (*nemesis).undoDown,
		draw: drawDamage(true, drawFlip),
	},
	{
		kind: TruncateMark, target: targetNodes, param: paramBytes, until: untilOptional, family: "disk",
		example: "at 5s truncate-mark 450B n2 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(truncating(markFiles)), undo: (*nemesis).undoDown,
		knobs: maxBytes(1, 256), draw: drawDamage(false, drawCut),
	},
	{
		kind: BitflipMark, target: targetNodes, param: paramFlip, until: untilOptional, family: "disk",
		example: "at 5s bitflip-mark @3:0 n2 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(flipping(markFiles, true)), undo: (*nemesis).undoDown,
		draw: drawDamage(true, drawMarkFlip),
	},
	{
		kind: TruncateSnapshot, target: targetNodes, param: paramBytes, until: untilOptional, family: "disk",
		example: "at 5s truncate-snapshot 30B n2 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(truncating(newestSnapshot)), undo: (*nemesis).undoDown,
		knobs: maxBytes(1, 512), draw: drawDamage(false, drawCut),
	},
	{
		kind: BitflipSnapshot, target: targetNodes, param: paramFlip, until: untilOptional, family: "disk",
		example: "at 5s bitflip-snapshot @100:3 n2 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(flipping(newestSnapshot, false)), undo: (*nemesis).undoDown,
		draw: drawDamage(true, drawFlip),
	},
	{
		kind: Wipe, target: targetNodes, until: untilOptional, family: "disk",
		example: "at 5s wipe n2 until 6s",
		leader:  true, one: true, down: true, storage: true,
		apply: damaging(wiping), undo: (*nemesis).undoDown,
		draw: drawDamage(false, nil),
	},
	{
		kind: SlowFsync, target: targetNodes, param: paramDelay, family: "disk",
		example: "at 1s slow-fsync 20ms n3,n4,n5 until 2s",
		leader:  true,
		apply:   (*nemesis).applySlow, undo: (*nemesis).undoSlow,
		knobs: maxDelay(1, 200), timed: true, draw: spread(drawDelay),
	},
	{
		kind: FullDisk, target: targetNodes, param: paramBytes, family: "disk",
		example: "at 2s full-disk 8192B n2 until 3s",
		leader:  true, down: true,
		apply: (*nemesis).applyFull, undo: (*nemesis).undoFull,
		knobs: maxBytes(0, 64<<10), draw: drawDown(false, drawHeadroom),
	},
	{
		kind: FailFsync, target: targetNodes, family: "disk",
		example: "at 2s fail-fsync leader until 3s",
		leader:  true, down: true,
		apply: (*nemesis).applyFailSync, undo: (*nemesis).undoFailSync,
		draw: drawDown(false, nil),
	},
	{
		kind: Quiet, target: targetNone, family: "quiet",
		example: "at 1s quiet until 3s",
		apply:   (*nemesis).applyQuiet, undo: (*nemesis).undoQuiet,
	},
	{
		kind: AddLearner, target: targetNodes, until: untilForbidden, family: "membership",
		example: "at 2s add-learner n4",
		member:  true, check: oneServer,
		apply: changing(adding), draw: drawOne,
	},
	{
		kind: Promote, target: targetNodes, until: untilForbidden, family: "membership",
		example: "at 4s promote n4",
		member:  true, check: oneServer,
		apply: changing(adding), draw: drawJoin,
	},
	{
		kind: Add, target: targetNodes, until: untilForbidden, family: "membership",
		example: "at 2s add n4",
		member:  true, check: oneServer,
		apply: changing(adding), draw: drawJoin,
	},
	{
		kind: Remove, target: targetNodes, until: untilForbidden, family: "membership",
		example: "at 6s remove leader",
		leader:  true, member: true, check: oneServer,
		apply: changing(removing), draw: drawRemove,
	},
	{
		kind: Change, target: targetChange, until: untilForbidden, family: "membership",
		example: "at 3s change +n4,+n5,-n1",
		member:  true, check: changeServers,
		apply: changing(addingAndRemoving), draw: drawChange,
	},
	{
		kind: Transfer, target: targetNodes, until: untilForbidden, family: "transfer",
		example: "at 2s transfer n3",
		leader:  true, leaderPicks: true, one: true, operator: true, check: oneTarget,
		apply: (*nemesis).applyTransfer, draw: drawTransfer,
	},
}

// byKind indexes kinds. The table's functions reach their own entry
// through run.spec, never through spec: a call to spec from them would
// make kinds depend on itself, which Go refuses to compile
// (initialization cycle).
var byKind = func() map[Kind]*kindSpec {
	m := make(map[Kind]*kindSpec, len(kinds))
	for i := range kinds {
		m[kinds[i].kind] = &kinds[i]
	}
	return m
}()

// spec returns k's entry, or nil for an unknown kind.
func spec(k Kind) *kindSpec { return byKind[k] }

// Kinds returns every kind in canonical order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i := range kinds {
		out[i] = kinds[i].kind
	}
	return out
}

// ParseKind returns the kind spelled s.
func ParseKind(s string) (Kind, bool) {
	k := Kind(s)
	return k, spec(k) != nil
}

// Storage reports whether k damages durable data (truncate, bitflip,
// and the same of the high-water mark and of the snapshot; wipe).
func (k Kind) Storage() bool { s := spec(k); return s != nil && s.storage }

// Membership reports whether k is a membership change.
func (k Kind) Membership() bool { s := spec(k); return s != nil && s.member }

// Example is a valid scenario line of kind k (on five servers, or four
// for a kind that needs an even count), as the docs show it; "" for an
// unknown kind.
func (k Kind) Example() string {
	if s := spec(k); s != nil {
		return s.example
	}
	return ""
}

// Family groups kinds a report draws alike: kill, pause, isolate,
// partition, link, clock, disk, quiet, membership, transfer ("other" for
// an unknown kind).
func (k Kind) Family() string {
	if s := spec(k); s != nil {
		return s.family
	}
	return "other"
}

// instant says a fault of the kind happens at one instant: nothing to undo.
func (s *kindSpec) instant() bool { return s.until == untilForbidden }

// needsServers says why a cluster of n servers cannot take the kind, or "".
func (s *kindSpec) needsServers(n int) string {
	switch {
	case s.evenServers && (n < s.minServers || n%2 != 0):
		return fmt.Sprintf("%s needs an even number of servers, have %d", s.kind, n)
	case n < s.minServers:
		return fmt.Sprintf("%s needs at least %d servers, have %d", s.kind, s.minServers, n)
	}
	return ""
}

// Group shapes, checked by the sizes leader-relative groups resolve to.

func partitionShape(f Fault, sizes []int, n int) string {
	if len(sizes) < 2 {
		return "partition needs at least 2 groups"
	}
	return ""
}

func majorityMinorityShape(f Fault, sizes []int, n int) string {
	if len(sizes) != 2 || sum(sizes) != n || max(sizes[0], sizes[1]) <= n/2 {
		return fmt.Sprintf("majority-minority needs 2 groups covering all %d servers, one of them a majority", n)
	}
	return ""
}

func evenSplitShape(f Fault, sizes []int, n int) string {
	if len(sizes) != 2 || sum(sizes) != n || sizes[0] != sizes[1] {
		return fmt.Sprintf("even-split needs 2 equal groups covering all %d servers", n)
	}
	return ""
}

func bridgeShape(f Fault, sizes []int, n int) string {
	if len(sizes) != 3 || sizes[1] != 1 {
		return "bridge needs 3 groups: side | bridge node | side"
	}
	return ""
}

func oneWayShape(f Fault, sizes []int, n int) string {
	if len(sizes) != 2 {
		return "one-way needs 2 groups: from -> to"
	}
	return ""
}

func sum(s []int) int {
	t := 0
	for _, v := range s {
		t += v
	}
	return t
}

// Further target rules.

// oneServer: a membership change of one server, like n4 (or the leader,
// where the kind allows it).
func oneServer(f Fault, n int) string {
	switch {
	case f.Leader:
	case len(f.Nodes) != 1:
		return fmt.Sprintf("%s takes one node, like n4", f.Kind)
	case hasRefs(f.Nodes):
		return fmt.Sprintf("%s takes a node like n4 (or leader, for remove), not %s", f.Kind, RefName(f.Nodes[0]))
	}
	return ""
}

// oneTarget: a transfer names one server (or none: the leader picks).
func oneTarget(f Fault, n int) string {
	if len(f.Nodes) > 1 || len(f.Nodes) == 1 && refSize(f.Nodes[0], n) > 1 {
		return "transfer takes one target: a server, or leader for the most up-to-date follower"
	}
	return ""
}

// changeServers: servers to add and remove, explicit and distinct.
func changeServers(f Fault, n int) string {
	if len(f.Groups) != 2 || len(f.Groups[0])+len(f.Groups[1]) == 0 {
		return "change takes servers to add and remove, like +n4,+n5,-n1"
	}
	if slices.ContainsFunc(f.Groups[0], IsRef) || slices.ContainsFunc(f.Groups[1], IsRef) {
		return "change takes servers like +n4,-n1, not leader-relative ones"
	}
	seen := map[int]bool{}
	if r := checkNodes(f.Groups[0], n, seen); r != "" {
		return r
	}
	return checkNodes(f.Groups[1], n, seen)
}
