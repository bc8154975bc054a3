package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The seed walk is lazy: a range of 10^11 (or 2^64) seeds costs nothing
// until run, and every shard's seeds are right at both ends.
func TestSeedIterIsLazyAndExact(t *testing.T) {
	take := func(it *seedIter, n int) []uint64 {
		var out []uint64
		for len(out) < n {
			s, ok := it.next()
			if !ok {
				break
			}
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		lo, hi, i, n uint64
		count        uint64
		first        []uint64
	}{
		{1, 8, 1, 2, 4, []uint64{2, 4, 6, 8}},
		{1, 8, 0, 3, 3, []uint64{1, 4, 7}},
		{5, 5, 0, 1, 1, []uint64{5}},
		{5, 5, 1, 2, 0, nil},
		{1, 100_000_000_000, 0, 1, 100_000_000_000, []uint64{1, 2, 3}},
		{0, math.MaxUint64, 3, 4, 1 << 62, []uint64{3, 7, 11}},
		{math.MaxUint64 - 2, math.MaxUint64, 0, 1, 3, []uint64{math.MaxUint64 - 2, math.MaxUint64 - 1, math.MaxUint64}},
		{math.MaxUint64 - 2, math.MaxUint64, 1, 2, 1, []uint64{math.MaxUint64 - 1}},
	}
	for _, tt := range tests {
		it := newSeedIter(tt.lo, tt.hi, tt.i, tt.n)
		assert.Equal(t, tt.count, it.count(), "%+v", tt)
		got := take(it, 4)
		if tt.count < 4 {
			assert.Equal(t, tt.first, got, "%+v", tt)
		} else {
			assert.Equal(t, tt.first, got[:len(tt.first)], "%+v", tt)
		}
	}
}
