package faults

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

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
	s := spec(f.Kind)
	if s == nil {
		return fmt.Sprintf("unknown kind %q", string(f.Kind))
	}
	switch {
	case f.At < 0:
		return fmt.Sprintf("starts at %v, before the run began", f.At)
	case f.Until < f.At:
		return fmt.Sprintf("ends at %v, before it starts at %v", f.Until, f.At)
	case s.instant() && f.Until != f.At:
		return fmt.Sprintf("%s is instantaneous: until must equal at", f.Kind)
	}
	if r := f.checkTargets(s, n); r != "" {
		return r
	}
	return f.checkParams(s.param)
}

func (f Fault) checkTargets(s *kindSpec, n int) string {
	if s.target != targetNodes {
		if len(f.Nodes) > 0 {
			return fmt.Sprintf("%s takes no nodes", f.Kind)
		}
		if f.Leader {
			return fmt.Sprintf("%s takes no leader target", f.Kind)
		}
	}
	if s.target == targetNodes || s.target == targetNone {
		if len(f.Groups) > 0 {
			return fmt.Sprintf("%s takes no groups", f.Kind)
		}
	}
	if r := s.needsServers(n); r != "" {
		return r
	}
	if s.check != nil {
		if r := s.check(f, n); r != "" {
			return r
		}
	}
	switch s.target {
	case targetNodes:
		if f.Leader && !s.leader {
			if s.leaderVia != "" {
				return fmt.Sprintf("%s takes no leader target (use %s)", f.Kind, s.leaderVia)
			}
			return fmt.Sprintf("%s takes no leader target", f.Kind)
		}
		if f.Leader && len(f.Nodes) > 0 {
			return "both leader and explicit nodes"
		}
		if hasRefs(f.Nodes) {
			if len(f.Nodes) == 1 && f.Nodes[0] == RefLeader {
				return "a lone leader target is written Leader"
			}
			return checkRefs(f.Nodes, n)
		}
		return checkNodes(f.Nodes, n, map[int]bool{})
	case targetGroups, targetOneWay:
		return f.checkGroups(s, n)
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

func (f Fault) checkGroups(s *kindSpec, n int) string {
	if len(f.Groups) == 0 {
		if s.drawGroups == nil {
			return fmt.Sprintf("%s needs explicit groups (or use %s)", f.Kind, strings.Join(drawnGroupKinds(), ", "))
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
	if hasRefs(all) {
		if r := checkRefs(all, n); r != "" {
			return r
		}
	} else if r := checkNodes(all, n, map[int]bool{}); r != "" {
		return r
	}
	sizes := make([]int, len(f.Groups))
	for i, g := range f.Groups {
		for _, id := range g {
			sizes[i] += refSize(id, n)
		}
	}
	if s.shape != nil {
		return s.shape(f, sizes, n)
	}
	return ""
}

// drawnGroupKinds are the kinds whose groups (written " | ") may be
// drawn at start.
func drawnGroupKinds() []string {
	var out []string
	for i := range kinds {
		if s := &kinds[i]; s.target == targetGroups && s.drawGroups != nil {
			out = append(out, string(s.kind))
		}
	}
	return out
}

func (f Fault) checkParams(p param) string {
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
	if check := params[p].check; check != nil {
		return check(f)
	}
	return ""
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
