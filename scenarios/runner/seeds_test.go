package runner_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// seedCount is how many seeds the sweep runs: def by default (a tenth
// with -short), RAFTSIM_SEEDS for longer soaks.
func seedCount(t *testing.T, def int) int {
	if s := os.Getenv("RAFTSIM_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, "RAFTSIM_SEEDS")
		return n
	}
	if testing.Short() {
		return def / 10
	}
	return def
}

// envInt reads a seed count from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, name)
		return n
	}
	return def
}

// TestRandomRunsPass is the default randomized run over many seeds on the
// real implementation: every one must be linearizable, keep every
// invariant, recover after the heal, and halt no node.
func TestRandomRunsPass(t *testing.T) {
	n := seedCount(t, 500)
	const shards = 4
	for shard := 0; shard < shards; shard++ {
		t.Run(fmt.Sprintf("shard-%d", shard), func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1 + shard); seed <= uint64(n); seed += shards {
				res, err := runner.Run(runner.Options{Seed: seed, Trace: sim.TraceHashOnly})
				require.NoError(t, err)
				if !res.Pass {
					t.Errorf("seed %d: %s: %v (reproduce: go run ./cmd/simrun --seed %d)", seed, res.Verdict, res.Failures, seed)
				}
			}
		})
	}
}

// TestTornWritesHappenAndAreSurvived runs seeds with slow fsyncs and torn
// kills: kills landing inside an fsync must really tear WAL writes (or the
// fault would test nothing), and every run must still pass.
func TestTornWritesHappenAndAreSurvived(t *testing.T) {
	torn := int64(0)
	for seed := uint64(1); seed <= 30; seed++ {
		res, err := runner.Run(runner.Options{Seed: seed, FaultTime: 10 * time.Second, Trace: sim.TraceHashOnly,
			FaultKinds: []faults.Kind{faults.SlowFsync, faults.TornKill}})
		require.NoError(t, err)
		require.True(t, res.Pass, "seed %d: %v", seed, res.Failures)
		for id := 1; id <= res.Options.Servers; id++ {
			torn += res.World.Disk(sim.NodeID(id)).Stats().TornWrites
		}
	}
	t.Logf("%d torn writes over 30 seeds", torn)
	assert.Positive(t, torn)
}

// TestMajorityStorageDamageIsNamed truncates the WALs of 3 of 5 servers:
// the run must say the faults exceeded what Raft tolerates, not report a
// bare invariant violation.
func TestMajorityStorageDamageIsNamed(t *testing.T) {
	var fs []faults.Fault
	for i, id := range []int{1, 2, 3} {
		at := time.Duration(2+i) * time.Second
		fs = append(fs, faults.Fault{Kind: faults.Truncate, At: at, Until: at + 500*time.Millisecond, Nodes: []int{id}, Bytes: 400})
	}
	sched := faults.Schedule{Faults: fs, End: 8 * time.Second, HealAt: 6 * time.Second}
	res, err := runner.Run(runner.Options{Seed: 1, FaultTime: 6 * time.Second, Schedule: &sched, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	require.Len(t, res.StorageDamaged, 3, "%v", res.Failures)
	assert.True(t, res.BeyondTolerance())
	require.NotEmpty(t, res.Failures)
	assert.Contains(t, res.Failures[0], "storage faults exceeded what Raft tolerates")

	// One damaged server is within tolerance: the run passes.
	sched.Faults = fs[:1]
	res, err = runner.Run(runner.Options{Seed: 1, FaultTime: 6 * time.Second, Schedule: &sched, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	assert.Equal(t, []int{1}, res.StorageDamaged)
	assert.True(t, res.Pass, "%v", res.Failures)
}

// storageKinds is the storage-heavy mix of issue 9's soak: every storage
// fault (on the WAL and on the high-water mark) among kills, partitions
// and loss.
var storageKinds = []faults.Kind{faults.Truncate, faults.Bitflip, faults.TruncateMark, faults.BitflipMark,
	faults.Kill, faults.TornKill, faults.Partition, faults.MajorityMinority, faults.IsolateLeader, faults.Loss}

// TestStorageHeavyRunsPass runs the storage-heavy mix (RAFTSIM_STORAGE_SEEDS
// seeds, default 40): every run must pass, no server may report damage no
// fault dealt it, and storage faults must really land and be survived.
// simrun soak --seeds 1-2000 --faults <the same kinds> is the long form.
func TestStorageHeavyRunsPass(t *testing.T) {
	n := envInt(t, "RAFTSIM_STORAGE_SEEDS", 40)
	var hitRuns, damagedRuns, recoveredRuns int
	for seed := uint64(1); seed <= uint64(n); seed++ {
		res, err := runner.Run(runner.Options{Seed: seed, FaultKinds: storageKinds, Trace: sim.TraceHashOnly})
		require.NoError(t, err)
		assert.Empty(t, res.FalseDamage, "seed %d", seed)
		assert.Empty(t, res.BeyondModel, "seed %d: the generator never rolls back both files", seed)
		if !res.Pass {
			t.Errorf("seed %d: %s: %v (reproduce: go run ./cmd/simrun --seed %d --faults %s)", seed, res.Verdict, res.Failures, seed, kindArg(storageKinds))
		}
		if len(res.StorageHit) > 0 {
			hitRuns++
		}
		if len(res.StorageDamaged) > 0 {
			damagedRuns++
		}
		if len(res.StorageRecovered) > 0 {
			recoveredRuns++
		}
	}
	t.Logf("%d seeds: storage faults landed in %d runs, servers reported damage in %d, recovered in %d", n, hitRuns, damagedRuns, recoveredRuns)
	assert.Positive(t, damagedRuns, "storage faults must land and be noticed")
	assert.Positive(t, recoveredRuns, "damaged servers must catch up")
}

func kindArg(ks []faults.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}
