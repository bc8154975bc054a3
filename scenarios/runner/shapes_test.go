package runner_test

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
)

// firstSeeds bounds the seeds each bug needs to be caught, with room: the
// rarest (unsafe-mark-overwrite, commit-prior-term, lease-no-drift-margin)
// fail about one seed in 15 to 30, the first of them at seed 74 (seeds
// 1-1000, docs/PERFORMANCE.md).
const firstSeeds = 150

// TestPlantedBugsAreCaught plants each bug of raft/plant in default
// random runs, the ones a soak makes, and requires a failing run within
// firstSeeds seeds: the swarm's load and shapes and the always-on checks
// reach every bug.
func TestPlantedBugsAreCaught(t *testing.T) {
	plant.Skip(t)
	for _, bug := range plant.All() {
		t.Run(bug.String(), func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= firstSeeds; seed++ {
				res, err := runner.Run(runner.Options{Seed: seed, Planted: plant.Of(bug)})
				require.NoError(t, err)
				if !res.Pass {
					t.Logf("%s caught at seed %d: %s", bug, seed, res.Signature())
					assert.Equal(t, runner.Fail, res.Verdict)
					return
				}
			}
			t.Fatalf("%s slipped past %d seeds", bug, firstSeeds)
		})
	}
}

// Each always-on check catches the bug it exists for, by itself, in the
// scenario made for that bug (whose own expectations are not needed).
func TestChecksCatchTheirBugs(t *testing.T) {
	plant.Skip(t)
	for _, tt := range []struct {
		scenario string
		bug      plant.Bug
		check    string
	}{
		{"leader-isolation", plant.NoStepDown, "check one-leader"},
		{"quiet-leader", plant.NoHeartbeats, "check term-stable"},
		{"lagging-follower", plant.ResendWholeLog, "check bytes-per-write"},
		{"election-budget", plant.FixedElectionTimeout, "check election-rounds"},
		{"leader-transfer", plant.TransferKeepsProposing, "check transfer-pause"},
		{"promote-lagging", plant.PromoteLaggingLearner, "check promotion-guard"},
		{"lease-drift-within", plant.LeaseNoDriftMargin, "check read-safety"},
		{"minority-partition", plant.ReadIndexWithoutRound, "check read-safety"},
	} {
		t.Run(tt.check, func(t *testing.T) {
			sc, err := scenarios.Load(tt.scenario)
			require.NoError(t, err)
			sc.Expect = nil
			caught := false
			for seed := uint64(1); seed <= 10 && !caught; seed++ {
				oc, err := scenarios.Run(sc, seed, func(o *runner.Options) { o.Planted = plant.Of(tt.bug) })
				require.NoError(t, err)
				for _, f := range oc.Result.CheckFailures {
					caught = caught || runner.FailureSignature(f) == tt.check
				}
			}
			assert.True(t, caught, "%s with %s", tt.scenario, tt.bug)
			for seed := uint64(1); seed <= 3; seed++ {
				oc, err := scenarios.Run(sc, seed, nil)
				require.NoError(t, err)
				assert.Empty(t, oc.Result.CheckFailures, "%s seed %d, nothing planted", tt.scenario, seed)
			}
		})
	}
}

// TestPlantedBugTable prints, for RAFTSIM_PLANT_TABLE=N seeds of default
// random runs per bug, how many fail, the first that does, and the median
// seeds to a first failure (ln 2 / -ln(1-p)): the table in
// docs/PERFORMANCE.md.
//
//	RAFTSIM_PLANT_TABLE=200 go test ./scenarios/runner/ -run PlantedBugTable -v -timeout 2h
func TestPlantedBugTable(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RAFTSIM_PLANT_TABLE"))
	if n <= 0 {
		t.Skip("set RAFTSIM_PLANT_TABLE=N")
	}
	for _, bug := range plant.All() {
		sigs := make([]string, n)
		var wg sync.WaitGroup
		work := make(chan int)
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					res, err := runner.Run(runner.Options{Seed: uint64(i + 1), Planted: plant.Of(bug)})
					if err == nil {
						sigs[i] = res.Signature()
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		failed, first := 0, 0
		count := map[string]int{}
		for i, s := range sigs {
			if s != "" {
				failed++
				count[s]++
				if first == 0 {
					first = i + 1
				}
			}
		}
		median := "-"
		if failed > 0 {
			p := float64(failed) / float64(n)
			median = strconv.Itoa(max(1, int(math.Ceil(math.Log(0.5)/math.Log(1-p)))))
		}
		fmt.Printf("| `%s` | %d/%d | %d | %s | %v |\n", bug, failed, n, first, median, count)
	}
}
