package model

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Segmented checking: why a key's history may be cut, and where.
//
// A search over a whole key's history costs more per operation the longer
// the history: porcupine's cache keys carry a bitset over every operation,
// and every unknown operation stays pending to the end. But at a quiet
// point, a time t at which no operation on the key is open, every
// operation before t precedes every operation after it in any
// linearization, so the history splits there: check the first segment,
// collect every state it can end in, and check the next segment from each
// of those. The key is linearizable exactly when the last segment can end
// somewhere. Each segment's search is small, so cost grows linearly.
//
// Unknown operations return at infinity and would never let a quiet point
// come. But the model only places one before the key's end marker where a
// canonical linearization would (see Model): every unknown operation U
// that takes effect is followed, after a run of other unknown operations,
// by a known operation K that reports the value the run left. So U is
// linearized before K returns, and K's reported value has U's written
// value in it: U's value is a prefix of the value U leaves, which is a
// prefix of K's value, or of the Expected of an unknown CAS later in the
// run, whose own write is observed the same way. U therefore acts as an
// operation that returns by its deadline D(U): the latest return of a
// known operation that could observe U's value, directly or through
// unknown CASes. An unknown operation with no such observer (or only ones
// that returned before it was called) never takes effect before the
// marker, and is left out: in the whole history it is linearized after
// the marker, where it never took effect. Over-estimating a deadline only
// costs cuts, never correctness, so D is computed with an index of
// 4-byte substrings: a value contains U's value only if it contains each
// of its 4-grams.
//
// With deadlines, a cut at t is sound when every known operation called
// before t returned before t, and every kept unknown operation called
// before t has its deadline before t. Within a segment an unknown operation
// still returns at infinity; the segment's own end marker (reached with no
// known operation left and the last one linearized known) closes it, and
// an unknown operation not linearized by then never took effect. The
// segment tests (rapid) compare segmented and unsegmented checks, and
// both with brute force, on generated histories with unknown outcomes.

// noDeadline marks an unknown operation that never takes effect before the
// end marker: it has no observer that returned after its call.
const noDeadline = int64(math.MinInt64)

// gramLen is the length of the substrings the deadline index keeps.
const gramLen = 4

// segOp is one operation of a key's history as the segment search sees it.
type segOp struct {
	call, ret int64 // ret is Infinity for an unknown outcome
	end       int64 // what closes it for cutting: ret, or an unknown op's deadline
	cmd       kv.Command
	res       kv.Result
	unknown   bool
	pos       int // index in the history given to Check
}

// keyOps is one key's operations, in call order, ready to cut.
type keyOps struct {
	key string
	ops []segOp
	// earlier are the values of the key's unknown appends that are not
	// among ops (an online check's, from before its last cut): a value
	// shows a write followed by any of the key's unknown appends.
	earlier []string
}

// newKeyOps gathers the operations of key, at positions idx of ops, with
// their outcomes as Operations gives them to porcupine (unknown or stale:
// returns at infinity). earlier are the values of the key's unknown
// appends that are not among them (see keyOps).
func newKeyOps(key string, ops []history.Operation, idx []int, earlier []string) *keyOps {
	h := &keyOps{key: key, ops: make([]segOp, 0, len(idx)), earlier: earlier}
	for _, i := range idx {
		h.ops = append(h.ops, segOpOf(&ops[i], i))
	}
	h.keepObservable()
	slices.SortStableFunc(h.ops, func(a, b segOp) int { return cmp.Compare(a.call, b.call) })
	return h
}

// segOpOf is op, at position pos of the history, with its outcome as
// Operations gives it to porcupine (unknown or stale: returns at
// infinity).
func segOpOf(op *history.Operation, pos int) segOp {
	s := segOp{call: op.Call, ret: op.Return, cmd: op.Input, res: op.Output, pos: pos}
	s.unknown = op.Unknown || op.Output.Stale
	switch {
	case s.unknown:
		s.ret, s.res = Infinity, kv.Result{}
	case s.ret < s.call:
		s.ret = s.call
	}
	s.end = s.ret
	return s
}

// viable returns the values ops can show, sorted: every known result's
// value and every unknown CAS's Expected, the pruning of ModelFor. A
// segment's own suffice: an unknown write's value must be observed within
// its segment (an end state is never Unseen), so a state no value of the
// segment extends leads nowhere. (Keeping the pruning to the segment is
// what lets an online check, which cannot know later values, search a
// segment exactly as the whole history's check does.)
func viable(ops []segOp) []string {
	var out []string
	for i := range ops {
		switch s := &ops[i]; {
		case !s.unknown && s.res.Found:
			out = append(out, s.res.Value)
		case s.unknown && s.cmd.Op == kv.OpCAS:
			out = append(out, s.cmd.Expected)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// writes reports whether cmd can change a key: put, append and CAS.
func writes(cmd kv.Command) bool {
	return cmd.Op == kv.OpPut || cmd.Op == kv.OpAppend || cmd.Op == kv.OpCAS
}

// keepObservable gives every unknown operation its deadline (as end) and
// drops the ones that never take effect before the end marker.
func (h *keyOps) keepObservable() {
	appends := slices.Clone(h.earlier) // values of the key's unknown appends
	unknownWrites := false
	for i := range h.ops {
		if op := &h.ops[i]; op.unknown && writes(op.cmd) {
			unknownWrites = true
			if op.cmd.Op == kv.OpAppend {
				appends = append(appends, op.cmd.Value)
			}
		}
	}
	if !unknownWrites {
		h.dropUnknown(nil, true)
		return
	}
	slices.Sort(appends)
	appends = slices.Compact(appends)
	known := observers{appends: appends}
	for i := range h.ops {
		if op := &h.ops[i]; !op.unknown && op.res.Found {
			known.add(op.res.Value, op.ret)
		}
	}
	known.index()
	base := make([]int64, len(h.ops))
	for i := range h.ops {
		base[i] = noDeadline
		if op := &h.ops[i]; op.unknown && writes(op.cmd) {
			base[i] = known.bound(op.cmd)
		}
	}
	// An unknown CAS that takes effect observes, through its Expected, the
	// value before it, and is itself observed by its own deadline: iterate
	// to the least fixpoint (deadlines only grow, over a finite set).
	deadline := slices.Clone(base)
	converged := false
	for round := 0; round < 16 && !converged; round++ {
		cas := observers{appends: appends}
		for i := range h.ops {
			if op := &h.ops[i]; op.unknown && op.cmd.Op == kv.OpCAS && deadline[i] >= op.call {
				cas.add(op.cmd.Expected, deadline[i])
			}
		}
		converged = true
		if len(cas.values) == 0 {
			break
		}
		cas.index()
		for i := range h.ops {
			op := &h.ops[i]
			if !op.unknown || !writes(op.cmd) {
				continue
			}
			if d := max(base[i], cas.bound(op.cmd)); d != deadline[i] {
				deadline[i] = d
				if op.cmd.Op == kv.OpCAS {
					converged = false
				}
			}
		}
	}
	h.dropUnknown(deadline, converged)
}

// dropUnknown sets each unknown operation's end to its deadline and drops
// those whose deadline is before their call. Without deadlines (none
// given, or no fixpoint reached) every unknown write is kept, open to the
// end, and every other unknown operation dropped.
func (h *keyOps) dropUnknown(deadline []int64, converged bool) {
	kept := h.ops[:0]
	for i, op := range h.ops {
		if op.unknown {
			d := noDeadline
			switch {
			case deadline != nil && converged:
				d = deadline[i]
			case deadline != nil && writes(op.cmd):
				d = Infinity // give up on bounding: the write may matter to the end
			}
			if d < op.call {
				continue // never takes effect before the marker
			}
			op.end = d
		}
		kept = append(kept, op)
	}
	h.ops = kept
}

// observers index the values that may show an unknown operation's write
// (known operations' results, unknown CASes' Expected), each with the
// latest time it can do so, and answer "the latest value that shows this
// write".
//
// A write w shows in value v when v is what the write left followed by
// the values of unknown appends (the rest of its run: after an unknown
// operation only unknown appends and CASes may follow before a known one
// reports the value, and a CAS's Expected is itself a value searched).
// So v = w + rest for a put or CAS, v = before + w + rest for an append,
// where rest is empty or starts with one of the key's unknown appends.
// Put and CAS are found by prefix in the sorted values; appends through
// the 4-byte substrings of w (each lists the values it occurs in; a query
// scans the shortest list), an index built only if an append is asked for.
type observers struct {
	appends []string           // the key's unknown appends' values, sorted
	values  []string           // distinct, sorted (after index)
	times   []int64            // latest time of each value
	grams   map[uint32][]int32 // 4-gram -> indexes of values containing it, built when first needed
}

func (o *observers) add(v string, t int64) {
	o.values = append(o.values, v)
	o.times = append(o.times, t)
}

func gram(s string) uint32 {
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// index sorts the values and keeps each once, with its latest time.
func (o *observers) index() {
	order := make([]int, len(o.values))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(o.values[a], o.values[b]) })
	values, times := make([]string, 0, len(order)), make([]int64, 0, len(order))
	for _, i := range order {
		if n := len(values); n > 0 && values[n-1] == o.values[i] {
			times[n-1] = max(times[n-1], o.times[i])
			continue
		}
		values, times = append(values, o.values[i]), append(times, o.times[i])
	}
	o.values, o.times = values, times
}

func (o *observers) gramIndex() map[uint32][]int32 {
	if o.grams == nil {
		o.grams = map[uint32][]int32{}
		for i, v := range o.values {
			for j := 0; j+gramLen <= len(v); j++ {
				g := gram(v[j : j+gramLen])
				list := o.grams[g]
				if n := len(list); n == 0 || list[n-1] != int32(i) {
					o.grams[g] = append(list, int32(i))
				}
			}
		}
	}
	return o.grams
}

// continues reports whether rest may follow a write in a value that shows
// it: nothing, or an unknown append's value first.
func (o *observers) continues(rest string) bool {
	if rest == "" {
		return true
	}
	i, _ := slices.BinarySearch(o.appends, rest)
	// Appends that are prefixes of rest sort at or before rest's position.
	for j := min(i, len(o.appends)-1); j >= 0; j-- {
		a := o.appends[j]
		if strings.HasPrefix(rest, a) {
			return true
		}
		if a == "" || a[0] != rest[0] {
			return a == "" // "" is a prefix of everything
		}
	}
	return false
}

// shows reports whether value v may show write cmd.
func (o *observers) shows(v string, cmd kv.Command) bool {
	w := cmd.Value
	if cmd.Op != kv.OpAppend {
		return strings.HasPrefix(v, w) && o.continues(v[len(w):])
	}
	for off := 0; off+len(w) <= len(v); {
		j := strings.Index(v[off:], w)
		if j < 0 {
			return false
		}
		if o.continues(v[off+j+len(w):]) {
			return true
		}
		off += j + 1
	}
	return false
}

// bound is the latest time of a value that may show write cmd, noDeadline
// if none does.
func (o *observers) bound(cmd kv.Command) int64 {
	b := noDeadline
	try := func(i int) {
		if o.times[i] > b && o.shows(o.values[i], cmd) {
			b = o.times[i]
		}
	}
	w := cmd.Value
	switch {
	case len(o.values) == 0:
	case cmd.Op != kv.OpAppend:
		// Values with prefix w are contiguous in sorted order.
		lo, _ := slices.BinarySearch(o.values, w)
		for i := lo; i < len(o.values) && strings.HasPrefix(o.values[i], w); i++ {
			try(i)
		}
	case len(w) < gramLen:
		for i := range o.values {
			try(i)
		}
	default:
		grams := o.gramIndex()
		var shortest []int32
		for j := 0; j+gramLen <= len(w); j++ {
			list, ok := grams[gram(w[j:j+gramLen])]
			if !ok {
				return noDeadline
			}
			if j == 0 || len(list) < len(shortest) {
				shortest = list
			}
		}
		for _, i := range shortest {
			try(int(i))
		}
	}
	return b
}

// segments cuts h's operations at its quiet points: before an operation
// called after every earlier one has ended (returned, or passed its
// deadline).
func (h *keyOps) segments() [][]segOp {
	var out [][]segOp
	start := 0
	end := int64(math.MinInt64)
	for i, op := range h.ops {
		if i > start && op.call > end {
			out = append(out, h.ops[start:i])
			start = i
		}
		end = max(end, op.end)
	}
	if start < len(h.ops) {
		out = append(out, h.ops[start:])
	}
	return out
}

// search finds every state one segment can end in, from a set of start
// states: a depth-first search over configurations (operations resolved,
// state), each visited once (the cache of Wing & Gong's algorithm as Lowe
// improved it), counting model steps against a budget. One search serves
// a whole check, segment after segment, reusing its memory.
//
// An operation is resolved when it is placed, or, for an unknown one, when
// it can no longer be: once an operation called after an unknown one's
// deadline is placed, the unknown one would come after its own observer,
// so in every linearization the model accepts it never took effect. This
// keeps the set of open operations to the ones near the frontier, so a
// configuration is stored as (first open operation, the bits from there to
// the last resolved one) and a search step costs what the concurrency
// costs, not what the segment's length does.
type search struct {
	ops      []segOp
	viable   []string
	resolved []uint64 // bitset over ops
	dead     []int    // unknown operations resolved as never taken effect, in order (undone on backtrack)
	// seen holds every configuration visited: hash -> index in configs of
	// the newest with that hash, whose next links to older ones; each
	// configuration's key (lo, n, n words of bits) lives in slab at off.
	seen    map[uint64]int
	configs []config
	slab    []uint64
	key     []uint64 // scratch: the current configuration's key
	ends    []State
	isEnd   map[State]bool
	steps   int64
	budget  int64 // steps allowed; negative: unbounded
	out     bool  // the budget ran out
}

type config struct {
	off   int // key at slab[off:], its length in slab[off+1]+2 words
	next  int // older configuration with the same hash, or -1
	state State
}

// endStates returns every state ops can end in from any of starts (sorted),
// the steps it took, and whether the budget (limit; negative: none) ran
// out first, in which case the states found are not all of them.
func (x *search) endStates(ops []segOp, viable []string, starts []State, limit int64) (ends []State, steps int64, exhausted bool) {
	x.ops, x.viable, x.budget, x.steps, x.out = ops, viable, limit, 0, false
	words := (len(ops) + 63) / 64
	x.resolved = slices.Grow(x.resolved[:0], words)[:words]
	clear(x.resolved)
	if x.seen == nil {
		x.seen, x.isEnd = map[uint64]int{}, map[State]bool{}
	}
	clear(x.seen)
	clear(x.isEnd)
	x.configs, x.slab, x.dead, x.ends = x.configs[:0], x.slab[:0], x.dead[:0], nil
	known := 0
	for i := range ops {
		if !ops[i].unknown {
			known++
		}
	}
	for _, s := range starts {
		x.visit(s, known, 0, 0, int64(math.MinInt64))
		if x.out {
			break
		}
	}
	slices.SortFunc(x.ends, func(a, b State) int {
		return cmp.Or(cmp.Compare(a.Value, b.Value), boolCmp(a.Found, b.Found))
	})
	return x.ends, x.steps, x.out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// visit explores from state s, with knownLeft known operations open, every
// operation before lo resolved, none from frontier on, and maxCall the
// latest call among the placed operations.
func (x *search) visit(s State, knownLeft, lo, frontier int, maxCall int64) {
	ops := x.ops
	// Resolve the unknown operations whose deadline has passed, then skip
	// what is resolved at the front.
	undo := len(x.dead)
	for i := lo; i < frontier; i++ {
		if op := &ops[i]; op.unknown && op.end < maxCall && !x.isResolved(i) {
			x.resolve(i)
			x.dead = append(x.dead, i)
		}
	}
	defer x.undoDead(undo)
	for lo < frontier && x.isResolved(lo) {
		lo++
	}
	if !x.remember(s, lo, frontier) {
		return
	}
	if knownLeft == 0 {
		// Every known operation is placed; the segment's end marker may
		// follow unless the last one placed was unknown (and unobserved).
		// Unknown operations left open never took effect.
		if !s.Unseen && !x.isEnd[s] {
			x.isEnd[s] = true
			x.ends = append(x.ends, s)
		}
		return
	}
	// An operation may go next if no open known operation returned before
	// it was called: calls up to the least return among open known ones.
	minRet := Infinity
	hi := lo
	for ; hi < len(ops) && ops[hi].call <= minRet; hi++ {
		if !ops[hi].unknown && ops[hi].ret < minRet && !x.isResolved(hi) {
			minRet = ops[hi].ret
		}
	}
	for i := lo; i < hi; i++ {
		op := &ops[i]
		if op.call > minRet || x.isResolved(i) || (op.unknown && op.end < maxCall) {
			continue
		}
		if x.budget >= 0 && x.steps >= x.budget {
			x.out = true
			return
		}
		x.steps++
		ok, next := stepCommand(s, op.cmd, op.res, op.unknown, true, x.viable)
		if !ok {
			continue
		}
		x.resolve(i)
		left := knownLeft
		if !op.unknown {
			left--
		}
		x.visit(next, left, lo, max(frontier, i+1), max(maxCall, op.call))
		x.unresolve(i)
		if x.out {
			return
		}
	}
}

func (x *search) isResolved(i int) bool { return x.resolved[i>>6]&(1<<(i&63)) != 0 }
func (x *search) resolve(i int)         { x.resolved[i>>6] |= 1 << (i & 63) }
func (x *search) unresolve(i int)       { x.resolved[i>>6] &^= 1 << (i & 63) }

func (x *search) undoDead(to int) {
	for _, i := range x.dead[to:] {
		x.unresolve(i)
	}
	x.dead = x.dead[:to]
}

// remember records the configuration (resolved set, s), with every
// operation before lo resolved and none from frontier on, and reports
// whether it is new.
func (x *search) remember(s State, lo, frontier int) bool {
	n := (frontier - lo + 63) / 64
	x.key = append(x.key[:0], uint64(lo), uint64(n))
	for w := 0; w < n; w++ {
		x.key = append(x.key, x.bitsAt(lo+64*w, frontier))
	}
	h := hashState(s)
	for _, w := range x.key {
		h = (h ^ w) * 0x9fb21c651e98df25
		h ^= h >> 29
	}
	head, ok := x.seen[h]
	if ok {
		for c := head; c >= 0; c = x.configs[c].next {
			cf := &x.configs[c]
			if cf.state == s && slices.Equal(x.slab[cf.off:cf.off+2+int(x.slab[cf.off+1])], x.key) {
				return false
			}
		}
	} else {
		head = -1
	}
	x.seen[h] = len(x.configs)
	x.configs = append(x.configs, config{off: len(x.slab), next: head, state: s})
	x.slab = append(x.slab, x.key...)
	return true
}

// bitsAt returns the 64 resolved bits from operation from on, those at or
// beyond limit cleared.
func (x *search) bitsAt(from, limit int) uint64 {
	w, b := from>>6, uint(from&63)
	v := x.resolved[w] >> b
	if b > 0 && w+1 < len(x.resolved) {
		v |= x.resolved[w+1] << (64 - b)
	}
	if n := limit - from; n < 64 {
		v &= 1<<uint(n) - 1
	}
	return v
}
