package sim_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/chatter"
)

// chaosRun runs chatter under the seed's chaos schedule and returns the
// trace hash and event count.
func chaosRun(t require.TestingT, seed uint64, nodes int, link sim.LinkConfig, d time.Duration) (string, uint64) {
	w, err := chatter.Run(chatter.RunConfig{Seed: seed, Nodes: nodes, Link: link, Duration: d, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	return w.Trace().Hash(), w.Trace().Len()
}

func drawLink(t *rapid.T) sim.LinkConfig {
	minLat := time.Duration(rapid.IntRange(0, 5_000).Draw(t, "minLatencyUs")) * time.Microsecond
	return sim.LinkConfig{
		MinLatency: minLat,
		MaxLatency: minLat + time.Duration(rapid.IntRange(0, 20_000).Draw(t, "jitterUs"))*time.Microsecond,
		Loss:       rapid.Float64Range(0, 0.5).Draw(t, "loss"),
		Duplicate:  rapid.Float64Range(0, 0.3).Draw(t, "dup"),
		Reorder:    rapid.Float64Range(0, 0.5).Draw(t, "reorder"),
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		nodes := rapid.IntRange(1, 7).Draw(t, "nodes")
		link := drawLink(t)
		h1, n1 := chaosRun(t, seed, nodes, link, 2*time.Second)
		h2, n2 := chaosRun(t, seed, nodes, link, 2*time.Second)
		require.Equal(t, h1, h2)
		require.Equal(t, n1, n2)
		require.Greater(t, n1, uint64(10))
	})
}

func TestDifferentSeedsDifferentTraces(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64Range(0, 1<<62).Draw(t, "seed")
		link := drawLink(t)
		h1, _ := chaosRun(t, seed, 3, link, time.Second)
		h2, _ := chaosRun(t, seed+1, 3, link, time.Second)
		require.NotEqual(t, h1, h2)
	})
}

// TestNoHiddenSharedState runs one seed in many goroutines at once under
// GOMAXPROCS 1 and 2: any global state (global rand, a shared counter, map
// order) would make some hash differ.
func TestNoHiddenSharedState(t *testing.T) {
	link := sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 9 * time.Millisecond, Loss: 0.1, Duplicate: 0.1, Reorder: 0.2}
	want, _ := chaosRun(t, 42, 5, link, 2*time.Second)
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		var wg sync.WaitGroup
		hashes := make([]string, 6)
		for i := range hashes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hashes[i], _ = chaosRun(t, 42, 5, link, 2*time.Second)
			}()
		}
		wg.Wait()
		runtime.GOMAXPROCS(prev)
		for _, h := range hashes {
			assert.Equal(t, want, h, "GOMAXPROCS=%d", procs)
		}
	}
}

// writer is a process that appends numbered records to a file and fsyncs
// some of them; the test knows every byte it wrote and what was synced.
type writer struct {
	env     *sim.Env
	written []byte // everything appended by this incarnation, in order
	synced  int    // len(written) at the last successful Sync
	base    []byte // what the file held when this incarnation started
}

func TestCrashKeepsOnlyWhatWasSynced(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		keepPrefix := rapid.Bool().Draw(t, "keepPrefix")
		ops := rapid.SliceOfN(rapid.IntRange(0, 9), 1, 40).Draw(t, "ops")
		w, err := sim.New(sim.Config{Seed: seed, Nodes: 1})
		require.NoError(t, err)

		var cur *writer
		factory := func(env *sim.Env) (sim.Handler, error) {
			data, err := env.Disk().ReadFile("f")
			if err != nil {
				f, cerr := env.Disk().Create("f")
				require.NoError(t, cerr)
				require.NoError(t, f.Sync())
				require.NoError(t, env.Disk().SyncDir())
				require.NoError(t, f.Close())
			}
			cur = &writer{env: env, base: data}
			return &recv{}, nil
		}
		require.NoError(t, w.Start(1, factory))
		f, err := cur.env.Disk().Open("f")
		require.NoError(t, err)
		for i, op := range ops {
			if op < 7 {
				rec := []byte{byte(i), byte(op), byte(i * 7)}
				_, err := f.Write(rec)
				require.NoError(t, err)
				cur.written = append(cur.written, rec...)
			} else {
				require.NoError(t, f.Sync())
				cur.synced = len(cur.written)
			}
		}
		before := cur
		require.NoError(t, w.Kill(1, keepPrefix))
		require.NoError(t, w.Restart(1))
		got := cur.base
		all := append(append([]byte(nil), before.base...), before.written...)
		durable := all[:len(before.base)+before.synced]
		if keepPrefix {
			require.GreaterOrEqual(t, len(got), len(durable), "synced bytes lost")
			require.Equal(t, string(all[:len(got)]), string(got), "bytes that were never written")
		} else {
			require.Equal(t, string(durable), string(got))
		}
	})
}
