// Package history records what clients saw: every operation's call and
// return in virtual time, with its input and output. An operation whose
// outcome is unknown (it timed out, its client gave up, the node it talked
// to died) is kept open: it may have taken effect at any time after its
// call, or never. Dropping it, or recording it as failed, would make the
// checker accept histories that are wrong.
package history

import (
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Operation is one client operation as seen from outside the cluster.
type Operation struct {
	ClientID uint64
	Seq      uint64
	Input    kv.Command
	Output   kv.Result
	Call     int64 // virtual time the client issued it
	Return   int64 // virtual time it completed; meaningless if Unknown
	// Server is the node whose answer completed it; 0 if Unknown.
	Server uint64
	// Unknown marks an operation with no known outcome.
	Unknown bool
	// Attempts counts the requests sent for it (retries included).
	Attempts int

	_ struct{}
}

func (op Operation) String() string {
	ret := "?"
	if !op.Unknown {
		ret = fmt.Sprint(op.Return)
	}
	s := fmt.Sprintf("client %d #%d %s [%d, %s] -> %+v", op.ClientID, op.Seq, Describe(op.Input), op.Call, ret, op.Output)
	if op.Server != 0 {
		s += fmt.Sprintf(" from %d", op.Server)
	}
	return s
}

// Describe renders a command as a call: get(k0), put(k0, "c1.2"),
// append(k0, "c1.3;"), cas(k0, "c1.2", "c1.4").
func Describe(c kv.Command) string {
	switch c.Op {
	case kv.OpGet:
		return fmt.Sprintf("get(%s)", c.Key)
	case kv.OpPut:
		return fmt.Sprintf("put(%s, %q)", c.Key, c.Value)
	case kv.OpAppend:
		return fmt.Sprintf("append(%s, %q)", c.Key, c.Value)
	case kv.OpCAS:
		return fmt.Sprintf("cas(%s, %q, %q)", c.Key, c.Expected, c.Value)
	}
	return fmt.Sprintf("op%d(%s)", c.Op, c.Key)
}

// History is the list of operations of one run, in call order.
type History struct {
	ops []Operation
	// base is the index (in call order) of ops[0]: a history that
	// forgets drops finished operations from the front.
	base int
	open map[uint64]int // client id -> index of its open operation
	// completed counts the operations with a known outcome, lastDone is
	// the latest call among them.
	completed int
	lastDone  int64
	watch     func(i int, op *Operation, done bool)
	forget    bool
}

// New returns an empty history.
func New() *History { return &History{open: map[uint64]int{}, lastDone: -1} }

// Watch has fn see every operation as it is called (done false) and as
// it finishes (done true): it returned, or its client gave up on it
// (Unknown). i is its index in call order. fn must not keep op.
func (h *History) Watch(fn func(i int, op *Operation, done bool)) { h.watch = fn }

// Forget makes the history drop operations once they and every one
// called before them have finished: a watcher (an online check) took
// what it needs. Operations then returns only the ones still held, so a
// long run's history does not grow with it.
func (h *History) Forget() { h.forget = true }

// Call records that a client issued an operation at time t.
func (h *History) Call(clientID, seq uint64, in kv.Command, t int64) {
	i := h.base + len(h.ops)
	h.open[clientID] = i
	h.ops = append(h.ops, Operation{ClientID: clientID, Seq: seq, Input: in, Call: t, Unknown: true})
	if h.watch != nil {
		h.watch(i, &h.ops[len(h.ops)-1], false)
	}
}

// Attempt counts a request sent for the client's open operation.
func (h *History) Attempt(clientID uint64) {
	if i, ok := h.open[clientID]; ok {
		h.ops[i-h.base].Attempts++
	}
}

// Return records the outcome of the client's open operation, as server
// answered it.
func (h *History) Return(clientID, server uint64, out kv.Result, t int64) {
	i, ok := h.open[clientID]
	if !ok {
		return
	}
	delete(h.open, clientID)
	op := &h.ops[i-h.base]
	op.Output, op.Return, op.Unknown, op.Server = out, t, false, server
	h.completed++
	h.lastDone = max(h.lastDone, op.Call)
	h.finished(i)
}

// GiveUp closes the client's open operation with an unknown outcome.
func (h *History) GiveUp(clientID uint64) {
	i, ok := h.open[clientID]
	if !ok {
		return
	}
	delete(h.open, clientID)
	h.finished(i)
}

// finished hands operation i on to the watcher and, if the history
// forgets, drops the finished operations at the front.
func (h *History) finished(i int) {
	if h.watch != nil {
		h.watch(i, &h.ops[i-h.base], true)
	}
	if !h.forget {
		return
	}
	// The front is finished unless some client's operation there is
	// still open; open operations are few (one per client).
	lowest := h.base + len(h.ops)
	for _, j := range h.open { //detguard:unordered the least index, whatever the order
		lowest = min(lowest, j)
	}
	if k := lowest - h.base; k > len(h.ops)/2 {
		// Drop once the finished front is most of the slice, so the
		// copying stays linear in the operations; into a new array, so
		// a slice Operations returned earlier keeps what it held.
		h.ops = slices.Clone(h.ops[k:])
		h.base = lowest
	}
}

// Operations returns the operations so far (open ones are Unknown), or
// for a history that forgets, those still held. The
// slice shares memory with the history, which is why callers must not
// modify it: a copy per call doubled a long run's largest structure (and
// the liveness check calls it on every poll). Later calls never reach a
// slice already returned; an operation open when it was taken may or may
// not show its later return there (take a new one after the run).
func (h *History) Operations() []Operation { return h.ops[:len(h.ops):len(h.ops)] }

// Len is the number of operations called so far.
func (h *History) Len() int { return h.base + len(h.ops) }

// Completed counts the operations with a known outcome.
func (h *History) Completed() int { return h.completed }

// CompletedSince reports whether an operation called at or after t has
// completed with a known outcome.
func (h *History) CompletedSince(t int64) bool { return h.lastDone >= t }
