package model

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

// Builders for hand-written histories.

func get(k string) kv.Command        { return kv.Command{Op: kv.OpGet, Key: k} }
func put(k, v string) kv.Command     { return kv.Command{Op: kv.OpPut, Key: k, Value: v} }
func appendc(k, v string) kv.Command { return kv.Command{Op: kv.OpAppend, Key: k, Value: v} }
func cas(k, exp, v string) kv.Command {
	return kv.Command{Op: kv.OpCAS, Key: k, Expected: exp, Value: v}
}

// Results: what a read saw, what a write replaced.
var absent = kv.Result{}

func read(v string) kv.Result      { return kv.Result{Value: v, Found: true} }
func replaced(v string) kv.Result  { return kv.Result{Value: v, Found: true, Applied: true} }
func casFailed(v string) kv.Result { return kv.Result{Value: v, Found: true} }

var createdKey = kv.Result{Applied: true} // a write to an absent key

// done is a completed operation by client c over [call, ret].
func done(c uint64, call, ret int64, cmd kv.Command, out kv.Result) history.Operation {
	cmd.ClientID, cmd.Seq = c, uint64(call)+1
	return history.Operation{ClientID: c, Seq: cmd.Seq, Input: cmd, Output: out, Call: call, Return: ret, Attempts: 1}
}

// lost is an operation by client c, called at call, whose outcome is
// unknown. Its recorded output and return are junk on purpose.
func lost(c uint64, call int64, cmd kv.Command) history.Operation {
	op := done(c, call, call+1, cmd, kv.Result{Value: "junk", Found: true})
	op.Unknown = true
	return op
}

func TestCheckAcceptsLinearizableHistories(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ops  []history.Operation
	}{
		{"empty history", nil},
		{"sequential put, get, append, cas", []history.Operation{
			done(1, 0, 1, put("x", "a"), createdKey),
			done(1, 2, 3, get("x"), read("a")),
			done(1, 4, 5, appendc("x", "b"), replaced("a")),
			done(1, 6, 7, get("x"), read("ab")),
			done(1, 8, 9, cas("x", "ab", "c"), replaced("ab")),
			done(1, 10, 11, cas("x", "zz", "d"), casFailed("c")),
			done(1, 12, 13, get("x"), read("c")),
		}},
		{"reads overlapping a put may see either side", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 1, 5, get("x"), absent),
			done(3, 2, 8, get("x"), read("a")),
		}},
		{"reads overlapping a slow put", []history.Operation{
			done(1, 0, 100, put("x", "a"), createdKey),
			done(2, 10, 20, get("x"), read("a")),
			done(3, 5, 200, get("x"), read("a")),
			done(4, 1, 15, get("x"), absent),
		}},
		{"concurrent puts, reads agree on one order", []history.Operation{
			done(1, 0, 10, put("x", "a"), replaced("b")),
			done(2, 0, 10, put("x", "b"), createdKey),
			done(3, 20, 30, get("x"), read("a")),
			done(2, 31, 40, get("x"), read("a")),
		}},
		{"intervals are closed: touching operations are concurrent", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 10, 20, get("x"), absent),
		}},
		{"append creates the key", []history.Operation{
			done(1, 0, 1, appendc("x", "a"), createdKey),
			done(1, 2, 3, appendc("x", "b"), replaced("a")),
			done(1, 4, 5, get("x"), read("ab")),
		}},
		{"concurrent appends in either order", []history.Operation{
			done(1, 0, 10, appendc("x", "a;"), replaced("b;")),
			done(2, 0, 10, appendc("x", "b;"), createdKey),
			done(3, 20, 30, get("x"), read("b;a;")),
		}},
		{"cas with expected empty creates an absent key", []history.Operation{
			done(1, 0, 1, cas("x", "", "a"), createdKey),
			done(1, 2, 3, get("x"), read("a")),
		}},
		{"cas with expected empty matches a key holding empty", []history.Operation{
			done(1, 0, 1, put("x", ""), createdKey),
			done(1, 2, 3, cas("x", "", "a"), replaced("")),
			done(1, 4, 5, get("x"), read("a")),
		}},
		{"failed cas reports the value it found and writes nothing", []history.Operation{
			done(1, 0, 1, put("x", "a"), createdKey),
			done(2, 2, 3, cas("x", "b", "c"), casFailed("a")),
			done(1, 4, 5, get("x"), read("a")),
		}},
		{"failed cas on an absent key", []history.Operation{
			done(1, 0, 1, cas("x", "b", "c"), absent),
			done(1, 2, 3, get("x"), absent),
		}},
		{"concurrent cas race: one wins, one fails", []history.Operation{
			done(1, 0, 1, put("x", "a"), createdKey),
			done(2, 10, 20, cas("x", "a", "b"), casFailed("c")),
			done(3, 10, 20, cas("x", "a", "c"), replaced("a")),
			done(1, 30, 40, get("x"), read("c")),
		}},
		{"put of empty value makes the key exist", []history.Operation{
			done(1, 0, 1, put("x", ""), createdKey),
			done(1, 2, 3, get("x"), read("")),
		}},
		{"unknown write that took effect", []history.Operation{
			lost(1, 0, put("x", "a")),
			done(2, 10, 20, get("x"), read("a")),
		}},
		{"unknown write that never took effect", []history.Operation{
			lost(1, 0, put("x", "a")),
			done(2, 10, 20, get("x"), absent),
			done(2, 30, 40, get("x"), absent),
		}},
		{"unknown write taking effect after a later completed write", []history.Operation{
			lost(1, 0, put("x", "a")),
			done(2, 5, 10, put("x", "b"), createdKey),
			done(3, 20, 30, get("x"), read("b")),
			done(3, 40, 50, get("x"), read("a")),
		}},
		{"unknown append takes effect once", []history.Operation{
			done(1, 0, 1, put("x", "a"), createdKey),
			lost(1, 2, appendc("x", "b")),
			done(2, 10, 20, get("x"), read("ab")),
		}},
		{"unknown cas that succeeded", []history.Operation{
			done(1, 0, 1, put("x", "a"), createdKey),
			lost(1, 2, cas("x", "a", "b")),
			done(2, 10, 20, get("x"), read("b")),
		}},
		{"stale result recorded as known is checked as unknown", []history.Operation{
			done(1, 0, 10, put("x", "a"), kv.Result{Stale: true}),
			done(2, 20, 30, get("x"), absent),
		}},
		{"keys are independent", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 0, 10, put("y", "b"), createdKey),
			done(1, 20, 30, get("y"), read("b")),
			done(2, 20, 30, get("x"), read("a")),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := Check(tc.ops, DefaultBudget())
			assert.Equal(t, Linearizable, res.Verdict)
			assert.Empty(t, res.FailingKeys)
			assert.Empty(t, res.UncheckedKeys)
			assert.Equal(t, len(tc.ops), res.Ops)
		})
	}
}

func TestCheckRejectsNonLinearizableHistories(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ops     []history.Operation
		failing []string
	}{
		{"stale read: old value after a newer write completed", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(1, 20, 30, put("x", "b"), replaced("a")),
			done(2, 40, 50, get("x"), read("a")),
		}, []string{"x"}},
		{"stale read of the initial absence", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, get("x"), absent),
		}, []string{"x"}},
		{"lost write: a later read sees the value before it", []history.Operation{
			done(1, 0, 10, appendc("x", "a;"), createdKey),
			done(2, 20, 30, appendc("x", "b;"), replaced("a;")),
			done(3, 40, 50, get("x"), read("a;")),
		}, []string{"x"}},
		{"lost write: visible, then gone", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, get("x"), read("a")),
			done(3, 40, 50, get("x"), absent),
		}, []string{"x"}},
		{"append applied twice", []history.Operation{
			done(1, 0, 10, appendc("x", "a;"), createdKey),
			done(2, 20, 30, get("x"), read("a;a;")),
		}, []string{"x"}},
		{"unknown append applied twice", []history.Operation{
			lost(1, 0, appendc("x", "a;")),
			done(2, 20, 30, get("x"), read("a;a;")),
		}, []string{"x"}},
		{"read of a value never written", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, get("x"), read("zzz")),
		}, []string{"x"}},
		{"cas reports success though expected was not current", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, cas("x", "b", "c"), replaced("a")),
		}, []string{"x"}},
		{"cas success visible though expected was not current", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, cas("x", "b", "c"), replaced("b")),
			done(3, 40, 50, get("x"), read("c")),
		}, []string{"x"}},
		{"cas reports failure though expected was current", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, cas("x", "a", "c"), casFailed("a")),
		}, []string{"x"}},
		{"put reports a wrong previous value", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 20, 30, put("x", "b"), replaced("zzz")),
		}, []string{"x"}},
		{"put reports not applied", []history.Operation{
			done(1, 0, 10, put("x", "a"), absent),
		}, []string{"x"}},
		{"get of an absent key reports found", []history.Operation{
			done(1, 0, 10, get("x"), read("")),
		}, []string{"x"}},
		{"get after a put of empty reports absent", []history.Operation{
			done(1, 0, 10, put("x", ""), createdKey),
			done(1, 20, 30, get("x"), absent),
		}, []string{"x"}},
		{"unknown write cannot take effect before its call", []history.Operation{
			done(2, 0, 10, get("x"), read("a")),
			lost(1, 20, put("x", "a")),
		}, []string{"x"}},
		{"only the bad key fails", []history.Operation{
			done(1, 0, 10, put("x", "a"), createdKey),
			done(2, 0, 10, put("y", "b"), createdKey),
			done(1, 20, 30, get("x"), read("a")),
			done(2, 20, 30, get("y"), absent),
		}, []string{"y"}},
		{"several bad keys, sorted", []history.Operation{
			done(1, 0, 10, put("b", "1"), createdKey),
			done(1, 0, 10, put("a", "1"), createdKey),
			done(1, 0, 10, put("c", "1"), createdKey),
			done(2, 20, 30, get("b"), absent),
			done(2, 20, 30, get("c"), read("1")),
			done(2, 20, 30, get("a"), read("2")),
		}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// With the default budget and with none.
			for _, budget := range []Budget{DefaultBudget(), {}} {
				res := Check(tc.ops, budget)
				assert.Equal(t, NotLinearizable, res.Verdict, "budget %v", budget)
				assert.Equal(t, tc.failing, res.FailingKeys, "budget %v", budget)
				assert.Empty(t, res.UncheckedKeys, "budget %v", budget)
				require.Len(t, res.Failures, len(tc.failing))
				for i, f := range res.Failures {
					assert.Equal(t, tc.failing[i], f.Key)
					assert.NotEmpty(t, f.Ops)
					assert.LessOrEqual(t, f.From, f.To)
				}
			}
		})
	}
}

// An unknown outcome is what makes a suspicious history linearizable: the
// same reads, with the write recorded as unknown, pass; with the write
// dropped (or treated as failed, i.e. never happened) they do not.
func TestUnknownOutcomeExplainsSuspiciousHistory(t *testing.T) {
	t.Parallel()
	reads := []history.Operation{
		done(2, 10, 20, get("x"), absent),
		done(3, 30, 40, put("x", "b"), createdKey),
		done(2, 50, 60, get("x"), read("b")),
		done(2, 70, 80, get("x"), read("a")),
		done(3, 90, 95, appendc("x", "c"), replaced("a")),
	}
	withUnknown := append([]history.Operation{lost(1, 0, put("x", "a"))}, reads...)
	res := Check(withUnknown, DefaultBudget())
	assert.Equal(t, Linearizable, res.Verdict, "the unknown put may land between 60 and 70")
	assert.Equal(t, 1, res.UnknownOps)

	res = Check(reads, DefaultBudget())
	assert.Equal(t, NotLinearizable, res.Verdict, "without the put, \"a\" was never written")
	assert.Equal(t, []string{"x"}, res.FailingKeys)

	// Recording it as completed at its "return" is wrong too: it cannot
	// then land after the put of "b".
	asDone := withUnknown[0]
	asDone.Unknown, asDone.Output = false, createdKey
	res = Check(append([]history.Operation{asDone}, reads...), DefaultBudget())
	assert.Equal(t, NotLinearizable, res.Verdict)
}

func TestCheckCounts(t *testing.T) {
	t.Parallel()
	res := Check([]history.Operation{
		done(7, 0, 10, put("x", "a"), createdKey),
		lost(9, 5, put("y", "b")),
		done(9, 20, 30, get("x"), kv.Result{Stale: true}),
		done(7, 20, 30, get("z"), absent),
	}, Budget{})
	assert.Equal(t, Linearizable, res.Verdict)
	assert.Equal(t, 4, res.Ops)
	assert.Equal(t, 3, res.Keys)
	assert.Equal(t, 2, res.UnknownOps)
	assert.Equal(t, 1, res.StaleOps)
}

func TestOperationsConversion(t *testing.T) {
	t.Parallel()
	ops := Operations([]history.Operation{
		done(40, 0, 10, put("x", "a"), createdKey),
		lost(7, 5, put("y", "b")),
		done(7, 30, 20, get("x"), read("a")), // returns before its call
	})
	require.Len(t, ops, 5)
	assert.Equal(t, []int{1, 0, 0}, []int{ops[0].ClientId, ops[1].ClientId, ops[2].ClientId}, "dense client ranks")
	assert.Equal(t, Infinity, ops[1].Return, "unknown returns at infinity")
	assert.Equal(t, Output{Result: kv.Result{Value: "junk", Found: true}, Unknown: true}, ops[1].Output)
	assert.Equal(t, int64(30), ops[2].Return, "clamped to its call")
	assert.Equal(t, int64(10), ops[0].Return)
	for i, k := range []string{"x", "y"} {
		end := ops[3+i]
		assert.Equal(t, EndMarker{Key: k}, end.Input, "one marker per key, in key order")
		assert.Equal(t, int64(31), end.Call, "one past the last call or known return")
		assert.Equal(t, int64(31), end.Return)
		assert.Equal(t, 2, end.ClientId, "a row of its own")
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	var zero Verdict
	assert.Equal(t, Unknown, zero, "the zero verdict is never a pass")
	assert.Equal(t, "unknown", Unknown.String())
	assert.Equal(t, "linearizable", Linearizable.String())
	assert.Equal(t, "not-linearizable", NotLinearizable.String())
	assert.Equal(t, "verdict(9)", Verdict(9).String())
}

// A check that runs out of budget is Unknown, never a pass, and names the
// keys it did not finish; the same history and budget give the same
// verdict every time.
func TestBudgetIsUnknownAndDeterministic(t *testing.T) {
	t.Parallel()
	g := generate(t, randSource{newRand(7)}, benchConfig)
	full := Check(g.ops, Budget{})
	require.Equal(t, Linearizable, full.Verdict)
	res := Check(g.ops, Budget{Base: 1})
	assert.Equal(t, Unknown, res.Verdict)
	assert.Empty(t, res.FailingKeys)
	assert.Len(t, res.UncheckedKeys, res.Keys)
	assert.IsNonDecreasing(t, res.UncheckedKeys)

	// A budget that suffices for some keys and not others, found from the
	// steps the unbounded check took.
	perKey := full.Steps / int64(full.Keys)
	for range 3 {
		again := Check(g.ops, Budget{Base: perKey})
		assert.Equal(t, Check(g.ops, Budget{Base: perKey}), again)
		assert.NotEmpty(t, again.UncheckedKeys)
		assert.Less(t, len(again.UncheckedKeys), again.Keys)
	}
	assert.Equal(t, Linearizable, Check(g.ops, DefaultBudget()).Verdict)
}
