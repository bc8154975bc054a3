package faults

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// Kind names a fault kind exactly as the scenario language spells it.
type Kind string

// The kinds. The package doc lists what each does and undoes.
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

// allKinds is the canonical order: Summary prints kinds in it.
var allKinds = []Kind{
	Kill, TornKill, Pause,
	Isolate, IsolateLeader, Partition, MajorityMinority, EvenSplit, Bridge, OneWay,
	Loss, Delay, Duplicate, Reorder,
	ClockSkew, ClockDrift, ClockJump,
	Truncate, Bitflip, TruncateMark, BitflipMark, TruncateSnapshot, BitflipSnapshot, Wipe, SlowFsync, FullDisk, FailFsync,
	Quiet,
	AddLearner, Promote, Add, Remove, Change,
	Transfer,
}

// Kinds returns every kind in canonical order.
func Kinds() []Kind { return slices.Clone(allKinds) }

// Storage reports whether k damages durable data (truncate, bitflip,
// and the same of the high-water mark and of the snapshot).
func (k Kind) Storage() bool { return kindTable[k].storage }

// ParseKind returns the kind spelled s.
func ParseKind(s string) (Kind, bool) {
	k := Kind(s)
	_, ok := kindTable[k]
	return k, ok
}

// target is what a kind acts on.
type target uint8

const (
	targetNone   target = iota // the whole cluster (quiet) or resolved at start (isolate-leader)
	targetNodes                // Nodes, or Leader, or a random draw
	targetGroups               // Groups, separated by " | "
	targetOneWay               // Groups[0] -> Groups[1]
	targetChange               // Groups[0] added, Groups[1] removed: +n4,+n5,-n1
)

// param is the one parameter a kind takes, and how it prints.
type param uint8

const (
	paramNone   param = iota
	paramProb         // Prob: 0.2
	paramDelay        // Delay >= 0: 50ms
	paramSigned       // Delay of either sign: +1.5s, -200ms
	paramPPM          // PPM: +500ppm
	paramBytes        // Bytes >= 0: 4096B
	paramFlip         // Offset and Bit: @1234:5
)

type kindInfo struct {
	target  target
	param   param
	leader  bool // Leader may stand for Nodes
	instant bool // Until must equal At
	// down says the fault may take its nodes down: kill-shaped kinds and
	// the disk faults that make a server fail-stop.
	down    bool
	storage bool // damages durable data
	member  bool // a membership change: one node (or the leader) at an instant
	// operator: an operator's action, not a fault Raft must tolerate;
	// DefaultKinds leaves it out.
	operator bool
}

var kindTable = map[Kind]kindInfo{
	Kill:             {target: targetNodes, leader: true, down: true},
	TornKill:         {target: targetNodes, leader: true, down: true},
	Pause:            {target: targetNodes, leader: true},
	Isolate:          {target: targetNodes},
	IsolateLeader:    {target: targetNone},
	Partition:        {target: targetGroups},
	MajorityMinority: {target: targetGroups},
	EvenSplit:        {target: targetGroups},
	Bridge:           {target: targetGroups},
	OneWay:           {target: targetOneWay},
	Loss:             {target: targetNodes, param: paramProb, leader: true},
	Delay:            {target: targetNodes, param: paramDelay, leader: true},
	Duplicate:        {target: targetNodes, param: paramProb, leader: true},
	Reorder:          {target: targetNodes, param: paramProb, leader: true},
	ClockSkew:        {target: targetNodes, param: paramSigned, leader: true},
	ClockDrift:       {target: targetNodes, param: paramPPM, leader: true},
	ClockJump:        {target: targetNodes, param: paramSigned, leader: true, instant: true},
	Truncate:         {target: targetNodes, param: paramBytes, leader: true, down: true, storage: true},
	Bitflip:          {target: targetNodes, param: paramFlip, leader: true, down: true, storage: true},
	TruncateMark:     {target: targetNodes, param: paramBytes, leader: true, down: true, storage: true},
	BitflipMark:      {target: targetNodes, param: paramFlip, leader: true, down: true, storage: true},
	TruncateSnapshot: {target: targetNodes, param: paramBytes, leader: true, down: true, storage: true},
	BitflipSnapshot:  {target: targetNodes, param: paramFlip, leader: true, down: true, storage: true},
	Wipe:             {target: targetNodes, leader: true, down: true, storage: true},
	SlowFsync:        {target: targetNodes, param: paramDelay, leader: true},
	FullDisk:         {target: targetNodes, param: paramBytes, leader: true, down: true},
	FailFsync:        {target: targetNodes, leader: true, down: true},
	Quiet:            {target: targetNone},
	AddLearner:       {target: targetNodes, instant: true, member: true},
	Promote:          {target: targetNodes, instant: true, member: true},
	Add:              {target: targetNodes, instant: true, member: true},
	Remove:           {target: targetNodes, leader: true, instant: true, member: true},
	Change:           {target: targetChange, instant: true, member: true},
	Transfer:         {target: targetNodes, leader: true, instant: true, operator: true},
}

// Membership reports whether k is a membership change.
func (k Kind) Membership() bool { return kindTable[k].member }

// Fault is one fault: what, when, on whom, how hard. Times are virtual
// time since the world began (sim.Time as a duration), so "at 2s" is two
// seconds into the run.
//
// Only the fields a kind uses may be set (Validate rejects the others), so
// String is lossless for every valid Fault:
//
//	Nodes, Leader  kill torn-kill pause isolate loss delay duplicate reorder
//	               clock-* truncate bitflip slow-fsync full-disk fail-fsync
//	               (isolate takes no Leader: that is isolate-leader)
//	Groups         partition majority-minority even-split bridge one-way
//	Prob           loss duplicate reorder
//	Delay          delay slow-fsync (>= 0); clock-skew clock-jump (signed)
//	PPM            clock-drift
//	Bytes          truncate (bytes cut) full-disk (bytes of headroom)
//	Offset, Bit    bitflip
type Fault struct {
	Kind Kind
	// At is when the fault begins, Until when it is undone. Until == At
	// for an instantaneous fault (clock-jump must be; a kill with
	// Until == At is a crash and immediate restart).
	At, Until time.Duration

	// Nodes are explicit target servers (1..Servers), or leader-relative
	// references resolved at At (RefLeader, LeaderPlus(k), RefFollower,
	// RefNotLeader: see refs.go), never both. Empty, and Leader
	// false, means "draw at At from the world's "faults" stream": one
	// server for isolate, truncate and bitflip, a random non-empty
	// minority (at least one server) for the other kinds.
	Nodes []int
	// Leader targets the server leading at At instead of Nodes; with no
	// leader at At the fault is skipped (and says so in the trace).
	Leader bool
	// Groups are the sides of a partition, disjoint: server ids, or
	// leader-relative references as in Nodes. Their shape depends on the
	// kind (see the package doc); empty means "draw at At".
	Groups [][]int

	// Prob is the per-message probability for loss, duplicate, reorder.
	Prob float64
	// Delay is the extra latency (delay), the fsync latency (slow-fsync),
	// or the clock offset (clock-skew, clock-jump; negative: backwards).
	Delay time.Duration
	// PPM is the clock drift in parts per million (negative: slow), in
	// (-sim.MaxDriftPPM, sim.MaxDriftPPM).
	PPM int64
	// Bytes is how many bytes of synced data truncate (of the WAL) or
	// truncate-mark (of the high-water mark) cuts, or how many bytes
	// full-disk leaves free above what the disk holds at At.
	Bytes int64
	// Offset picks the byte bitflip corrupts in the node's durable WAL
	// (its wal-*.log segments in name order, concatenated), modulo the
	// WAL's size at At, so a generator can draw it before the size is
	// known. For bitflip-mark it counts back from the end of the durable
	// high-water mark file (0: its last byte), modulo its size, so a
	// small offset hits the newest record. Bit (0..7) is the bit flipped.
	Offset int64
	Bit    uint8

	_ struct{} // callers name the fields, so Fault can grow
}

// ErrInvalid is what every validation error wraps.
var ErrInvalid = errors.New("invalid fault schedule")

// ValidationError says which fault of a schedule is wrong, and why.
// Index is -1 for a problem with the schedule as a whole, or for a fault
// checked on its own (Fault.Validate).
type ValidationError struct {
	Index  int
	Fault  Fault
	Reason string
}

func (e *ValidationError) Error() string {
	switch {
	case e.Index >= 0:
		return fmt.Sprintf("faults: fault %d (%s): %s", e.Index, e.Fault, e.Reason)
	case e.Fault.Kind != "":
		return fmt.Sprintf("faults: fault (%s): %s", e.Fault, e.Reason)
	}
	return "faults: schedule: " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Validate checks f against a cluster of servers servers, naming the
// first thing wrong. It does not check times against a schedule's heal
// or end (Schedule.Validate does).
func (f Fault) Validate(servers int) error {
	if reason := f.check(servers); reason != "" {
		return &ValidationError{Index: -1, Fault: f, Reason: reason}
	}
	return nil
}

// check returns why f is invalid, or "".
func (f Fault) check(n int) string {
	info, ok := kindTable[f.Kind]
	if !ok {
		return fmt.Sprintf("unknown kind %q", string(f.Kind))
	}
	switch {
	case f.At < 0:
		return fmt.Sprintf("starts at %v, before the run began", f.At)
	case f.Until < f.At:
		return fmt.Sprintf("ends at %v, before it starts at %v", f.Until, f.At)
	case info.instant && f.Until != f.At:
		return fmt.Sprintf("%s is instantaneous: until must equal at", f.Kind)
	}
	if r := f.checkTargets(info, n); r != "" {
		return r
	}
	return f.checkParams(info)
}

func (f Fault) checkTargets(info kindInfo, n int) string {
	if info.target != targetNodes {
		if len(f.Nodes) > 0 {
			return fmt.Sprintf("%s takes no nodes", f.Kind)
		}
		if f.Leader {
			return fmt.Sprintf("%s takes no leader target", f.Kind)
		}
	}
	if info.target != targetGroups && info.target != targetOneWay && info.target != targetChange && len(f.Groups) > 0 {
		return fmt.Sprintf("%s takes no groups", f.Kind)
	}
	switch info.target {
	case targetNodes:
		if info.member {
			switch {
			case f.Leader:
			case len(f.Nodes) != 1:
				return fmt.Sprintf("%s takes one node, like n4", f.Kind)
			case hasRefs(f.Nodes):
				return fmt.Sprintf("%s takes a node like n4 (or leader, for remove), not %s", f.Kind, RefName(f.Nodes[0]))
			}
		}
		if f.Leader && !info.leader {
			return fmt.Sprintf("%s takes no leader target (use %s)", f.Kind, IsolateLeader)
		}
		if f.Leader && len(f.Nodes) > 0 {
			return "both leader and explicit nodes"
		}
		if f.Kind == Transfer && (len(f.Nodes) > 1 || len(f.Nodes) == 1 && refSize(f.Nodes[0], n) > 1) {
			return "transfer takes one target: a server, or leader for the most up-to-date follower"
		}
		if hasRefs(f.Nodes) {
			if len(f.Nodes) == 1 && f.Nodes[0] == RefLeader {
				return "a lone leader target is written Leader"
			}
			return checkRefs(f.Nodes, n)
		}
		return checkNodes(f.Nodes, n, map[int]bool{})
	case targetGroups, targetOneWay:
		return f.checkGroups(n)
	case targetChange:
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
	return ""
}

func checkNodes(nodes []int, n int, seen map[int]bool) string {
	for _, id := range nodes {
		if id < 1 || id > n {
			return fmt.Sprintf("node n%d out of range n1..n%d", id, n)
		}
		if seen[id] {
			return fmt.Sprintf("node n%d named twice (groups must be disjoint)", id)
		}
		seen[id] = true
	}
	return ""
}

func (f Fault) checkGroups(n int) string {
	// Shapes that need a cluster of some size, even when drawn at start.
	switch f.Kind {
	case MajorityMinority:
		if n < 3 {
			return fmt.Sprintf("majority-minority needs at least 3 servers, have %d", n)
		}
	case EvenSplit:
		if n < 2 || n%2 != 0 {
			return fmt.Sprintf("even-split needs an even number of servers, have %d", n)
		}
	case Bridge:
		if n < 3 {
			return fmt.Sprintf("bridge needs at least 3 servers, have %d", n)
		}
	case OneWay:
		if n < 2 {
			return fmt.Sprintf("one-way needs at least 2 servers, have %d", n)
		}
	}
	if len(f.Groups) == 0 {
		if f.Kind == Partition {
			return "partition needs explicit groups (or use majority-minority, even-split, bridge)"
		}
		return ""
	}
	var all []int
	for g, grp := range f.Groups {
		if len(grp) == 0 {
			return fmt.Sprintf("group %d is empty", g+1)
		}
		all = append(all, grp...)
	}
	// Leader-relative groups are checked by the sizes they resolve to:
	// their references are distinct and never overlap (checkRefs).
	refs := hasRefs(all)
	if refs {
		if r := checkRefs(all, n); r != "" {
			return r
		}
	} else if r := checkNodes(all, n, map[int]bool{}); r != "" {
		return r
	}
	sizes := make([]int, len(f.Groups))
	total := 0
	for i, g := range f.Groups {
		for _, id := range g {
			sizes[i] += refSize(id, n)
		}
		total += sizes[i]
	}
	covered := total == n
	switch f.Kind {
	case Partition:
		if len(f.Groups) < 2 {
			return "partition needs at least 2 groups"
		}
	case MajorityMinority:
		if len(f.Groups) != 2 || !covered || max(sizes[0], sizes[1]) <= n/2 {
			return fmt.Sprintf("majority-minority needs 2 groups covering all %d servers, one of them a majority", n)
		}
	case EvenSplit:
		if len(f.Groups) != 2 || !covered || sizes[0] != sizes[1] {
			return fmt.Sprintf("even-split needs 2 equal groups covering all %d servers", n)
		}
	case Bridge:
		if len(f.Groups) != 3 || sizes[1] != 1 {
			return "bridge needs 3 groups: side | bridge node | side"
		}
	case OneWay:
		if len(f.Groups) != 2 {
			return "one-way needs 2 groups: from -> to"
		}
	}
	return ""
}

func (f Fault) checkParams(info kindInfo) string {
	p := info.param
	if p != paramProb && f.Prob != 0 {
		return fmt.Sprintf("%s takes no probability", f.Kind)
	}
	if p != paramDelay && p != paramSigned && f.Delay != 0 {
		return fmt.Sprintf("%s takes no duration parameter", f.Kind)
	}
	if p != paramPPM && f.PPM != 0 {
		return fmt.Sprintf("%s takes no ppm", f.Kind)
	}
	if p != paramBytes && f.Bytes != 0 {
		return fmt.Sprintf("%s takes no byte count", f.Kind)
	}
	if p != paramFlip && (f.Offset != 0 || f.Bit != 0) {
		return fmt.Sprintf("%s takes no offset or bit", f.Kind)
	}
	switch p {
	case paramProb:
		if math.IsNaN(f.Prob) || f.Prob < 0 || f.Prob > 1 {
			return fmt.Sprintf("probability %v outside [0, 1]", f.Prob)
		}
	case paramDelay:
		if f.Delay < 0 {
			return fmt.Sprintf("duration %v is negative", f.Delay)
		}
	case paramPPM:
		if f.PPM <= -sim.MaxDriftPPM || f.PPM >= sim.MaxDriftPPM {
			return fmt.Sprintf("drift %dppm outside (-%d, %d)", f.PPM, sim.MaxDriftPPM, sim.MaxDriftPPM)
		}
	case paramBytes:
		if f.Bytes < 0 {
			return fmt.Sprintf("byte count %d is negative", f.Bytes)
		}
	case paramFlip:
		if f.Offset < 0 {
			return fmt.Sprintf("offset %d is negative", f.Offset)
		}
		if f.Bit > 7 {
			return fmt.Sprintf("bit %d outside 0..7", f.Bit)
		}
	}
	return ""
}

// String renders f as one line of the scenario language (grammar in the
// package doc), e.g. "at 2s partition n1,n2 | n3,n4,n5 until 5s".
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString("at ")
	b.WriteString(f.At.String())
	b.WriteByte(' ')
	b.WriteString(string(f.Kind))
	info := kindTable[f.Kind] // an unknown kind prints every target it has
	if s := f.paramString(info.param); s != "" {
		b.WriteByte(' ')
		b.WriteString(s)
	}
	switch {
	case f.Leader:
		b.WriteString(" leader")
	case len(f.Nodes) > 0:
		b.WriteByte(' ')
		b.WriteString(nodeList(f.Nodes))
	}
	if info.target == targetChange && len(f.Groups) == 2 {
		var parts []string
		for _, id := range f.Groups[0] {
			parts = append(parts, "+n"+strconv.Itoa(id))
		}
		for _, id := range f.Groups[1] {
			parts = append(parts, "-n"+strconv.Itoa(id))
		}
		b.WriteByte(' ')
		b.WriteString(strings.Join(parts, ","))
	} else if len(f.Groups) > 0 {
		sep := " | "
		if info.target == targetOneWay {
			sep = " -> "
		}
		parts := make([]string, len(f.Groups))
		for i, g := range f.Groups {
			parts[i] = nodeList(g)
		}
		b.WriteByte(' ')
		b.WriteString(strings.Join(parts, sep))
	}
	if f.Until != f.At {
		b.WriteString(" until ")
		b.WriteString(f.Until.String())
	}
	return b.String()
}

func (f Fault) paramString(p param) string {
	switch p {
	case paramProb:
		return strconv.FormatFloat(f.Prob, 'g', -1, 64)
	case paramDelay:
		return f.Delay.String()
	case paramSigned:
		return signedDuration(f.Delay)
	case paramPPM:
		return fmt.Sprintf("%+dppm", f.PPM)
	case paramBytes:
		return strconv.FormatInt(f.Bytes, 10) + "B"
	case paramFlip:
		return fmt.Sprintf("@%d:%d", f.Offset, f.Bit)
	}
	return ""
}

// signedDuration always shows the sign, so "+1s" and "-1s" read as offsets;
// time.ParseDuration accepts both.
func signedDuration(d time.Duration) string {
	if d < 0 {
		return d.String()
	}
	return "+" + d.String()
}

// nodeList renders ids as "n1,n2,n3" (or "leader,leader+1") in the given order.
func nodeList(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(RefName(id))
	}
	return b.String()
}

// clone copies f's slices, so a schedule installed on a world is not
// changed by its caller afterwards.
func (f Fault) clone() Fault {
	f.Nodes = slices.Clone(f.Nodes)
	if f.Groups != nil {
		gs := make([][]int, len(f.Groups))
		for i, g := range f.Groups {
			gs[i] = slices.Clone(g)
		}
		f.Groups = gs
	}
	return f
}
