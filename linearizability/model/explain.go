package model

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Conflict says where the check of one failing key got stuck, in the
// history's own terms (indexes into the operations given to Check), so a
// report can name the operations a person must look at.
//
// Porcupine searches for an order of the key's operations that respects
// real time and explains every result. The longest order it found
// (Ordered of Total operations) leaves the key in State; the operation
// that cannot come next is Blocked: of the operations that order leaves
// out, the one that returned first, which every operation called after
// it returned must follow. Its result disagrees with State: SetBy is the
// operation whose write left State, Wrote the one whose write the
// blocked operation's result reports (for a stale read, an older write).
type Conflict struct {
	Key string
	// Blocked is the operation no order can place next; -1 if what cannot
	// be placed is the key's end-of-history marker (every known result is
	// explained, but only by an unknown write nobody saw, which is not
	// allowed to matter).
	Blocked int
	// Ordered operations of the key's Total (unknown ones included) are
	// in the longest consistent order.
	Ordered, Total int
	// State is the key as that order leaves it.
	State State
	// SetBy is the operation whose write left State (-1: the key was never
	// written in that order).
	SetBy int
	// Wrote is the operation whose write the blocked operation's result
	// reports as the key's value (-1: it reports absence or a value no
	// operation wrote).
	Wrote int
	// Witness, when there is one, proves the blocked operation's result
	// stale on real time alone: a write that took effect (its result says
	// so) after Wrote had returned and that itself returned before the
	// blocked operation was called, so the blocked operation had to see
	// it (the latest such write; -1: none). Written values are unique, so
	// the key never holds what Wrote left again once it has changed.
	Witness int
	// Order is the longest consistent order, as history indexes, ending
	// at the point where the search got stuck.
	Order []int

	_ struct{}
}

// Conflicts explains each failing key of a NotLinearizable result, in
// FailingKeys order, from porcupine's longest partial orders over the
// key's operations up to the end of its failing segment (see Failure),
// checked again on their own under the check's budget (a key whose
// re-check does not come back Illegal is left out). Check cuts histories
// into segments and keeps no partial orders; the prefix ends where the
// check found the failure, so the re-check costs what the history up to
// there does. An Online result keeps no history and has none.
func (r Result) Conflicts() []Conflict {
	if r.history == nil {
		return nil // an online check's result: it kept no history
	}
	var out []Conflict
	for _, key := range r.FailingKeys {
		if c, ok := r.conflict(key); ok {
			out = append(out, c)
		}
	}
	return out
}

func (r Result) conflict(key string) (Conflict, bool) {
	var ops []porcupine.Operation
	var index []int // ops[i] is history operation index[i] (-1: the end marker)
	// Up to the failing segment's last call: later segments' operations
	// are all called after it (that is where the check cut), and the
	// history up to there already has no linearization.
	until := Infinity
	for _, f := range r.Failures {
		if f.Key == key {
			until = int64(math.MinInt64)
			for _, i := range f.Ops {
				until = max(until, r.history[i].Call)
			}
		}
	}
	for i, op := range r.operations() {
		if opKey(op) != key || (op.Call > until && !op.Metadata.(metadata).end) {
			continue
		}
		ops = append(ops, op)
		if op.Metadata.(metadata).end {
			index = append(index, -1)
		} else {
			index = append(index, i)
		}
	}
	if len(ops) == 0 {
		return Conflict{}, false
	}
	m := ModelFor(ops)
	var partials [][]int
	verdict, info := r.porcupine(m, ops)
	if verdict != porcupine.Illegal {
		return Conflict{}, false
	}
	if all := info.PartialLinearizations(); len(all) == 1 {
		partials = all[0]
	}
	// Porcupine returns the partial orders in map order: pick the longest,
	// ties broken by the order itself, so a report is the same every time.
	// None at all: not even the first operation could be placed.
	var best []int
	if len(partials) > 0 {
		best = slices.MaxFunc(partials, func(a, b []int) int {
			if c := cmp.Compare(len(a), len(b)); c != 0 {
				return c
			}
			return -slices.Compare(a, b)
		})
	}

	c := Conflict{Key: key, Ordered: len(best), Total: len(ops), Blocked: -1, SetBy: -1, Wrote: -1, Witness: -1}
	in := make([]bool, len(ops))
	state := State{}
	for _, id := range best {
		in[id] = true
		if index[id] >= 0 {
			c.Order = append(c.Order, index[id])
		}
		ok, next := m.Step(state, ops[id].Input, ops[id].Output)
		if !ok {
			return Conflict{}, false // not a valid order: porcupine changed under us
		}
		ns := next.(State)
		if ns.Value != state.Value || ns.Found != state.Found {
			c.SetBy = index[id]
		}
		state = ns
	}
	c.State = state

	blocked := -1
	for id := range ops {
		if in[id] {
			continue
		}
		if blocked < 0 || ops[id].Return < ops[blocked].Return ||
			(ops[id].Return == ops[blocked].Return && ops[id].Call < ops[blocked].Call) {
			blocked = id
		}
	}
	if blocked < 0 {
		return Conflict{}, false
	}
	c.Blocked = index[blocked]
	if c.Blocked >= 0 {
		res, unknown := outputOf(ops[blocked].Output)
		if !unknown && res.Found {
			c.Wrote = writerOf(ops, index, blocked, res.Value)
		}
		if !unknown {
			c.Witness = witness(ops, index, blocked, c.Wrote, res.Found)
		}
	}
	return c, true
}

// witness finds the latest write among ops that took effect after the
// write at history index wrote returned (any write, if the blocked
// operation read the key as absent) and returned before ops[blocked] was
// called; -1 if there is none, or if wrote's own outcome is unknown.
func witness(ops []porcupine.Operation, index []int, blocked, wrote int, found bool) int {
	after := int64(-1) << 62 // the key was absent before any write
	if found {
		w := slices.Index(index, wrote)
		if wrote < 0 || w < 0 {
			return -1
		}
		if _, unknown := outputOf(ops[w].Output); unknown {
			return -1
		}
		after = ops[w].Return
	}
	best := -1
	for id, op := range ops {
		cmd, ok := op.Input.(kv.Command)
		if !ok || index[id] == wrote || id == blocked {
			continue
		}
		res, unknown := outputOf(op.Output)
		if unknown || !res.Applied || cmd.Op == kv.OpGet {
			continue
		}
		if op.Call > after && op.Return < ops[blocked].Call && (best < 0 || op.Return > ops[best].Return) {
			best = id
		}
	}
	if best < 0 {
		return -1
	}
	return index[best]
}

// writerOf finds the operation among ops (other than skip) whose write
// leaves value: a put or CAS of exactly value, else the append value ends
// with. Written values are unique per client and sequence number, so at
// most one operation matches.
func writerOf(ops []porcupine.Operation, index []int, skip int, value string) int {
	found := -1
	for id, op := range ops {
		cmd, ok := op.Input.(kv.Command)
		if !ok || id == skip || cmd.Value == "" {
			continue
		}
		switch {
		case (cmd.Op == kv.OpPut || cmd.Op == kv.OpCAS) && cmd.Value == value:
			return index[id]
		case cmd.Op == kv.OpAppend && strings.HasSuffix(value, cmd.Value) && found < 0:
			found = index[id]
		}
	}
	return found
}
