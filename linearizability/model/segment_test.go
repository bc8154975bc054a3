package model

import (
	"fmt"
	"slices"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// unsegmented checks ops as Check did before it cut histories: porcupine
// over each key's whole history (end marker, ModelFor's pruning), with no
// bound. It returns the failing keys, sorted.
func unsegmented(ops []history.Operation) []string {
	byKey := map[string][]history.Operation{}
	for _, op := range ops {
		byKey[op.Input.Key] = append(byKey[op.Input.Key], op)
	}
	var failing []string
	for _, key := range slices.Sorted(mapKeys(byKey)) {
		pops := Operations(byKey[key])
		if porcupine.CheckOperations(ModelFor(pops), pops) != true {
			failing = append(failing, key)
		}
	}
	return failing
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m { //detguard:unordered test helper; callers sort
			if !yield(k) {
				return
			}
		}
	}
}

// mutate changes one operation of a generated history, so that about half
// the histories stop being linearizable: a known get reads another written
// value, a known op reports another previous value or existence, a known
// op becomes unknown, or an unknown one is recorded as known with the
// garbage it carries.
func mutate(t *rapid.T, g generated) {
	if len(g.ops) == 0 || rapid.IntRange(0, 2).Draw(t, "mutate") == 0 {
		return
	}
	i := rapid.IntRange(0, len(g.ops)-1).Draw(t, "victim")
	op := &g.ops[i]
	var tokens []string
	for tok := range g.writer { //detguard:unordered sorted below
		tokens = append(tokens, tok)
	}
	slices.Sort(tokens)
	switch rapid.IntRange(0, 3).Draw(t, "how") {
	case 0:
		if len(tokens) > 0 {
			op.Output.Value = rapid.SampledFrom(tokens).Draw(t, "value")
			op.Output.Found = true
		}
	case 1:
		op.Output.Found = !op.Output.Found
	case 2:
		op.Unknown = true
	case 3:
		op.Unknown = false
	}
}

// Cutting histories at quiet points (unknown outcomes included) never
// changes a verdict or the keys blamed: segmented Check against porcupine
// on each key's whole history, on generated histories, linearizable or
// mutated, with up to half the outcomes unknown.
func TestSegmentedAgreesWithUnsegmented(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		g := generate(t, rapidSource{t}, cfg)
		mutate(t, g)
		want := unsegmented(g.ops)
		res := Check(g.ops, Budget{})
		if len(want) == 0 {
			require.Equal(t, Linearizable, res.Verdict, "segments %d", res.Segments)
		} else {
			require.Equal(t, NotLinearizable, res.Verdict)
		}
		require.Equal(t, want, res.FailingKeys)
		require.Empty(t, res.UncheckedKeys)
	})
}

// Small one-key histories with values long enough for the deadline index
// (and some too short for it), checked against brute force: every order,
// each unknown op once or never.
func TestSegmentedAgreesWithBruteForce(t *testing.T) {
	t.Parallel()
	values := []string{"", "a", "aaaa", "bbbb", "aaaabbbb", "cccc", "bbbbcccc"}
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 8).Draw(t, "n")
		ops := make([]history.Operation, n)
		var s State
		for i := range ops {
			cmd := kv.Command{
				ClientID: uint64(i + 1), Seq: 1, Key: "x",
				Op:       kv.Op(rapid.IntRange(int(kv.OpPut), int(kv.OpCAS)).Draw(t, "op")),
				Value:    rapid.SampledFrom(values[1:6]).Draw(t, "value"),
				Expected: rapid.SampledFrom(values).Draw(t, "expected"),
			}
			call := int64(rapid.IntRange(0, 60).Draw(t, "call"))
			op := history.Operation{ClientID: cmd.ClientID, Seq: 1, Input: cmd, Call: call,
				Return:  call + int64(rapid.IntRange(0, 12).Draw(t, "duration")),
				Unknown: rapid.IntRange(0, 2).Draw(t, "unknown") == 0}
			var res kv.Result
			s, res, _ = Apply(s, cmd)
			op.Output = res
			if rapid.IntRange(0, 4).Draw(t, "perturb") == 0 {
				op.Output = kv.Result{
					Value:   rapid.SampledFrom(values).Draw(t, "out value"),
					Found:   rapid.Bool().Draw(t, "out found"),
					Applied: rapid.Bool().Draw(t, "out applied"),
				}
			}
			ops[i] = op
		}
		want := Linearizable
		if !bruteForce(ops) {
			want = NotLinearizable
		}
		res := Check(ops, Budget{})
		require.Equal(t, want, res.Verdict, "%d segments\n%s", res.Segments, listOps(ops))
	})
}

func listOps(ops []history.Operation) string {
	var s string
	for _, op := range ops {
		s += fmt.Sprintln(op)
	}
	return s
}

// Where an unknown operation lets a history be cut, by hand.
func TestUnknownOperationsAndCuts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ops      []history.Operation
		want     Verdict
		segments int
	}{
		{"an unknown put seen late keeps the history whole until it is seen", []history.Operation{
			lost(1, 0, put("x", "aaaa")),
			done(2, 10, 20, get("x"), absent),
			done(2, 30, 40, put("x", "bbbb"), createdKey),
			done(3, 100, 110, get("x"), read("aaaa")),
		}, Linearizable, 1},
		{"an unknown put nobody sees cuts nothing", []history.Operation{
			lost(1, 0, put("x", "aaaa")),
			done(2, 10, 20, get("x"), absent),
			done(2, 30, 40, put("x", "bbbb"), createdKey),
			done(3, 100, 110, get("x"), read("bbbb")),
		}, Linearizable, 3},
		{"after its last possible observer an unknown put is over", []history.Operation{
			lost(1, 0, put("x", "aaaa")),
			done(2, 10, 20, get("x"), read("aaaa")),
			done(2, 30, 40, put("x", "bbbb"), replaced("aaaa")),
			done(3, 100, 110, get("x"), read("bbbb")),
			done(3, 120, 130, get("x"), read("zzzz")),
		}, NotLinearizable, 3},
		{"a later read of its value is an observer too", []history.Operation{
			lost(1, 0, put("x", "aaaa")),
			done(2, 10, 20, get("x"), read("aaaa")),
			done(2, 30, 40, put("x", "bbbb"), replaced("aaaa")),
			done(3, 100, 110, get("x"), read("bbbb")),
			done(3, 120, 130, get("x"), read("aaaa")),
		}, NotLinearizable, 1},
		{"an unknown put seen only through an unknown cas", []history.Operation{
			done(1, 0, 1, put("x", "aaaa"), createdKey),
			lost(2, 2, put("x", "bbbb")),
			done(4, 10, 11, get("x"), read("aaaa")),
			lost(3, 12, cas("x", "bbbb", "cccc")),
			done(4, 20, 21, get("x"), read("aaaa")),
			done(4, 50, 60, get("x"), read("cccc")),
		}, Linearizable, 2},
		{"an unknown append seen inside a longer value", []history.Operation{
			done(1, 0, 1, put("x", "aaaa"), createdKey),
			lost(2, 2, appendc("x", "bbbb")),
			done(4, 10, 11, get("x"), read("aaaa")),
			done(4, 20, 21, get("x"), read("aaaa")),
			done(4, 50, 60, appendc("x", "cccc"), replaced("aaaabbbb")),
			done(4, 70, 80, put("x", "dddd"), replaced("aaaabbbbcccc")),
			done(4, 90, 95, get("x"), read("dddd")),
		}, Linearizable, 4}, // the last that shows bbbb as written is the append's "aaaabbbb": cccc is known
		{"values that only extend a written value are not its observers", []history.Operation{
			lost(1, 0, put("x", "c1.1")),
			done(2, 10, 20, get("x"), read("c1.1")),
			done(2, 30, 40, put("x", "c1.10"), replaced("c1.1")),
			done(3, 100, 110, get("x"), read("c1.10")),
		}, Linearizable, 2},
		{"an unknown write called after its only observer returned", []history.Operation{
			done(2, 0, 10, get("x"), read("aaaa")),
			lost(1, 20, put("x", "aaaa")),
			done(2, 30, 40, get("x"), absent),
		}, NotLinearizable, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := Check(tc.ops, Budget{})
			assert.Equal(t, tc.want, res.Verdict)
			assert.Equal(t, tc.segments, res.Segments)
			assert.Equal(t, tc.want == NotLinearizable, len(unsegmented(tc.ops)) > 0, "porcupine agrees")
		})
	}
}

// The property tests above are only as good as the cuts they exercise:
// generated histories of realistic shape are cut into many small
// segments, and the cost per operation does not grow with the length.
func TestGeneratedHistoriesAreCutSmall(t *testing.T) {
	t.Parallel()
	var perOp []float64
	for _, n := range []int{1_000, 4_000, 16_000} {
		cfg := benchConfig
		cfg.Ops = n
		g := generate(t, randSource{newRand(3)}, cfg)
		res := Check(g.ops, DefaultBudget())
		require.Equal(t, Linearizable, res.Verdict)
		assert.Greater(t, res.Segments, n/20, "%d ops", n)
		assert.Less(t, res.LargestSegment, 100, "%d ops", n)
		perOp = append(perOp, float64(res.Steps)/float64(n))
	}
	assert.InDelta(t, perOp[0], perOp[2], perOp[0]*0.3, "steps per op at 1k, 4k, 16k ops: %v", perOp)
}
