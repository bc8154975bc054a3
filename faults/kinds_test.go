package faults_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// Every kind's fault runs from 3s to 5s (instantaneous ones at 3s) on a
// cluster that has had 3s to elect a leader and fill its WALs.
const (
	faultAt    = 3 * time.Second
	faultUntil = 5 * time.Second
)

// kindRun is what a kind's checks see.
type kindRun struct {
	w *sim.World
	c *cluster.Cluster
	// Captured at faultAt just before the fault begins.
	leader   int
	crashes  int64 // node 2's disk crashes
	durable  int64 // node 2's durable bytes
	wal      map[string][]byte
	issued   uint64
	offset2  time.Duration
	nodes    int
	servers  int
	explicit int // the node explicit faults target
}

func TestEachKindAppliesAtAtAndUndoesAtUntil(t *testing.T) {
	cases := []struct {
		fault   faults.Fault
		servers int // default 5
		during  func(t *testing.T, r *kindRun)
		after   func(t *testing.T, r *kindRun)
	}{
		{
			fault: faults.Fault{Kind: faults.Kill, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assert.False(t, r.w.Up(2))
				assert.Equal(t, r.crashes+1, r.w.Disk(2).Stats().Crashes)
			},
			after: func(t *testing.T, r *kindRun) { assert.True(t, r.w.Up(2)) },
		},
		{
			fault: faults.Fault{Kind: faults.TornKill, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assert.False(t, r.w.Up(2))
				assert.Equal(t, r.crashes+1, r.w.Disk(2).Stats().Crashes)
			},
			after: func(t *testing.T, r *kindRun) { assert.True(t, r.w.Up(2)) },
		},
		{
			fault:  faults.Fault{Kind: faults.Kill, Leader: true},
			during: func(t *testing.T, r *kindRun) { assert.False(t, r.w.Up(sim.NodeID(r.leader))) },
			after:  func(t *testing.T, r *kindRun) { assert.True(t, r.w.Up(sim.NodeID(r.leader))) },
		},
		{
			fault: faults.Fault{Kind: faults.Pause, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assert.True(t, r.w.Up(2))
				assert.True(t, r.w.Paused(2))
			},
			after: func(t *testing.T, r *kindRun) { assert.False(t, r.w.Paused(2)) },
		},
		{
			fault: faults.Fault{Kind: faults.Isolate, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				for o := 1; o <= r.nodes; o++ {
					if o != 2 {
						assert.True(t, cutBothWays(r.w, 2, o), "n2 and n%d (clients too)", o)
					}
				}
				assert.True(t, connectedBothWays(r.w, 1, 3))
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.IsolateLeader},
			during: func(t *testing.T, r *kindRun) {
				require.NotZero(t, r.leader)
				for o := 1; o <= r.nodes; o++ {
					if o != r.leader {
						assert.True(t, cutBothWays(r.w, r.leader, o), "leader n%d and n%d", r.leader, o)
					}
				}
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.Partition, Groups: [][]int{{1, 2}, {3, 4, 5}}},
			during: func(t *testing.T, r *kindRun) {
				assert.True(t, connectedBothWays(r.w, 1, 2))
				assert.True(t, connectedBothWays(r.w, 3, 5))
				for _, a := range []int{1, 2} {
					for _, b := range []int{3, 4, 5} {
						assert.True(t, cutBothWays(r.w, a, b), "n%d and n%d", a, b)
					}
				}
				for s := 1; s <= 5; s++ {
					assert.True(t, connectedBothWays(r.w, s, 6), "clients are never partitioned")
				}
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.MajorityMinority},
			during: func(t *testing.T, r *kindRun) {
				require.NotZero(t, r.leader)
				minority := side(r.w, r.leader, r.servers)
				assert.Len(t, minority, 2, "the leader's side is the largest minority")
				majority := complement(minority, r.servers)
				assert.Len(t, majority, 3)
				assertSplit(t, r.w, minority, majority)
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault:   faults.Fault{Kind: faults.EvenSplit},
			servers: 4,
			during: func(t *testing.T, r *kindRun) {
				a := side(r.w, 1, 4)
				assert.Len(t, a, 2)
				assertSplit(t, r.w, a, complement(a, 4))
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.Bridge},
			during: func(t *testing.T, r *kindRun) {
				var bridge []int
				for s := 1; s <= 5; s++ {
					if len(side(r.w, s, 5)) == 5 {
						bridge = append(bridge, s)
					}
				}
				require.Len(t, bridge, 1, "exactly one node talks to everyone")
				b := bridge[0]
				others := complement([]int{b}, 5)
				a := []int{others[0]}
				for _, o := range others[1:] {
					if connectedBothWays(r.w, others[0], o) {
						a = append(a, o)
					}
				}
				assert.Len(t, a, 2, "two sides of two")
				var other []int
				for _, o := range others {
					if !contains(a, o) {
						other = append(other, o)
					}
				}
				assertSplit(t, r.w, a, other)
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.OneWay, Groups: [][]int{{1}, {2, 3}}},
			during: func(t *testing.T, r *kindRun) {
				net := r.w.Net()
				assert.False(t, net.Connected(1, 2))
				assert.False(t, net.Connected(1, 3))
				assert.True(t, net.Connected(2, 1))
				assert.True(t, net.Connected(3, 1))
				assert.True(t, net.Connected(1, 4))
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.Loss, Prob: 0.2, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assertLinksOf(t, r, 2, func(c sim.LinkConfig) bool { return c.Loss == 0.2 })
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.Duplicate, Prob: 0.3, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assertLinksOf(t, r, 2, func(c sim.LinkConfig) bool { return c.Duplicate == 0.3 })
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.Reorder, Prob: 0.4, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assertLinksOf(t, r, 2, func(c sim.LinkConfig) bool { return c.Reorder == 0.4 })
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault: faults.Fault{Kind: faults.Delay, Delay: 50 * time.Millisecond, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assertLinksOf(t, r, 2, func(c sim.LinkConfig) bool {
					return c.MinLatency == 51*time.Millisecond && c.MaxLatency == 55*time.Millisecond
				})
			},
			after: func(t *testing.T, r *kindRun) { assertNetworkHealed(t, r.w) },
		},
		{
			fault:  faults.Fault{Kind: faults.ClockSkew, Delay: 5 * time.Second, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) { assert.Equal(t, r.offset2+5*time.Second, offset(r.w, 2)) },
			after:  func(t *testing.T, r *kindRun) { assert.Equal(t, r.offset2, offset(r.w, 2)) },
		},
		{
			fault: faults.Fault{Kind: faults.ClockDrift, PPM: 100_000, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				r.w.RunFor(time.Second)
				assert.Equal(t, r.offset2+100*time.Millisecond, offset(r.w, 2), "10% fast for 1s")
			},
			after: func(t *testing.T, r *kindRun) {
				// 2s at 10% fast, then back to world rate.
				assert.Equal(t, r.offset2+200*time.Millisecond, offset(r.w, 2))
				r.w.RunFor(time.Second)
				assert.Equal(t, r.offset2+200*time.Millisecond, offset(r.w, 2))
			},
		},
		{
			fault:  faults.Fault{Kind: faults.ClockJump, Delay: -time.Second, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) { assert.Equal(t, r.offset2-time.Second, offset(r.w, 2)) },
			after:  func(t *testing.T, r *kindRun) { assert.Equal(t, r.offset2-time.Second, offset(r.w, 2), "a jump stays") },
		},
		{
			fault: faults.Fault{Kind: faults.Truncate, Bytes: 10, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assert.False(t, r.w.Up(2))
				assert.Equal(t, r.durable-10, r.w.Disk(2).DurableBytes())
			},
			after: func(t *testing.T, r *kindRun) {
				assert.True(t, r.w.Up(2), "a cut tail looks torn: the node restarts (start error %v)", r.w.StartError(2))
			},
		},
		{
			fault: faults.Fault{Kind: faults.Bitflip, Offset: 1 << 30, Bit: 3, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assert.False(t, r.w.Up(2))
				assert.Equal(t, 1, bitsChanged(t, r.w.Disk(2), r.wal), "exactly one bit of the WAL flipped")
			},
			after: func(t *testing.T, r *kindRun) {
				t.Logf("after the flip n2 is up=%v, start error: %v", r.w.Up(2), r.w.StartError(2))
				if !r.w.Up(2) {
					assert.Error(t, r.w.StartError(2), "restarted at Until, or refused to start")
				}
			},
		},
		{
			fault: faults.Fault{Kind: faults.SlowFsync, Delay: 40 * time.Millisecond, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				lat, err := probeSync(t, r.w, 2)
				require.NoError(t, err)
				assert.Equal(t, 40*time.Millisecond, lat)
			},
			after: func(t *testing.T, r *kindRun) {
				lat, err := probeSync(t, r.w, 2)
				require.NoError(t, err)
				assert.Zero(t, lat)
			},
		},
		{
			fault: faults.Fault{Kind: faults.FullDisk, Bytes: 1 << 20, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				assert.ErrorIs(t, probeWrite(t, r.w, 2, 1<<20+1), disk.ErrNoSpace)
				assert.NoError(t, probeWrite(t, r.w, 2, 1<<10))
			},
			after: func(t *testing.T, r *kindRun) {
				assert.NoError(t, probeWrite(t, r.w, 2, 8<<20))
				assert.True(t, r.w.Up(2))
			},
		},
		{
			fault: faults.Fault{Kind: faults.FailFsync, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				_, err := probeSync(t, r.w, 2)
				assert.ErrorIs(t, err, disk.ErrIO)
				r.w.RunFor(time.Second)
				assert.False(t, r.w.Up(2), "a server that cannot fsync fail-stops")
			},
			after: func(t *testing.T, r *kindRun) {
				_, err := probeSync(t, r.w, 2)
				assert.NoError(t, err)
				assert.True(t, r.w.Up(2), "restarted once its disk works again")
			},
		},
		{
			// A transfer to the leader's most up-to-date follower: a
			// new leader a few round trips on.
			fault: faults.Fault{Kind: faults.Transfer, Leader: true},
			during: func(t *testing.T, r *kindRun) {
				r.w.RunFor(100 * time.Millisecond)
				id, _ := r.c.Leader()
				assert.NotZero(t, id)
				assert.NotEqual(t, r.leader, id)
			},
			after: func(t *testing.T, r *kindRun) {},
		},
		{
			// A transfer to a server that is down fails cleanly: after
			// an election timeout the old leader takes writes again.
			fault: faults.Fault{Kind: faults.Transfer, Nodes: []int{2}},
			during: func(t *testing.T, r *kindRun) {
				require.NoError(t, r.w.Kill(2, false))
				r.w.RunFor(300 * time.Millisecond)
				id, _ := r.c.Leader()
				if r.leader == 2 {
					return // the target led: nothing to transfer, and now it is down
				}
				assert.Equal(t, r.leader, id, "the old leader goes on")
				issued := r.c.ClientStats().Completed
				r.w.RunFor(300 * time.Millisecond)
				assert.Greater(t, r.c.ClientStats().Completed, issued, "and takes writes")
			},
			after: func(t *testing.T, r *kindRun) {},
		},
		{
			fault: faults.Fault{Kind: faults.Quiet},
			during: func(t *testing.T, r *kindRun) {
				r.w.RunFor(1900 * time.Millisecond)
				assert.Equal(t, r.issued, r.c.ClientStats().Issued, "no new operations while quiet")
			},
			after: func(t *testing.T, r *kindRun) {
				r.w.RunFor(time.Second)
				assert.Greater(t, r.c.ClientStats().Issued, r.issued)
			},
		},
	}
	for _, tc := range cases {
		servers := tc.servers
		if servers == 0 {
			servers = 5
		}
		f := tc.fault
		f.At, f.Until = faultAt, faultUntil
		if f.Kind == faults.ClockJump || f.Kind == faults.Transfer {
			f.Until = f.At
		}
		t.Run(f.String(), func(t *testing.T) {
			w, c := newCluster(t, 7, servers)
			w.RunUntil(at(time.Second))
			r := &kindRun{w: w, c: c, nodes: w.Nodes(), servers: servers}
			// Scheduled before Install, so it runs just before the fault begins.
			w.At(at(faultAt), func() {
				r.leader, _ = c.Leader()
				r.crashes = w.Disk(2).Stats().Crashes
				r.durable = w.Disk(2).DurableBytes()
				r.wal = walContents(t, w.Disk(2))
				r.issued = c.ClientStats().Issued
				r.offset2 = offset(w, 2)
			})
			s := faults.Schedule{Faults: []faults.Fault{f}, HealAt: 20 * time.Second, End: 20 * time.Second}
			require.NoError(t, s.Install(c))
			w.RunUntil(at(faultAt))
			tc.during(t, r)
			w.RunUntil(at(f.Until))
			tc.after(t, r)
		})
	}
}

// side is the servers node a can talk to both ways, itself included.
func side(w *sim.World, a, servers int) []int {
	out := []int{a}
	for o := 1; o <= servers; o++ {
		if o != a && connectedBothWays(w, a, o) {
			out = append(out, o)
		}
	}
	return out
}

func complement(s []int, servers int) []int {
	var out []int
	for o := 1; o <= servers; o++ {
		if !contains(s, o) {
			out = append(out, o)
		}
	}
	return out
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// assertSplit checks a and b are each whole and cut from each other.
func assertSplit(t *testing.T, w *sim.World, a, b []int) {
	t.Helper()
	for _, x := range a {
		for _, y := range b {
			assert.True(t, cutBothWays(w, x, y), "n%d and n%d", x, y)
		}
	}
	for _, g := range [][]int{a, b} {
		for _, x := range g {
			for _, y := range g {
				if x != y {
					assert.True(t, connectedBothWays(w, x, y), "n%d and n%d", x, y)
				}
			}
		}
	}
}

// assertLinksOf checks every link into and out of id satisfies ok, and
// every other link still has the world's configuration.
func assertLinksOf(t *testing.T, r *kindRun, id int, ok func(sim.LinkConfig) bool) {
	t.Helper()
	for a := 1; a <= r.nodes; a++ {
		for b := 1; b <= r.nodes; b++ {
			if a == b {
				continue
			}
			cfg := r.w.Net().Link(sim.NodeID(a), sim.NodeID(b))
			if a == id || b == id {
				assert.True(t, ok(cfg), "n%d->n%d: %+v", a, b, cfg)
			} else {
				assert.Equal(t, lan, cfg, "n%d->n%d untouched", a, b)
			}
		}
	}
}

// walContents is every WAL segment on d, by name.
func walContents(t T, d interface {
	List() ([]string, error)
	ReadFile(string) ([]byte, error)
}) map[string][]byte {
	names, err := d.List()
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, n := range names {
		b, err := d.ReadFile(n)
		require.NoError(t, err)
		out[n] = b
	}
	return out
}

// bitsChanged counts the bits that differ between before and d's files.
func bitsChanged(t T, d interface {
	List() ([]string, error)
	ReadFile(string) ([]byte, error)
}, before map[string][]byte) int {
	after := walContents(t, d)
	n := 0
	for name, a := range after { //detguard:unordered a sum does not depend on order
		b := before[name]
		for i := range min(len(a), len(b)) {
			for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
				n++
			}
		}
	}
	return n
}

// A transfer is an operator's action, not a failure: never drawn unless
// named, instantaneous, and aimed at one server (or the leader's best
// follower).
func TestTransferIsAnOperatorsKind(t *testing.T) {
	assert.NotContains(t, faults.DefaultKinds(5), faults.Transfer)
	assert.Contains(t, faults.Kinds(), faults.Transfer)
	at := time.Second
	for _, tc := range []struct {
		f    faults.Fault
		want string
	}{
		{faults.Fault{Kind: faults.Transfer, At: at, Until: at, Nodes: []int{2, 3}}, "transfer takes one target"},
		{faults.Fault{Kind: faults.Transfer, At: at, Until: at, Nodes: []int{faults.RefNotLeader}}, "transfer takes one target"},
		{faults.Fault{Kind: faults.Transfer, At: at, Until: 2 * at, Nodes: []int{2}}, "instantaneous"},
		{faults.Fault{Kind: faults.Transfer, At: at, Until: at, Nodes: []int{7}}, "out of range"},
	} {
		assert.ErrorContains(t, tc.f.Validate(5), tc.want, tc.f.String())
	}
	for _, ok := range []faults.Fault{
		{Kind: faults.Transfer, At: at, Until: at, Leader: true},
		{Kind: faults.Transfer, At: at, Until: at, Nodes: []int{3}},
		{Kind: faults.Transfer, At: at, Until: at, Nodes: []int{faults.LeaderPlus(1)}},
		{Kind: faults.Transfer, At: at, Until: at, Nodes: []int{faults.RefFollower}},
	} {
		assert.NoError(t, ok.Validate(5), ok.String())
	}
	assert.Equal(t, "at 1s transfer leader", faults.Fault{Kind: faults.Transfer, At: at, Until: at, Leader: true}.String())
}
