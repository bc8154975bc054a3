package faults

import (
	"fmt"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// Target is what faults act on; *cluster.Cluster satisfies it. Servers are
// nodes 1..Servers(); nodes above that are clients, which faults never
// kill, pause or partition (isolate alone also cuts a server off from
// the clients).
type Target interface {
	World() *sim.World
	Servers() int
	// Leader is the live leader with the highest term, or 0.
	Leader() (id int, term uint64)
	StartLoad()
	StopLoad()
}

// DamageObserver is implemented by a Target that wants to know where
// storage faults landed: the nemesis calls StorageDamaged right after it
// damaged node's durable data with a fault of kind (truncate, bitflip,
// truncate-mark, bitflip-mark), so a harness can tell damage a node
// reports from damage it was dealt.
type DamageObserver interface {
	StorageDamaged(node int, kind Kind)
}

// Observer, if the Target handed to Install implements it, hears each
// fault begin and end with its targets as resolved when it began (the
// leader it found, the groups it drew), and desc, the fault as the trace
// describes it: what reports draw as intervals across the nodes. A fault
// skipped at its start is never heard of; an instantaneous one (a clock
// jump) only begins. It must not act on the world.
type Observer interface {
	FaultBegan(index int, f Fault, desc string)
	FaultEnded(index int, f Fault)
}

// MembershipTarget is implemented by a Target whose servers take
// membership changes: the nemesis calls ChangeMembership when an
// add-learner, promote, add, remove or change fault starts (remove of the
// leader resolved to the leader then). Without it those faults do nothing
// and say so.
type MembershipTarget interface {
	ChangeMembership(kind Kind, add, remove []int)
}

// Schedule is a whole run's faults.
type Schedule struct {
	Faults []Fault
	// End is when the run ends. HealAt is when everything is healed for
	// good (see the package doc); zero means at End. Every fault must
	// be over by then. With both zero the schedule never heals on its
	// own: each fault still undoes itself at its Until.
	End, HealAt time.Duration
	// Swarm is what Generate drew for this schedule; nil for a schedule
	// written by hand. Summary prints it.
	Swarm *Swarm

	_ struct{}
}

// healTime is when the schedule heals everything, or 0 for never.
func (s Schedule) healTime() time.Duration {
	if s.HealAt > 0 {
		return s.HealAt
	}
	return s.End
}

// Validate checks every fault against a cluster of servers servers and
// the schedule's times, naming the first fault that is wrong. Errors are
// *ValidationError and wrap ErrInvalid.
func (s Schedule) Validate(servers int) error {
	if servers < 1 {
		return &ValidationError{Index: -1, Reason: fmt.Sprintf("%d servers, want at least 1", servers)}
	}
	switch {
	case s.End < 0 || s.HealAt < 0:
		return &ValidationError{Index: -1, Reason: fmt.Sprintf("negative heal (%v) or end (%v)", s.HealAt, s.End)}
	case s.End > 0 && s.HealAt > s.End:
		return &ValidationError{Index: -1, Reason: fmt.Sprintf("heals at %v, after the run ends at %v", s.HealAt, s.End)}
	}
	heal := s.healTime()
	for i, f := range s.Faults {
		reason := f.check(servers)
		if reason == "" && heal > 0 && f.Until > heal {
			reason = fmt.Sprintf("ends at %v, after the schedule heals everything at %v", f.Until, heal)
		}
		if reason != "" {
			return &ValidationError{Index: i, Fault: f, Reason: reason}
		}
	}
	return nil
}

// Install validates s against t and schedules every fault's start and end,
// and the final heal, on t's world. It changes nothing if s is invalid.
// Install a world's schedule once: two installed schedules do not know of
// each other's holds (see the package doc for how faults compose).
func (s Schedule) Install(t Target) error {
	if t == nil {
		return &ValidationError{Index: -1, Reason: "nil target"}
	}
	w := t.World()
	if w == nil {
		return &ValidationError{Index: -1, Reason: "target has no world"}
	}
	n := t.Servers()
	if n > w.Nodes() {
		return &ValidationError{Index: -1, Reason: fmt.Sprintf("%d servers but the world has %d nodes", n, w.Nodes())}
	}
	if err := s.Validate(n); err != nil {
		return err
	}
	now := w.Now().Duration()
	for i, f := range s.Faults {
		if f.At < now {
			return &ValidationError{Index: i, Fault: f, Reason: fmt.Sprintf("starts at %v, but the world is already at %v", f.At, now)}
		}
	}
	heal := s.healTime()
	if heal > 0 && heal < now {
		return &ValidationError{Index: -1, Reason: fmt.Sprintf("heals at %v, but the world is already at %v", heal, now)}
	}

	// Ends are queued before begins, so at one instant the faults ending
	// are undone before those starting begin: a fault holds over [At, Until).
	// (An instantaneous fault's end is queued by its begin.)
	nem := newNemesis(t, len(s.Faults))
	for i, f := range s.Faults {
		if f.Until > f.At {
			w.At(sim.Time(f.Until), func() { nem.end(i) })
		}
	}
	for i := range s.Faults {
		f := s.Faults[i].clone()
		w.At(sim.Time(f.At), func() { nem.begin(i, f) })
	}
	if heal > 0 {
		w.At(sim.Time(heal), nem.healAll)
	}
	return nil
}

// Summary describes s in key: value lines: the schedule, what the swarm
// drew (if generated), then one line per kind, enabled or present, with
// its count.
func (s Schedule) Summary() string {
	var b strings.Builder
	counts := map[Kind]int{}
	for _, f := range s.Faults {
		counts[f.Kind]++
	}
	fmt.Fprintf(&b, "schedule: %d faults, heal at %v, end at %v\n", len(s.Faults), s.healTime(), s.End)
	knobs := map[Kind]Knobs{}
	if sw := s.Swarm; sw != nil {
		fmt.Fprintf(&b, "swarm: mean gap %v, max down %d", sw.MeanGap, sw.MaxDown)
		if len(sw.StorageNodes) > 0 {
			fmt.Fprintf(&b, ", storage faults on %s", nodeList(sw.StorageNodes))
		}
		b.WriteByte('\n')
		for _, k := range sw.Kinds {
			knobs[k.Kind] = k
		}
	}
	for _, k := range Kinds() {
		kn, enabled := knobs[k]
		if !enabled && counts[k] == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s: %d", k, counts[k])
		if enabled {
			fmt.Fprintf(&b, ", %s", kn)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Lines renders every fault of s on its own line (the order of s.Faults).
func (s Schedule) Lines() string {
	var b strings.Builder
	for _, f := range s.Faults {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
