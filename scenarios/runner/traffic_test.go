package runner_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The run records every server-to-server message with its type, and the
// traffic by type adds up to the network's own counters. Without
// KeepMessages the totals are the same and no message is kept.
func TestRunRecordsTrafficByType(t *testing.T) {
	opts := runner.Options{Seed: 2, FaultTime: 3 * time.Second, Trace: sim.TraceHashOnly}
	totals, err := runner.Run(opts)
	require.NoError(t, err)
	assert.Empty(t, totals.Messages)
	opts.KeepMessages = true
	res, err := runner.Run(opts)
	require.NoError(t, err)
	assert.Equal(t, totals.Metrics.Traffic, res.Metrics.Traffic)
	assert.Equal(t, totals.TraceHash, res.TraceHash)
	m := res.Metrics
	var msgs, bytes uint64
	seen := map[string]bool{}
	for _, tt := range m.Traffic {
		msgs += tt.Messages
		bytes += tt.Bytes
		seen[tt.Type] = true
	}
	assert.Equal(t, m.RaftMessages, msgs)
	assert.Equal(t, m.RaftBytes, bytes)
	assert.Equal(t, int(m.RaftMessages), len(res.Messages))
	for _, name := range []string{"app", "app-resp", "vote", "heartbeat"} {
		assert.True(t, seen[name], "no %s in %v", name, m.Traffic)
	}
	assert.False(t, seen["request"], "client traffic is not server-to-server: %v", m.Traffic)
	assert.False(t, seen["undescribed"], "%v", m.Traffic)
	assert.True(t, slices.IsSortedFunc(res.Messages, func(a, b runner.Message) int { return int(a.At - b.At) }))
	for _, msg := range res.Messages {
		require.True(t, msg.From >= 1 && msg.From <= 5 && msg.To >= 1 && msg.To <= 5 && msg.From != msg.To, "%+v", msg)
		require.True(t, cluster.IsRaft(msg.Type), "%+v", msg)
	}
}
