package model

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
)

func TestConflictsNameTheOperationsThatCannotBeOrdered(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                           string
		ops                            []history.Operation
		blocked, setBy, wrote, witness int
		state                          State
	}{
		{"stale read: the get reports a value an earlier completed put replaced", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, put("x", "b"), replaced("a")),
			done(3, 40, 50, get("x"), read("a")),
		}, 2, 1, 0, 1, State{Value: "b", Found: true}},
		{"lost append: the value without it is read after it completed", []history.Operation{
			done(1, 0, 10, appendc("x", "a;"), createdKey),
			done(2, 20, 30, appendc("x", "b;"), replaced("a;")),
			done(3, 40, 50, get("x"), read("a;")),
		}, 2, 1, 0, 1, State{Value: "a;b;", Found: true}},
		{"read of absence after a write", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, get("x"), absent),
		}, 1, 0, -1, 0, State{Value: "a", Found: true}},
		{"overlapping writes prove nothing on real time alone", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 5, 30, put("x", "b"), replaced("a")),
			done(3, 25, 50, get("x"), read("zz")),
		}, 2, 1, -1, -1, State{Value: "b", Found: true}},
		{"other keys and overlapping ops do not confuse it", []history.Operation{
			done(4, 0, 100, get("y"), absent),
			done(1, 0, 10, put("x", "a"), createdKey),
			done(1, 12, 18, put("y", "q"), createdKey),
			done(2, 20, 30, put("x", "b"), replaced("a")),
			done(3, 25, 35, get("x"), read("b")),
			done(3, 40, 50, get("x"), read("a")),
		}, 5, 3, 1, 3, State{Value: "b", Found: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(tc.ops, DefaultBudget())
			require.Equal(t, NotLinearizable, res.Verdict)
			cs := res.Conflicts()
			require.Len(t, cs, 1)
			c := cs[0]
			assert.Equal(t, "x", c.Key)
			assert.Equal(t, tc.blocked, c.Blocked, "blocked")
			assert.Equal(t, tc.setBy, c.SetBy, "set by")
			assert.Equal(t, tc.wrote, c.Wrote, "wrote")
			assert.Equal(t, tc.witness, c.Witness, "witness")
			assert.Equal(t, tc.state, c.State)
			assert.Less(t, c.Ordered, c.Total)
			assert.NotContains(t, c.Order, c.Blocked)
			assert.Equal(t, res.Conflicts(), cs, "the same every time")

			// The key is checked again up to its failing segment; over its
			// whole history the story is the same.
			require.Len(t, res.Failures, 1)
			res.Failures = nil
			again := res.Conflicts()
			require.Len(t, again, 1)
			assert.Equal(t, c.Blocked, again[0].Blocked)
			assert.Equal(t, c.State, again[0].State)
		})
	}
}

func TestConflictsOfALinearizableHistoryAreNone(t *testing.T) {
	t.Parallel()
	res := Check([]history.Operation{
		done(1, 0, 10, put("x", "a"), createdKey),
		done(2, 20, 30, get("x"), read("a")),
	}, DefaultBudget())
	require.Equal(t, Linearizable, res.Verdict)
	assert.Empty(t, res.Conflicts())
}
