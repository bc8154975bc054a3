package cluster_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

var lan = sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}

func newCluster(t T, seed uint64, servers, clients int, wl client.Workload, tweak func(*cluster.Config)) (*sim.World, *cluster.Cluster) {
	t.Helper()
	w, err := sim.New(sim.Config{Seed: seed, Nodes: servers + clients, Link: lan, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	cfg := cluster.Config{Servers: servers, Clients: clients, Workload: wl}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := cluster.New(w, cfg)
	require.NoError(t, err)
	return w, c
}

// leaderNow waits (in virtual time) for a leader and returns it.
func leaderNow(t T, w *sim.World, c *cluster.Cluster) (int, uint64) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if id, term := c.Leader(); id != 0 {
			return id, term
		}
		w.RunFor(100 * time.Millisecond)
	}
	t.Fatalf("no leader within 10s")
	return 0, 0
}

// watchLeaders fails the test if two nodes are ever leaders of one term,
// checked after every event of the run.
func watchLeaders(t *testing.T, w *sim.World, c *cluster.Cluster) map[uint64]int {
	leaders := map[uint64]int{}
	w.Trace().OnEvent = func(e *sim.Event) {
		for i := 1; i <= c.Servers(); i++ {
			s := c.Server(i)
			if s == nil {
				continue
			}
			if st := s.BasicStatus(); st.Role == subject.Leader {
				if prev, ok := leaders[st.Term]; ok && prev != i {
					t.Fatalf("at %v: n%d and n%d both lead term %d", w.Now(), prev, i, st.Term)
				}
				leaders[st.Term] = i
			}
		}
	}
	return leaders
}

func TestOneLeaderPerTermUnderLeaderCrashesAndPartitions(t *testing.T) {
	for _, n := range []int{3, 5} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("nodes=%d/seed=%d", n, seed), func(t *testing.T) {
				w, c := newCluster(t, seed, n, 2, client.DefaultWorkload(), nil)
				leaders := watchLeaders(t, w, c)
				c.StartLoad()
				chaos := w.Rand("test-chaos")
				for round := 0; round < 6; round++ {
					id, _ := leaderNow(t, w, c)
					if round%2 == 0 {
						require.NoError(t, w.Kill(sim.NodeID(id), chaos.Chance(0.5)))
						w.RunFor(time.Duration(300+chaos.IntN(700)) * time.Millisecond)
						require.NoError(t, w.Restart(sim.NodeID(id)))
					} else {
						require.NoError(t, w.Net().Isolate(sim.NodeID(id)))
						w.RunFor(time.Duration(300+chaos.IntN(700)) * time.Millisecond)
						w.Net().Heal()
					}
					w.RunFor(500 * time.Millisecond)
				}
				assert.GreaterOrEqual(t, len(leaders), 3, "leader crashes and isolations must force new terms")
				assert.Greater(t, c.ClientStats().Completed, uint64(50))
			})
		}
	}
}

// appendOnly makes every write an append, so no acknowledged write can be
// hidden by a later one: each must still be visible at the end.
var appendOnly = client.Workload{Keys: 3, Append: 1, Think: 5 * time.Millisecond}

func TestLeaderCrashLosesNoAcknowledgedWrite(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) {
			w, c := newCluster(t, 11, n, 3, appendOnly, nil)
			c.StartLoad()
			w.RunFor(3 * time.Second)
			old, _ := leaderNow(t, w, c)
			require.NoError(t, w.Kill(sim.NodeID(old), false))
			w.RunFor(3 * time.Second)
			c.StopLoad()
			w.RunFor(3 * time.Second)
			id, _ := leaderNow(t, w, c)
			require.NotEqual(t, old, id, "the killed leader is still down")

			store := c.Server(id).Store()
			acked := 0
			for _, op := range c.History.Operations() {
				if op.Unknown {
					continue
				}
				acked++
				v, _ := store.Get(op.Input.Key)
				assert.Contains(t, v, op.Input.Value, "acknowledged %s lost", op)
				assert.Equal(t, 1, strings.Count(v, op.Input.Value), "%s applied twice", op)
			}
			assert.Greater(t, acked, 100)
		})
	}
}

func TestRestartedNodeRemembersAndReceivesOnlyWhatItMissed(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) { restartRemembers(t, n, 0) })
	}
}

func TestBlankRestartIsCaught(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.BlankRestart.String(), func(t T) { restartRemembers(t, 3, plant.Of(plant.BlankRestart)) })
}

// restartRemembers kills a follower, keeps writing, restarts it, and checks
// that it came back with exactly what it had made durable and was sent
// only what it missed.
func restartRemembers(t T, n int, planted plant.Set) {
	w, c := newCluster(t, 5, n, 3, client.DefaultWorkload(), func(cfg *cluster.Config) { cfg.Server.Planted = planted })
	c.StartLoad()
	w.RunFor(6 * time.Second)
	lead, _ := leaderNow(t, w, c)
	f := 1
	if f == lead {
		f = 2
	}
	before := c.Server(f).BasicStatus()
	receivedWhileUp := w.Net().Received(sim.NodeID(f)).BytesDelivered
	require.NoError(t, w.Kill(sim.NodeID(f), false))
	w.RunFor(1 * time.Second)
	missedFrom := before.LastIndex
	require.NoError(t, w.Restart(sim.NodeID(f)))

	// Kill -9 kept exactly what the node had made durable.
	rep := c.Server(f).Replayed
	assert.Equal(t, before.Term, rep.HardState.Term)
	assert.Equal(t, before.Vote, rep.HardState.Vote)
	require.Len(t, rep.Entries, int(before.LastIndex))
	assert.Equal(t, before.LastIndex, rep.Entries[len(rep.Entries)-1].Index)
	assert.Equal(t, before.LastTerm, rep.Entries[len(rep.Entries)-1].Term)
	// And it rebuilt its store from its own log before any message.
	assert.GreaterOrEqual(t, c.Server(f).Store().AppliedIndex(), rep.HardState.Commit)

	atRestart := w.Net().Received(sim.NodeID(f)).BytesDelivered
	c.StopLoad()
	w.RunFor(2 * time.Second)
	lead, _ = leaderNow(t, w, c)
	leaderLast := c.Server(lead).BasicStatus().LastIndex
	require.Equal(t, leaderLast, c.Server(f).BasicStatus().LastIndex, "caught up")
	caughtUp := w.Net().Received(sim.NodeID(f)).BytesDelivered - atRestart

	missed := leaderLast - missedFrom
	perEntry := float64(receivedWhileUp) / float64(missedFrom)
	t.Logf("log %d entries, missed %d; received %d bytes while up (%.0f/entry), %d bytes to catch up",
		leaderLast, missed, receivedWhileUp, perEntry, caughtUp)
	// A blank follower would be sent the whole log again; this one
	// must cost about what it missed (plus heartbeats), far less.
	assert.Less(t, float64(caughtUp), 0.5*float64(receivedWhileUp))
	assert.Less(t, float64(caughtUp), 3*perEntry*float64(missed)+4096)
}

func TestQuietLeaderKeepsItsTerm(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("nodes=%d", n), func(t *testing.T) { quietLeaderKeepsTerm(t, n, 0) })
	}
}

func TestNoHeartbeatsIsCaught(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.NoHeartbeats.String(), func(t T) { quietLeaderKeepsTerm(t, 3, plant.Of(plant.NoHeartbeats)) })
}

// quietLeaderKeepsTerm runs 30s of virtual time with no client load and a
// healthy network: no node may change term or lose its leader.
func quietLeaderKeepsTerm(t T, n int, planted plant.Set) {
	w, c := newCluster(t, 3, n, 0, client.Workload{}, func(cfg *cluster.Config) { cfg.Server.Planted = planted })
	id, term := leaderNow(t, w, c)
	w.RunFor(30 * time.Second)
	for i := 1; i <= n; i++ {
		st := c.Server(i).BasicStatus()
		assert.Equal(t, term, st.Term, "n%d changed term during a quiet period", i)
		assert.Equal(t, uint64(id), st.Lead, "n%d lost its leader", i)
	}
}

// TestWriteCostIndependentOfLogLength measures the append traffic a
// single write sends to an up-to-date follower with 100 and with 100,000
// entries in the log.
func TestWriteCostIndependentOfLogLength(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a 100,000-entry log")
	}
	writeCostIndependentOfLog(t, 100_000, 0)
}

func TestResendWholeLogIsCaught(t *testing.T) {
	plant.Skip(t)
	mustCatch(t, plant.ResendWholeLog.String(), func(t T) { writeCostIndependentOfLog(t, 2_000, plant.Of(plant.ResendWholeLog)) })
}

func writeCostIndependentOfLog(t T, largeLog int, planted plant.Set) {
	type cost struct{ msgs, bytes, entries, allBytes int }
	var window *cost
	follower := uint64(0)
	w, c := newCluster(t, 2, 3, 0, client.Workload{}, func(cfg *cluster.Config) {
		cfg.Server.Planted = planted
		cfg.OnSend = func(from, to uint64, msg []byte) {
			if window == nil || to != follower {
				return
			}
			tag, body, err := kv.SplitTag(msg)
			require.NoError(t, err)
			require.Equal(t, kv.TagRaft, tag)
			m, err := raftpb.Unmarshal(body)
			require.NoError(t, err)
			window.allBytes += len(msg)
			if m.Type == raftpb.MsgApp {
				window.msgs++
				window.bytes += len(msg)
				window.entries += len(m.Entries)
			}
		}
	})
	lead, _ := leaderNow(t, w, c)
	follower = uint64(1 + lead%3)
	// One fixed command: the store applies it once and answers repeats from
	// its session, so every entry has the same size.
	payload := kv.Command{ClientID: 99, Seq: 1, Op: kv.OpPut, Key: "k", Value: "0123456789abcdef0123456789abcdef"}.Encode()
	fill := func(n int) {
		for n > 0 {
			batch := min(n, 500)
			for i := 0; i < batch; i++ {
				require.NoError(t, c.Server(lead).Propose(payload))
			}
			n -= batch
			w.RunFor(20 * time.Millisecond)
		}
		w.RunFor(200 * time.Millisecond)
	}
	const writes = 100
	measure := func() cost {
		window = &cost{}
		for i := 0; i < writes; i++ {
			require.NoError(t, c.Server(lead).Propose(payload))
			w.RunFor(30 * time.Millisecond)
		}
		got := *window
		window = nil
		return got
	}
	fill(100)
	small := measure()
	fill(largeLog)
	require.Greater(t, c.Server(lead).BasicStatus().LastIndex, uint64(largeLog))
	large := measure()
	t.Logf("%d writes to an up-to-date follower: log ~100: %+v; log ~%d: %+v", writes, small, largeLog, large)
	assert.Equal(t, writes, small.entries, "each write sends its entry once")
	assert.Equal(t, writes, large.entries, "each write sends its entry once, whatever the log length")
	assert.Equal(t, small.msgs, large.msgs)
	// Index fields are varints: 1 byte at 100, 3 at 100,000. An append
	// carries at most three (Index, Commit, the entry's Index), and other
	// messages (heartbeats) at most two.
	assert.LessOrEqual(t, large.bytes-small.bytes, small.msgs*3*2)
	assert.LessOrEqual(t, large.allBytes-small.allBytes, small.msgs*3*2+(small.allBytes-small.bytes)/4)
}
