// Package scenarios is the scenario language, its parser, and the
// built-in library of scenarios, one per failure mode raftsim exists to
// catch.
//
// A script is one command per line: the cluster and workload (servers,
// clients, keys, mix, think, link, server), the phases (faults-until,
// settle, drain, no-heal), faults exactly as faults.Fault.String renders
// them ("at 2s partition n1,n2 | n3,n4,n5 until 5s"), repeated faults
// (every), a schedule drawn from the seed (random-faults), and
// expectations (expect linearizable, expect stable-leader from 10s to
// 40s, ...). docs/SCENARIOS.md is the reference.
//
//	s, err := scenarios.Parse("quiet.scn", src) // or scenarios.Load("quiet-leader")
//	out, err := scenarios.Run(s, seed, nil)     // runner.Run, then every expectation
//	fmt.Println(out.Verdict, out.Failures)
//
// Parse checks everything before anything runs. Its errors are
// *ParseError ("file:line:col: what was expected"), wrapping ErrParse; it
// never panics (FuzzParse). Script writes a scenario back, and
// FromSchedule turns any run's options and schedule into a scenario that
// replays it to the same trace hash.
//
// The package runs under the simulator's determinism rules: the library
// is embedded, and file contents come in as bytes (the CLI reads files).
package scenarios
