package runner

import (
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
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
	// Invariant is the first Raft safety invariant broken, if any; the run
	// stopped there.
	Invariant       *invariants.Violation
	InvariantChecks uint64
	// Linearizability is porcupine's verdict on the whole history.
	Linearizability model.Result
	// Samples are the cluster's state every SampleEvery, for expectations.
	Samples []Sample
	Metrics Metrics
	// Verdict is the overall outcome; Failures says why it is not Pass.
	Verdict  Verdict
	Pass     bool
	Failures []string
}

// Verdict is a run's overall outcome.
type Verdict string

const (
	Pass Verdict = "PASS"
	Fail Verdict = "FAIL"
	// Unknown: nothing failed, but the linearizability check did not
	// finish. Never a pass.
	Unknown Verdict = "UNKNOWN"
)

// Liveness is the separate verdict on recovery after the last fault.
type Liveness struct {
	OK bool
	// Skipped: a safety violation stopped the run before the heal.
	Skipped        bool
	RecoveredAfter time.Duration
}

// String is "ok", "FAIL" or "skipped".
func (l Liveness) String() string {
	switch {
	case l.Skipped:
		return "skipped"
	case l.OK:
		return "ok"
	}
	return "FAIL"
}

// Halt is a server that stopped itself with an error.
type Halt struct {
	Node int
	Err  string
}

func (r *Result) decide() {
	r.Failures = nil
	if v := r.Invariant; v != nil {
		r.Failures = append(r.Failures, "invariant "+v.Invariant+" broken at "+v.At.String()+": "+v.Message)
	}
	if r.Linearizability.Verdict == model.NotLinearizable {
		r.Failures = append(r.Failures, "history not linearizable on keys "+strings.Join(r.Linearizability.FailingKeys, ","))
	}
	if !r.Liveness.OK && !r.Liveness.Skipped {
		r.Failures = append(r.Failures, "liveness: no leader and completed operation within "+r.Options.Settle.String()+" after the heal")
	}
	for _, h := range r.Halted {
		r.Failures = append(r.Failures, "node "+sim.NodeID(h.Node).String()+" halted: "+h.Err)
	}
	switch {
	case len(r.Failures) > 0:
		r.Verdict = Fail
	case r.Linearizability.Verdict != model.Linearizable:
		r.Verdict = Unknown
	default:
		r.Verdict = Pass
	}
	r.Pass = r.Verdict == Pass
}
