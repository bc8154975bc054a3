package scenarios_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// etcdSkips are the library scenarios the etcd subject skips, each for
// the mechanism of raftsim's it tests and etcd-io/raft lacks
// (docs/SUBJECTS.md). A new skip is a decision to write down here, not an
// accident.
var etcdSkips = map[string]string{
	"lease-checkquorum":  "drift-bounded-lease",
	"lease-drift-beyond": "drift-bounded-lease",
	"lease-drift-within": "drift-bounded-lease",
	"mark-damage":        "recovery",
	"promote-lagging":    "promotion-guard",
	"replaced-disk":      "recovery",
	"snapshot-damage":    "recovery",
	"truncate-minority":  "recovery",
}

func etcdRun(t *testing.T, name string, seed uint64, bugs plant.Set) *scenarios.Outcome {
	t.Helper()
	s, err := scenarios.Load(name)
	require.NoError(t, err)
	s.Subject = "etcd"
	out, err := scenarios.Run(s, seed, func(o *runner.Options) {
		o.Trace = sim.TraceHashOnly
		o.Planted = bugs
	})
	require.NoError(t, err)
	return out
}

// Every library scenario runs on go.etcd.io/raft/v3 too: it passes, with
// every expectation judged but those about a mechanism etcd-io/raft lacks
// (skipped, saying so), or the whole scenario is skipped, as etcdSkips
// says.
func TestLibraryOnEtcd(t *testing.T) {
	seeds := uint64(2)
	if testing.Short() {
		seeds = 1
	}
	for _, name := range libraryNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= seeds; seed++ {
				out := etcdRun(t, name, seed, 0)
				if want, ok := etcdSkips[name]; ok || out.Skipped != "" {
					assert.True(t, ok, "%s skipped on etcd, not listed: %s", name, out.Skipped)
					assert.Contains(t, out.Skipped, "etcd lacks "+want+":")
					return
				}
				for _, c := range out.Checks {
					lacking := c.Skipped && strings.HasPrefix(c.Detail, "etcd lacks ")
					assert.True(t, c.OK && !c.Skipped || c.Excused || lacking, "seed %d: %s", seed, c)
				}
				assert.True(t, out.Pass, "seed %d: %s %v (reproduce: go run ./cmd/simrun --scenario %s --subject etcd --seed %d)",
					seed, out.Verdict, out.Failures, name, seed)
			}
		})
	}
}

// The bugs planted in the host (WAL, mark, snapshots on disk, reads) are
// caught with etcd-io/raft as the Raft too: the harness's checks do not
// lean on raftsim's Raft to see them.
func TestLibraryCatchesHostBugsOnEtcd(t *testing.T) {
	plant.Skip(t)
	for _, e := range scenarios.List() {
		if _, skipped := etcdSkips[e.Name]; skipped {
			continue
		}
		for _, bug := range e.Catches {
			if bug.InRaft() {
				continue
			}
			t.Run(e.Name+"/"+bug.String(), func(t *testing.T) {
				t.Parallel()
				for seed := uint64(1); seed <= maxSeeds; seed++ {
					if out := etcdRun(t, e.Name, seed, plant.Of(bug)); !out.Pass {
						assert.Equal(t, runner.Fail, out.Verdict)
						t.Logf("caught at seed %d: %v", seed, out.Failures)
						return
					}
				}
				t.Fatalf("%s slipped past %s on etcd, seeds 1..%d", bug, e.Name, maxSeeds)
			})
		}
	}
}

// A scenario planting a bug of the Raft layer is skipped on etcd, saying
// so, never run as if the bug were there.
func TestRaftBugsAreSkippedOnEtcd(t *testing.T) {
	out := etcdRun(t, "naive-change", 1, plant.Of(plant.NaiveChange))
	assert.Equal(t, runner.Skip, out.Verdict)
	assert.Contains(t, out.Skipped, "etcd lacks plants:")
	assert.Nil(t, out.Result)
}

// A script that damages storage (a fault line, or a random-faults kind)
// is skipped on a subject without a recovering mode even with no requires
// line, naming the fault; raftsim runs it. A random-faults line without
// kinds is not skipped: it draws no storage fault for such a subject; nor
// is a script that expects damage beyond the model (no recovering mode
// sees a consistent rollback).
func TestStorageDamageIsSkippedOnEtcd(t *testing.T) {
	for _, tc := range []struct {
		name, script, skip string
	}{
		{"fault line", "servers 3\nfaults-until 2s\nat 1s bitflip @40:3 n2 until 1500ms\n", "(the script damages storage: bitflip at 1s)"},
		{"random kinds", "servers 3\nfaults-until 2s\nrandom-faults kinds=kill,wipe\n", "(the script damages storage: random-faults draws wipe)"},
		{"random, no kinds", "servers 3\nfaults-until 2s\nrandom-faults\n", ""},
		{"no storage fault", "servers 3\nfaults-until 2s\nat 1s kill n2 until 1500ms\n", ""},
		{"beyond the model", "servers 3\nfaults-until 2s\nat 1s truncate 300B n2 until 1500ms\nat 1s truncate-mark 450B n2 until 1500ms\nexpect beyond-model\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scenarios.Parse("t.scn", []byte(tc.script))
			require.NoError(t, err)
			native := s.Options(1)
			assert.Empty(t, s.Missing(native), "raftsim has a recovering mode")
			s.Subject = "etcd"
			why := s.Missing(s.Options(1))
			if tc.skip == "" {
				assert.Empty(t, why)
				return
			}
			assert.True(t, strings.HasPrefix(why, "etcd lacks recovery: "), why)
			assert.True(t, strings.HasSuffix(why, tc.skip), why)
		})
	}
}
