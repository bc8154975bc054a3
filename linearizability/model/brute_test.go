package model

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// bruteForce decides linearizability of a one-key history by trying every
// order: each known op exactly once, each unknown op once or never, an op
// never before one that returned before it was called (unknown ops never
// return), every known op's output exactly what Apply says. It knows
// nothing of end markers or pruning.
func bruteForce(ops []history.Operation) bool {
	placed := make([]bool, len(ops))
	var try func(s State, known int) bool
	try = func(s State, known int) bool {
		if known == 0 {
			return true // the unknown ops left never happened
		}
		for i, op := range ops {
			if placed[i] {
				continue
			}
			ready := true
			for j, other := range ops {
				if !placed[j] && j != i && !other.Unknown && other.Return < op.Call {
					ready = false
					break
				}
			}
			if !ready {
				continue
			}
			next, res, valid := Apply(s, op.Input)
			if !op.Unknown && (!valid || res != op.Output) {
				continue
			}
			placed[i] = true
			left := known
			if !op.Unknown {
				left--
			}
			ok := try(next, left)
			placed[i] = false
			if ok {
				return true
			}
		}
		return false
	}
	known := 0
	for _, op := range ops {
		if !op.Unknown {
			known++
		}
	}
	return try(State{}, known)
}

// Check (end markers, canonical-form pruning, porcupine) agrees with brute
// force on small random one-key histories, linearizable or not.
func TestCheckAgreesWithBruteForce(t *testing.T) {
	t.Parallel()
	values := []string{"", "a", "b", "ab", "ba", "aa"}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 7).Draw(t, "n")
		ops := make([]history.Operation, n)
		var s State // outputs start from one sequential execution in call order
		for i := range ops {
			cmd := kv.Command{
				ClientID: uint64(i + 1), Seq: 1, Key: "x",
				Op:       kv.Op(rapid.IntRange(int(kv.OpPut), int(kv.OpCAS)).Draw(t, "op")),
				Value:    rapid.SampledFrom(values[:3]).Draw(t, "value"),
				Expected: rapid.SampledFrom(values[:4]).Draw(t, "expected"),
			}
			call := int64(rapid.IntRange(0, 20).Draw(t, "call"))
			op := history.Operation{ClientID: cmd.ClientID, Seq: 1, Input: cmd, Call: call,
				Return:  call + int64(rapid.IntRange(0, 10).Draw(t, "duration")),
				Unknown: rapid.IntRange(0, 3).Draw(t, "unknown") == 0}
			var res kv.Result
			s, res, _ = Apply(s, cmd)
			op.Output = res
			if rapid.IntRange(0, 3).Draw(t, "perturb") == 0 {
				op.Output = kv.Result{
					Value:   rapid.SampledFrom(values).Draw(t, "out value"),
					Found:   rapid.Bool().Draw(t, "out found"),
					Applied: rapid.Bool().Draw(t, "out applied"),
				}
			}
			ops[i] = op
		}
		want := bruteForce(ops)
		res := Check(ops, DefaultBudget())
		if want {
			require.Equal(t, Linearizable, res.Verdict, "%v", ops)
		} else {
			require.Equal(t, NotLinearizable, res.Verdict, "%v", ops)
		}
	})
}
