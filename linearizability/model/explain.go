package model

import (
	"cmp"
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
// FailingKeys order, from porcupine's longest partial orders: those the
// check recorded (Info), or, if it kept none for the key, those of the
// key's operations checked again on their own (with the check's timeout;
// a key whose re-check does not come back Illegal is left out).
func (r Result) Conflicts() []Conflict {
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
	for i, op := range r.ops {
		if opKey(op) != key {
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
	partials := r.recorded(key)
	if partials == nil {
		verdict, info := porcupine.CheckOperationsVerbose(m, ops, r.timeout)
		if verdict != porcupine.Illegal {
			return Conflict{}, false
		}
		if all := info.PartialLinearizations(); len(all) == 1 {
			partials = all[0]
		}
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

// recorded is the check's partial orders for key (local to the key's
// operations, in history order), or nil if Info kept none for it. Info's
// partitions come in ascending key order (see groupByKey).
func (r Result) recorded(key string) [][]int {
	all := r.Info.PartialLinearizations()
	var keys []string
	for _, op := range r.ops {
		keys = append(keys, opKey(op))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	i, ok := slices.BinarySearch(keys, key)
	if !ok || len(all) != len(keys) || len(all[i]) == 0 {
		return nil
	}
	return all[i]
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
