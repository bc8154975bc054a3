package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
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
	// SubjectNotes say what a random run left out because the subject
	// lacks the mechanism it needs (storage faults without a recovering
	// mode, lease reads without a drift bound), in plain words.
	SubjectNotes []string
	Halted       []Halt
	// Invariant is the first Raft safety invariant broken, if any; the run
	// stopped there.
	Invariant       *invariants.Violation
	InvariantChecks uint64
	// Linearizability is porcupine's verdict on the whole history.
	Linearizability model.Result
	// StorageDamaged lists the servers that found their durable data
	// damaged (and rejoined recovering), in node order; StorageHit those
	// a storage fault hit. FalseDamage lists servers that reported damage
	// no fault dealt them (a Raft host bug: a crash must not look like
	// data loss). BeyondModel says why storage damage in this run was
	// beyond the fault model (a consistent rollback no checksum sees).
	StorageDamaged []int
	StorageHit     []int
	// StorageRecovered lists servers that caught up after reporting
	// damage (a VoteLost server catches up too, and still never votes).
	StorageRecovered []int
	FalseDamage      []int
	BeyondModel      []string
	// FinalConfig is the configuration in force at the end ("voters=n1,n2,n3
	// learners=n4"), FinalVoters its voters; storage damage is counted
	// against them.
	FinalConfig string
	FinalVoters []int
	// Samples are the cluster's state every SampleEvery, for expectations
	// and reports; without Options.Record, only the last one.
	Samples []Sample
	// SnapshotsInstalled counts, per server (index id-1), the snapshots it
	// installed from a leader.
	SnapshotsInstalled []uint64
	// Messages are every message a server sent another, in send order
	// (for counting expectations), if Options.KeepMessages asked.
	Messages []Message
	// Chronicle is what happened to each server and who answered each
	// operation (with Options.Record), for reports and explanations.
	Chronicle *Chronicle
	// Explanations tell the run's failures in a person's terms (see
	// Explanation): one per failing key, invariant, liveness failure.
	Explanations []Explanation
	Metrics      Metrics
	// CheckFailures are the always-on checks that did not hold (see
	// checks.go): "check NAME: what happened".
	CheckFailures []string
	// ExpectationFailures are a scenario's own expectations that did not
	// hold (set by Judge); they count like the run's own failures.
	ExpectationFailures []string
	// Expected is what the scenario said the run must show (set by
	// Judge). Excused are the failures an expected beyond-model storage
	// fault explains: reported, not counted.
	Expected Expectations
	Excused  []string
	// calmWatch is the term-stable check as the run went, for a run that
	// kept only its last sample.
	calmWatch *calmWatch
	// watch holds the checks that watched the run as it went (watch.go).
	watch *watch
	// WholeHistory says why the run's online linearizability check could
	// not tell its result, so the run was run again keeping its whole
	// history ("": it could; see Options.Record).
	WholeHistory string
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
	// Skip: the run did not happen (a scenario requires a mechanism the
	// subject lacks); the reason is given next to it.
	Skip Verdict = "SKIP"
)

// Liveness is the separate verdict on recovery after the last fault.
type Liveness struct {
	OK bool
	// Skipped: a safety violation stopped the run before the heal.
	Skipped bool
	// ExpectUnavailable: the scenario expects the cluster not to recover
	// (a majority gone for good), so a liveness failure is what should
	// happen, and recovering is the failure.
	ExpectUnavailable bool
	RecoveredAfter    time.Duration
}

// String is "ok", "FAIL" or "skipped"; when the scenario expects the
// cluster to stay unavailable, "unavailable (expected)" or "ok (expected
// unavailable)".
func (l Liveness) String() string {
	switch {
	case l.Skipped:
		return "skipped"
	case l.ExpectUnavailable && !l.OK:
		return "unavailable (expected)"
	case l.ExpectUnavailable:
		return "ok (expected unavailable)"
	case l.OK:
		return "ok"
	}
	return "FAIL"
}

// Expectations are the whole-run outcomes a scenario can turn around.
type Expectations struct {
	// Unavailable: the cluster must not recover after the heal.
	Unavailable bool
	// BeyondModel: the storage faults must go beyond the fault model, and
	// the run must say so; what follows from them is excused.
	BeyondModel bool
	// NotLinearizable: the history must not be linearizable (reads stale
	// by design, or by a clock drift past the configured bound).
	NotLinearizable bool
}

// Judge re-decides the verdict with a scenario's expectations: their
// failures are added to the run's own, Unavailable turns the liveness
// check around (a cluster that recovers fails it), and BeyondModel
// excuses the safety failures that damage beyond the fault model explains
// (and fails the run if there was none).
func (r *Result) Judge(expectationFailures []string, exp Expectations) {
	r.ExpectationFailures = append([]string(nil), expectationFailures...)
	r.Liveness.ExpectUnavailable = exp.Unavailable
	r.Expected = exp
	r.decide()
}

// Halt is a server that stopped itself with an error.
type Halt struct {
	Node int
	Err  string
}

// BeyondTolerance reports whether storage faults damaged a majority of
// servers: then Raft cannot promise anything, and the run says so. Only
// damage a storage fault dealt counts: a server that reports damage no
// fault dealt it (FalseDamage) is a bug of the host, not a fault Raft had
// to tolerate.
func (r *Result) BeyondTolerance() bool {
	voters := r.FinalVoters
	if len(voters) == 0 {
		for id := 1; id <= r.Options.Servers; id++ {
			voters = append(voters, id)
		}
	}
	return len(r.faultDamaged(voters)) > (len(voters)-1)/2
}

// faultDamaged are the servers among voters that a storage fault damaged.
func (r *Result) faultDamaged(voters []int) []int {
	var out []int
	for _, id := range r.StorageDamaged {
		if slices.Contains(voters, id) && !slices.Contains(r.FalseDamage, id) {
			out = append(out, id)
		}
	}
	return out
}

func (r *Result) decide() {
	r.Failures, r.Excused = nil, nil
	for _, why := range r.BeyondModel {
		r.Failures = append(r.Failures, "storage damage beyond the fault model: "+why+"; what follows is its consequence, not a Raft bug")
	}
	if r.Expected.BeyondModel && len(r.BeyondModel) > 0 {
		// Everything but the scenario's own expectations is excused.
		defer func() {
			r.Excused = append(r.Excused, r.Failures[:len(r.Failures)-len(r.ExpectationFailures)]...)
			r.Failures = append([]string(nil), r.ExpectationFailures...)
			r.Verdict = Pass
			if len(r.Failures) > 0 {
				r.Verdict = Fail
			}
			r.Pass = r.Verdict == Pass
		}()
	}
	if r.BeyondTolerance() {
		r.Failures = append(r.Failures, fmt.Sprintf("storage faults exceeded what Raft tolerates: durable data damaged on servers %v, with %d voters at the end; what follows is their consequence, not a Raft bug",
			r.StorageDamaged, r.finalVoterCount()))
	}
	// Damage no fault dealt is the host's bug, and what follows from it
	// (a server that will not vote, a cluster that cannot elect) is its
	// consequence: it comes first.
	for _, id := range r.FalseDamage {
		r.Failures = append(r.Failures, fmt.Sprintf("n%d reported storage damage, but no storage fault hit it: a crash must never look like data loss", id))
	}
	if v := r.Invariant; v != nil {
		r.Failures = append(r.Failures, "invariant "+v.Invariant+" broken at "+v.At.String()+": "+v.Message)
	}
	// A read a deposed leader confirmed is the cause of the stale value
	// the history may then show: read-safety comes before linearizability.
	checks := make([]string, 0, len(r.CheckFailures))
	for _, c := range r.CheckFailures {
		if strings.HasPrefix(c, readSafety) {
			r.Failures = append(r.Failures, c)
		} else {
			checks = append(checks, c)
		}
	}
	switch lin := r.Linearizability.Verdict; {
	case r.Expected.NotLinearizable && lin == model.Linearizable:
		r.Failures = append(r.Failures, "expect not-linearizable: the history is linearizable: no stale read showed")
	case !r.Expected.NotLinearizable && lin == model.NotLinearizable:
		r.Failures = append(r.Failures, "history not linearizable on keys "+strings.Join(r.Linearizability.FailingKeys, ","))
	}
	switch l := r.Liveness; {
	case l.Skipped:
	case l.ExpectUnavailable && l.OK:
		r.Failures = append(r.Failures, "liveness: expected the cluster to stay unavailable, but it recovered "+l.RecoveredAfter.String()+" after the heal")
	case !l.OK && !l.ExpectUnavailable:
		r.Failures = append(r.Failures, "liveness: no leader and completed operation within "+r.Options.Settle.String()+" after the heal")
	}
	r.Failures = append(r.Failures, checks...)
	if r.Expected.BeyondModel && len(r.BeyondModel) == 0 {
		r.Failures = append(r.Failures, "expect beyond-model: every storage fault stayed within the fault model (each was detected, or none landed)")
	}
	for _, h := range r.Halted {
		r.Failures = append(r.Failures, "node "+sim.NodeID(h.Node).String()+" halted: "+h.Err)
	}
	r.Failures = append(r.Failures, r.ExpectationFailures...)
	switch {
	case len(r.Failures) > 0:
		r.Verdict = Fail
	case r.Linearizability.Verdict == model.Unknown:
		r.Verdict = Unknown
	default:
		r.Verdict = Pass
	}
	r.Pass = r.Verdict == Pass
}

// finalVoterCount is how many voters the run ended with (every server if
// no server was up to say).
func (r *Result) finalVoterCount() int {
	if len(r.FinalVoters) == 0 {
		return r.Options.Servers
	}
	return len(r.FinalVoters)
}
