package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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
					if res := Check(g.ops, time.Minute); res.Verdict != want {
						b.Fatalf("verdict %v, failing %v, unchecked %v", res.Verdict, res.FailingKeys, res.UncheckedKeys)
					}
				}
			})
		}
	}
}
