package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/sim"
)

// The chronicle counts leaderless time as it goes, keeping no list; it is
// the time outside every tenure of a run that keeps them.
func TestLeaderlessCountedAsItGoes(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		res, err := Run(Options{Seed: seed, FaultTime: 10 * time.Second, Trace: sim.TraceHashOnly, Record: true})
		require.NoError(t, err)
		ch := res.Chronicle
		assert.Equal(t, leaderless(ch.Tenures(), ch.End), ch.Leaderless(ch.End), "seed %d", seed)
		assert.Equal(t, res.Metrics.LeaderlessTime, ch.Leaderless(ch.End))
		again, err := Run(Options{Seed: seed, FaultTime: 10 * time.Second, Trace: sim.TraceHashOnly})
		require.NoError(t, err)
		assert.Equal(t, res.Metrics.LeaderlessTime, again.Metrics.LeaderlessTime, "seed %d", seed)
	}
}

// leaderless is how long in [0, end) no server believed it led.
func leaderless(ts []Tenure, end sim.Time) time.Duration {
	spans := make([][2]sim.Time, 0, len(ts))
	for _, t := range ts {
		if t.To > t.From {
			spans = append(spans, [2]sim.Time{t.From, t.To})
		}
	}
	slices.SortFunc(spans, func(a, b [2]sim.Time) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	var led time.Duration
	var cur [2]sim.Time
	open := false
	for _, sp := range spans {
		switch {
		case !open:
			cur, open = sp, true
		case sp[0] <= cur[1]:
			cur[1] = max(cur[1], sp[1])
		default:
			led += cur[1].Sub(cur[0])
			cur = sp
		}
	}
	if open {
		led += cur[1].Sub(cur[0])
	}
	return end.Duration() - led
}

// calmTracker says what calm says, instant after instant, looking at each
// fault and membership note once.
func TestCalmTrackerAgreesWithCalm(t *testing.T) {
	differ, calm := 0, 0
	for seed := uint64(1); seed <= 16; seed++ {
		res, err := Run(Options{Seed: seed, FaultTime: 15 * time.Second, Trace: sim.TraceHashOnly, Record: true})
		require.NoError(t, err)
		var c calmTracker
		for _, s := range res.Samples {
			want := res.calm(s.At)
			if c.at(res, s.At) != want {
				differ++
			}
			if want {
				calm++
			}
		}
	}
	assert.Zero(t, differ)
	assert.Positive(t, calm, "some instants are calm")
}
