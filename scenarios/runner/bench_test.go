package runner_test

import (
	"testing"
	"time"

	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// BenchmarkCluster runs 5 servers and 3 clients for 10s of virtual time
// with no faults, and reports committed writes per wall-second, simulated
// seconds per wall-second, and Raft messages and bytes per committed entry.
func BenchmarkCluster(b *testing.B) {
	for _, mode := range []struct {
		name  string
		trace sim.TraceMode
	}{{"hash-only", sim.TraceHashOnly}, {"full-trace", sim.TraceFull}} {
		b.Run(mode.name, func(b *testing.B) {
			var writes, msgs, bytes uint64
			var simTime time.Duration
			for i := 0; i < b.N; i++ {
				res, err := runner.Run(runner.Options{Seed: uint64(i + 1), NoFaults: true,
					FaultTime: 10 * time.Second, Trace: mode.trace})
				if err != nil {
					b.Fatal(err)
				}
				if !res.Pass {
					b.Fatalf("run failed: %v", res.Failures)
				}
				writes += res.Metrics.OpsCompleted
				msgs += res.Metrics.RaftMessages
				bytes += res.Metrics.RaftBytes
				simTime += res.VirtualTime.Duration()
			}
			wall := b.Elapsed().Seconds()
			b.ReportMetric(float64(writes)/wall, "writes/s")
			b.ReportMetric(simTime.Seconds()/wall, "simsec/s")
			b.ReportMetric(float64(msgs)/float64(writes), "msgs/write")
			b.ReportMetric(float64(bytes)/float64(writes), "bytes/write")
		})
	}
}

// BenchmarkDefaultSeed runs default seeds (5 servers, 3 clients, 20 s of
// swarm faults, every check on, hash-only trace): what a soak pays per seed.
func BenchmarkDefaultSeed(b *testing.B) {
	b.ReportAllocs()
	var events uint64
	var simTime time.Duration
	for i := 0; i < b.N; i++ {
		res, err := runner.Run(runner.Options{Seed: uint64(i%200 + 1), Trace: sim.TraceHashOnly})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		simTime += res.VirtualTime.Duration()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(simTime.Seconds()/b.Elapsed().Seconds(), "simsec/s")
}
