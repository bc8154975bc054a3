package shrink_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/scenarios/shrink"
)

// firstFailure is the first seed of 1..max whose random run with bug
// planted fails.
func firstFailure(t *testing.T, bug plant.Bug, max uint64) *runner.Result {
	t.Helper()
	for seed := uint64(1); seed <= max; seed++ {
		res, err := runner.Run(runner.Options{Seed: seed, FaultTime: 10 * time.Second, Planted: plant.Of(bug)})
		require.NoError(t, err)
		if !res.Pass {
			return res
		}
	}
	t.Fatalf("%s: no failure in seeds 1..%d", bug, max)
	return nil
}

// A shrunk failure is a script that still fails the same way, with fewer
// faults; it parses back to itself and says what it came from.
func TestShrinkKeepsTheSignature(t *testing.T) {
	plant.Skip(t)
	res := firstFailure(t, plant.ForgetVoteOnRestart, 20)
	sc := shrink.FromRun(res, nil)
	got, err := shrink.Shrink(sc, res.Options.Seed, shrink.Options{Budget: time.Minute, Now: time.Now})
	require.NoError(t, err)
	assert.Equal(t, res.Signature(), got.Signature)
	assert.Less(t, got.Stats.After.Faults, got.Stats.Before.Faults)
	assert.LessOrEqual(t, got.Stats.After.FaultLines, 5)
	assert.Equal(t, len(res.Schedule.Faults), got.Stats.Before.Faults)
	assert.Positive(t, got.Stats.Runs)

	text := got.File("go run ./cmd/simrun --seed 1")
	h, err := shrink.ReadHeader("shrunk.scn", []byte(text))
	require.NoError(t, err)
	// The seed the script fails with: the run's, unless only another
	// seed let the script lose a fault (reseed).
	assert.Equal(t, shrink.Header{Seed: got.Seed, Expect: "fail", Signature: got.Signature}, h)
	parsed, err := scenarios.Parse("shrunk.scn", []byte(text))
	require.NoError(t, err)
	oc, err := scenarios.Run(parsed, h.Seed, nil)
	require.NoError(t, err)
	assert.Equal(t, got.Signature, oc.Result.Signature(), "the script reproduces the failure")

	// A run that passes has nothing to shrink.
	passing, err := runner.Run(runner.Options{Seed: 1, FaultTime: 3 * time.Second})
	require.NoError(t, err)
	require.True(t, passing.Pass)
	_, err = shrink.Shrink(shrink.FromRun(passing, nil), 1, shrink.Options{})
	assert.ErrorIs(t, err, shrink.ErrPasses)
}

// The budget is kept: out of time, the best script so far, not done.
func TestShrinkStopsAtItsBudget(t *testing.T) {
	plant.Skip(t)
	res := firstFailure(t, plant.ForgetVoteOnRestart, 20)
	got, err := shrink.Shrink(shrink.FromRun(res, nil), res.Options.Seed, shrink.Options{MaxRuns: 2})
	require.NoError(t, err)
	assert.False(t, got.Stats.Done)
	assert.LessOrEqual(t, got.Stats.Runs, 3)
	assert.Equal(t, res.Signature(), got.Signature)
}

// Evenly spaced copies of one fault fold into an every line that reads
// back to the same faults, in the same order.
func TestScriptFoldsRepeatedFaults(t *testing.T) {
	src := "faults-until 5s\nat 1s isolate-leader until 1.2s\nat 1.01s kill n1 until 1.5s\nat 1.02s isolate-leader until 1.22s\n" +
		"at 1.04s isolate-leader until 1.24s\nat 1.06s isolate-leader until 1.26s\nat 2s partition n1,n2 | n3,n4,n5 until 3s\n"
	sc, err := scenarios.Parse("f.scn", []byte(src))
	require.NoError(t, err)
	out := shrink.Script(sc)
	assert.Contains(t, out, "every 20ms from 1s to 1.06s isolate-leader for 200ms\n")
	back, err := scenarios.Parse("f.scn", []byte(out))
	require.NoError(t, err)
	assert.Equal(t, sc.Faults, back.Faults)
	assert.Equal(t, 3, shrink.FaultLines(sc))
}

// Every shrunk script kept under testdata/regress runs with its seed and
// keeps the verdict its header states: a planted bug still fails, with
// its signature; a fixed bug's script passes. A shrunk script is down to
// its timing: a change elsewhere in the code that moves a message by a
// microsecond can move its failure to another seed. So a script expected
// to fail may do so at its seed or one of the next nine (the faults that
// show the bug are what it keeps); one expected to pass must pass at its
// seed.
func TestRegressionScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "regress", "*.scn"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".scn"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			require.NoError(t, err)
			if regexp.MustCompile(`(?m)^plant `).Match(src) {
				plant.Skip(t)
			}
			h, err := shrink.ReadHeader(file, src)
			require.NoError(t, err)
			sc, err := scenarios.Parse(file, src)
			require.NoError(t, err)
			if h.Expect == "pass" {
				oc, err := scenarios.Run(sc, h.Seed, nil)
				require.NoError(t, err)
				assert.True(t, oc.Pass, "%s: %v", file, oc.Failures)
				return
			}
			var seen []string
			for seed := h.Seed; seed < h.Seed+10; seed++ {
				oc, err := scenarios.Run(sc, seed, nil)
				require.NoError(t, err)
				if oc.Result.Signature() == h.Signature {
					return
				}
				seen = append(seen, fmt.Sprintf("seed %d: %q", seed, oc.Result.Signature()))
			}
			t.Errorf("%s: no seed of %d..%d fails with %q: %v", file, h.Seed, h.Seed+9, h.Signature, seen)
		})
	}
}
