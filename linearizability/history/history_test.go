package history_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Operations shares the history's memory without copying, so what a
// caller holds must still be safe: later calls never reach it, and
// appending to it cannot write into the history.
func TestOperationsIsAStableView(t *testing.T) {
	h := history.New()
	h.Call(1, 1, kv.Command{Op: kv.OpPut, Key: "a", Value: "1"}, 10)
	h.Call(2, 1, kv.Command{Op: kv.OpGet, Key: "a"}, 11)
	h.Return(1, 7, kv.Result{}, 20)
	held := h.Operations()
	require.Len(t, held, 2)
	assert.False(t, held[0].Unknown)
	assert.True(t, held[1].Unknown, "still open")

	h.Call(3, 1, kv.Command{Op: kv.OpPut, Key: "b", Value: "2"}, 30)
	h.Return(2, 7, kv.Result{Value: "1"}, 31)
	assert.Len(t, held, 2, "a later call never reaches a held view")
	assert.Equal(t, 2, cap(held), "so appending to the view cannot write into the history")
	held = append(held, history.Operation{ClientID: 9})
	ops := h.Operations()
	require.Len(t, ops, 3)
	assert.Equal(t, uint64(3), ops[2].ClientID)
	assert.Equal(t, "1", ops[1].Output.Value, "a new view shows the return")
	assert.Equal(t, 2, h.Completed())
}
