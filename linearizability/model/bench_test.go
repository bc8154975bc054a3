package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/seed4fee1fef/raftsim/raft/kv"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// benchConfig is the benchmark's history: 10,000 operations over 16 keys
// from 5 clients, overlapping (linearization points 10 apart, calls and
// returns up to 40 either side, so an op overlaps up to 8 others) with 2%
// unknown outcomes.
var benchConfig = genConfig{Ops: 10_000, Keys: 16, Clients: 5, MaxDelay: 40, UnknownPct: 2}

// BenchmarkCheck10k checks a 10,000-operation history: linearizable, and
// with one get (three quarters in) changed to read a value never written,
// which makes that key's search exhaustive. The unknown=10% variants show
// the cost of many unknown outcomes, which stay pending to the end.
func BenchmarkCheck10k(b *testing.B) {
	for _, unknownPct := range []int{2, 10} {
		for _, violation := range []bool{false, true} {
			name := fmt.Sprintf("unknown=%d%%/linearizable", unknownPct)
			if violation {
				name = fmt.Sprintf("unknown=%d%%/violation", unknownPct)
			}
			b.Run(name, func(b *testing.B) {
				cfg := benchConfig
				cfg.UnknownPct = unknownPct
				g := generate(b, randSource{newRand(1)}, cfg)
				want := Linearizable
				if violation {
					want = NotLinearizable
					for i := len(g.ops) * 3 / 4; i >= 0; i-- {
						if !g.ops[i].Unknown && g.ops[i].Input.Op == kv.OpGet {
							g.ops[i].Output = read("zz;")
							break
						}
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					if res := Check(g.ops, DefaultBudget()); res.Verdict != want {
						b.Fatalf("verdict %v, failing %v, unchecked %v", res.Verdict, res.FailingKeys, res.UncheckedKeys)
					}
				}
			})
		}
	}
}

// BenchmarkCheckLength shows what a check costs per operation as a history
// grows, 4 keys from 12 clients with 2% unknown outcomes: the segmented
// Check, and porcupine over each key's whole history (what Check did
// before it cut histories), whose cost per operation grows with the
// length. Porcupine is left out beyond 40k operations (minutes).
func BenchmarkCheckLength(b *testing.B) {
	for _, n := range []int{10_000, 40_000, 160_000} {
		g := generate(b, randSource{newRand(5)}, genConfig{Ops: n, Keys: 4, Clients: 12, MaxDelay: 60, UnknownPct: 2})
		b.Run(fmt.Sprintf("ops=%d/segmented", n), func(b *testing.B) {
			var res Result
			for b.Loop() {
				res = Check(g.ops, DefaultBudget())
			}
			if res.Verdict != Linearizable {
				b.Fatalf("verdict %v", res.Verdict)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/history-op")
			b.ReportMetric(float64(res.Steps)/float64(n), "steps/history-op")
		})
		if n > 40_000 {
			continue
		}
		b.Run(fmt.Sprintf("ops=%d/porcupine", n), func(b *testing.B) {
			for b.Loop() {
				if failing := unsegmented(g.ops); len(failing) > 0 {
					b.Fatalf("porcupine: %v failing", failing)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/history-op")
		})
	}
}
