package model

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
)

var faults = []Annotation{
	{Start: 5, End: 25, Description: "crash", Node: "n1"},
	{Start: 25, End: 25, Description: "restart", Node: "n1"},
	{Start: 0, End: 40, Description: "partition n1,n2 | n3"},
}

func TestWriteVisualizationShowsHistoryAndFaults(t *testing.T) {
	t.Parallel()
	res := Check([]history.Operation{
		done(1, 0, 10, put("x", "a"), createdKey),
		lost(2, 3, appendc("x", "b")),
		done(2, 20, 30, get("x"), read("zzz")),
		done(1, 20, 30, get("y"), absent),
	}, DefaultBudget())
	require.Equal(t, NotLinearizable, res.Verdict)

	var buf bytes.Buffer
	require.NoError(t, WriteVisualization(&buf, res, names, faults))
	html := buf.String()
	assert.Contains(t, html, "<html")
	for _, want := range []string{
		`put(x, \"a\") -\u003e was absent`,
		`append(x, \"b\") -\u003e ? (unknown outcome)`,
		`get(x) -\u003e \"zzz\"`,
		`get(y) -\u003e absent`, // every key
		`"Tag":"node n1"`, `"Description":"crash"`, `"Description":"restart"`,
		`"Tag":"cluster"`, `"Description":"partition n1,n2 | n3"`,
		`end of history for x`,
		`c2 seq 21, 1 attempt(s), history.json index 2`, // the run's names
	} {
		assert.True(t, strings.Contains(html, want), "page lacks %s", want)
	}
}

// names are a run's names for the test clients: client id 1 is c1.
var names = Naming{
	Name: func(id uint64) string { return fmt.Sprintf("c%d", id) },
	Row:  func(id uint64) int { return int(id) },
}

// A long failing history is drawn around its failure only: the failing
// key, in a window, starting from the state before it.
func TestWriteFocusedVisualizationDrawsTheFailureOnly(t *testing.T) {
	t.Parallel()
	g := generate(t, randSource{newRand(3)}, genConfig{Ops: 3000, Keys: 6, Clients: 4, MaxDelay: 30, UnknownPct: 2})
	victim := -1
	for i, op := range g.ops {
		if !op.Unknown && op.Input.Op == kv.OpGet && op.Input.Key == "k4" && i > 2000 {
			victim = i
			break
		}
	}
	require.GreaterOrEqual(t, victim, 0)
	g.ops[victim].Output = read("zz;")
	res := Check(g.ops, DefaultBudget())
	require.Equal(t, []string{"k4"}, res.FailingKeys)
	cs := res.Conflicts()
	require.Len(t, cs, 1)
	require.Equal(t, victim, cs[0].Blocked)

	v := g.ops[victim]
	var buf bytes.Buffer
	got, err := WriteFocusedVisualization(&buf, res, Focus{Conflict: cs[0], From: v.Call - 50, To: v.Return + 50, Naming: names},
		append(faults, Annotation{Start: 0, End: 1, Description: "long before", Node: "n2"}))
	require.NoError(t, err)
	assert.False(t, got.Whole || got.Skipped, "%+v", got)
	assert.Positive(t, got.Ops)
	assert.Less(t, got.Ops, 100, "a window, not the key's history")
	html := buf.String()
	for _, want := range []string{`\"zz;\"`, fmt.Sprintf("history.json index %d", victim)} {
		assert.True(t, strings.Contains(html, want), "page lacks %s", want)
	}
	for _, other := range []string{"get(k0)", "get(k1)", "get(k2)", "get(k3)", "get(k5)", "long before"} {
		assert.False(t, strings.Contains(html, other), "page shows %s, outside the failing key and window", other)
	}
}

func TestPorcupineAnnotations(t *testing.T) {
	t.Parallel()
	got := PorcupineAnnotations([]Annotation{
		{Start: 10, End: 5, Description: "Kill -9", Node: "n2"},
		{Start: 1, End: 9, Description: "quiet"},
	})
	require.Len(t, got, 2)
	assert.Equal(t, "node n2", got[0].Tag)
	assert.Equal(t, int64(10), got[0].End, "an end before the start is a point in time")
	assert.Equal(t, "#ff9191", got[0].BackgroundColor)
	assert.Equal(t, "Kill -9 on n2, from 10 to 10", got[0].Details)
	assert.Equal(t, porcupine.Annotation{
		Tag: ClusterTag, Start: 1, End: 9, Description: "quiet",
		Details: "quiet on the cluster, from 1 to 9", BackgroundColor: "#e0e0e0",
	}, got[1])
}

// A Result nobody filled in still writes a (blank) page, and an empty
// history with annotations shows the annotations.
func TestWriteVisualizationEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, WriteVisualization(&buf, Result{}, Naming{}, nil))
	assert.Contains(t, buf.String(), "<html")
	buf.Reset()
	require.NoError(t, WriteVisualization(&buf, Check(nil, Budget{}), names, faults))
	assert.Contains(t, buf.String(), `"Description":"crash"`)
}
