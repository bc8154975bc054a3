package model

import (
	"maps"
	"slices"
	"strings"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Online is Check run while the history is being made, so a long run
// need not keep its whole history: each key's operations are checked
// segment by segment as quiet points pass, and the operations of a
// checked segment are dropped. What it keeps of a key is the states the
// key may be in at its last cut, the operations since, and the values of
// the unknown writes before the cut.
//
// Its result is Check's on the whole history, exactly, or it says it
// cannot tell (Result's ok false), and the caller checks the whole
// history instead (a run is run again, keeping it). Why it can be exact:
// a cut at a quiet point t is final once every operation called before t
// is known to have ended before t. For a known operation that is its
// return. For an unknown write it is its deadline (segment.go), the
// latest return of a known operation whose value shows the write, and a
// later operation could still show it. So Online remembers the unknown
// writes it cut behind, and if any later value shows one of them, its
// deadline would have moved past the cut: Online gives up (in a correct
// run this does not happen, because Online cuts behind an unknown write
// only once a known write has replaced its value; a run whose reads
// return stale values may make it give up). The rest of what a segment's
// search depends on is its own: the start states, its operations, the
// values its pruning keeps (viable), and the key's unknown appends, which
// Online keeps. The search's budget is Check's (a key's Base plus PerOp
// for each of its operations), which Online knows only at the end: until
// then a segment may use what the operations so far allow, which is less,
// and if that runs out Online gives up too.
type Online struct {
	budget Budget
	keys   map[string]*onlineKey
	x      search
	calls  int // operations called so far
	open   int // operations called and not finished
	res    Result
	// gaveUp says why the result cannot be told online ("": it can).
	gaveUp string
	// dropped counts the operations checked and dropped during the run.
	dropped int
}

// onlineKey is one key's state in an online check.
type onlineKey struct {
	key  string
	n    int      // operations on the key so far
	work []workOp // operations since the last cut, in call order
	used int64    // model steps so far
	// starts are the states the key may be in at the last cut.
	starts []State
	// failed: a segment had no order (the key is done, as in Check).
	failed bool
	// appends are the values of the key's unknown appends (all of them,
	// before the cut or after), sorted.
	appends []string
	// behind are the unknown writes before the last cut: a later value
	// that shows one means the cut was not final.
	behind behindIndex
	// retry is the length work must reach before the next try to cut.
	retry int
	// suspects are unknown CASes since the cut (call indexes) whose
	// Expected shows a write behind it: that is an observation only if
	// the CAS itself is observed (kept with a deadline), which is known
	// when it is cut or at the end.
	suspects []int
}

type workOp struct {
	pos      int // index in call order
	op       history.Operation
	finished bool
}

// NewOnline starts an online check with Check's budget.
func NewOnline(b Budget) *Online {
	return &Online{budget: b, keys: map[string]*onlineKey{}, res: Result{budget: b}}
}

// Called records that op was called; i is its index in call order (0,
// 1, ...), as history.History numbers them.
func (o *Online) Called(i int, op *history.Operation) {
	o.calls = max(o.calls, i+1)
	o.open++
	k := o.keys[op.Input.Key]
	if k == nil {
		k = &onlineKey{key: op.Input.Key, starts: []State{{}}, retry: onlineRetry}
		o.keys[op.Input.Key] = k
	}
	k.n++
	if k.failed {
		return
	}
	k.work = append(k.work, workOp{pos: i, op: *op})
}

// onlineRetry is the least number of operations a key holds before
// Online tries to cut it.
const onlineRetry = 32

// Finished records that operation i returned (op.Unknown false) or was
// given up (op.Unknown true).
func (o *Online) Finished(i int, op *history.Operation) {
	unknown := op.Unknown || op.Output.Stale
	o.open--
	if unknown {
		o.res.UnknownOps++
	}
	if !op.Unknown && op.Output.Stale {
		o.res.StaleOps++
	}
	k := o.keys[op.Input.Key]
	if k == nil || k.failed {
		return
	}
	j, found := slices.BinarySearchFunc(k.work, i, func(w workOp, i int) int { return w.pos - i })
	if !found || k.work[j].finished {
		return
	}
	k.work[j].op, k.work[j].finished = *op, true
	newAppend := false
	if unknown && op.Input.Op == kv.OpAppend {
		if p, ok := slices.BinarySearch(k.appends, op.Input.Value); !ok {
			k.appends = slices.Insert(k.appends, p, op.Input.Value)
			newAppend = true
		}
	}
	// A value that shows a write behind the cut moves that write's
	// deadline past the cut: the cut was not final. A new unknown append
	// may make a value seen since the cut show one (the write, then the
	// append), so they are all looked at again.
	if o.gaveUp == "" && !k.behind.empty() {
		o.showsBehind(k, op, i)
		if newAppend {
			// Only a value holding the append can show a write through it.
			a := op.Input.Value
			for _, w := range k.work {
				if w.finished && o.gaveUp == "" && (strings.Contains(w.op.Output.Value, a) || strings.Contains(w.op.Input.Expected, a)) {
					o.showsBehind(k, &w.op, w.pos)
				}
			}
		}
	}
	if o.gaveUp == "" && len(k.work) >= k.retry {
		o.cut(k)
		k.retry = max(onlineRetry, 2*len(k.work))
	}
}

// showsBehind gives up if op, finished, shows a write behind k's cut,
// and reports whether it did.
func (o *Online) showsBehind(k *onlineKey, op *history.Operation, i int) bool {
	s := segOpOf(op, i)
	switch {
	case !s.unknown && s.res.Found && k.behind.shownIn(s.res.Value, k.appends):
		o.gaveUp = "key " + k.key + ": a value returned after a cut shows an unknown write before it"
	case s.unknown && s.cmd.Op == kv.OpCAS && !slices.Contains(k.suspects, i) && k.behind.shownIn(s.cmd.Expected, k.appends):
		k.suspects = append(k.suspects, i)
	}
	return o.gaveUp != ""
}

// suspectKept gives up if a suspect CAS (see onlineKey.suspects) is
// among h's operations (whose positions are call indexes) and kept:
// observed, its Expected shows a write behind the cut.
func (o *Online) suspectKept(k *onlineKey, h *keyOps) {
	for _, op := range h.ops {
		if op.unknown && slices.Contains(k.suspects, op.pos) {
			o.gaveUp = "key " + k.key + ": an unknown CAS after a cut, observed, expects an unknown write before it"
			return
		}
	}
}

// Result returns Check's result on the whole history, treating the
// operations never finished as unknown; ok is false if Online cannot
// tell it (Why says why), and the whole history must be checked instead.
// The result holds no history: its Conflicts are empty.
func (o *Online) Result() (res Result, ok bool) {
	if o.gaveUp != "" {
		return Result{}, false
	}
	res = o.res
	res.Ops, res.Keys = o.calls, len(o.keys)
	res.UnknownOps += o.open // open at the end: unknown, as Check records it
	for _, key := range slices.Sorted(maps.Keys(o.keys)) {
		k := o.keys[key]
		if k.failed {
			continue
		}
		h := k.keyOps(len(k.work))
		if o.suspectKept(k, h); o.gaveUp != "" {
			return Result{}, false
		}
		if ends := o.x.checkSegments(&res, key, h.segments(), k.starts, o.budget.forKey(k.n), &k.used); ends != nil {
			k.starts = ends
		}
	}
	slices.Sort(res.FailingKeys)
	slices.SortFunc(res.Failures, func(a, b Failure) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(res.UncheckedKeys)
	switch {
	case len(res.FailingKeys) > 0:
		res.Verdict = NotLinearizable
	case len(res.UncheckedKeys) > 0:
		res.Verdict = Unknown
	default:
		res.Verdict = Linearizable
	}
	return res, true
}

// Why says why Result cannot tell the result ("" if it can).
func (o *Online) Why() string { return o.gaveUp }

// keyOps is the first n operations of work (all finished) ready to cut,
// with the key's earlier unknown appends.
func (k *onlineKey) keyOps(n int) *keyOps {
	ops := make([]history.Operation, n)
	for j := range ops {
		ops[j] = k.work[j].op
	}
	idx := make([]int, n)
	for j := range idx {
		idx[j] = j
	}
	h := newKeyOps(k.key, ops, idx, k.appends)
	for j := range h.ops {
		h.ops[j].pos = k.work[h.ops[j].pos].pos
	}
	return h
}

// cut checks the key's segments that are final and drops their
// operations: those before a quiet point that no operation still open
// (or called later) can reach, behind which every unknown write's value
// has been replaced by a known write (so no later value should show it).
func (o *Online) cut(k *onlineKey) {
	// Only operations called before the first open one can be cut off.
	n := len(k.work)
	for j, w := range k.work {
		if !w.finished {
			n = j
			break
		}
	}
	if n == 0 {
		return
	}
	// Deadlines count every value seen so far, the finished operations
	// after n included: cut the finished ones after n too, and keep only
	// the cuts before operation n.
	var fin []int // positions in work of the finished operations
	for j, w := range k.work {
		if w.finished {
			fin = append(fin, j)
		}
	}
	ops := make([]history.Operation, len(fin))
	for a, j := range fin {
		ops[a] = k.work[j].op
	}
	idx := make([]int, len(fin))
	for a := range idx {
		idx[a] = a
	}
	h := newKeyOps(k.key, ops, idx, k.appends)
	for a := range h.ops {
		h.ops[a].pos = fin[h.ops[a].pos] // position in work
	}
	segs := h.segments()
	// The last segment is never final here: later operations may join it.
	final := 0 // segments to check and drop
	var firstOpen int64 = Infinity
	if n < len(k.work) {
		firstOpen = k.work[n].op.Call
	}
	// When each unknown write kept in the segments may last show (its
	// deadline); one not kept has shown nowhere yet.
	ends := map[int]int64{}
	for _, op := range h.ops {
		if op.unknown {
			ends[op.pos] = op.end
		}
	}
	var unsettled []int64 // unknown writes before the candidate cut, by when they may last show
	from := 0             // work before it is settled into unsettled
	for s := 0; s+1 < len(segs); s++ {
		next := segs[s+1][0]
		if next.pos >= n || next.call >= firstOpen {
			break
		}
		for ; from < next.pos; from++ {
			op := segOpOf(&k.work[from].op, from)
			if e, ok := ends[from]; ok {
				op.end = e
			} else if op.unknown {
				op.end = op.call // not kept: no value has shown it
			}
			unsettled = settle(unsettled, op)
		}
		if len(unsettled) == 0 {
			final = s + 1 // the latest cut behind which every write settled
		}
	}
	if final == 0 {
		return
	}
	cutAt := segs[final][0].pos // work before it is cut off
	if len(k.suspects) > 0 {
		for _, op := range h.ops {
			if op.unknown && op.pos < cutAt && slices.Contains(k.suspects, k.work[op.pos].pos) {
				o.gaveUp = "key " + k.key + ": an unknown CAS after a cut, observed, expects an unknown write before it"
				return
			}
		}
		first := k.work[cutAt].pos
		k.suspects = slices.DeleteFunc(k.suspects, func(i int) bool { return i < first })
	}
	limit := o.budget.forKey(k.n) // what the operations so far allow: at most Check's
	for _, seg := range segs[:final] {
		ends, steps, out := o.x.stepSegment(&o.res, seg, k.starts, limit, k.used)
		if out {
			// Check may have more steps to give this key: only the end tells.
			o.res.Segments--
			o.gaveUp = "key " + k.key + ": a segment needs more steps than the operations so far allow"
			return
		}
		k.used += steps
		o.res.Steps += steps
		if len(ends) == 0 {
			// Positions in work back to call order for the failure.
			f := failureAt(k.key, remap(seg, k.work), k.starts)
			k.failed = true
			k.work = nil
			o.failed(f)
			return
		}
		k.starts = ends
	}
	// Drop what the final segments held (every operation called before
	// the next one's first), remembering its unknown writes.
	for _, w := range k.work[:cutAt] {
		if s := segOpOf(&w.op, w.pos); s.unknown && writes(s.cmd) {
			k.behind.add(s.cmd)
		}
	}
	o.dropped += cutAt
	k.work = slices.Delete(k.work, 0, cutAt)
}

// failed files a key's failure found during the run (Result sorts them).
func (o *Online) failed(f Failure) {
	o.res.Failures = append(o.res.Failures, f)
	o.res.FailingKeys = append(o.res.FailingKeys, f.Key)
}

// remap returns seg with positions in work turned into call indexes.
func remap(seg []segOp, work []workOp) []segOp {
	out := slices.Clone(seg)
	for i := range out {
		out[i].pos = work[out[i].pos].pos
	}
	return out
}

// settle takes the next operation before a candidate cut, in call order:
// an unknown write joins unsettled (as the time after which its value may
// last show: its call or its deadline), a known write removes those it
// replaced: the ones whose time is before its call (and it ended before
// the cut, which is a quiet point). A cut behind an
// unsettled write is not made: in a correct run no value after the cut
// shows a settled one. (Only a matter of how often Online gives up: the
// guard checks every cut.)
func settle(unsettled []int64, op segOp) []int64 {
	switch {
	case op.unknown && writes(op.cmd):
		unsettled = append(unsettled, max(op.call, op.end))
	case !op.unknown && replaces(op):
		unsettled = slices.DeleteFunc(unsettled, func(from int64) bool { return from < op.call })
	}
	return unsettled
}

// replaces reports whether a known operation replaced the key's value
// (after it, no earlier unknown write shows): a put, an append, or a CAS
// that applied.
func replaces(k segOp) bool {
	switch k.cmd.Op {
	case kv.OpPut, kv.OpAppend:
		return true
	case kv.OpCAS:
		return k.res.Applied
	}
	return false
}

// behindIndex holds the unknown writes behind a key's cut, to tell
// whether a value shows one of them (as observers.shows decides).
type behindIndex struct {
	// whole are puts' and CASes' values (a value that shows one starts
	// with it), lens their distinct lengths.
	whole map[string]kv.Command
	lens  []int
	// parts are appends' values (a value that shows one contains it),
	// by their first four bytes, with a bit per such gram in filter (a
	// value's grams are mostly not there: the bit saves the lookup);
	// short are those shorter than four bytes.
	parts  map[uint32][]kv.Command
	filter []uint64
	short  []kv.Command
}

// filterBits is the size of behindIndex.filter, in bits.
const filterBits = 1 << 14

func filterBit(g uint32) (word int, bit uint64) {
	h := (g * 0x9e3779b1) >> (32 - 14)
	return int(h >> 6), 1 << (h & 63)
}

func (b *behindIndex) empty() bool {
	return len(b.whole) == 0 && len(b.parts) == 0 && len(b.short) == 0
}

func (b *behindIndex) add(cmd kv.Command) {
	w := cmd.Value
	switch {
	case cmd.Op != kv.OpAppend:
		if b.whole == nil {
			b.whole = map[string]kv.Command{}
		}
		b.whole[w] = cmd
		if i, ok := slices.BinarySearch(b.lens, len(w)); !ok {
			b.lens = slices.Insert(b.lens, i, len(w))
		}
	case len(w) < gramLen:
		b.short = append(b.short, cmd)
	default:
		if b.parts == nil {
			b.parts, b.filter = map[uint32][]kv.Command{}, make([]uint64, filterBits/64)
		}
		g := gram(w)
		b.parts[g] = append(b.parts[g], cmd)
		word, bit := filterBit(g)
		b.filter[word] |= bit
	}
}

// shownIn reports whether v shows any write behind the cut, given the
// key's unknown appends.
func (b *behindIndex) shownIn(v string, appends []string) bool {
	o := observers{appends: appends}
	for _, n := range b.lens {
		if len(v) < n {
			break
		}
		if cmd, ok := b.whole[v[:n]]; ok && o.shows(v, cmd) {
			return true
		}
	}
	for _, cmd := range b.short {
		if o.shows(v, cmd) {
			return true
		}
	}
	if len(b.parts) > 0 {
		for i := 0; i+gramLen <= len(v); i++ {
			g := gram(v[i : i+gramLen])
			if word, bit := filterBit(g); b.filter[word]&bit == 0 {
				continue
			}
			for _, cmd := range b.parts[g] {
				if strings.HasPrefix(v[i:], cmd.Value) && o.shows(v, cmd) {
					return true
				}
			}
		}
	}
	return false
}
