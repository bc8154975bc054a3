package tracker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/quorum"
)

func TestInflightsWindow(t *testing.T) {
	in := NewInflights(3)
	assert.False(t, in.Full())
	in.Add(5, 10)
	in.Add(7, 20)
	in.Add(9, 30)
	assert.True(t, in.Full())
	assert.Equal(t, 3, in.Count())
	assert.Equal(t, uint64(60), in.Bytes())

	in.FreeLE(4) // below everything: nothing freed
	assert.Equal(t, 3, in.Count())
	in.FreeLE(7)
	assert.Equal(t, 1, in.Count())
	assert.Equal(t, uint64(30), in.Bytes())
	assert.False(t, in.Full())

	// Wrap around the ring.
	in.Add(10, 1)
	in.Add(11, 1)
	assert.True(t, in.Full())
	in.FreeFirstOne()
	assert.Equal(t, 2, in.Count())
	in.FreeLE(100)
	assert.Equal(t, 0, in.Count())
	assert.Equal(t, uint64(0), in.Bytes())
	in.FreeFirstOne() // on empty: no-op
	assert.Equal(t, 0, in.Count())

	assert.Panics(t, func() {
		full := NewInflights(1)
		full.Add(1, 0)
		full.Add(2, 0)
	})
	assert.Panics(t, func() {
		w := NewInflights(2)
		w.Add(3, 0)
		w.Add(3, 0)
	})
}

// The window behaves like a bounded FIFO of increasing indexes.
func TestInflightsModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 9).Draw(t, "size")
		in := NewInflights(size)
		var model []uint64
		next := uint64(1)
		for range rapid.IntRange(0, 100).Draw(t, "steps") {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				if len(model) < size {
					next += rapid.Uint64Range(1, 3).Draw(t, "gap")
					in.Add(next, 1)
					model = append(model, next)
				}
			case 1:
				to := rapid.Uint64Range(0, next+1).Draw(t, "to")
				in.FreeLE(to)
				for len(model) > 0 && model[0] <= to {
					model = model[1:]
				}
			case 2:
				in.FreeFirstOne()
				if len(model) > 0 {
					model = model[1:]
				}
			}
			if in.Count() != len(model) || in.Full() != (len(model) == size) || in.Bytes() != uint64(len(model)) {
				t.Fatalf("count %d full %v bytes %d, model %v", in.Count(), in.Full(), in.Bytes(), model)
			}
		}
		c := in.Clone()
		in.Reset()
		if c.Count() != len(model) {
			t.Fatal("clone shares state")
		}
	})
}

func TestProgressProbeAndReplicate(t *testing.T) {
	pr := NewProgress(11, 2)
	assert.Equal(t, StateProbe, pr.State)
	assert.False(t, pr.IsPaused())

	// A probe pauses until answered.
	pr.SentEntries(10, 0, false)
	assert.True(t, pr.IsPaused())

	// A rejection of something other than the outstanding probe is stale.
	assert.False(t, pr.MaybeDecrTo(9, 3))
	assert.True(t, pr.IsPaused())
	// The answer to the probe jumps straight to the hint.
	assert.True(t, pr.MaybeDecrTo(10, 3))
	assert.Equal(t, uint64(4), pr.Next)
	assert.False(t, pr.IsPaused())

	// A hint above the rejected index is ignored; Next still moves below it.
	pr.SentEntries(3, 0, false)
	assert.True(t, pr.MaybeDecrTo(3, 99))
	assert.Equal(t, uint64(3), pr.Next)

	// Acceptance.
	assert.True(t, pr.MaybeUpdate(5))
	assert.Equal(t, uint64(5), pr.Match)
	assert.Equal(t, uint64(6), pr.Next)
	assert.False(t, pr.MaybeUpdate(4), "stale ack")
	assert.Equal(t, uint64(5), pr.Match)

	pr.BecomeReplicate()
	assert.Equal(t, uint64(6), pr.Next)
	pr.SentEntries(8, 100, true)
	assert.Equal(t, uint64(9), pr.Next)
	pr.SentEntries(9, 100, true)
	assert.True(t, pr.IsPaused(), "window of 2 is full")
	pr.SentEntries(9, 0, false) // empty appends take no slot
	assert.Equal(t, 2, pr.Inflights.Count())

	// Others fall back to probing from Match.
	assert.True(t, pr.MaybeDecrTo(8, 0))
	assert.Equal(t, StateProbe, pr.State)
	assert.Equal(t, uint64(6), pr.Next)
	assert.Equal(t, 0, pr.Inflights.Count())
	assert.Contains(t, pr.String(), "StateProbe match=5 next=6")
}

func TestProgressInvariantMatchBelowNext(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pr := NewProgress(rapid.Uint64Range(0, 20).Draw(t, "next"), 3)
		for range rapid.IntRange(0, 60).Draw(t, "steps") {
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0:
				pr.MaybeUpdate(rapid.Uint64Range(0, 40).Draw(t, "n"))
			case 1:
				pr.MaybeDecrTo(rapid.Uint64Range(0, 40).Draw(t, "rej"), rapid.Uint64().Draw(t, "hint"))
			case 2:
				pr.BecomeProbe()
			case 3:
				pr.BecomeReplicate()
			case 4:
				if !pr.IsPaused() {
					pr.SentEntries(pr.Next+rapid.Uint64Range(0, 3).Draw(t, "n"), 1, true)
				}
			case 5:
				pr.Inflights.FreeLE(pr.Match)
			}
			if pr.Match >= pr.Next {
				t.Fatalf("invariant Match < Next broken: %s", pr)
			}
		}
	})
}

func TestTrackerCommittedAndVotes(t *testing.T) {
	tr := New(4, quorum.NewMajorityConfig(3, 1, 2), 1)
	require.Equal(t, []uint64{1, 2, 3}, tr.IDs())
	assert.Nil(t, tr.Progress(9))

	tr.Progress(1).MaybeUpdate(10)
	assert.Equal(t, uint64(0), tr.Committed())
	tr.Progress(3).MaybeUpdate(7)
	assert.Equal(t, uint64(7), tr.Committed())

	var order []uint64
	tr.Visit(func(id uint64, _ *Progress) { order = append(order, id) })
	assert.Equal(t, []uint64{1, 2, 3}, order)

	tr.RecordVote(1, true)
	tr.RecordVote(2, false)
	tr.RecordVote(2, true) // duplicate: first answer stands
	tr.RecordVote(9, true) // not a voter
	g, r, res := tr.TallyVotes()
	assert.Equal(t, 1, g)
	assert.Equal(t, 1, r)
	assert.Equal(t, quorum.VotePending, res)
	tr.RecordVote(3, true)
	_, _, res = tr.TallyVotes()
	assert.Equal(t, quorum.VoteWon, res)
	tr.ResetVotes()
	_, _, res = tr.TallyVotes()
	assert.Equal(t, quorum.VotePending, res)

	assert.False(t, tr.QuorumActive())
	tr.Progress(1).RecentActive = true
	tr.Progress(2).RecentActive = true
	assert.True(t, tr.QuorumActive())
	assert.Contains(t, tr.String(), "1: StateProbe match=10 next=11\n2:")

	empty := New(1, nil, 1)
	assert.Equal(t, uint64(0), empty.Committed(), "no voters commits nothing")
	_, _, res = empty.TallyVotes()
	assert.Equal(t, quorum.VoteLost, res)
	assert.False(t, empty.QuorumActive())
}

// A follower that lost acknowledged entries rejects at or below Match with
// a hint below Match: the leader lowers Match to the hint and probes from
// there. A rejection at or below Match with a hint at Match is stale.
func TestProgressDataLossLowersMatch(t *testing.T) {
	for _, tc := range []struct {
		name               string
		state              StateType
		rejected, hint     uint64
		ok                 bool
		wantMatch, wantNxt uint64
	}{
		{"replicate probe at match, short log", StateReplicate, 10, 4, true, 4, 5},
		{"probe state, probe at match", StateProbe, 10, 7, true, 7, 8},
		{"rejected below match", StateReplicate, 8, 3, true, 3, 4},
		{"hint at match is stale", StateReplicate, 10, 10, false, 10, 13},
		{"hint zero", StateProbe, 10, 0, true, 0, 1},
		{"above match: ordinary rejection", StateReplicate, 12, 11, true, 10, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr := NewProgress(1, 4)
			pr.MaybeUpdate(10)
			if tc.state == StateReplicate {
				pr.BecomeReplicate()
				pr.SentEntries(12, 1, true)
			} else {
				pr.BecomeProbe()
				pr.Next = 13
			}
			assert.Equal(t, tc.ok, pr.MaybeDecrTo(tc.rejected, tc.hint))
			assert.Equal(t, tc.wantMatch, pr.Match)
			assert.Equal(t, tc.wantNxt, pr.Next)
			if tc.ok {
				assert.Equal(t, StateProbe, pr.State)
				assert.False(t, pr.IsPaused())
			}
		})
	}
}
