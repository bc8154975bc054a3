package model

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// event is a call or a finish of operation op, at time at.
type event struct {
	at   int64
	op   int
	done bool
}

// replay feeds ops (in call order) to an online check as a run would:
// calls and finishes in time order, each operation's finish (its return,
// or for an unknown one the moment its client gave up: drawn before the
// client's next call, or never) after its call. It returns the history
// as it stands at the end: operations never finished are unknown.
func replay(t *rapid.T, o *Online, ops []history.Operation) []history.Operation {
	var evs []event
	next := map[uint64]int64{} // client -> call of its next operation
	for i := len(ops) - 1; i >= 0; i-- {
		op := &ops[i]
		evs = append(evs, event{at: op.Call, op: i})
		end := op.Return
		if op.Unknown {
			limit, ok := next[op.ClientID]
			switch {
			case !ok && rapid.IntRange(0, 3).Draw(t, "never given up") == 0:
				end = -1
			case !ok:
				end = op.Call + int64(rapid.IntRange(0, 200).Draw(t, "give up"))
			default:
				end = op.Call + int64(rapid.IntRange(0, int(max(limit-op.Call, 0))).Draw(t, "give up"))
			}
		}
		if end >= 0 {
			evs = append(evs, event{at: max(end, op.Call), op: i, done: true})
		}
		next[op.ClientID] = op.Call
	}
	// Time order; at one instant, the calls in call order and the
	// finishes in a drawn order, drawn into each other (a finish after its
	// own call).
	slices.SortStableFunc(evs, func(x, y event) int { return cmp.Compare(x.at, y.at) })
	var order []event
	for len(evs) > 0 {
		n := 1
		for n < len(evs) && evs[n].at == evs[0].at {
			n++
		}
		var calls, finishes []event
		for _, e := range evs[:n] {
			if e.done {
				finishes = append(finishes, e)
			} else {
				calls = append(calls, e)
			}
		}
		slices.SortFunc(calls, func(x, y event) int { return cmp.Compare(x.op, y.op) })
		called := map[int]bool{}
		for _, e := range order {
			called[e.op] = true
		}
		for len(calls)+len(finishes) > 0 {
			var ready []int // finishes whose call was emitted
			for i, f := range finishes {
				if called[f.op] {
					ready = append(ready, i)
				}
			}
			if len(calls) > 0 && (len(ready) == 0 || rapid.Bool().Draw(t, "call next")) {
				called[calls[0].op] = true
				order = append(order, calls[0])
				calls = calls[1:]
				continue
			}
			i := ready[rapid.IntRange(0, len(ready)-1).Draw(t, "finish next")]
			order = append(order, finishes[i])
			finishes = slices.Delete(finishes, i, i+1)
		}
		evs = evs[n:]
	}
	final := slices.Clone(ops)
	for i := range final {
		final[i].Unknown = true // until finished
	}
	for _, ev := range order {
		op := ops[ev.op]
		if !ev.done {
			called := op
			called.Unknown, called.Output, called.Return, called.Server = true, kv.Result{}, 0, 0
			o.Called(ev.op, &called)
			continue
		}
		final[ev.op] = op
		o.Finished(ev.op, &op)
	}
	return final
}

// The online check gives Check's result on the whole history, field for
// field, or says it cannot (and then the whole history is checked): on
// generated histories, linearizable or mutated, with unknown outcomes
// and budgets that run out. On histories nobody mutated (the run of a
// correct store) it can always tell.
func TestOnlineAgreesWithCheck(t *testing.T) {
	t.Parallel()
	gaveUp, told, dropped := 0, 0, 0
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		g := generate(t, rapidSource{t}, cfg)
		mutated := rapid.Bool().Draw(t, "mutated")
		if mutated {
			mutate(t, g)
		}
		ops := slices.Clone(g.ops)
		slices.SortStableFunc(ops, func(a, b history.Operation) int { return cmp.Compare(a.Call, b.Call) })
		var b Budget
		if rapid.IntRange(0, 3).Draw(t, "budget") == 0 {
			b = Budget{Base: int64(rapid.IntRange(0, 300).Draw(t, "base")), PerOp: int64(rapid.IntRange(0, 4).Draw(t, "per op"))}
		}
		o := NewOnline(b)
		final := replay(t, o, ops)
		got, ok := o.Result()
		if !ok {
			gaveUp++
			require.True(t, mutated || b != (Budget{}), "a correct history: %s", o.Why())
			return
		}
		told++
		dropped += o.dropped
		want := Check(final, b)
		want.history = nil
		require.Equal(t, want, got)
	})
	t.Logf("online told %d, gave up on %d; %d operations checked and dropped during the runs", told, gaveUp, dropped)
	require.Positive(t, dropped, "the online check cut histories as they ran")
}
