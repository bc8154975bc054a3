package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/scenarios"
)

func runScript(t *testing.T, src string, seed uint64) *scenarios.Outcome {
	t.Helper()
	s, err := scenarios.Parse("t.scn", []byte(src))
	require.NoError(t, err)
	out, err := scenarios.Run(s, seed, hashOnly)
	require.NoError(t, err)
	return out
}

// The two survivors of a majority failure restart (with the commit hint
// they persisted, below the real commit) while nothing can commit: no
// commit happened, and no-commit must say so.
func TestNoCommitAcrossRestarts(t *testing.T) {
	out := runScript(t, `no-heal
faults-until 8s
at 3s kill n3,n4,n5 until 1m
at 5s kill n1,n2 until 5500ms
expect no-commit from 3100ms to 20s
expect unavailable
`, 1)
	for _, c := range out.Checks {
		assert.True(t, c.OK, "%s", c)
	}
	assert.True(t, out.Pass, out.Failures)
}
