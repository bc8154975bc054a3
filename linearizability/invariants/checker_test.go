package invariants_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// newRunTrace is the trace mode of new runs (TraceFull to debug one).
var newRunTrace = sim.TraceHashOnly

var lan = sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}

// run is one simulated cluster watched by a checker.
type run struct {
	t  testing.TB
	w  *sim.World
	c  *cluster.Cluster
	ck *invariants.Checker
}

func newRun(t testing.TB, seed uint64, servers, clients int, opts invariants.Options, tweak func(*cluster.Config)) *run {
	t.Helper()
	w, err := sim.New(sim.Config{Seed: seed, Nodes: servers + clients, Link: lan, Trace: newRunTrace})
	require.NoError(t, err)
	ck := invariants.New(opts)
	cfg := cluster.Config{Servers: servers, Clients: clients, Workload: client.DefaultWorkload()}
	// The chaos below is timed in tens of milliseconds, for 100ms
	// election timeouts (10ms ticks, a heartbeat every two) rather than
	// the default 500ms: many terms in a second of virtual time give the
	// checker more to check.
	cfg.Server.TickInterval, cfg.Server.ElectionTicks, cfg.Server.HeartbeatTicks = 10*time.Millisecond, 10, 2
	cfg.Server.OnApply = ck.OnApply
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := cluster.New(w, cfg)
	require.NoError(t, err)
	ck.Install(c)
	return &run{t: t, w: w, c: c, ck: ck}
}

func planted(bugs ...plant.Bug) func(*cluster.Config) {
	return func(cfg *cluster.Config) { cfg.Server.Planted = plant.Of(bugs...) }
}

func (r *run) stopped() bool { s, _ := r.w.Stopped(); return s }

// leader waits up to 5s of virtual time for a live leader (0 if none).
func (r *run) leader() int {
	for i := 0; i < 50 && !r.stopped(); i++ {
		if id, _ := r.c.Leader(); id != 0 {
			return id
		}
		r.w.RunFor(100 * time.Millisecond)
	}
	return 0
}

func (r *run) down() []int {
	var ids []int
	for id := 1; id <= r.c.Servers(); id++ {
		if !r.w.Up(sim.NodeID(id)) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (r *run) restartAll() {
	for _, id := range r.down() {
		require.NoError(r.t, r.w.Restart(sim.NodeID(id)))
	}
}

// chaos runs rounds of leader kills, leader isolation, minority/majority
// partitions, follower kills, slow and failing fsyncs and paused leaders,
// with client load, healing (and mostly restarting) in between.
func (r *run) chaos(rounds int) {
	rnd := r.w.Rand("test-chaos")
	n := r.c.Servers()
	for round := 0; round < rounds && !r.stopped(); round++ {
		lead := r.leader()
		pause := time.Duration(200+rnd.IntN(800)) * time.Millisecond
		var undo func()
		switch k := rnd.IntN(8); {
		case k == 0 && lead != 0: // kill the leader, maybe keeping a torn prefix
			require.NoError(r.t, r.w.Kill(sim.NodeID(lead), rnd.Chance(0.5)))
		case k == 1 && lead != 0: // isolate the leader
			require.NoError(r.t, r.w.Net().Isolate(sim.NodeID(lead)))
		case k == 2: // split into a minority and a majority at random
			var a, b []sim.NodeID
			for id := 1; id <= n+r.w.Nodes()-n; id++ {
				if id <= n && rnd.Chance(0.4) {
					a = append(a, sim.NodeID(id))
				} else {
					b = append(b, sim.NodeID(id))
				}
			}
			require.NoError(r.t, r.w.Net().Partition(a, b))
		case k == 3: // kill a random node (maybe a follower)
			if id := 1 + rnd.IntN(n); r.w.Up(sim.NodeID(id)) {
				require.NoError(r.t, r.w.Kill(sim.NodeID(id), rnd.Chance(0.5)))
			}
		case k == 5: // slow fsyncs on one node: its sends wait for them
			d := r.w.Disk(sim.NodeID(1 + rnd.IntN(n)))
			d.SetSyncLatency(func() time.Duration { return time.Duration(rnd.IntN(30)) * time.Millisecond })
			undo = func() { d.SetSyncLatency(nil) }
		case k == 6: // failing fsyncs on one node: its server fail-stops
			d := r.w.Disk(sim.NodeID(1 + rnd.IntN(n)))
			d.SetFailSync(true)
			undo = func() { d.SetFailSync(false) }
		case k == 7: // pause the leader (a long GC or a stopped VM)
			if lead != 0 {
				require.NoError(r.t, r.w.Pause(sim.NodeID(lead)))
				undo = func() {
					if r.w.Paused(sim.NodeID(lead)) {
						require.NoError(r.t, r.w.Resume(sim.NodeID(lead)))
					}
				}
			}
		default: // a quick leader kill and restart, in the middle of its work
			if lead != 0 {
				r.w.RunFor(time.Duration(rnd.IntN(20)) * time.Millisecond)
				if r.w.Up(sim.NodeID(lead)) {
					require.NoError(r.t, r.w.Kill(sim.NodeID(lead), false))
				}
				pause = time.Duration(5+rnd.IntN(100)) * time.Millisecond
			}
		}
		r.w.RunFor(pause)
		if undo != nil {
			undo()
		}
		r.w.Net().Heal()
		if rnd.Chance(0.7) {
			r.restartAll()
		}
		r.w.RunFor(time.Duration(100+rnd.IntN(400)) * time.Millisecond)
	}
}

func TestNoViolationOnTheRealImplementation(t *testing.T) {
	seeds := uint64(20)
	if testing.Short() {
		seeds = 5
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := newRun(t, seed, 5, 2, invariants.Options{StopWorld: true}, nil)
			r.c.StartLoad()
			r.w.RunFor(time.Second)
			r.chaos(12)
			r.restartAll()
			r.w.RunFor(2 * time.Second)
			v := r.ck.Violation()
			require.Nil(t, v, "%v", v)
			st := r.ck.Stats()
			t.Logf("%+v", st)
			assert.GreaterOrEqual(t, st.Leaders, 3, "the chaos must force new terms")
			assert.Greater(t, st.Committed, uint64(100), "the cluster must make progress")
			assert.Greater(t, st.Incarnations, uint64(5), "the chaos must restart nodes")
		})
	}
}

// catch runs seeds 1..maxSeeds of scenario until the checker reports a
// violation, and returns the seed it took and the violation.
func catch(t *testing.T, maxSeeds uint64, scenario func(seed uint64) *run) (uint64, *invariants.Violation) {
	t.Helper()
	for seed := uint64(1); seed <= maxSeeds; seed++ {
		r := scenario(seed)
		if v := r.ck.Violation(); v != nil {
			return seed, v
		}
	}
	return 0, nil
}

func mustCatch(t *testing.T, bug plant.Bug, maxSeeds uint64, want []string, scenario func(seed uint64) *run) {
	t.Helper()
	seed, v := catch(t, maxSeeds, scenario)
	require.NotNil(t, v, "%s not caught in %d seeds", bug, maxSeeds)
	t.Logf("%s caught by %s at seed %d: %s", bug, v.Invariant, seed, v)
	assert.Contains(t, want, v.Invariant)
}

// restartEveryLeader kills the leader every round and brings it back
// soon after: with a forgotten vote, the restarted node's durable state has
// gone backwards the moment it returns.
func TestForgetVoteOnRestartIsCaught(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.ForgetVoteOnRestart, 3, []string{invariants.DurableMonotonic, invariants.ElectionSafety}, func(seed uint64) *run {
		r := newRun(t, seed, 5, 2, invariants.Options{StopWorld: true}, planted(plant.ForgetVoteOnRestart))
		r.c.StartLoad()
		r.w.RunFor(time.Second)
		r.chaos(10)
		return r
	})
}

func TestBlankRestartIsCaught(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.BlankRestart, 3, []string{invariants.DurableMonotonic, invariants.ElectionSafety}, func(seed uint64) *run {
		r := newRun(t, seed, 5, 2, invariants.Options{StopWorld: true}, planted(plant.BlankRestart))
		r.c.StartLoad()
		r.w.RunFor(time.Second)
		r.chaos(10)
		return r
	})
}

// The apply hook alone catches two nodes applying different entries at
// one index, and a node applying out of order, with no cluster attached.
func TestApplyHookAlone(t *testing.T) {
	ck := invariants.New(invariants.Options{})
	ck.OnApply(1, &raftpb.Entry{Index: 1, Term: 1, Data: []byte("a")})
	ck.OnApply(2, &raftpb.Entry{Index: 1, Term: 1, Data: []byte("a")})
	ck.OnApply(1, &raftpb.Entry{Index: 2, Term: 2, Data: []byte("b")})
	require.Nil(t, ck.Violation())
	ck.OnApply(2, &raftpb.Entry{Index: 2, Term: 2, Data: []byte("c")})
	v := ck.Violation()
	require.NotNil(t, v)
	assert.Equal(t, invariants.StateMachineSafety, v.Invariant)
	assert.Contains(t, v.Message, "n2 applied entry 2")

	ck = invariants.New(invariants.Options{})
	ck.OnApply(1, &raftpb.Entry{Index: 1, Term: 1})
	ck.OnApply(1, &raftpb.Entry{Index: 3, Term: 1})
	require.NotNil(t, ck.Violation())
	assert.Contains(t, ck.Violation().Message, "applied entry 3 right after entry 1")
}

type clientWorkload = client.Workload

func defaultWorkload() client.Workload { return client.DefaultWorkload() }

func TestSkipUnknownInvariantPanics(t *testing.T) {
	assert.PanicsWithValue(t,
		`invariants: unknown invariant "leader-safety" in Options.Skip (known: election-safety, log-matching, leader-completeness, state-machine-safety, committed-never-lost, durable-monotonic, commit-monotonic, snapshot-integrity, config-safety)`,
		func() { invariants.New(invariants.Options{Skip: []string{"leader-safety"}}) })
}

// Install keeps an OnEvent hook installed before it, calling it first.
func TestInstallChainsThePreviousHook(t *testing.T) {
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 3, Link: lan, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	ck := invariants.New(invariants.Options{})
	cfg := cluster.Config{Servers: 3}
	cfg.Server.OnApply = ck.Hook()
	c, err := cluster.New(w, cfg)
	require.NoError(t, err)
	seen := uint64(0)
	w.Trace().OnEvent = func(*sim.Event) { seen++ }
	ck.Install(c)
	w.RunFor(time.Second)
	assert.Greater(t, seen, uint64(100))
	assert.Equal(t, seen, ck.Stats().Events)
	assert.Nil(t, ck.Violation())
	assert.Equal(t, 1, ck.Stats().Leaders)
	assert.Equal(t, uint64(3), ck.Stats().Incarnations)
}
