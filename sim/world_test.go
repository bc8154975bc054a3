package sim_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// recv is a Handler that records what arrives.
type recv struct {
	got  [][]byte
	from []sim.NodeID
}

func (r *recv) Receive(from sim.NodeID, msg []byte) {
	r.got = append(r.got, msg)
	r.from = append(r.from, from)
}

func newWorld(t *testing.T, nodes int, link sim.LinkConfig) *sim.World {
	t.Helper()
	w, err := sim.New(sim.Config{Seed: 1, Nodes: nodes, Link: link})
	require.NoError(t, err)
	return w
}

// startAll starts every node with a recorder and returns the envs and recorders.
func startAll(t *testing.T, w *sim.World) ([]*sim.Env, []*recv) {
	envs := make([]*sim.Env, w.Nodes()+1)
	recs := make([]*recv, w.Nodes()+1)
	for i := 1; i <= w.Nodes(); i++ {
		i := i
		require.NoError(t, w.Start(sim.NodeID(i), func(env *sim.Env) (sim.Handler, error) {
			envs[i], recs[i] = env, &recv{}
			return recs[i], nil
		}))
	}
	return envs, recs
}

func TestConfigRejectsNonsense(t *testing.T) {
	ok := sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 2 * time.Millisecond}
	tests := []struct {
		name string
		cfg  sim.Config
		want string
	}{
		{"zero nodes", sim.Config{Nodes: 0, Link: ok}, "nodes = 0"},
		{"negative nodes", sim.Config{Nodes: -3, Link: ok}, "nodes = -3"},
		{"negative latency", sim.Config{Nodes: 3, Link: sim.LinkConfig{MinLatency: -1}}, "min latency -1ns is negative"},
		{"max below min", sim.Config{Nodes: 3, Link: sim.LinkConfig{MinLatency: 5, MaxLatency: 4}}, "max latency 4ns is below min latency 5ns"},
		{"loss above 1", sim.Config{Nodes: 3, Link: sim.LinkConfig{Loss: 1.5}}, "loss probability 1.5 is outside [0, 1]"},
		{"duplicate NaN", sim.Config{Nodes: 3, Link: sim.LinkConfig{Duplicate: math.NaN()}}, "duplicate probability NaN"},
		{"reorder negative", sim.Config{Nodes: 3, Link: sim.LinkConfig{Reorder: -0.1}}, "reorder probability -0.1"},
		{"trace mode", sim.Config{Nodes: 3, Trace: 9}, "unknown trace mode 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sim.New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestUnknownNodesAreErrors(t *testing.T) {
	w := newWorld(t, 3, sim.LinkConfig{})
	net := w.Net()
	assert.ErrorContains(t, net.Partition([]sim.NodeID{1, 2}, []sim.NodeID{3, 4}), "unknown node 4")
	assert.ErrorContains(t, net.Partition([]sim.NodeID{1, 2}, []sim.NodeID{2, 3}), "node n2 is in two groups")
	assert.ErrorContains(t, net.Cut(0, 1), "unknown node 0")
	assert.ErrorContains(t, net.Isolate(9), "unknown node 9")
	assert.ErrorContains(t, net.SetLink(1, 2, sim.LinkConfig{Loss: 2}), "loss probability 2")
	assert.ErrorContains(t, w.Kill(7, false), "unknown node 7")
	assert.ErrorContains(t, w.Kill(1, false), "not running")
	assert.ErrorContains(t, w.Restart(1), "not a killed process")
	assert.ErrorContains(t, w.Start(1, nil), "nil factory")
	assert.ErrorContains(t, w.SetClockDrift(1, 600_000), "out of range")
}

func TestEventsRunInTimeThenInsertionOrder(t *testing.T) {
	w := newWorld(t, 1, sim.LinkConfig{})
	var order []int
	w.At(20, func() { order = append(order, 3) })
	w.At(10, func() { order = append(order, 1) })
	w.At(10, func() { order = append(order, 2) })
	w.At(30, func() {
		order = append(order, 4)
		w.At(30, func() { order = append(order, 5) }) // same instant, still after
	})
	w.RunUntil(25)
	assert.Equal(t, []int{1, 2, 3}, order)
	assert.Equal(t, sim.Time(25), w.Now())
	w.RunUntil(100)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, order)
}

func TestTimersStopAndDieWithTheirProcess(t *testing.T) {
	w := newWorld(t, 1, sim.LinkConfig{})
	envs, _ := startAll(t, w)
	fired := map[string]bool{}
	stopped := envs[1].After(10*time.Millisecond, func() { fired["stopped"] = true })
	envs[1].After(20*time.Millisecond, func() { fired["kept"] = true })
	envs[1].After(50*time.Millisecond, func() { fired["killed"] = true })
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop(), "a second Stop finds nothing pending")
	w.RunUntil(sim.Time(30 * time.Millisecond))
	require.NoError(t, w.Kill(1, false))
	w.RunUntil(sim.Time(100 * time.Millisecond))
	assert.Equal(t, map[string]bool{"kept": true}, fired)
	// A dead incarnation's Env does nothing, even after a restart.
	old := envs[1]
	require.NoError(t, w.Restart(1))
	old.After(time.Millisecond, func() { fired["stale"] = true })
	w.RunFor(time.Second)
	assert.NotContains(t, fired, "stale")
	assert.Equal(t, 1, envs[1].Incarnation())
}

func TestMessagesAreBytesNotShared(t *testing.T) {
	w := newWorld(t, 2, sim.LinkConfig{Duplicate: 1})
	envs, recs := startAll(t, w)
	buf := []byte("hello")
	envs[1].Send(2, buf)
	copy(buf, "XXXXX") // the sender reuses its buffer at once
	w.RunFor(time.Second)
	require.Len(t, recs[2].got, 2, "duplicate probability 1 delivers twice")
	assert.Equal(t, "hello", string(recs[2].got[0]))
	recs[2].got[0][0] = 'J' // one copy's receiver cannot touch the other's
	assert.Equal(t, "hello", string(recs[2].got[1]))
}

func TestLinksAreFIFOUnlessReordered(t *testing.T) {
	link := sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 50 * time.Millisecond}
	w := newWorld(t, 2, link)
	envs, recs := startAll(t, w)
	for i := 0; i < 100; i++ {
		envs[1].Send(2, []byte{byte(i)})
	}
	w.RunFor(time.Second)
	require.Len(t, recs[2].got, 100)
	for i, m := range recs[2].got {
		require.Equal(t, byte(i), m[0], "message %d overtook an earlier one", i)
	}

	link.Reorder = 0.5
	w = newWorld(t, 2, link)
	envs, recs = startAll(t, w)
	for i := 0; i < 100; i++ {
		envs[1].Send(2, []byte{byte(i)})
	}
	w.RunFor(time.Second)
	require.Len(t, recs[2].got, 100)
	inOrder := true
	for i, m := range recs[2].got {
		inOrder = inOrder && m[0] == byte(i)
	}
	assert.False(t, inOrder, "reorder 0.5 must reorder something in 100 messages")
}

func TestOneWayCutAndPartition(t *testing.T) {
	w := newWorld(t, 3, sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: time.Millisecond})
	envs, recs := startAll(t, w)
	require.NoError(t, w.Net().Cut(1, 2))
	envs[1].Send(2, []byte("a"))
	envs[2].Send(1, []byte("b"))
	w.RunFor(time.Second)
	assert.Empty(t, recs[2].got, "1→2 is cut")
	assert.Len(t, recs[1].got, 1, "2→1 still works")

	require.NoError(t, w.Net().Partition([]sim.NodeID{1}, []sim.NodeID{2, 3}))
	envs[2].Send(3, []byte("c"))
	envs[3].Send(1, []byte("d"))
	w.RunFor(time.Second)
	assert.Len(t, recs[3].got, 1)
	assert.Len(t, recs[1].got, 1)

	// A message in flight when the cut begins is lost on arrival.
	w.Net().Heal()
	envs[2].Send(1, []byte("e"))
	require.NoError(t, w.Net().Isolate(1))
	w.RunFor(time.Second)
	assert.Len(t, recs[1].got, 1)
	assert.Equal(t, uint64(1), w.Net().Stats(1, 2).Dropped)
	assert.Equal(t, uint64(1), w.Net().Stats(3, 1).Dropped)
	assert.Equal(t, uint64(1), w.Net().Stats(2, 1).Dropped)
}

func TestLossDropsAndStatsCount(t *testing.T) {
	w := newWorld(t, 2, sim.LinkConfig{Loss: 1})
	envs, recs := startAll(t, w)
	envs[1].Send(2, []byte("lost"))
	w.RunFor(time.Second)
	assert.Empty(t, recs[2].got)
	st := w.Net().Stats(1, 2)
	assert.Equal(t, sim.LinkStats{Sent: 1, Dropped: 1, BytesSent: 4}, st)
}

func TestPausedProcessHoldsTimersAndMessages(t *testing.T) {
	w := newWorld(t, 2, sim.LinkConfig{})
	envs, recs := startAll(t, w)
	var firedAt sim.Time
	envs[2].After(10*time.Millisecond, func() { firedAt = w.Now() })
	require.NoError(t, w.Pause(2))
	envs[1].Send(2, []byte("wait"))
	w.RunUntil(sim.Time(time.Second))
	assert.Empty(t, recs[2].got)
	assert.Zero(t, firedAt)
	require.NoError(t, w.Resume(2))
	w.RunFor(time.Millisecond)
	assert.Len(t, recs[2].got, 1)
	assert.Equal(t, sim.Time(time.Second), firedAt)
}

func TestKillDropsWhatAPausedProcessHeld(t *testing.T) {
	w := newWorld(t, 2, sim.LinkConfig{})
	envs, recs := startAll(t, w)
	require.NoError(t, w.Pause(2))
	envs[1].Send(2, []byte("held"))
	w.RunFor(time.Second)
	require.NoError(t, w.Kill(2, false))
	require.NoError(t, w.Restart(2))
	w.RunFor(time.Second)
	assert.Empty(t, recs[2].got, "the new incarnation never sees what the old one held")
	assert.Equal(t, uint64(1), w.Net().Stats(1, 2).Dropped)
}

func TestSlowFsyncDelaysWhatFollowsIt(t *testing.T) {
	w := newWorld(t, 2, sim.LinkConfig{})
	envs, recs := startAll(t, w)
	w.Disk(1).SetSyncLatency(func() time.Duration { return 5 * time.Millisecond })
	f, err := envs[1].Disk().Create("x")
	require.NoError(t, err)
	_, err = f.Write([]byte("data"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	envs[1].Send(2, []byte("after fsync"))
	w.RunFor(4 * time.Millisecond)
	assert.Empty(t, recs[2].got, "the message leaves only after the fsync completes")
	w.RunFor(2 * time.Millisecond)
	assert.Len(t, recs[2].got, 1)
}

func TestRandStreamsAreIndependent(t *testing.T) {
	a1 := sim.NewRand(7, "a")
	var first []uint64
	for i := 0; i < 5; i++ {
		first = append(first, a1.Uint64())
	}
	a2, b := sim.NewRand(7, "a"), sim.NewRand(7, "b")
	for i := 0; i < 5; i++ {
		b.Uint64() // draws on another stream must not shift "a"
		assert.Equal(t, first[i], a2.Uint64())
	}
	assert.NotEqual(t, sim.NewRand(7, "a").Uint64(), sim.NewRand(8, "a").Uint64())
	r := sim.NewRand(1, "range")
	for i := 0; i < 1000; i++ {
		v := r.Int64Range(-3, 3)
		require.True(t, v >= -3 && v <= 3)
		require.Less(t, r.IntN(7), 7)
	}
}

func TestClockSkewAndDrift(t *testing.T) {
	w := newWorld(t, 1, sim.LinkConfig{})
	envs, _ := startAll(t, w)
	require.NoError(t, w.JumpClock(1, time.Second))
	assert.Equal(t, sim.Time(time.Second), envs[1].Now())
	require.NoError(t, w.SetClockDrift(1, 100_000)) // 10% fast
	var localAtFire sim.Time
	start := envs[1].Now()
	envs[1].After(110*time.Millisecond, func() { localAtFire = envs[1].Now() })
	w.RunFor(time.Second)
	assert.Equal(t, start.Add(110*time.Millisecond), localAtFire, "a local-time timer fires when local time says so")
	assert.Equal(t, sim.Time(time.Second+1100*time.Millisecond), w.LocalTime(1))
}

// The monotonic clock drifts with the local clock but ignores jumps.
func TestMonotonicClockIgnoresJumps(t *testing.T) {
	w := newWorld(t, 1, sim.LinkConfig{})
	envs, _ := startAll(t, w)
	require.NoError(t, w.JumpClock(1, -5*time.Second))
	assert.Equal(t, sim.Time(0), envs[1].Monotonic())
	require.NoError(t, w.SetClockDrift(1, -500_000+1)) // about half speed
	w.RunFor(time.Second)
	require.NoError(t, w.JumpClock(1, 3*time.Second))
	require.NoError(t, w.SetClockDrift(1, 0))
	w.RunFor(time.Second)
	assert.Equal(t, sim.Time(1500*time.Millisecond+1000), envs[1].Monotonic())
	assert.Equal(t, sim.Time(-500*time.Millisecond+1000), envs[1].Now())
}

func TestTraceExportsEveryEvent(t *testing.T) {
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 2, Trace: sim.TraceFull,
		Link: sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: time.Millisecond}})
	require.NoError(t, err)
	envs, _ := startAll(t, w)
	envs[1].Send(2, []byte("x"))
	w.RunFor(time.Second)
	require.NoError(t, w.Kill(2, false))
	var buf bytes.Buffer
	require.NoError(t, w.Trace().WriteJSONL(&buf))
	out := buf.String()
	for _, kind := range []string{`"kind":"start"`, `"kind":"send"`, `"kind":"deliver"`, `"kind":"crash"`, `"kind":"disk"`} {
		assert.Contains(t, out, kind)
	}
	assert.Equal(t, int(w.Trace().Len()), bytes.Count(buf.Bytes(), []byte("\n")))

	// By default a world keeps only the hash.
	w = newWorld(t, 1, sim.LinkConfig{})
	w.After(0, func() {})
	w.RunFor(time.Second)
	assert.False(t, w.Trace().Kept())
	assert.Equal(t, uint64(1), w.Trace().Len())
	buf.Reset()
	require.NoError(t, w.Trace().WriteJSONL(&buf))
	assert.Empty(t, buf.String())
}

func TestExitIsFailStop(t *testing.T) {
	w := newWorld(t, 2, sim.LinkConfig{})
	envs, recs := startAll(t, w)
	f, err := envs[1].Disk().Create("f")
	require.NoError(t, err)
	_, err = f.Write([]byte("unsynced"))
	require.NoError(t, err)
	fired := false
	envs[1].After(time.Millisecond, func() { fired = true })
	envs[1].Exit(assert.AnError)
	envs[1].Send(2, []byte("after exit"))
	w.RunFor(time.Second)
	assert.False(t, fired)
	assert.Empty(t, recs[2].got)
	assert.False(t, w.Up(1))
	assert.ErrorIs(t, w.StartError(1), assert.AnError)
	require.NoError(t, w.Restart(1))
	data, err := envs[1].Disk().ReadFile("f")
	require.NoError(t, err)
	assert.Equal(t, "unsynced", string(data), "an exit is not a power loss: the page cache survives")
}

// slowWriter appends and fsyncs on every message it receives.
type slowWriter struct {
	f interface {
		Write([]byte) (int, error)
		Sync() error
	}
}

func (s *slowWriter) Receive(_ sim.NodeID, msg []byte) {
	_, _ = s.f.Write(msg)
	_ = s.f.Sync()
}

func TestSlowFsyncIsDurableOnlyWhenItCompletes(t *testing.T) {
	for _, tt := range []struct {
		name    string
		killAt  time.Duration
		durable bool
	}{
		{"killed during the fsync", 3 * time.Millisecond, false},
		{"killed after it", 6 * time.Millisecond, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2, sim.LinkConfig{})
			envs := make([]*sim.Env, 3)
			for i := 1; i <= 2; i++ {
				i := i
				require.NoError(t, w.Start(sim.NodeID(i), func(env *sim.Env) (sim.Handler, error) {
					envs[i] = env
					f, err := env.Disk().Create("log")
					if err != nil {
						return nil, err
					}
					if err := env.Disk().SyncDir(); err != nil {
						return nil, err
					}
					return &slowWriter{f: f}, nil
				}))
			}
			w.RunFor(time.Millisecond)
			w.Disk(2).SetSyncLatency(func() time.Duration { return 5 * time.Millisecond })
			envs[1].Send(2, []byte("record"))
			w.RunFor(tt.killAt) // delivered at once; the fsync takes 5ms
			require.NoError(t, w.Kill(2, false))
			data, err := w.Disk(2).ReadFile("log")
			require.NoError(t, err)
			if tt.durable {
				assert.Equal(t, "record", string(data))
			} else {
				assert.Empty(t, data, "an fsync that had not completed made nothing durable")
			}
		})
	}
}

// twoFileWriter does what a Raft host does per Ready: append and fsync its
// WAL, then append and fsync its high-water mark, in one dispatch.
type twoFileWriter struct{ wal, mark *disk.File }

func (s *twoFileWriter) Receive(_ sim.NodeID, msg []byte) {
	_, _ = s.wal.Write(msg)
	_ = s.wal.Sync()
	_, _ = s.mark.Write(msg)
	_ = s.mark.Sync()
}

// Each fsync of one dispatch becomes durable at its own time (the device
// serves them one after the other), so a kill between them keeps the first
// and not the second: the window a real disk has between a WAL fsync and
// the fsync of a file written after it.
func TestFsyncsOfOneDispatchCompleteOneByOne(t *testing.T) {
	for _, tt := range []struct {
		name      string
		killAt    time.Duration // after delivery; each fsync takes 5ms
		wal, mark string
	}{
		{"killed during the first fsync", 3 * time.Millisecond, "", ""},
		{"killed between the two", 7 * time.Millisecond, "rec", ""},
		{"killed after both", 11 * time.Millisecond, "rec", "rec"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2, sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: time.Millisecond})
			envs := make([]*sim.Env, 3)
			for i := 1; i <= 2; i++ {
				i := i
				require.NoError(t, w.Start(sim.NodeID(i), func(env *sim.Env) (sim.Handler, error) {
					envs[i] = env
					wal, err := env.Disk().Create("wal")
					if err != nil {
						return nil, err
					}
					mark, err := env.Disk().Create("mark")
					if err != nil {
						return nil, err
					}
					return &twoFileWriter{wal: wal, mark: mark}, env.Disk().SyncDir()
				}))
			}
			w.RunFor(time.Millisecond)
			w.Disk(2).SetSyncLatency(func() time.Duration { return 5 * time.Millisecond })
			envs[1].Send(2, []byte("rec"))
			w.RunFor(time.Millisecond + tt.killAt) // delivered after 1ms
			require.NoError(t, w.Kill(2, false))
			wal, err := w.Disk(2).ReadFile("wal")
			require.NoError(t, err)
			mark, err := w.Disk(2).ReadFile("mark")
			require.NoError(t, err)
			assert.Equal(t, tt.wal, string(wal), "wal")
			assert.Equal(t, tt.mark, string(mark), "mark")
		})
	}
}
