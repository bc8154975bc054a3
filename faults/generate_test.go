package faults_test

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/sim"
)

// drawOptions draws generator options for a cluster of 1..7 servers.
func drawOptions(t *rapid.T) faults.GenOptions {
	opts := faults.GenOptions{
		Servers:  rapid.IntRange(1, 7).Draw(t, "servers"),
		Duration: time.Duration(rapid.IntRange(1, 30).Draw(t, "seconds")) * time.Second,
		Warmup:   time.Duration(rapid.IntRange(0, 2000).Draw(t, "warmupMs")) * time.Millisecond,
	}
	if rapid.Bool().Draw(t, "someKinds") {
		opts.Kinds = rapid.SliceOfDistinct(rapid.SampledFrom(faults.Kinds()), func(k faults.Kind) faults.Kind { return k }).Draw(t, "kinds")
	}
	return opts
}

func TestGenerateIsDeterministic(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		opts := drawOptions(t)
		a := faults.Generate(sim.NewRand(seed, "schedule"), opts)
		b := faults.Generate(sim.NewRand(seed, "schedule"), opts)
		require.Equal(t, a, b)
		require.Equal(t, a.Summary(), b.Summary())
		require.Equal(t, a.Lines(), b.Lines())
	})
}

func TestGenerateDependsOnTheSeed(t *testing.T) {
	opts := faults.GenOptions{Servers: 5}
	seen := map[string]bool{}
	for seed := uint64(0); seed < 20; seed++ {
		seen[faults.Generate(sim.NewRand(seed, "schedule"), opts).Lines()] = true
	}
	assert.Greater(t, len(seen), 15)
}

// line is the scenario grammar of the package doc, as a regexp.
var line = regexp.MustCompile(`^at \S+ [a-z-]+` +
	`( (\d[\d.e-]*|[+-]?\S+s|[+-]\d+ppm|\d+B|@\d+:[0-7]))?` +
	`( (leader|n\d+(,n\d+)*(( \| | -> )n\d+(,n\d+)*)*|[+-]n\d+(,[+-]n\d+)*))?` +
	`( until \S+)?$`)

func TestGenerateFollowsTheRules(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		opts := drawOptions(t)
		s := faults.Generate(sim.NewRand(rapid.Uint64().Draw(t, "seed"), "schedule"), opts)
		n := opts.Servers
		minority := (n - 1) / 2
		require.NoError(t, s.Validate(n))
		require.NotNil(t, s.Swarm)
		assert.Equal(t, opts.Warmup+opts.Duration, s.HealAt)
		assert.Greater(t, s.End, s.HealAt)

		allowed := opts.Kinds
		if len(allowed) == 0 {
			allowed = faults.DefaultKinds(n)
		}
		var enabled []faults.Kind
		for _, k := range s.Swarm.Kinds {
			assert.Contains(t, allowed, k.Kind)
			enabled = append(enabled, k.Kind)
		}
		if slices.ContainsFunc(allowed, func(k faults.Kind) bool { return slices.Contains(faults.DefaultKinds(n), k) }) {
			assert.NotEmpty(t, enabled, "a seed enables at least one allowed kind")
		}
		assert.GreaterOrEqual(t, s.Swarm.MaxDown, 1)
		assert.LessOrEqual(t, s.Swarm.MaxDown, minority+1)
		assert.LessOrEqual(t, len(s.Swarm.StorageNodes), minority, "storage faults on a minority only")

		var storage []faults.Fault
		members := slices.ContainsFunc(enabled, faults.Kind.Membership)
		for i, f := range s.Faults {
			if members && i == len(s.Faults)-1 {
				// With membership changes, the schedule ends by putting
				// the initial configuration back at the heal.
				assert.Equal(t, faults.Change, f.Kind)
				assert.Equal(t, s.HealAt, f.At)
				continue
			}
			assert.Contains(t, enabled, f.Kind)
			assert.GreaterOrEqual(t, f.At, opts.Warmup)
			assert.LessOrEqual(t, f.Until, s.HealAt, "fault %d outlives HealAt", i)
			if i > 0 {
				assert.GreaterOrEqual(t, f.At, s.Faults[i-1].At, "sorted by start")
			}
			assert.Regexp(t, line, f.String())
			if f.Kind == faults.Truncate || f.Kind == faults.Bitflip {
				require.Len(t, f.Nodes, 1, "%s: one node", f)
				assert.Contains(t, s.Swarm.StorageNodes, f.Nodes[0])
				storage = append(storage, f)
			}
		}
		for i := 1; i < len(storage); i++ {
			assert.Greater(t, storage[i].At, storage[i-1].Until, "storage faults %s and %s overlap", storage[i-1], storage[i])
		}

		// At every fault start (where the count of held-down servers can
		// grow), at most MaxDown servers are held down; a bitflip victim
		// counts until HealAt.
		for _, g := range s.Faults {
			down := map[int]bool{}
			leaders := 0
			for _, f := range s.Faults {
				until := f.Until
				switch f.Kind {
				case faults.Bitflip:
					until = s.HealAt
				case faults.Kill, faults.TornKill, faults.Truncate, faults.FullDisk, faults.FailFsync:
				default:
					continue
				}
				if f.At > g.At || until < g.At {
					continue
				}
				if f.Leader {
					leaders++
				}
				for _, id := range f.Nodes {
					down[id] = true
				}
			}
			assert.LessOrEqual(t, len(down)+leaders, s.Swarm.MaxDown, "at %v", g.At)
		}

		summary := s.Summary()
		for _, k := range s.Swarm.Kinds {
			assert.Regexp(t, "(?m)^"+regexp.QuoteMeta(string(k.Kind))+`: \d+, weight`, summary)
		}
	})
}

func TestSummaryOfAHandWrittenSchedule(t *testing.T) {
	s := faults.Schedule{End: sec(20), Faults: []faults.Fault{
		{Kind: faults.Kill, At: sec(1), Until: sec(2), Nodes: []int{1}},
		{Kind: faults.Quiet, At: sec(1), Until: sec(2)},
		{Kind: faults.Kill, At: sec(3), Until: sec(4), Nodes: []int{2}},
	}}
	assert.Equal(t, "schedule: 3 faults, heal at 20s, end at 20s\nkill: 2\nquiet: 1\n", s.Summary())
}

func TestGenerateWithNothingToDraw(t *testing.T) {
	s := faults.Generate(sim.NewRand(1, "x"), faults.GenOptions{})
	assert.Empty(t, s.Faults)
	s = faults.Generate(nil, faults.GenOptions{Servers: 5})
	assert.Empty(t, s.Faults)
	s = faults.Generate(sim.NewRand(1, "x"), faults.GenOptions{Servers: 5, Kinds: []faults.Kind{faults.EvenSplit}})
	assert.Empty(t, s.Faults, "even-split cannot apply to 5 servers")
	assert.NoError(t, s.Validate(5))
}

// stormCap stops a run whose event count explodes (a normal 15s run on 5
// servers is under 100k events), so a message storm fails the test in a
// second instead of eating the machine's memory.
const stormCap = 2_000_000

func guardStorm(w *sim.World) {
	w.Trace().OnEvent = func(*sim.Event) {
		if w.Trace().Len() > stormCap {
			w.Stop("event storm")
		}
	}
}

// livenessKinds are the default kinds less truncate, which raft does not
// survive yet (TestTruncatedFollowerCatchesUp).
func livenessKinds() []faults.Kind {
	return slices.DeleteFunc(faults.DefaultKinds(5), func(k faults.Kind) bool { return k == faults.Truncate })
}

// A generated schedule, run on a real 5-server cluster: afterwards the
// world is healed and the cluster elects a leader within 5s.
func TestGeneratedRunsHealAndElect(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole clusters")
	}
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		w, c := newCluster(t, seed, 5)
		guardStorm(w)
		s := faults.Generate(w.Rand("schedule"), faults.GenOptions{Servers: 5, Duration: 10 * time.Second, Kinds: livenessKinds()})
		t.Logf("seed %d\n%s%s", seed, s.Summary(), s.Lines())
		require.NoError(t, s.Install(c))
		w.RunUntil(sim.Time(s.HealAt))
		requireNoStorm(t, w)
		assertHealed(t, w, c) // runs 2.5s of the 5s
		for {
			if id, _ := c.Leader(); id != 0 {
				break
			}
			requireNoStorm(t, w)
			if w.Now() > sim.Time(s.HealAt+5*time.Second) {
				t.Fatalf("no leader within 5s of healing at %v", s.HealAt)
			}
			w.RunFor(50 * time.Millisecond)
		}
	})
}

func requireNoStorm(t T, w *sim.World) {
	t.Helper()
	stopped, why := w.Stopped()
	require.False(t, stopped, "%s: over %d events by %v", why, stormCap, w.Now())
}

// TestTruncatedFollowerCatchesUp pins a raft bug the truncate fault finds.
// A follower that lost synced entries restarts with a shorter log than the
// leader's Match for it; the leader only ever probes at Match+1, the
// follower rejects every probe, and the two ping-pong forever: the
// follower never catches up, and every round trip carries the whole log
// suffix since Match (hundreds of MB within seconds). With duplicate
// faults on top the ping-pong multiplies into an event storm.
func TestTruncatedFollowerCatchesUp(t *testing.T) {
	w, c := newCluster(t, 1, 5)
	guardStorm(w)
	w.RunUntil(sim.Time(2 * time.Second))
	lead, _ := c.Leader()
	require.NotZero(t, lead)
	f := lead%5 + 1
	s := faults.Schedule{HealAt: sec(10), End: sec(12), Faults: []faults.Fault{
		{Kind: faults.Truncate, At: sec(3), Until: sec(4), Bytes: 2000, Nodes: []int{f}},
	}}
	require.NoError(t, s.Install(c))
	w.RunUntil(sim.Time(sec(4)))
	sent := w.Net().Stats(sim.NodeID(lead), sim.NodeID(f)).BytesSent
	w.RunUntil(sim.Time(sec(7)))
	requireNoStorm(t, w)
	fs, ls := c.Server(f), c.Server(lead)
	require.NotNil(t, fs)
	require.NotNil(t, ls)
	assert.GreaterOrEqual(t, fs.BasicStatus().Commit+50, ls.BasicStatus().Commit, "n%d caught up with leader n%d", f, lead)
	assert.Less(t, w.Net().Stats(sim.NodeID(lead), sim.NodeID(f)).BytesSent-sent, uint64(10<<20), "bytes leader -> n%d in 3s", f)
}
