package model

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/anishathalye/porcupine"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Verdict is the outcome of a check.
type Verdict int

const (
	// Unknown: the check ran out of its budget. It is never a pass. It is the zero Verdict, so a Result nobody filled in is not one
	// either.
	Unknown Verdict = iota
	// Linearizable: every key's history has a legal linearization.
	Linearizable
	// NotLinearizable: at least one key's history has none (FailingKeys).
	NotLinearizable
)

func (v Verdict) String() string {
	switch v {
	case Unknown:
		return "unknown"
	case Linearizable:
		return "linearizable"
	case NotLinearizable:
		return "not-linearizable"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Infinity is the return time Check gives an operation with an unknown
// outcome: after every other event, so it may be linearized at any point
// after its call, including after everything else ("never happened").
const Infinity = int64(math.MaxInt64)

// Budget bounds a check's search in model steps (applications of the
// model's Step to one operation): a unit that depends only on the history,
// so a check gives the same verdict on any machine, idle or loaded. A key
// may take Base steps plus PerOp for each of its operations; a key that
// needs more is left unchecked, and the verdict is Unknown, never a pass.
// The zero Budget is no bound.
type Budget struct {
	Base, PerOp int64
}

// DefaultBudget is what a run uses: far beyond what real histories need
// (a few steps per operation; see docs/PERFORMANCE.md), so only a
// pathological key, one whose search explodes, is left unchecked, and a
// check's cost stays linear in the history even then.
func DefaultBudget() Budget { return Budget{Base: 1_000_000, PerOp: 1_000} }

// forKey is the steps a key of n operations may take; negative: no bound.
func (b Budget) forKey(n int) int64 {
	if b == (Budget{}) {
		return -1
	}
	if b.PerOp > 0 && int64(n) > (math.MaxInt64-max(b.Base, 0))/b.PerOp {
		return math.MaxInt64
	}
	return max(b.Base+b.PerOp*int64(n), 0)
}

// Result is what Check found. It holds no wall-clock measurement; time a
// check from the caller if you want one.
type Result struct {
	Verdict Verdict
	// FailingKeys are the keys whose history was proven not linearizable,
	// sorted. Empty unless Verdict is NotLinearizable.
	FailingKeys []string
	// UncheckedKeys are the keys whose check ran out of budget, sorted:
	// what makes the Verdict Unknown, or what was left open beside a
	// failing key.
	UncheckedKeys []string
	// Failures say where each failing key went wrong: its first segment
	// that no order explains (in FailingKeys order).
	Failures []Failure
	// Ops is the number of operations checked, Keys the number of distinct
	// keys among them.
	Ops, Keys int
	// UnknownOps counts the operations checked as having an unknown
	// outcome (StaleOps included).
	UnknownOps int
	// StaleOps counts operations recorded with a known but Stale result.
	// The client should never record one (it is no evidence about the
	// key); Check treats each as unknown. Nonzero means a client bug.
	StaleOps int
	// Segments is how many pieces the keys' histories were cut into at
	// quiet points, LargestSegment the most operations in one, and Steps
	// the model steps the whole check took (what a Budget bounds).
	Segments, LargestSegment int
	Steps                    int64

	history []history.Operation // as checked, for the visualization
	budget  Budget
}

// Failure locates a key's violation: a segment of its history (operations
// between two quiet points) whose operations no order explains, from any
// state the key could be in when the segment began.
type Failure struct {
	Key string
	// From is the segment's first call, To its last return (or, for an
	// unknown operation, the latest time a known one could observe it).
	From, To int64
	// Ops are the segment's operations, as indexes into the history given
	// to Check.
	Ops []int
	// Starts are the states the key could hold when the segment began.
	Starts []State
}

// Operations converts a history to porcupine operations for ModelFor (or
// Model).
// Input is the kv.Command, Output an Output, ClientId the client's rank
// among the history's distinct ClientIDs (porcupine draws one row per
// ClientId from 0 up), and an operation with an unknown outcome (or a
// Stale result) returns at Infinity with Output.Unknown set. A known
// operation recorded as returning before its call is a recorder bug; it is
// checked as if it returned at its call, which can only add constraints.
//
// After the history's operations, in ascending key order, comes one
// EndMarker operation per key, with Call and Return one past the latest
// call or known return (ClientId: one row past the clients). The model
// needs it: see Model.
func Operations(ops []history.Operation) []porcupine.Operation {
	ids := make([]uint64, 0, len(ops))
	keys := make([]string, 0, len(ops))
	for i := range ops {
		ids = append(ids, ops[i].ClientID)
		keys = append(keys, ops[i].Input.Key)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	slices.Sort(keys)
	keys = slices.Compact(keys)

	out := make([]porcupine.Operation, 0, len(ops)+len(keys))
	last := int64(math.MinInt64)
	for i := range ops {
		op := &ops[i]
		rank, _ := slices.BinarySearch(ids, op.ClientID)
		stale := !op.Unknown && op.Output.Stale
		unknown := op.Unknown || stale
		ret := op.Return
		switch {
		case unknown:
			ret = Infinity
		case ret < op.Call:
			ret = op.Call
		}
		last = max(last, op.Call)
		if !unknown {
			last = max(last, ret)
		}
		out = append(out, porcupine.Operation{
			ClientId: rank,
			Input:    op.Input,
			Call:     op.Call,
			Output:   Output{Result: op.Output, Unknown: unknown},
			Return:   ret,
			Metadata: metadata{clientID: op.ClientID, seq: op.Seq, attempts: op.Attempts, unknown: unknown, stale: stale},
		})
	}
	end := min(last, Infinity-2) + 1
	for _, k := range keys {
		out = append(out, porcupine.Operation{
			ClientId: len(ids),
			Input:    EndMarker{Key: k},
			Call:     end,
			Output:   Output{},
			Return:   end,
			Metadata: metadata{end: true},
		})
	}
	return out
}

// Check decides whether ops, a run's whole client history, is
// linearizable, key by key, against Model: each key's history is cut into
// segments at quiet points and the segments are searched in turn, every
// state one can end in feeding the next (see segment.go for why the cuts
// are sound, unknown outcomes included). The search counts model steps
// against budget; a key that runs out is Unknown, never a pass. Check
// reads no clock and starts no goroutine, so its verdict depends on the
// history and the budget alone.
func Check(ops []history.Operation, budget Budget) Result {
	res := Result{Ops: len(ops), history: ops, budget: budget}
	byKey := map[string][]int{}
	for i := range ops {
		op := &ops[i]
		stale := !op.Unknown && op.Output.Stale
		if op.Unknown || stale {
			res.UnknownOps++
		}
		if stale {
			res.StaleOps++
		}
		byKey[op.Input.Key] = append(byKey[op.Input.Key], i)
	}
	keys := slices.Sorted(maps.Keys(byKey))
	res.Keys = len(keys)
	var x search
	for _, key := range keys {
		h := newKeyOps(key, ops, byKey[key], nil)
		limit := budget.forKey(len(byKey[key]))
		var used int64
		x.checkSegments(&res, key, h.segments(), []State{{}}, limit, &used)
	}
	switch {
	case len(res.FailingKeys) > 0:
		res.Verdict = NotLinearizable
	case len(res.UncheckedKeys) > 0:
		res.Verdict = Unknown
	default:
		res.Verdict = Linearizable
	}
	return res
}

// stepSegment checks one segment from starts within what limit leaves
// after used (limit < 0: no limit), counting the segment in res.
func (x *search) stepSegment(res *Result, seg []segOp, starts []State, limit, used int64) (ends []State, steps int64, out bool) {
	res.Segments++
	res.LargestSegment = max(res.LargestSegment, len(seg))
	left := int64(-1)
	if limit >= 0 {
		left = limit - used
	}
	return x.endStates(seg, viable(seg), starts, left)
}

// checkSegments checks a key's segments in turn from starts, adding the
// steps to *used and res; a key that fails, or runs out of steps, is
// listed in res and checked no further. It returns the end states (nil
// then).
func (x *search) checkSegments(res *Result, key string, segs [][]segOp, starts []State, limit int64, used *int64) []State {
	for _, seg := range segs {
		ends, steps, out := x.stepSegment(res, seg, starts, limit, *used)
		*used += steps
		res.Steps += steps
		if out {
			res.UncheckedKeys = append(res.UncheckedKeys, key)
			return nil
		}
		if len(ends) == 0 {
			res.FailingKeys = append(res.FailingKeys, key)
			res.Failures = append(res.Failures, failureAt(key, seg, starts))
			return nil
		}
		starts = ends
	}
	return starts
}

func failureAt(key string, seg []segOp, starts []State) Failure {
	f := Failure{Key: key, From: seg[0].call, To: seg[0].end, Starts: starts}
	for _, op := range seg {
		f.Ops = append(f.Ops, op.pos)
		if op.end != Infinity {
			f.To = max(f.To, op.end)
		}
	}
	slices.Sort(f.Ops)
	return f
}

// keyIndexes returns the distinct keys of ops, sorted, and for each the
// positions of its operations in ops.
func keyIndexes(ops []porcupine.Operation) ([]string, [][]int) {
	byKey := map[string][]int{}
	for i := range ops {
		k := opKey(ops[i])
		byKey[k] = append(byKey[k], i)
	}
	keys := slices.Sorted(maps.Keys(byKey))
	idx := make([][]int, len(keys))
	for i, k := range keys {
		idx[i] = byKey[k]
	}
	return keys, idx
}

// operations is the checked history as porcupine operations (Operations),
// for reports: a visualization, a conflict's partial orders.
func (r Result) operations() []porcupine.Operation { return Operations(r.history) }

// porcupine runs porcupine over ops with model m for a report (a
// visualization, a conflict's partial orders), under the check's budget
// per key, so what a report shows is deterministic too. It costs, on a
// long history, what Check's segments save; only reports ask for it. m
// itself is left unbounded, for porcupine.Visualize to replay orders with.
func (r Result) porcupine(m porcupine.Model, ops []porcupine.Operation) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	return porcupine.CheckOperationsVerbose(budgetedModel(m, ops, r.budget), ops, 0)
}

// budgetedModel is m with each key's Step calls limited by b: once a key
// has used its steps every further step fails, and porcupine's search of
// that key ends at once (with a partial linearization). Porcupine searches
// keys in parallel, one goroutine per key, so each key has a counter of
// its own, and the map is only read.
func budgetedModel(m porcupine.Model, ops []porcupine.Operation, b Budget) porcupine.Model {
	if b == (Budget{}) {
		return m
	}
	keys, idx := keyIndexes(ops)
	left := make(map[string]*int64, len(keys))
	for i, k := range keys {
		n := b.forKey(len(idx[i]))
		left[k] = &n
	}
	inner := m.Step
	m.Step = func(state, input, output any) (bool, any) {
		n := left[inputKey(input)]
		if n == nil || *n <= 0 {
			return false, state
		}
		*n--
		return inner(state, input, output)
	}
	return m
}

// inputKey is the key an operation's input is about.
func inputKey(input any) string {
	if m, ok := input.(EndMarker); ok {
		return m.Key
	}
	return input.(kv.Command).Key
}
