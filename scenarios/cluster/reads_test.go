package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
)

// Under a lease a server counts its ticks by its monotonic clock: a pause
// (or a stall on slow fsyncs) costs it the ticks it could not take, so the
// lease it counts in them cannot outlive its time. Other modes tick once
// per timer, as before.
func TestLeaseTicksCountAPause(t *testing.T) {
	for _, tc := range []struct {
		reads    server.ReadMode
		min, max uint64
	}{
		{server.ReadLease, 10, 11}, // 500ms of 50ms ticks
		{server.ReadIndex, 1, 2},
	} {
		t.Run(tc.reads.String(), func(t *testing.T) {
			w, c := newCluster(t, 4, 3, 0, client.Workload{}, func(cfg *cluster.Config) { cfg.Server.Reads = tc.reads })
			w.RunFor(time.Second)
			s := c.Server(2)
			before := s.Stats().Ticks
			require.NoError(t, w.Pause(2))
			w.RunFor(500 * time.Millisecond)
			require.NoError(t, w.Resume(2))
			w.RunFor(5 * time.Millisecond)
			got := s.Stats().Ticks - before
			assert.GreaterOrEqual(t, got, tc.min, "ticks over a 500ms pause")
			assert.LessOrEqual(t, got, tc.max)
		})
	}
}

// The monotonic ticks never run ahead of the clock: over a long quiet
// run with clock jumps and drift, a lease server took exactly the ticks
// its monotonic clock allowed.
func TestLeaseTicksFollowTheMonotonicClock(t *testing.T) {
	w, c := newCluster(t, 5, 3, 0, client.Workload{}, func(cfg *cluster.Config) { cfg.Server.Reads = server.ReadLease })
	require.NoError(t, w.SetClockDrift(1, 200_000))
	w.RunFor(time.Second)
	require.NoError(t, w.JumpClock(1, -3*time.Second))
	w.RunFor(time.Second)
	require.NoError(t, w.JumpClock(1, 5*time.Second))
	w.RunFor(time.Second)
	// 3s of world time at +20%: 3.6s of monotonic time, 72 ticks of 50ms.
	got := c.Server(1).Stats().Ticks
	assert.Equal(t, server.DefaultTickInterval, 50*time.Millisecond)
	assert.InDelta(t, 72, float64(got), 1)
}
