package sim

import (
	"cmp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The heap pops slots in (at, seq) order whatever the interleaving of
// pushes and pops, ties at one time included (times are drawn from a
// small range so they collide often).
func TestQueueOrder(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		var q queue
		var model []slot
		var seq uint64
		n := rapid.IntRange(1, 400).Draw(t, "n")
		for range n {
			if len(model) > 0 && rapid.IntRange(0, 2).Draw(t, "pop") == 0 {
				got := q.pop()
				require.Equal(t, model[0], got)
				model = model[1:]
				continue
			}
			seq++
			at := Time(rapid.IntRange(0, 20).Draw(t, "at"))
			idx := uint32(rapid.IntRange(0, idxMask).Draw(t, "idx"))
			q.push(at, seq, idx)
			model = append(model, slot{at: at, key: seq<<idxBits | uint64(idx)})
			slices.SortFunc(model, func(a, b slot) int {
				return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.key, b.key))
			})
			require.Equal(t, len(model), q.len())
			require.Equal(t, model[0], q.peek())
		}
		for len(model) > 0 {
			got := q.pop()
			require.Equal(t, model[0], got)
			model = model[1:]
		}
		require.Zero(t, q.len())
	})
}

// lt orders by time first, then by sequence, across the whole 64-bit range.
func TestSlotLess(t *testing.T) {
	t.Parallel()
	a := slot{at: 5, key: 9 << idxBits}
	for _, tc := range []struct {
		b    slot
		want int
	}{
		{slot{at: 6, key: 0}, 1},
		{slot{at: 4, key: maxSeq << idxBits}, 0},
		{slot{at: 5, key: 10 << idxBits}, 1},
		{slot{at: 5, key: 8<<idxBits | idxMask}, 0},
		{a, 0},
		{slot{at: 1 << 62, key: 0}, 1},
	} {
		require.Equal(t, tc.want, lt(a, tc.b), "%+v < %+v", a, tc.b)
	}
}
