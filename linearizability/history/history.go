// Package history records what clients saw: every operation's call and
// return in virtual time, with its input and output. An operation whose
// outcome is unknown (it timed out, its client gave up, the node it talked
// to died) is kept open: it may have taken effect at any time after its
// call, or never. Dropping it, or recording it as failed, would make the
// checker accept histories that are wrong.
package history

import (
	"fmt"

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
	ops  []Operation
	open map[uint64]int // client id -> index of its open operation
}

// New returns an empty history.
func New() *History { return &History{open: map[uint64]int{}} }

// Call records that a client issued an operation at time t.
func (h *History) Call(clientID, seq uint64, in kv.Command, t int64) {
	h.open[clientID] = len(h.ops)
	h.ops = append(h.ops, Operation{ClientID: clientID, Seq: seq, Input: in, Call: t, Unknown: true})
}

// Attempt counts a request sent for the client's open operation.
func (h *History) Attempt(clientID uint64) {
	if i, ok := h.open[clientID]; ok {
		h.ops[i].Attempts++
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
	h.ops[i].Output, h.ops[i].Return, h.ops[i].Unknown, h.ops[i].Server = out, t, false, server
}

// GiveUp closes the client's open operation with an unknown outcome.
func (h *History) GiveUp(clientID uint64) { delete(h.open, clientID) }

// Operations returns the operations so far (open ones are Unknown). The
// slice shares memory with the history, which is why callers must not
// modify it: a copy per call doubled a long run's largest structure (and
// the liveness check calls it on every poll). Later calls never reach a
// slice already returned; an operation open when it was taken may or may
// not show its later return there (take a new one after the run).
func (h *History) Operations() []Operation { return h.ops[:len(h.ops):len(h.ops)] }

// Len is the number of operations called so far.
func (h *History) Len() int { return len(h.ops) }

// Completed counts the operations with a known outcome.
func (h *History) Completed() int {
	n := 0
	for i := range h.ops {
		if !h.ops[i].Unknown {
			n++
		}
	}
	return n
}
