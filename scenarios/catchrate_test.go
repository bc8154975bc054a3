package scenarios_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// TestCatchRates measures what the harness finds: for every planted bug,
// the fraction of seeds 1..N on which a default swarm run fails, and the
// fraction on which each library scenario that names the bug fails. It
// is a measurement, not a check (docs/PERFORMANCE.md quotes it before
// and after changes of timing), so it runs only when asked:
//
//	RAFTSIM_CATCH_SEEDS=200 go test ./scenarios -run TestCatchRates -v -timeout 2h
//
// RAFTSIM_CATCH_BUGS (comma-separated names) limits it to some bugs, and
// RAFTSIM_CATCH_ONLY=swarm or =scenarios to one side.
func TestCatchRates(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RAFTSIM_CATCH_SEEDS"))
	if n <= 0 {
		t.Skip("set RAFTSIM_CATCH_SEEDS to measure catch rates")
	}
	only := map[string]bool{}
	for _, b := range strings.Split(os.Getenv("RAFTSIM_CATCH_BUGS"), ",") {
		if b != "" {
			only[b] = true
		}
	}
	side := os.Getenv("RAFTSIM_CATCH_ONLY")
	byBug := map[plant.Bug][]string{}
	for _, e := range scenarios.List() {
		for _, b := range e.Catches {
			byBug[b] = append(byBug[b], e.Name)
		}
	}
	bugs := []plant.Bug{0} // the real implementation: elections and leader changes per seed
	for _, bug := range plant.All() {
		if len(only) == 0 || only[bug.String()] {
			bugs = append(bugs, bug)
		}
	}
	lines := make([]string, len(bugs))
	t.Cleanup(func() { t.Log("\n" + strings.Join(lines, "\n")) })
	for i, bug := range bugs {
		t.Run(bug.String(), func(t *testing.T) {
			t.Parallel()
			lines[i] = catchRate(t, bug, n, side, byBug[bug])
		})
	}
}

// catchRate is one line of TestCatchRates: bug's catch rate over seeds
// 1..n in the swarm and in each of scenarios.
func catchRate(t *testing.T, bug plant.Bug, n int, side string, scenarioNames []string) string {
	name := bug.String()
	if bug == 0 {
		name = "(none planted)"
	}
	swarm := 0
	var elections, changes int
	for seed := uint64(1); seed <= uint64(n) && side != "scenarios"; seed++ {
		res, err := runner.Run(runner.Options{Seed: seed, Trace: sim.TraceHashOnly, Planted: plant.Of(bug)})
		require.NoError(t, err)
		if !res.Pass {
			swarm++
		}
		elections += res.Metrics.Elections
		changes += res.Metrics.LeaderChanges
	}
	line := fmt.Sprintf("%-26s swarm %3d/%d (elections %.1f, leader changes %.1f per seed)", name, swarm, n,
		float64(elections)/float64(n), float64(changes)/float64(n))
	for _, sc := range scenarioNames {
		if side == "swarm" {
			break
		}
		s, err := scenarios.Load(sc)
		require.NoError(t, err)
		caught := 0
		for seed := uint64(1); seed <= uint64(n); seed++ {
			out, err := scenarios.Run(s, seed, func(o *runner.Options) {
				o.Trace = sim.TraceHashOnly
				o.Planted = plant.Of(bug)
			})
			require.NoError(t, err)
			if !out.Pass {
				caught++
			}
		}
		line += fmt.Sprintf("  %s %d/%d", sc, caught, n)
	}
	t.Log(line)
	return line
}
