package runner_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Options that would run effectively forever are refused with the limit.
func TestOptionsBeyondTheLimitsAreRefused(t *testing.T) {
	for _, tt := range []struct {
		opts runner.Options
		want string
	}{
		{runner.Options{Servers: 1000}, "servers = 1000, want at most 64"},
		{runner.Options{Clients: 1000}, "clients = 1000, want at most 64"},
		{runner.Options{FaultTime: 1000000 * time.Hour}, "the run would last 1000000h0m13s (faults 1000000h0m0s + settle 10s + drain 3s), want at most 1h0m0s"},
		{runner.Options{FaultTime: time.Hour}, "want at most 1h0m0s"},
		{runner.Options{Settle: 1000000 * time.Hour}, "want at most 1h0m0s"},
	} {
		_, err := runner.Run(tt.opts)
		assert.ErrorContains(t, err, tt.want)
	}
	o := runner.Options{Server: runner.Options{}.Server}
	o.Server.TickInterval = time.Nanosecond
	_, err := runner.Run(o)
	assert.ErrorContains(t, err, "server tick 1ns, want at least 1ms")
}

// A run whose trace outgrows the event budget stops with an error that
// says so, instead of filling memory.
func TestEventBudgetStopsARunaway(t *testing.T) {
	_, err := runner.Run(runner.Options{Seed: 1, FaultTime: 10 * time.Second, Trace: sim.TraceHashOnly, MaxEvents: 2500})
	require.Error(t, err)
	var le *runner.LimitError
	require.True(t, errors.As(err, &le), "%v", err)
	assert.Contains(t, err.Error(), "more than 2500 events")
	assert.Contains(t, err.Error(), "shorten the run or use fewer servers or clients")
	assert.Less(t, le.At, sim.Time(2*time.Second))
}

// A settle bound shorter than the sampling period is judged at the bound
// itself: it does not pass by looking at the cluster 50ms later.
func TestShortSettleIsJudgedAtTheBound(t *testing.T) {
	for _, settle := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 70 * time.Millisecond} {
		res, err := runner.Run(runner.Options{Seed: 1, FaultTime: 2 * time.Second, Settle: settle, NoFaults: true, Trace: sim.TraceHashOnly})
		require.NoError(t, err)
		if res.Liveness.OK {
			assert.LessOrEqual(t, res.Liveness.RecoveredAfter, settle, "settle %v", settle)
		}
	}
	res, err := runner.Run(runner.Options{Seed: 1, FaultTime: 2 * time.Second, Settle: time.Millisecond, NoFaults: true, Trace: sim.TraceHashOnly})
	require.NoError(t, err)
	assert.False(t, res.Liveness.OK, "nothing called after the heal completes within 1ms")
}
