package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The shapes lean on the read mode a seed draws, and must see the one
// SwarmReads draws, whatever the options set.
func TestDrawnReadModeIsSwarmReads(t *testing.T) {
	for seed := uint64(1); seed <= 300; seed++ {
		var o Options
		SwarmReads(seed, &o)
		assert.Equal(t, o.Server.Reads, drawnReadMode(seed), "seed %d", seed)
	}
}
