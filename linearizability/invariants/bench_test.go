package invariants_test

import (
	"testing"
	"time"

	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// benchCluster is a 5-server cluster under client load, warmed up for a
// second, with the checker installed or not.
func benchCluster(b *testing.B, withChecker bool) (*sim.World, *invariants.Checker) {
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 7, Link: lan, Trace: sim.TraceHashOnly})
	if err != nil {
		b.Fatal(err)
	}
	var ck *invariants.Checker
	cfg := cluster.Config{Servers: 5, Clients: 2, Workload: benchWorkload}
	if withChecker {
		ck = invariants.New(invariants.Options{})
		cfg.Server.OnApply = ck.OnApply
	}
	c, err := cluster.New(w, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if withChecker {
		ck.Install(c)
	}
	c.StartLoad()
	w.RunFor(time.Second)
	return w, ck
}

var benchWorkload = func() (wl clientWorkload) {
	wl = defaultWorkload()
	wl.Think = 2 * time.Millisecond
	return wl
}()

// BenchmarkEvent is the cost of one simulated event of a loaded 5-node
// cluster, with and without the checker looking at every node after it:
// the difference is the checker's overhead per event.
func BenchmarkEvent(b *testing.B) {
	for _, with := range []bool{false, true} {
		name := "without-checker"
		if with {
			name = "with-checker"
		}
		b.Run(name, func(b *testing.B) {
			w, ck := benchCluster(b, with)
			b.ReportAllocs()
			for b.Loop() {
				if !w.Step() {
					b.Fatal("no events")
				}
			}
			b.StopTimer()
			if ck != nil {
				if v := ck.Violation(); v != nil {
					b.Fatal(v)
				}
			}
		})
	}
}

// BenchmarkCheck is one pass of the checker over a 5-node cluster where
// nothing changed since the previous pass: its floor per event.
func BenchmarkCheck(b *testing.B) {
	_, ck := benchCluster(b, true)
	b.ReportAllocs()
	for b.Loop() {
		ck.Check()
	}
}
