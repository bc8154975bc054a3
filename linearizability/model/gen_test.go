package model

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// source is where the generator draws from: rapid (so failures shrink) or a
// seeded rand (for the benchmark's large histories).
type source interface{ intn(n int, label string) int }

type rapidSource struct{ t *rapid.T }

func (s rapidSource) intn(n int, label string) int { return rapid.IntRange(0, n-1).Draw(s.t, label) }

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int, _ string) int { return s.r.IntN(n) }

type genConfig struct {
	Ops, Keys, Clients int
	// MaxDelay bounds how far before (call) and after (return) its
	// linearization point an operation's interval reaches. Linearization
	// points are 10 apart, so operations overlap once it is above 10.
	MaxDelay   int
	UnknownPct int // percent of operations with an unknown outcome
}

const spacing = 10 // virtual time between consecutive linearization points

// generated is a history produced by running the reference kv.Store in a
// known linearization order.
type generated struct {
	ops []history.Operation
	// writer maps each written token to the index of the op that writes
	// it. Every put, append and CAS writes a fresh token ("p12;", "a7;",
	// "c3;"), so a key's value is a list of tokens and never repeats.
	writer map[string]int
}

// generate runs random commands through kv.Store, one at a time, in the
// order they are generated; op i is linearized at spacing*(i+1), and its
// call and return are drawn around that point (never overlapping the same
// client's previous or next operation), so the history is linearizable by
// construction. An op with an unknown outcome takes effect at its point or
// not at all, and carries a garbage output.
func generate(t require.TestingT, src source, cfg genConfig) generated {
	store := kv.New()
	g := generated{writer: map[string]int{}}
	cur := map[string]string{} // the key's value, only to aim CAS well
	seq := make([]uint64, cfg.Clients)
	var tokens []string
	clients := make([]int, cfg.Ops)
	for i := range cfg.Ops {
		c := src.intn(cfg.Clients, "client")
		clients[i] = c
		key := fmt.Sprintf("k%d", src.intn(cfg.Keys, "key"))
		seq[c]++
		cmd := kv.Command{ClientID: uint64(c + 1), Seq: seq[c], Key: key}
		switch kind := src.intn(11, "kind"); {
		case kind < 3:
			cmd.Op, cmd.Value = kv.OpPut, fmt.Sprintf("p%d;", i)
		case kind < 7:
			cmd.Op = kv.OpGet
		case kind < 9:
			cmd.Op, cmd.Value = kv.OpAppend, fmt.Sprintf("a%d;", i)
		default:
			cmd.Op, cmd.Value = kv.OpCAS, fmt.Sprintf("c%d;", i)
			switch src.intn(3, "cas expected") {
			case 0:
				cmd.Expected = cur[key]
			case 1:
				cmd.Expected = ""
			default:
				if len(tokens) > 0 {
					cmd.Expected = tokens[src.intn(len(tokens), "cas old token")]
				}
			}
		}
		if cmd.Value != "" {
			g.writer[cmd.Value] = i
			tokens = append(tokens, cmd.Value)
		}
		op := history.Operation{ClientID: cmd.ClientID, Seq: cmd.Seq, Input: cmd, Attempts: 1}
		op.Unknown = src.intn(100, "unknown") < cfg.UnknownPct
		if !op.Unknown || src.intn(2, "unknown took effect") == 0 {
			res, err := store.Apply(store.AppliedIndex()+1, cmd.Encode())
			require.NoError(t, err)
			if !op.Unknown {
				op.Output = res
			}
			switch {
			case cmd.Op == kv.OpPut, cmd.Op == kv.OpCAS && res.Applied:
				cur[key] = cmd.Value
			case cmd.Op == kv.OpAppend:
				cur[key] += cmd.Value
			}
		}
		if op.Unknown {
			// Whatever the recorder left there must not matter.
			op.Output = kv.Result{Value: "garbage;", Found: src.intn(2, "garbage found") == 0, Applied: src.intn(2, "garbage applied") == 0}
		}
		g.ops = append(g.ops, op)
	}

	// Times: call in [lin-MaxDelay, lin], return in [lin, lin+MaxDelay],
	// squeezed so a client's operations never overlap.
	nextLin := make([]int64, cfg.Ops)
	following := make([]int64, cfg.Clients)
	for i := range following {
		following[i] = -1
	}
	for i := cfg.Ops - 1; i >= 0; i-- {
		nextLin[i] = following[clients[i]]
		following[clients[i]] = spacing * int64(i+1)
	}
	lastReturn := make([]int64, cfg.Clients)
	for i := range lastReturn {
		lastReturn[i] = -1 << 40
	}
	for i := range g.ops {
		c := clients[i]
		lin := spacing * int64(i+1)
		call := max(lin-int64(src.intn(cfg.MaxDelay+1, "call delay")), lastReturn[c]+1)
		ret := lin + int64(src.intn(cfg.MaxDelay+1, "return delay"))
		if nextLin[i] >= 0 {
			ret = min(ret, nextLin[i]-1)
		}
		g.ops[i].Call, g.ops[i].Return = call, ret
		lastReturn[c] = ret
	}
	return g
}

// written reports whether op writes its token when it executes (or, for
// an unknown op, would): put and append always, CAS when it succeeded.
func written(op history.Operation) bool {
	switch op.Input.Op {
	case kv.OpPut, kv.OpAppend:
		return true
	case kv.OpCAS:
		return op.Output.Applied
	}
	return false
}

// staleCandidate is a completed get g and a value it provably cannot read.
type staleCandidate struct {
	get   int
	value kv.Result // Value and Found only
}

// staleCandidates lists, for each completed get g, the values the key held
// just before a known write W that completed before g was called, when no
// linearization can bring that value back by g's time. Values are lists of
// unique tokens and nothing writes "", so after W the key exists, is not
// empty, and either still contains W's token or starts with the token of a
// put or CAS linearized after W (appends only extend). A value without W's
// token (the one before W has none) is therefore only readable again if it
// starts with the token of a put or CAS that can be linearized after W:
// excluded when that writer completed before W was called. An absent key
// is never readable after W.
func staleCandidates(g generated) []staleCandidate {
	var out []staleCandidate
	for gi, get := range g.ops {
		if get.Unknown || get.Input.Op != kv.OpGet {
			continue
		}
		for _, w := range g.ops {
			if w.Unknown || !written(w) || w.Input.Key != get.Input.Key || w.Return >= get.Call {
				continue
			}
			prev := kv.Result{Value: w.Output.Value, Found: w.Output.Found}
			if prev.Found {
				first, _, ok := strings.Cut(prev.Value, ";")
				if !ok {
					continue // not a token list; cannot reason about it
				}
				a := g.ops[g.writer[first+";"]]
				if a.Input.Op != kv.OpAppend && (a.Unknown || a.Return >= w.Call) {
					continue
				}
			}
			out = append(out, staleCandidate{get: gi, value: prev})
		}
	}
	return out
}
