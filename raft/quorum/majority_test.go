package quorum

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

func TestNewMajorityConfigSortsAndDedups(t *testing.T) {
	in := []uint64{3, 1, 0, 3, 2}
	c := NewMajorityConfig(in...)
	assert.Equal(t, MajorityConfig{1, 2, 3}, c)
	assert.Equal(t, []uint64{3, 1, 0, 3, 2}, in, "argument must not be modified")
	assert.Equal(t, "(1 2 3)", c.String())
	assert.True(t, c.Contains(2))
	assert.False(t, c.Contains(4))
	assert.Equal(t, "()", MajorityConfig(nil).String())
}

func TestCommittedIndex(t *testing.T) {
	for _, tc := range []struct {
		name   string
		voters []uint64
		acked  MapAckIndexer
		want   uint64
	}{
		{"empty config is neutral for min", nil, MapAckIndexer{}, math.MaxUint64},
		{"single voter", []uint64{1}, MapAckIndexer{1: 7}, 7},
		{"single voter unknown", []uint64{1}, MapAckIndexer{}, 0},
		{"three all equal", []uint64{1, 2, 3}, MapAckIndexer{1: 5, 2: 5, 3: 5}, 5},
		{"three median", []uint64{1, 2, 3}, MapAckIndexer{1: 9, 2: 5, 3: 1}, 5},
		{"three one missing", []uint64{1, 2, 3}, MapAckIndexer{1: 9, 3: 4}, 4},
		{"three two missing", []uint64{1, 2, 3}, MapAckIndexer{1: 9}, 0},
		{"four needs three", []uint64{1, 2, 3, 4}, MapAckIndexer{1: 9, 2: 8, 3: 2, 4: 1}, 2},
		{"five", []uint64{1, 2, 3, 4, 5}, MapAckIndexer{1: 10, 2: 9, 3: 8, 4: 1, 5: 1}, 8},
		{"non-voter acks ignored", []uint64{1, 2, 3}, MapAckIndexer{1: 9, 4: 9, 5: 9}, 0},
		{"nine voters (heap path)", []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9},
			MapAckIndexer{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, NewMajorityConfig(tc.voters...).CommittedIndex(tc.acked))
		})
	}
}

func TestVoteResult(t *testing.T) {
	for _, tc := range []struct {
		name   string
		voters []uint64
		votes  map[uint64]bool
		want   VoteResult
	}{
		{"empty config wins", nil, nil, VoteWon},
		{"single self", []uint64{1}, map[uint64]bool{1: true}, VoteWon},
		{"single pending", []uint64{1}, nil, VotePending},
		{"single lost", []uint64{1}, map[uint64]bool{1: false}, VoteLost},
		{"three one yes", []uint64{1, 2, 3}, map[uint64]bool{1: true}, VotePending},
		{"three two yes", []uint64{1, 2, 3}, map[uint64]bool{1: true, 3: true}, VoteWon},
		{"three two no", []uint64{1, 2, 3}, map[uint64]bool{1: true, 2: false, 3: false}, VoteLost},
		{"three split pending", []uint64{1, 2, 3}, map[uint64]bool{1: true, 2: false}, VotePending},
		{"four two yes two no", []uint64{1, 2, 3, 4}, map[uint64]bool{1: true, 2: true, 3: false, 4: false}, VoteLost},
		{"four two yes pending", []uint64{1, 2, 3, 4}, map[uint64]bool{1: true, 2: true}, VotePending},
		{"non-voters ignored", []uint64{1, 2, 3}, map[uint64]bool{1: true, 7: true, 8: true}, VotePending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, NewMajorityConfig(tc.voters...).VoteResult(tc.votes))
		})
	}
}

// The committed index is, by definition, the largest index that at least a
// majority acknowledged; check the fast path against that definition.
func TestCommittedIndexMatchesDefinition(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 11).Draw(t, "n")
		ids := make([]uint64, n)
		acked := MapAckIndexer{}
		for i := range ids {
			ids[i] = uint64(i + 1)
			if rapid.Bool().Draw(t, "known") {
				acked[ids[i]] = rapid.Uint64Range(0, 20).Draw(t, "idx")
			}
		}
		c := NewMajorityConfig(ids...)
		got := c.CommittedIndex(acked)
		var want uint64
		for cand := uint64(0); cand <= 20; cand++ {
			holders := 0
			for _, id := range c {
				if acked[id] >= cand {
					holders++
				}
			}
			if holders > n/2 {
				want = cand
			}
		}
		if got != want {
			t.Fatalf("voters %v acked %v: got %d want %d", c, acked, got, want)
		}
		// Unaffected by order of the input IDs.
		rev := slices.Clone(ids)
		slices.Reverse(rev)
		if NewMajorityConfig(rev...).CommittedIndex(acked) != got {
			t.Fatal("order-dependent")
		}
	})
}

func TestCommittedIndexDoesNotAllocate(t *testing.T) {
	c := NewMajorityConfig(1, 2, 3, 4, 5)
	acked := MapAckIndexer{1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
	allocs := testing.AllocsPerRun(100, func() { c.CommittedIndex(acked) })
	assert.Zero(t, allocs)
}
