package raft_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

func leaseConfig(drift int64, bugs plant.Set) rafttest.Config {
	return rafttest.Config{N: 5, CheckQuorum: true, ReadOnly: raft.ReadOnlyLeaseBased, MaxClockDriftPPM: drift,
		ElectionTick: 20, HeartbeatTick: 2, Planted: bugs}
}

// leaseLength elects node 1, lets a round be acknowledged, cuts the leader
// off and counts its ticks until a read is no longer answered at once
// from the lease (measured from the tick the round was sent).
func leaseLength(t *testing.T, cfg rafttest.Config) int {
	t.Helper()
	c := newCluster(t, cfg)
	tickUntil(t, c, 100, func() bool { return c.Leader() != raft.None })
	lead := c.Leader()
	for range cfg.HeartbeatTick {
		c.Tick(lead)
	}
	stabilize(t, c) // a round acknowledged by everyone, sent at this tick
	c.Isolate(lead)
	for k := 0; ; k++ {
		before := len(c.ReadStates(lead))
		require.NoError(t, c.ReadIndex(lead, fmt.Sprint(k)))
		require.NoError(t, c.Process(lead))
		if len(c.ReadStates(lead)) == before {
			require.Equal(t, raft.Leader, status(c, lead).Role, "still leads when its lease ends")
			return k
		}
		c.Tick(lead)
	}
}

// The lease lasts ElectionTick shortened by twice the drift bound and a
// tick: floor(E(1-2d)) - 1 ticks from the send of the acknowledged round.
func TestLeaseLength(t *testing.T) {
	plant.Skip(t)
	for _, tc := range []struct {
		drift int64
		bugs  plant.Set
		want  int
	}{
		{0, 0, 19},
		{50_000, 0, 17},
		{200_000, 0, 11},
		{200_000, plant.Of(plant.LeaseNoDriftMargin), 20},
	} {
		t.Run(fmt.Sprintf("drift=%d/%s", tc.drift, tc.bugs), func(t *testing.T) {
			assert.Equal(t, tc.want, leaseLength(t, leaseConfig(tc.drift, tc.bugs)))
		})
	}
}

// Under a lease the leader answers at once, with no heartbeat round;
// with ReadOnlySafe it always waits for one.
func TestLeaseReadsNeedNoRound(t *testing.T) {
	for _, lease := range []bool{false, true} {
		cfg := leaseConfig(0, 0)
		if !lease {
			cfg.ReadOnly = raft.ReadOnlySafe
		}
		c := newCluster(t, cfg)
		tickUntil(t, c, 100, func() bool { return c.Leader() != raft.None })
		lead := c.Leader()
		heartbeat(t, c)
		require.NoError(t, c.ReadIndex(lead, "r"))
		require.NoError(t, c.Process(lead))
		if lease {
			assert.Len(t, c.ReadStates(lead), 1)
			assert.Zero(t, queued(c, lead, raftpb.MsgHeartbeat))
			assert.Equal(t, uint64(1), c.Node(lead).Counters().LeaseReads)
		} else {
			assert.Empty(t, c.ReadStates(lead))
			assert.Equal(t, 4, queued(c, lead, raftpb.MsgHeartbeat))
		}
	}
}

// A node restarted with lease reads on honours a lease it may have granted
// before it crashed: it ignores vote requests for an election timeout,
// where with read index it votes at once.
func TestRestartedNodeHonoursTheLease(t *testing.T) {
	plant.Skip(t)
	for _, tc := range []struct {
		name     string
		readOnly raft.ReadOnlyOption
		bugs     plant.Set
		wins     bool
	}{
		{"index", raft.ReadOnlySafe, 0, true},
		{"lease", raft.ReadOnlyLeaseBased, 0, false},
		{"lease without checkquorum", raft.ReadOnlyLeaseBased, plant.Of(plant.LeaseWithoutCheckQuorum), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3, CheckQuorum: true, ReadOnly: tc.readOnly, Planted: tc.bugs})
			require.NoError(t, c.ElectLeader(1))
			heartbeat(t, c) // node 3 acknowledges a round: node 1 holds a lease
			require.NoError(t, c.Restart(3))
			c.Isolate(1)
			c.Campaign(2)
			stabilize(t, c)
			assert.Equal(t, tc.wins, status(c, 2).Role == raft.Leader)
		})
	}
}

// Lease reads need CheckQuorum, a drift bound below one half, and an
// election timeout that leaves a lease.
func TestLeaseConfigValidation(t *testing.T) {
	base := rafttest.Config{CheckQuorum: true, ReadOnly: raft.ReadOnlyLeaseBased}.NodeConfigFor(1, 3)
	require.NoError(t, base.Validate())
	for _, tc := range []struct {
		name string
		edit func(*raft.Config)
		want string
	}{
		{"no checkquorum", func(c *raft.Config) { c.CheckQuorum = false }, "require CheckQuorum"},
		{"negative drift", func(c *raft.Config) { c.MaxClockDriftPPM = -1 }, "MaxClockDriftPPM -1"},
		{"drift of a half", func(c *raft.Config) { c.MaxClockDriftPPM = 500_000 }, "MaxClockDriftPPM 500000"},
		{"no lease left", func(c *raft.Config) { c.MaxClockDriftPPM = 450_000 }, "leaves no lease"},
		{"unknown option", func(c *raft.Config) { c.ReadOnly = 7 }, "not a ReadOnlyOption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			err := cfg.Validate()
			require.ErrorIs(t, err, raft.ErrInvalidConfig)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
