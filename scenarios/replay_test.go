package scenarios_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

func hashOnly(o *runner.Options) { o.Trace = sim.TraceHashOnly }

// A random run written out as a scenario (what simrun --emit-scenario
// does) and run again with the same seed is the same run: same trace
// hash, same verdict.
func TestEmittedScenarioReplaysTheRun(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		opts := runner.Options{
			Seed:      seed,
			Servers:   rapid.IntRange(1, 6).Draw(t, "servers"),
			Clients:   rapid.IntRange(1, 4).Draw(t, "clients"),
			FaultTime: time.Duration(rapid.IntRange(1, 4).Draw(t, "faultSecs")) * time.Second,
			Settle:    2 * time.Second,
			Drain:     time.Second,
			Trace:     sim.TraceHashOnly,
		}
		if rapid.Bool().Draw(t, "link") {
			opts.Link = sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 8 * time.Millisecond,
				Loss: 0.01, Duplicate: 0.01, Reorder: 0.03}
		}
		if rapid.Bool().Draw(t, "kinds") {
			// Storage faults too, which the default kinds leave out.
			opts.FaultKinds = rapid.SliceOfNDistinct(rapid.SampledFrom(faults.Kinds()), 1, 6,
				func(k faults.Kind) faults.Kind { return k }).Draw(t, "kindList")
		}
		res, err := runner.Run(opts)
		require.NoError(t, err)
		require.NotNil(t, res.Schedule)

		emitted := scenarios.FromSchedule(res.Options, *res.Schedule)
		script := emitted.Script()
		parsed, err := scenarios.Parse(emitted.Name+".scn", []byte(script))
		require.NoError(t, err, script)
		require.Equal(t, emitted, parsed, script)

		out, err := scenarios.Run(parsed, seed, hashOnly)
		require.NoError(t, err)
		if out.Result.TraceHash != res.TraceHash {
			t.Fatalf("replay of seed %d differs: trace %s, want %s\n%s", seed, out.Result.TraceHash, res.TraceHash, script)
		}
		assert.Equal(t, res.Verdict, out.Verdict)
		assert.Equal(t, res.Failures, out.Failures)
	})
}

// random-faults draws exactly the schedule the runner would draw itself:
// a scenario with nothing else is the runner's default run.
func TestRandomFaultsDrawLikeTheRunner(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		for _, kinds := range [][]faults.Kind{nil, {faults.Kill, faults.Partition, faults.Loss}} {
			res, err := runner.Run(runner.Options{Seed: seed, FaultTime: 4 * time.Second, FaultKinds: kinds, Trace: sim.TraceHashOnly})
			require.NoError(t, err)
			line := "random-faults"
			if kinds != nil {
				names := make([]string, len(kinds))
				for i, k := range kinds {
					names[i] = string(k)
				}
				line += " kinds=" + strings.Join(names, ",")
			}
			s, err := scenarios.Parse("r.scn", []byte("faults-until 4s\n"+line+"\n"))
			require.NoError(t, err)
			out, err := scenarios.Run(s, seed, hashOnly)
			require.NoError(t, err)
			assert.Equal(t, res.TraceHash, out.Result.TraceHash, "seed %d, %s", seed, line)
			assert.Equal(t, res.Schedule.Faults, out.Result.Schedule.Faults)
		}
	}
}

// The same scenario and seed is the same run; another seed is another.
func TestRunIsDeterministic(t *testing.T) {
	s, err := scenarios.Load("minority-partition")
	require.NoError(t, err)
	a, err := scenarios.Run(s, 3, hashOnly)
	require.NoError(t, err)
	b, err := scenarios.Run(s, 3, hashOnly)
	require.NoError(t, err)
	assert.Equal(t, a.Result.TraceHash, b.Result.TraceHash)
	assert.Equal(t, fmt.Sprint(a.Checks), fmt.Sprint(b.Checks))
	c, err := scenarios.Run(s, 4, hashOnly)
	require.NoError(t, err)
	assert.NotEqual(t, a.Result.TraceHash, c.Result.TraceHash)
}
