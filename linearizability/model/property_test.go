package model

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

func drawConfig(t *rapid.T) genConfig {
	return genConfig{
		Ops:        rapid.IntRange(0, 120).Draw(t, "ops"),
		Keys:       rapid.IntRange(1, 4).Draw(t, "keys"),
		Clients:    rapid.IntRange(1, 5).Draw(t, "clients"),
		MaxDelay:   rapid.IntRange(0, 60).Draw(t, "max delay"),
		UnknownPct: rapid.SampledFrom([]int{0, 5, 20, 50}).Draw(t, "unknown pct"),
	}
}

// Step agrees with kv.Store itself, command by command: the store's result
// is accepted, any other result is not, and the state moves the same way
// (checked through the next command's result).
func TestModelMirrorsStore(t *testing.T) {
	t.Parallel()
	m := Model()
	rapid.Check(t, func(t *rapid.T) {
		store := kv.New()
		state := m.Init()
		values := []string{"", "a", "b", "ab"}
		n := rapid.IntRange(1, 40).Draw(t, "n")
		for i := range n {
			cmd := kv.Command{
				ClientID: 1, Seq: uint64(i + 1), Key: "k",
				Op:       kv.Op(rapid.IntRange(int(kv.OpPut), int(kv.OpCAS)).Draw(t, "op")),
				Value:    rapid.SampledFrom(values).Draw(t, "value"),
				Expected: rapid.SampledFrom(values).Draw(t, "expected"),
			}
			want, err := store.Apply(store.AppliedIndex()+1, cmd.Encode())
			require.NoError(t, err)
			for _, wrong := range []kv.Result{
				{Value: want.Value + "x", Found: want.Found, Applied: want.Applied},
				{Value: want.Value, Found: !want.Found, Applied: want.Applied},
				{Value: want.Value, Found: want.Found, Applied: !want.Applied},
			} {
				ok, _ := m.Step(state, cmd, Output{Result: wrong})
				require.False(t, ok, "%v accepted %+v, store said %+v", cmd, wrong, want)
			}
			ok, next := m.Step(state, cmd, Output{Result: want})
			require.True(t, ok, "%v rejected the store's %+v in state %v", cmd, want, state)
			// Unknown before the end marker: only where it changes the key,
			// and then exactly as the store did.
			okUnknown, nextUnknown := m.Step(state, cmd, Output{Result: kv.Result{Value: "junk"}, Unknown: true})
			require.Equal(t, next != state, okUnknown)
			if okUnknown {
				want := next.(State)
				want.Unseen = true
				require.Equal(t, want, nextUnknown, "an unknown op writes as a known one does")
			}
			// After the marker: only unknown ops, changing nothing.
			ok, closed := m.Step(state, EndMarker{Key: "k"}, Output{})
			require.True(t, ok)
			ok, _ = m.Step(closed, cmd, Output{Result: want})
			require.False(t, ok, "a known op after the end marker")
			ok, after := m.Step(closed, cmd, Output{Unknown: true})
			require.True(t, ok)
			require.Equal(t, closed, after)
			ok, _ = m.Step(closed, EndMarker{Key: "k"}, Output{})
			require.False(t, ok, "one marker per key")
			state = next
		}
	})
}

func TestStepEdgeCases(t *testing.T) {
	t.Parallel()
	m := Model()
	a := State{Value: "a", Found: true}
	bad := kv.Command{Op: kv.Op(9), Key: "k", Value: "v"}
	ok, _ := m.Step(State{}, bad, Output{Result: createdKey})
	assert.False(t, ok, "a known result for an invalid op")
	ok, _ = m.Step(a, bad, Output{Unknown: true})
	assert.False(t, ok, "an invalid op never executes: left for after the marker")
	ok, next := m.Step(State{Value: "a", Found: true, Closed: true}, bad, Output{Unknown: true})
	assert.True(t, ok)
	assert.Equal(t, State{Value: "a", Found: true, Closed: true}, next)

	ok, next = m.Step(State{}, put("k", "v"), kv.Result{Stale: true})
	assert.True(t, ok, "a stale result is no evidence")
	assert.Equal(t, State{Value: "v", Found: true, Unseen: true}, next, "and the command may have executed")

	for _, cmd := range []kv.Command{get("k"), cas("k", "b", "c"), put("k", "a"), appendc("k", "")} {
		ok, _ = m.Step(a, cmd, Output{Unknown: true})
		assert.False(t, ok, "unknown %v changes nothing here, so it belongs after the marker", cmd)
	}
	ok, next = m.Step(a, cas("k", "a", "c"), Output{Unknown: true})
	assert.True(t, ok)
	assert.Equal(t, State{Value: "c", Found: true, Unseen: true}, next)

	// Canonical placement of unknown ops.
	ok, unseen := m.Step(a, appendc("k", "b"), Output{Unknown: true})
	assert.True(t, ok)
	assert.Equal(t, State{Value: "ab", Found: true, Unseen: true}, unseen)
	ok, _ = m.Step(unseen, put("k", "c"), Output{Unknown: true})
	assert.False(t, ok, "an unknown put may not overwrite an unobserved unknown write")
	ok, next = m.Step(unseen, appendc("k", "c"), Output{Unknown: true})
	assert.True(t, ok, "an unknown append builds on it")
	assert.Equal(t, State{Value: "abc", Found: true, Unseen: true}, next)
	ok, _ = m.Step(unseen, EndMarker{Key: "k"}, Output{})
	assert.False(t, ok, "the marker may not follow an unobserved unknown write")
	ok, next = m.Step(unseen, get("k"), Output{Result: read("ab")})
	assert.True(t, ok)
	assert.Equal(t, State{Value: "ab", Found: true}, next, "a known op observes it")
	ok, _ = m.Step(unseen, put("k", "c"), Output{Result: replaced("ab")})
	assert.True(t, ok, "a known put may follow it")

	ok, _ = m.Step(State{}, put("k", "v"), createdKey)
	assert.True(t, ok, "a bare kv.Result is a known output")
	assert.Panics(t, func() { m.Step(State{}, put("k", "v"), "nonsense") })

	hashes := map[uint64]State{}
	for _, s := range []State{{}, {Found: true}, {Closed: true}, {Found: true, Closed: true}, {Unseen: true}, {Found: true, Unseen: true}, a, {Value: "b", Found: true}} {
		h := m.Hash(s)
		_, dup := hashes[h]
		assert.False(t, dup, "hash collision on %+v", s)
		hashes[h] = s
		assert.Equal(t, h, m.Hash(s))
	}
}

// ModelFor accepts an unknown write before the end marker only if the value
// it leaves is a prefix of one some known op reported, or of an unknown
// CAS's Expected, on the same key.
func TestModelForPrunesUnobservableWrites(t *testing.T) {
	t.Parallel()
	m := ModelFor(Operations([]history.Operation{
		done(1, 0, 10, get("x"), read("a;b;c;")),
		done(1, 0, 10, get("y"), read("zzz")),
		lost(2, 0, cas("x", "q;", "r;")),
		done(1, 20, 30, put("x", "p"), absent), // absent: not an observed value
	}))
	for _, tc := range []struct {
		from State
		cmd  kv.Command
		ok   bool
	}{
		{State{}, put("x", "a;"), true},
		{State{}, put("x", "a;b;c;"), true},
		{State{}, put("x", "b;"), false},
		{State{}, put("x", "zzz"), false}, // observed on y only
		{State{}, put("x", "q;"), true},   // an unknown CAS may take it on
		{State{}, put("x", "p"), false},   // written, never observed
		{State{Value: "a;", Found: true}, appendc("x", "b;"), true},
		{State{Value: "a;", Found: true}, appendc("x", "c;"), false},
		{State{Value: "a;", Found: true}, cas("x", "a;", "r;"), false},
		{State{Value: "q;", Found: true}, cas("x", "q;", "a;b;"), true},
		{State{}, put("w", "a;"), false}, // a key nobody observed
	} {
		ok, _ := m.Step(tc.from, tc.cmd, Output{Unknown: true})
		assert.Equal(t, tc.ok, ok, "%v from %v", tc.cmd, tc.from)
		ok, _ = Model().Step(tc.from, tc.cmd, Output{Unknown: true})
		assert.True(t, ok, "Model() does not prune: %v from %v", tc.cmd, tc.from)
	}
	ok, _ := m.Step(State{}, put("x", "nope"), Output{Result: createdKey})
	assert.True(t, ok, "known ops are never pruned")
}

// Histories produced by running kv.Store in some linearization order, with
// overlapping intervals and unknown outcomes, are always accepted.
func TestGeneratedHistoriesAreLinearizable(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		g := generate(t, rapidSource{t}, cfg)
		res := Check(g.ops, DefaultBudget())
		require.Equal(t, Linearizable, res.Verdict, "failing %v unchecked %v", res.FailingKeys, res.UncheckedKeys)
		require.Equal(t, len(g.ops), res.Ops)
	})
}

// Changing one completed get to read a value it provably cannot see (one
// never written, or a value overwritten before the get was called that no
// linearization can bring back) is always caught, and blamed on its key
// alone.
func TestMutatedGetIsRejected(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := drawConfig(t)
		cfg.Ops = rapid.IntRange(1, 120).Draw(t, "ops at least 1")
		g := generate(t, rapidSource{t}, cfg)

		var mutation string
		var victim int
		stale := staleCandidates(g)
		if len(stale) > 0 && rapid.Bool().Draw(t, "stale") {
			c := rapid.SampledFrom(stale).Draw(t, "candidate")
			victim, mutation = c.get, "stale"
			g.ops[victim].Output = c.value
		} else {
			var gets []int
			for i, op := range g.ops {
				if !op.Unknown && op.Input.Op == kv.OpGet {
					gets = append(gets, i)
				}
			}
			if len(gets) == 0 {
				t.Skip("no completed get to mutate")
			}
			victim, mutation = rapid.SampledFrom(gets).Draw(t, "get"), "never written"
			g.ops[victim].Output = read("zz;")
		}

		res := Check(g.ops, DefaultBudget())
		require.Equal(t, NotLinearizable, res.Verdict, "%s mutation of %v in\n%s", mutation, g.ops[victim], keyHistory(g, g.ops[victim].Input.Key))
		require.Equal(t, []string{g.ops[victim].Input.Key}, res.FailingKeys)
		require.Empty(t, res.UncheckedKeys)

		// The explanation names operations of that key only, and a blocked
		// operation with a known result.
		cs := res.Conflicts()
		require.Len(t, cs, 1)
		c := cs[0]
		require.Equal(t, g.ops[victim].Input.Key, c.Key)
		require.GreaterOrEqual(t, c.Blocked, 0)
		require.False(t, g.ops[c.Blocked].Unknown, "a blocked operation returned")
		for _, i := range append([]int{c.Blocked, c.SetBy, c.Wrote}, c.Order...) {
			if i >= 0 {
				require.Equal(t, c.Key, g.ops[i].Input.Key)
			}
		}
		if mutation == "never written" {
			require.Equal(t, -1, c.Wrote, "nobody wrote zz;")
		}
	})
}

// The stale mutation is exercised, not just possible: over a fixed batch
// of medium histories, some get has a provably stale value to read.
func TestStaleCandidatesExist(t *testing.T) {
	t.Parallel()
	found := 0
	for seed := range uint64(20) {
		g := generate(t, randSource{newRand(seed)}, genConfig{Ops: 100, Keys: 2, Clients: 4, MaxDelay: 30, UnknownPct: 5})
		if len(staleCandidates(g)) > 0 {
			found++
		}
	}
	assert.Greater(t, found, 10, fmt.Sprintf("only %d of 20 histories had a stale candidate", found))
}

// keyHistory lists one key's operations, for failure messages.
func keyHistory(g generated, key string) string {
	var b strings.Builder
	for i, op := range g.ops {
		if op.Input.Key == key {
			fmt.Fprintf(&b, "%4d %v\n", i, op)
		}
	}
	return b.String()
}
