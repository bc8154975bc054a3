package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// State is the model's state for one key (one partition): its value and
// whether it exists (the zero State is an absent key), plus two flags the
// search uses to skip equivalent linearizations (see Model):
//   - Unseen: the last operation linearized had an unknown outcome, and no
//     known operation has observed its effect yet.
//   - Closed: the key's end-of-history marker (see Operations) has been
//     linearized. After it come only operations with an unknown outcome,
//     and they are the ones that never took effect.
type State struct {
	Value  string
	Found  bool
	Unseen bool
	Closed bool
}

func (s State) String() string {
	v := "absent"
	if s.Found {
		v = strconv.Quote(s.Value)
	}
	switch {
	case s.Closed:
		v += " (end)"
	case s.Unseen:
		v += " (unobserved)"
	}
	return v
}

// EndMarker is the Input of the end-of-history operation Operations adds
// for each key: Call and Return after every other call and every known
// return, and before Infinity. Every known operation is linearized before
// it; an unknown one is either linearized before it, where it must change
// the key, or after it, where it is one that never took effect.
type EndMarker struct{ Key string }

// Output is what the model expects as a porcupine operation's Output: the
// result the client saw, or Unknown when it saw none. An Unknown output's
// Result is ignored. (Step also accepts a bare kv.Result, as a known
// output.)
type Output struct {
	Result  kv.Result
	Unknown bool
}

// Model returns the porcupine model of the KV store, for histories made by
// Operations. Input is a kv.Command (or an EndMarker) and Output an Output
// (or a bare kv.Result, as a known output); Partition splits a history by
// key, in ascending key order, keeping each key's operations in their
// original order.
//
// Step mirrors kv.Store. A known output must be exactly the result the
// store would return in the given state (previous Value and Found,
// Applied, Stale false), and the write is applied. An unknown output (or a
// Stale result, which says nothing about the key) is accepted whatever it
// holds; the command's write is applied if it is linearized before the
// key's EndMarker, and it "never happened" if linearized after it.
//
// Unknown operations return at Infinity, so every one that never took
// effect stays pending through the whole search, and porcupine would try
// it at every point: on a key that is not linearizable (where the search
// must be exhaustive) a few dozen of them make the search exponential. So
// before the marker an unknown operation is only accepted in the places a
// canonical linearization puts it. Every linearization can be rewritten
// into a canonical one by moving unknown operations whose effect no known
// operation observes to after the marker (each move leaves what every
// known operation observes unchanged), so this changes no verdict:
//   - it must change the key's value or existence (a get, a failing CAS,
//     a put of the value already there change nothing: moving one later
//     changes nothing either);
//   - an unknown put may not directly follow another unknown operation
//     (Unseen): the put overwrites whatever that one wrote, unobserved;
//   - the marker may not directly follow an unknown operation: nothing
//     observes that one's effect.
//
// A command with an invalid Op never executes: a known result for one is
// rejected, an unknown one belongs after the marker. Without an EndMarker
// per key (histories not made by Operations) an unknown operation that is
// not accepted before the marker is never accepted, and such a key fails.
func Model() porcupine.Model { return newModel(nil) }

// ModelFor is Model with one more pruning rule, which needs the history
// (as made by Operations): an unknown operation is accepted before the
// marker only if the value it leaves can still be observed. In a
// canonical linearization the unknown operations before the marker come
// in runs, each ended by a known operation that reports the value the run
// left; inside a run only appends (which extend the value) and CASes
// (which need the value to equal their Expected) follow one another. So
// every value an unknown operation leaves is a prefix of a value some
// known operation on the key reported, or of some unknown CAS's Expected
// on the key; a value that is neither belongs to a write that, if it
// happened at all, nobody saw. This is what keeps a key with many
// never-applied unknown appends checkable: without it porcupine tries
// every ordering of them between every two known operations.
func ModelFor(ops []porcupine.Operation) porcupine.Model { return newModel(viableValues(ops)) }

// viableValues returns, for each key of ops, the sorted values an unknown
// operation's result must be a prefix of (see ModelFor).
func viableValues(ops []porcupine.Operation) map[string][]string {
	viable := map[string][]string{}
	for _, op := range ops {
		cmd, ok := op.Input.(kv.Command)
		if !ok {
			continue
		}
		res, unknown := outputOf(op.Output)
		switch {
		case !unknown && !res.Stale && res.Found:
			viable[cmd.Key] = append(viable[cmd.Key], res.Value)
		case (unknown || res.Stale) && cmd.Op == kv.OpCAS:
			viable[cmd.Key] = append(viable[cmd.Key], cmd.Expected)
		}
	}
	//detguard:unordered each key's slice is sorted on its own; nothing else depends on the visiting order
	for k, vs := range viable {
		slices.Sort(vs)
		viable[k] = slices.Compact(vs)
	}
	return viable
}

// newModel builds the model; viable, if not nil, holds for each key the
// sorted values an unknown operation's result must be a prefix of.
func newModel(viable map[string][]string) porcupine.Model {
	return porcupine.Model{
		Partition: partition,
		Init:      func() any { return State{} },
		Step: func(state, input, output any) (bool, any) {
			return step(state, input, output, viable)
		},
		Equal:                     func(a, b any) bool { return a.(State) == b.(State) },
		Hash:                      func(s any) uint64 { return hashState(s.(State)) },
		DescribeOperation:         describeOperation,
		DescribeState:             func(s any) string { return s.(State).String() },
		DescribeOperationMetadata: describeMetadata,
	}
}

// isPrefixOfAny reports whether v is a prefix of some string in sorted:
// those strings are contiguous from v's insertion point.
func isPrefixOfAny(sorted []string, v string) bool {
	i, _ := slices.BinarySearch(sorted, v)
	return i < len(sorted) && strings.HasPrefix(sorted[i], v)
}

// Apply executes cmd on a key holding s.Value (if s.Found), exactly as
// kv.Store does (without sessions), and returns the key's next value and
// existence, the result the store reports, and whether cmd is a valid
// command at all. next carries s's flags unchanged.
func Apply(s State, cmd kv.Command) (next State, res kv.Result, ok bool) {
	res = kv.Result{Value: s.Value, Found: s.Found}
	next = s
	switch cmd.Op {
	case kv.OpGet:
	case kv.OpPut:
		res.Applied = true
		next.Value, next.Found = cmd.Value, true
	case kv.OpAppend:
		res.Applied = true
		next.Value, next.Found = s.Value+cmd.Value, true
	case kv.OpCAS:
		if s.Value == cmd.Expected {
			res.Applied = true
			next.Value, next.Found = cmd.Value, true
		}
	default:
		return s, kv.Result{}, false
	}
	return next, res, true
}

func step(state, input, output any, viable map[string][]string) (bool, any) {
	s := state.(State)
	if _, ok := input.(EndMarker); ok {
		if s.Closed || s.Unseen {
			return false, s
		}
		s.Closed = true
		return true, s
	}
	cmd := input.(kv.Command)
	res, unknown := outputOf(output)
	var vs []string
	if viable != nil {
		vs = viable[cmd.Key]
	}
	return stepCommand(s, cmd, res, unknown, viable != nil, vs)
}

// stepCommand is Step for a command, typed (Check's own search calls it
// without boxing states): prune says whether the ModelFor rule applies,
// with viable the key's sorted viable values.
func stepCommand(s State, cmd kv.Command, res kv.Result, unknown, prune bool, viable []string) (bool, State) {
	// A Stale result never reaches here from Check (it records one as
	// unknown); if someone else's history carries one, it is no evidence
	// about the key, so it gets the unknown-outcome treatment too.
	unknown = unknown || res.Stale
	if s.Closed {
		// Only unknown ops are linearized after the marker (known ones
		// return before it), and they never took effect.
		return unknown, s
	}
	next, want, valid := Apply(s, cmd)
	if !unknown {
		next.Unseen = false
		return valid && res == want, next
	}
	switch {
	case !valid, next.Value == s.Value && next.Found == s.Found:
		return false, s // changes nothing: the same as after the marker
	case cmd.Op == kv.OpPut && s.Unseen:
		return false, s // overwrites an unobserved unknown write
	case prune && !isPrefixOfAny(viable, next.Value):
		return false, s // leaves a value no one can observe
	}
	next.Unseen = true
	return true, next
}

func outputOf(output any) (kv.Result, bool) {
	switch o := output.(type) {
	case Output:
		return o.Result, o.Unknown
	case kv.Result:
		return o, false
	}
	panic(fmt.Sprintf("model: operation output is %T, want model.Output or kv.Result", output))
}

// hashState is FNV-1a over the value and the flags, without allocating.
func hashState(s State) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(s.Value); i++ {
		h ^= uint64(s.Value[i])
		h *= prime
	}
	var flags uint64 = 0x10
	for i, f := range []bool{s.Found, s.Unseen, s.Closed} {
		if f {
			flags |= 1 << i
		}
	}
	h ^= flags
	return h * prime
}

// partition splits ops by key, in ascending key order; see groupByKey.
func partition(ops []porcupine.Operation) [][]porcupine.Operation {
	_, groups := groupByKey(ops)
	return groups
}

// groupByKey returns the distinct keys of ops in ascending order and, for
// each, that key's operations in their original order. Check relies on
// this order being the one porcupine sees through Model().Partition.
func groupByKey(ops []porcupine.Operation) ([]string, [][]porcupine.Operation) {
	index := map[string]int{}
	var keys []string
	var groups [][]porcupine.Operation
	for _, op := range ops {
		k := opKey(op)
		i, ok := index[k]
		if !ok {
			i = len(keys)
			index[k] = i
			keys = append(keys, k)
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], op)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case keys[a] < keys[b]:
			return -1
		case keys[a] > keys[b]:
			return 1
		}
		return 0
	})
	sortedKeys := make([]string, len(keys))
	sortedGroups := make([][]porcupine.Operation, len(keys))
	for i, j := range order {
		sortedKeys[i], sortedGroups[i] = keys[j], groups[j]
	}
	return sortedKeys, sortedGroups
}

// opKey is the key an operation of Operations is about.
func opKey(op porcupine.Operation) string {
	if m, ok := op.Input.(EndMarker); ok {
		return m.Key
	}
	return op.Input.(kv.Command).Key
}

// describeOperation renders an operation for the visualization, e.g.
// `put(k1, "a;") -> was absent` or `cas(k1, "a;"→"b;") -> failed, was "c;"`.
func describeOperation(input, output any) string {
	if m, ok := input.(EndMarker); ok {
		return fmt.Sprintf("end of history for %s (unknown ops linearized after it never took effect)", m.Key)
	}
	cmd := input.(kv.Command)
	var call string
	switch cmd.Op {
	case kv.OpGet:
		call = fmt.Sprintf("get(%s)", cmd.Key)
	case kv.OpPut:
		call = fmt.Sprintf("put(%s, %q)", cmd.Key, cmd.Value)
	case kv.OpAppend:
		call = fmt.Sprintf("append(%s, %q)", cmd.Key, cmd.Value)
	case kv.OpCAS:
		call = fmt.Sprintf("cas(%s, %q→%q)", cmd.Key, cmd.Expected, cmd.Value)
	default:
		call = fmt.Sprintf("%s(%s)", cmd.Op, cmd.Key)
	}
	res, unknown := outputOf(output)
	switch {
	case res.Stale && !unknown:
		return call + " -> stale (checked as unknown)"
	case unknown:
		return call + " -> ? (unknown outcome)"
	}
	prev := State{Value: res.Value, Found: res.Found}.String()
	switch cmd.Op {
	case kv.OpGet:
		if res.Applied {
			return call + " -> " + prev + " (applied!?)"
		}
		return call + " -> " + prev
	case kv.OpCAS:
		if res.Applied {
			return call + " -> ok, was " + prev
		}
		return call + " -> failed, was " + prev
	}
	if !res.Applied {
		return call + " -> not applied!?, was " + prev
	}
	return call + " -> was " + prev
}

// metadata is what Check attaches to each porcupine operation, shown in
// the visualization's tooltip.
type metadata struct {
	clientID, seq uint64
	attempts      int
	unknown       bool
	stale         bool
	end           bool
	// name is the client's name in reports ("c3"), when a focused
	// visualization knows it; index the operation's position in the
	// history.
	name  string
	index int
}

func describeMetadata(m any) string {
	md, ok := m.(metadata)
	if !ok {
		if m == nil {
			return ""
		}
		return fmt.Sprint(m)
	}
	if md.end {
		return "end-of-history marker, added by the checker"
	}
	who := fmt.Sprintf("client %d", md.clientID)
	if md.name != "" {
		who = md.name
	}
	s := fmt.Sprintf("%s seq %d, %d attempt(s)", who, md.seq, md.attempts)
	if md.name != "" {
		s += fmt.Sprintf(", history.json index %d", md.index)
	}
	switch {
	case md.stale:
		s += "; recorded Stale, checked as unknown"
	case md.unknown:
		s += "; outcome unknown (may take effect any time after its call, or never)"
	}
	return s
}
