package runner_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The swarm picks every linearizable read mode and sometimes the
// read-heavy load; what the options set, it leaves alone, and the same
// seed always draws the same.
func TestSwarmReads(t *testing.T) {
	modes := map[server.ReadMode]int{}
	heavy := 0
	for seed := uint64(1); seed <= 200; seed++ {
		var o runner.Options
		runner.SwarmReads(seed, &o)
		modes[o.Server.Reads]++
		if o.Workload != (client.Workload{}) {
			heavy++
			assert.Equal(t, runner.ReadHeavyWorkload(), o.Workload)
			assert.Equal(t, runner.ReadHeavyClients, o.Clients)
		}
		again := runner.Options{}
		runner.SwarmReads(seed, &again)
		assert.Equal(t, o, again, "seed %d", seed)

		set := runner.Options{Clients: 2, Workload: client.DefaultWorkload()}
		set.Server.Reads = server.ReadLocal
		runner.SwarmReads(seed, &set)
		assert.Equal(t, server.ReadLocal, set.Server.Reads)
		assert.Equal(t, client.DefaultWorkload(), set.Workload)
		assert.Equal(t, 2, set.Clients)
	}
	assert.Len(t, modes, 3, "index, lease and log; never local")
	assert.Zero(t, modes[server.ReadLocal])
	for m, n := range modes { //detguard:unordered test assertion
		assert.Greater(t, n, 40, "%s on %d of 200 seeds", m, n)
	}
	assert.InDelta(t, 50, heavy, 25, "read-heavy on about one seed in four")
}

// Swarm transfers are instantaneous, in start order, within the fault
// phase, and valid faults; about one seed in three has some.
func TestSwarmTransfers(t *testing.T) {
	with := 0
	for seed := uint64(1); seed <= 200; seed++ {
		fs := runner.SwarmTransfers(seed, 5, 10*time.Second, 0)
		assert.Equal(t, fs, runner.SwarmTransfers(seed, 5, 10*time.Second, 0))
		if len(fs) > 0 {
			with++
		}
		for i, f := range fs {
			require.NoError(t, f.Validate(5))
			assert.Equal(t, faults.Transfer, f.Kind)
			assert.Equal(t, f.At, f.Until)
			assert.Less(t, f.At, 10*time.Second)
			if i > 0 {
				assert.GreaterOrEqual(t, f.At, fs[i-1].At)
			}
		}
	}
	assert.InDelta(t, 67, with, 25)
	assert.Empty(t, runner.SwarmTransfers(1, 1, time.Minute, 0), "nobody to transfer to")
}

// The shapes that need calm (lease traps, a lagging promotion) come on
// the seeds that draw them, before the generic faults start, and are
// valid faults within the fault phase; every server is a voter again at
// the heal of a seed that promotes.
func TestSwarmCalmShapes(t *testing.T) {
	const faultTime, election = 20 * time.Second, 100 * time.Millisecond
	kinds := runner.DefaultKinds(5)
	leaseSeeds, promoteSeeds := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		fs := runner.SwarmFaults(seed, 5, faultTime, election, kinds)
		assert.Equal(t, fs, runner.SwarmFaults(seed, 5, faultTime, election, kinds), "seed %d", seed)
		gen := runner.SwarmGenOptions(seed, faults.GenOptions{Servers: 5, Duration: faultTime, Kinds: kinds, Election: election})
		traps, promotes := 0, 0
		for _, f := range fs {
			require.NoError(t, f.Validate(5), "seed %d: %s", seed, f)
			assert.LessOrEqual(t, f.Until, faultTime, "seed %d: %s", seed, f)
			switch {
			case f.Kind == faults.Partition && len(f.Groups) == 2 && len(f.Groups[0]) == 1 && f.Groups[0][0] == faults.RefLeader:
				traps++
				assert.LessOrEqual(t, f.Until, gen.Warmup, "seed %d: a lease trap before the generic faults", seed)
			case f.Kind == faults.Promote:
				promotes++
				assert.Less(t, f.At, gen.Warmup, "seed %d: the promotion before the generic faults", seed)
				assert.Equal(t, faults.Change, fs[len(fs)-1].Kind, "seed %d: every server a voter at the heal", seed)
				assert.Equal(t, faultTime, fs[len(fs)-1].At)
			}
		}
		if traps > 0 {
			leaseSeeds++
		}
		if promotes > 0 {
			promoteSeeds++
		}
	}
	// At this timing (100ms elections): lease traps on half the seeds
	// that draw lease reads and one in twenty of the others, where
	// they fit in the first half of the fault phase (after a leader
	// storm, not always); a lagging promotion on about one seed in eight.
	assert.InDelta(t, 28, leaseSeeds, 12, "lease traps")
	assert.InDelta(t, 22, promoteSeeds, 10, "lagging promotions")
}

// A swarm lease is sized to the drift its schedule's clock faults can
// reach on one server, overlapping faults added up; where no lease would
// be left, the run reads by read index. A bound the options set is kept.
func TestFitLease(t *testing.T) {
	drift := func(at, until time.Duration, ppm int64, nodes ...int) faults.Fault {
		return faults.Fault{Kind: faults.ClockDrift, At: at, Until: until, PPM: ppm, Nodes: nodes}
	}
	onLeader := drift(3*time.Second, 4*time.Second, -60_000)
	onLeader.Nodes, onLeader.Leader = nil, true
	for _, tc := range []struct {
		name  string
		fs    []faults.Fault
		reads server.ReadMode
		bound int64
	}{
		{"no drift", nil, server.ReadLease, 0},
		{"one fault", []faults.Fault{drift(time.Second, 2*time.Second, 50_000, 1, 2)}, server.ReadLease, 50_000},
		{"overlapping on one node add up", []faults.Fault{drift(time.Second, 3*time.Second, 50_000, 1), drift(2*time.Second, 4*time.Second, 70_000, 1, 3)}, server.ReadLease, 120_000},
		{"back to back do not", []faults.Fault{drift(time.Second, 2*time.Second, 50_000, 1), drift(2*time.Second, 3*time.Second, 70_000, 1)}, server.ReadLease, 70_000},
		{"slow and fast apart", []faults.Fault{drift(time.Second, 3*time.Second, 50_000, 1), drift(time.Second, 3*time.Second, -70_000, 1)}, server.ReadLease, 70_000},
		{"on the leader: on anyone", []faults.Fault{drift(time.Second, 5*time.Second, -30_000, 2), onLeader}, server.ReadLease, 90_000},
		{"too much for a lease", []faults.Fault{drift(time.Second, 3*time.Second, 300_000, 1), drift(2*time.Second, 4*time.Second, 200_000, 1)}, server.ReadIndex, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := server.Config{Reads: server.ReadLease}
			runner.FitLease(&s, faults.Schedule{Faults: tc.fs})
			assert.Equal(t, tc.reads, s.Reads)
			assert.Equal(t, tc.bound, s.MaxDriftPPM)
		})
	}
	s := server.Config{Reads: server.ReadLease, MaxDriftPPM: 1000}
	runner.FitLease(&s, faults.Schedule{Faults: []faults.Fault{drift(0, time.Second, 90_000, 1)}})
	assert.Equal(t, int64(1000), s.MaxDriftPPM, "a bound that was set stays")
}

// The health metrics come from hooks and the history: a quiet run has
// one election, commit latency on the leader of a few network round trips,
// read latency per mode, and fsync latency that slow fsyncs set.
func TestHealthMetrics(t *testing.T) {
	for _, mode := range []server.ReadMode{server.ReadIndex, server.ReadLease, server.ReadLog} {
		t.Run(mode.String(), func(t *testing.T) {
			sched := faults.Schedule{HealAt: 4 * time.Second, End: 7 * time.Second, Faults: []faults.Fault{
				{Kind: faults.SlowFsync, At: time.Second, Until: 2 * time.Second, Delay: 7 * time.Millisecond, Nodes: []int{1, 2, 3, 4, 5}},
				{Kind: faults.Transfer, At: 3 * time.Second, Until: 3 * time.Second, Leader: true},
			}}
			o := runner.Options{Seed: 3, FaultTime: 4 * time.Second, Schedule: &sched, Trace: sim.TraceHashOnly}
			o.Server.Reads = mode
			res, err := runner.Run(o)
			require.NoError(t, err)
			require.True(t, res.Pass, res.Failures)
			m := res.Metrics
			assert.Equal(t, mode.String(), m.ReadMode)
			assert.Equal(t, 2, m.Elections, "the first election and the transfer's")
			assert.GreaterOrEqual(t, m.ElectionsStarted, uint64(2))
			assert.Equal(t, uint64(1), m.Transfers)
			assert.Zero(t, m.TransfersAborted)
			assert.Positive(t, m.LeaderlessTime)
			assert.Less(t, m.LeaderlessTime, time.Second)
			assert.Positive(t, m.TermChangesPerHour)
			assert.Positive(t, m.CommitLatencyP50)
			assert.Less(t, m.CommitLatencyP50, 20*time.Millisecond)
			assert.LessOrEqual(t, m.CommitLatencyP50, m.CommitLatencyP99)
			assert.Positive(t, m.ReadLatencyP50)
			assert.Equal(t, 7*time.Millisecond, m.FsyncLatencyP99, "fsyncs slow for a second: more than 1% of them")
			switch mode {
			case server.ReadIndex:
				assert.Positive(t, m.ReadRounds)
				assert.GreaterOrEqual(t, m.ReadsPerRound, 1.0)
			case server.ReadLease:
				assert.Positive(t, m.LeaseReads)
			case server.ReadLog:
				assert.Zero(t, m.ReadRounds+m.LeaseReads)
			}
		})
	}
}
