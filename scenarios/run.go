package scenarios

import (
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Outcome is one run of a scenario: the runner's result, every
// expectation's verdict, and the final verdict with expectation failures
// counted.
type Outcome struct {
	Scenario *Scenario
	Result   *runner.Result
	// Checks are every expectation's verdict: linearizable, invariants and
	// liveness (or unavailable) first when the script does not list them,
	// then the script's, in script order.
	Checks []Check
	// Verdict, Pass and Failures are the Result's after Judge: the run's
	// own failures, then "expect ...: what happened" for each failed
	// expectation.
	Verdict  runner.Verdict
	Pass     bool
	Failures []string
	// Skipped, if not empty, says why the scenario did not run: the
	// subject lacks a mechanism it requires. Result is then nil.
	Skipped string
}

// Missing says which mechanisms the scenario requires (its requires line;
// "plants" when opts plant a bug of the Raft layer; "recovery" when the
// script damages storage) that the subject in opts lacks, in plain words;
// "" if none.
func (s *Scenario) Missing(opts runner.Options) string {
	need := slices.Clone(s.Requires)
	if opts.Planted.InRaft() != 0 && !slices.Contains(need, "plants") {
		need = append(need, "plants")
	}
	damage := s.damagesStorage()
	if damage != "" && !slices.Contains(need, "recovery") {
		need = append(need, "recovery")
	}
	sub := opts.Server.Subject
	if sub.Open == nil {
		sub = native.Subject()
	}
	why := sub.Capabilities.Missing(need...)
	if why == "" {
		return ""
	}
	if damage != "" && sub.Capabilities.Missing("recovery") != "" {
		why += " (the script damages storage: " + damage + ")"
	}
	return sub.Name + " lacks " + why
}

// damagesStorage names the script's first storage fault (a fault line,
// or a kind its random-faults line lists), whose servers only a subject
// with a recovering mode can bring back; "" if none. A random-faults line
// without kinds draws none for such a subject (runner.SubjectKinds). A
// script that expects beyond-model damage needs no recovering mode: its
// damage is what no checksum sees (a consistent rollback), so a server
// restarts on it as if nothing happened, and what the script tests is the
// harness saying so; if its damage is seen after all, the server halts
// and the run fails, visibly.
func (s *Scenario) damagesStorage() string {
	for _, e := range s.Expect {
		if e.Kind == ExpectBeyondModel {
			return ""
		}
	}
	for _, f := range s.Faults {
		if f.Kind.Storage() {
			return fmt.Sprintf("%s at %s", f.Kind, f.At)
		}
	}
	if s.Random != nil {
		for _, k := range s.Random.Kinds {
			if k.Storage() {
				return fmt.Sprintf("random-faults draws %s", k)
			}
		}
	}
	return ""
}

// Run runs s once with seed through runner.Run (mutate, if set, may change
// the options first: trace mode, check timeout, a planted bug) and judges
// its expectations. An error means the options were unusable.
func Run(s *Scenario, seed uint64, mutate func(*runner.Options)) (*Outcome, error) {
	opts := s.Options(seed)
	if mutate != nil {
		mutate(&opts)
	}
	if why := s.Missing(opts); why != "" {
		return &Outcome{Scenario: s, Skipped: why, Verdict: runner.Skip, Pass: true}, nil
	}
	res, err := runner.Run(opts)
	if err != nil {
		return nil, err
	}
	res.SubjectNotes = append(res.SubjectNotes, s.SubjectNotes(seed)...)
	return Judge(s, res), nil
}

// Judge evaluates s's expectations on a finished run and re-decides the
// run's verdict (runner.Result.Judge). Linearizability, the Raft
// invariants (and halted nodes) are always judged by the runner itself;
// liveness too, unless s expects the cluster to stay unavailable, in
// which case recovering is the failure.
func Judge(s *Scenario, res *runner.Result) *Outcome {
	ev := &evaluator{samples: res.Samples, stoppedAt: -1, entryBytes: meanEntryBytes(res), installed: res.SnapshotsInstalled, res: res}
	if w := res.World; w != nil {
		if stopped, _ := w.Stopped(); stopped {
			ev.stoppedAt = res.VirtualTime
		}
	}
	if res.Liveness.Skipped && ev.stoppedAt < 0 {
		ev.stoppedAt = sim.Time(res.VirtualTime)
	}
	unavailable, beyond, stale := false, false, false
	listed := map[ExpectKind]bool{}
	for _, e := range s.Expect {
		listed[e.Kind] = true
		unavailable = unavailable || e.Kind == ExpectUnavailable
		beyond = beyond || e.Kind == ExpectBeyondModel
		stale = stale || e.Kind == ExpectNotLinearizable
	}
	var checks []Check
	implicit := []ExpectKind{ExpectLinearizable, ExpectInvariants, ExpectLiveness}
	if unavailable {
		implicit[2] = ExpectUnavailable
	}
	if stale {
		implicit[0] = ExpectNotLinearizable
	}
	for _, k := range implicit {
		if !listed[k] {
			checks = append(checks, baseCheck(Expectation{Kind: k}, res))
		}
	}
	var failures []string
	for _, e := range s.Expect {
		if isBase(e.Kind) {
			checks = append(checks, baseCheck(e, res))
			continue
		}
		c := ev.check(e)
		checks = append(checks, c)
		if !c.OK && !c.Skipped {
			failures = append(failures, e.String()+": "+c.Detail)
		}
	}
	res.Judge(failures, runner.Expectations{Unavailable: unavailable, BeyondModel: beyond, NotLinearizable: stale})
	if beyond && len(res.BeyondModel) > 0 {
		for i := range checks {
			if c := &checks[i]; !c.OK && isBase(c.Expect.Kind) {
				c.Excused = true
			}
		}
	}
	return &Outcome{Scenario: s, Result: res, Checks: checks, Verdict: res.Verdict, Pass: res.Pass,
		Failures: res.Failures}
}
