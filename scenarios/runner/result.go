package runner

import (
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/cluster"
)

// Result is everything a run found, with the world kept for reports.
type Result struct {
	Options     Options
	Schedule    *faults.Schedule
	World       *sim.World
	Cluster     *cluster.Cluster
	TraceHash   string
	Events      uint64
	VirtualTime sim.Time
	HealedAt    sim.Time
	Liveness    Liveness
	Halted      []Halt
	Metrics     Metrics
	// Pass is the overall verdict; Failures says why not.
	Pass     bool
	Failures []string
}

// Liveness is the separate verdict on recovery after the last fault.
type Liveness struct {
	OK             bool
	RecoveredAfter time.Duration
}

// Halt is a server that stopped itself with an error.
type Halt struct {
	Node int
	Err  string
}

func (r *Result) decide() {
	r.Failures = nil
	if !r.Liveness.OK {
		r.Failures = append(r.Failures, "liveness: no leader and completed operation within "+r.Options.Settle.String()+" after the heal")
	}
	for _, h := range r.Halted {
		r.Failures = append(r.Failures, "node "+sim.NodeID(h.Node).String()+" halted: "+h.Err)
	}
	r.Pass = len(r.Failures) == 0
}
