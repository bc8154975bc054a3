package reports_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// staleScenarioSeed is the first seed on which minority-partition catches
// the planted stale reads (most do): the tests that show a stale read
// look for one rather than naming a seed that any change of timing moves.
func staleScenarioSeed(t *testing.T) uint64 {
	t.Helper()
	s, err := scenarios.Load("minority-partition")
	require.NoError(t, err)
	for seed := uint64(1); seed <= 20; seed++ {
		out, err := scenarios.Run(s, seed, func(o *runner.Options) {
			o.Trace, o.Planted = sim.TraceHashOnly, plant.Of(plant.StaleLeaderReads)
		})
		require.NoError(t, err)
		if !out.Pass {
			return seed
		}
	}
	t.Fatal("minority-partition caught no planted stale read on seeds 1..20")
	return 0
}
