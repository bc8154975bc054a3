package sim_test

import (
	"testing"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// BenchmarkEmptyEvents measures the event loop alone: 1024 events stay
// pending, and each one that fires schedules another at a pseudo-random
// later time, so the heap works as it does in a real run.
func BenchmarkEmptyEvents(b *testing.B) {
	for _, mode := range []struct {
		name string
		mode sim.TraceMode
	}{{"hash-only", sim.TraceHashOnly}, {"full-trace", sim.TraceFull}} {
		b.Run(mode.name, func(b *testing.B) {
			w, err := sim.New(sim.Config{Seed: 1, Nodes: 1, Trace: mode.mode})
			if err != nil {
				b.Fatal(err)
			}
			x := uint64(88172645463325252)
			var fire func()
			fire = func() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				w.After(time.Duration(x%1000), fire)
			}
			for i := 0; i < 1024; i++ {
				w.After(time.Duration(i), fire)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.Step()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// echo forwards every message it receives to another node, keeping a fixed
// number of messages in flight.
type echo struct {
	env   *sim.Env
	nodes int
	n     int
}

func (e *echo) Receive(from sim.NodeID, msg []byte) {
	e.n++
	e.env.Send(sim.NodeID(1+(int(e.env.ID())+e.n)%e.nodes), msg)
}

// BenchmarkDeliveredMessages measures the network: send, latency draw,
// queueing, delivery and handler dispatch of 64-byte messages among 5 nodes.
func BenchmarkDeliveredMessages(b *testing.B) {
	const nodes = 5
	w, err := sim.New(sim.Config{Seed: 1, Nodes: nodes, Trace: sim.TraceHashOnly,
		Link: sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	envs := make([]*sim.Env, nodes+1)
	for i := 1; i <= nodes; i++ {
		i := i
		if err := w.Start(sim.NodeID(i), func(env *sim.Env) (sim.Handler, error) {
			envs[i] = env
			return &echo{env: env, nodes: nodes}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	payload := make([]byte, 64)
	for i := 0; i < 1000; i++ {
		envs[1+i%nodes].Send(sim.NodeID(1+(i+1)%nodes), payload)
	}
	w.RunFor(time.Second) // warm up
	before := w.Net().Total().Delivered
	b.ResetTimer()
	for i := 0; i < b.N; i++ { // every pending event is a delivery
		w.Step()
	}
	b.StopTimer()
	if got := w.Net().Total().Delivered - before; got != uint64(b.N) {
		b.Fatalf("delivered %d messages in %d steps", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
