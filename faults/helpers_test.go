package faults_test

import (
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

var lan = sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}

const clients = 2

// T is what the helpers need: *testing.T or *rapid.T.
type T interface {
	require.TestingT
	Helper()
}

// newCluster starts servers servers and two clients under load on a fresh
// world (5 servers: a 7-node world).
func newCluster(t T, seed uint64, servers int) (*sim.World, *cluster.Cluster) {
	t.Helper()
	w, err := sim.New(sim.Config{Seed: seed, Nodes: servers + clients, Link: lan, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	c, err := cluster.New(w, cluster.Config{Servers: servers, Clients: clients, Workload: client.DefaultWorkload()})
	require.NoError(t, err)
	c.StartLoad()
	return w, c
}

// at converts a duration since the start to world time.
func at(d time.Duration) sim.Time { return sim.Time(d) }

// offset is how far node id's clock is from world time.
func offset(w *sim.World, id int) time.Duration {
	return w.LocalTime(sim.NodeID(id)).Sub(w.Now())
}

// probeSync creates, syncs and removes a scratch file on id's disk and
// returns the fsync latency that was charged and the sync's error. The
// server never reads files outside its WAL.
func probeSync(t T, w *sim.World, id int) (time.Duration, error) {
	t.Helper()
	d := w.Disk(sim.NodeID(id))
	f, err := d.Create("probe")
	require.NoError(t, err)
	serr := f.Sync()
	require.NoError(t, f.Close())
	require.NoError(t, d.Remove("probe"))
	return d.TakeSyncDelay(), serr
}

// probeWrite writes n bytes to a scratch file on id's disk (then removes
// it) and returns the write's error.
func probeWrite(t T, w *sim.World, id int, n int64) error {
	t.Helper()
	d := w.Disk(sim.NodeID(id))
	f, err := d.Create("probe")
	require.NoError(t, err)
	_, werr := f.Write(make([]byte, n))
	require.NoError(t, f.Close())
	require.NoError(t, d.Remove("probe"))
	return werr
}

// cutBothWays reports whether a and b cannot talk either way.
func cutBothWays(w *sim.World, a, b int) bool {
	return !w.Net().Connected(sim.NodeID(a), sim.NodeID(b)) && !w.Net().Connected(sim.NodeID(b), sim.NodeID(a))
}

// connectedBothWays reports whether a and b can talk both ways.
func connectedBothWays(w *sim.World, a, b int) bool {
	return w.Net().Connected(sim.NodeID(a), sim.NodeID(b)) && w.Net().Connected(sim.NodeID(b), sim.NodeID(a))
}

// assertNetworkHealed checks every directed link is connected and
// configured as the world started.
func assertNetworkHealed(t T, w *sim.World) {
	t.Helper()
	for a := 1; a <= w.Nodes(); a++ {
		for b := 1; b <= w.Nodes(); b++ {
			if a == b {
				continue
			}
			assert.True(t, w.Net().Connected(sim.NodeID(a), sim.NodeID(b)), "n%d->n%d still cut", a, b)
			assert.Equal(t, lan, w.Net().Link(sim.NodeID(a), sim.NodeID(b)), "n%d->n%d config", a, b)
		}
	}
}

// assertHealed checks the world is healed right after HealAt: servers up
// (unless their disk made them refuse to start) and running, the network
// whole, no clock drift, no disk hook, load on. It runs the world for
// 2.5s to watch clocks and load.
func assertHealed(t T, w *sim.World, c *cluster.Cluster) {
	t.Helper()
	down := 0
	for id := 1; id <= c.Servers(); id++ {
		nid := sim.NodeID(id)
		if !w.Up(nid) {
			down++
			assert.Error(t, w.StartError(nid), "n%d is down after heal but did not fail to start", id)
		}
		assert.False(t, w.Paused(nid), "n%d still paused", id)
		lat, err := probeSync(t, w, id)
		assert.NoError(t, err, "n%d fsync still failing", id)
		assert.Zero(t, lat, "n%d fsync still slow", id)
		assert.NoError(t, probeWrite(t, w, id, 1<<20), "n%d disk still full", id)
	}
	assert.LessOrEqual(t, down, (c.Servers()-1)/2, "a majority is down after heal")
	assertNetworkHealed(t, w)

	offsets := make([]time.Duration, c.Servers()+1)
	for id := 1; id <= c.Servers(); id++ {
		offsets[id] = offset(w, id)
	}
	issued := c.ClientStats().Issued
	w.RunFor(2500 * time.Millisecond) // past a client's 2s give-up, so each issues again

	for id := 1; id <= c.Servers(); id++ {
		assert.Equal(t, offsets[id], offset(w, id), "n%d clock still drifts", id)
	}
	assert.Greater(t, c.ClientStats().Issued, issued, "load is not back on")
}

// newClusterOn starts 5 servers and 2 clients under load on w.
func newClusterOn(w *sim.World) (*cluster.Cluster, error) {
	c, err := cluster.New(w, cluster.Config{Servers: 5, Clients: clients, Workload: client.DefaultWorkload()})
	if err == nil {
		c.StartLoad()
	}
	return c, err
}
