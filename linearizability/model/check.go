package model

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
)

// Verdict is the outcome of a check.
type Verdict int

const (
	// Unknown: the check did not finish within its timeout. It is never a
	// pass. It is the zero Verdict, so a Result nobody filled in is not one
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

// Result is what Check found. It holds no wall-clock measurement; time a
// check from the caller if you want one.
type Result struct {
	Verdict Verdict
	// FailingKeys are the keys whose history was proven not linearizable,
	// sorted. Empty unless Verdict is NotLinearizable, and then non-empty
	// unless a re-check (see Check) timed out, in which case the failing
	// key is among UncheckedKeys.
	FailingKeys []string
	// UncheckedKeys are the keys whose check did not finish within the
	// timeout, sorted: all the keys left open when Verdict is Unknown,
	// and possibly some alongside FailingKeys.
	UncheckedKeys []string
	// Info is porcupine's record of the check, for Visualize (see
	// WriteVisualization). It covers every key.
	Info porcupine.LinearizationInfo
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

	ops     []porcupine.Operation // as checked, for a focused visualization
	timeout time.Duration
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
// linearizable, key by key, with porcupine: Operations(ops) against
// ModelFor of them. timeout bounds porcupine's search (zero or negative:
// no bound); when it runs out the verdict is Unknown, never a pass. Check
// reads no clock; time it from the caller if you want the figure.
//
// When porcupine finds a violation and more than one key is left without
// a linearization, those keys are checked again one by one (each with the
// same timeout) to tell keys proven wrong from keys whose check was merely
// cut short, so in that case a check can take longer than timeout.
func Check(ops []history.Operation, timeout time.Duration) Result {
	pops := Operations(ops)
	m := ModelFor(pops)
	keys, groups := groupByKey(pops)
	res := Result{Ops: len(ops), Keys: len(keys), ops: pops, timeout: timeout}
	for i := range pops {
		md := pops[i].Metadata.(metadata)
		if md.unknown {
			res.UnknownOps++
		}
		if md.stale {
			res.StaleOps++
		}
	}

	verdict, info := porcupine.CheckOperationsVerbose(m, pops, timeout)
	res.Info = info

	// A key's check finished with a linearization exactly when one of its
	// partial linearizations covers all of its operations. Porcupine reports
	// partitions in the order Model().Partition returns them, which is
	// groupByKey's ascending key order.
	partials := info.PartialLinearizations()
	var open []int
	for i := range groups {
		complete := false
		if i < len(partials) {
			for _, p := range partials[i] {
				if len(p) == len(groups[i]) {
					complete = true
					break
				}
			}
		}
		if !complete {
			open = append(open, i)
		}
	}

	switch verdict {
	case porcupine.Ok:
		res.Verdict = Linearizable
	case porcupine.Illegal:
		res.Verdict = NotLinearizable
		if len(open) == 1 || timeout <= 0 {
			// Some key was proven wrong, and with no timeout (or just one
			// candidate) every open key is one of those.
			for _, i := range open {
				res.FailingKeys = append(res.FailingKeys, keys[i])
			}
			break
		}
		// The timeout may have cut some open keys short: ask again, key by
		// key.
		for _, i := range open {
			switch porcupine.CheckOperationsTimeout(m, groups[i], timeout) {
			case porcupine.Illegal:
				res.FailingKeys = append(res.FailingKeys, keys[i])
			case porcupine.Unknown:
				res.UncheckedKeys = append(res.UncheckedKeys, keys[i])
			case porcupine.Ok:
			}
		}
	default: // porcupine.Unknown, or anything a later porcupine adds
		res.Verdict = Unknown
		for _, i := range open {
			res.UncheckedKeys = append(res.UncheckedKeys, keys[i])
		}
	}
	return res
}
