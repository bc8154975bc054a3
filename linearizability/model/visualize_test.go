package model

import (
	"bytes"
	"fmt"
	"testing"
	"time"

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
	}, 10*time.Second)
	require.Equal(t, NotLinearizable, res.Verdict)

	var buf bytes.Buffer
	require.NoError(t, WriteVisualization(&buf, res, faults))
	html := buf.String()
	assert.Contains(t, html, "<html")
	for _, want := range []string{
		`put(x, \"a\") -\u003e was absent`,
		`append(x, \"b\") -\u003e ? (unknown outcome)`,
		`get(x) -\u003e \"zzz\"`,
		`get(y) -\u003e absent`, // small history: every key
		`"Tag":"node n1"`, `"Description":"crash"`, `"Description":"restart"`,
		`"Tag":"cluster"`, `"Description":"partition n1,n2 | n3"`,
		`end of history for x`,
	} {
		assert.Contains(t, html, want)
	}
}

func TestWriteVisualizationFocusesLargeFailingHistories(t *testing.T) {
	t.Parallel()
	g := generate(t, randSource{newRand(3)}, genConfig{Ops: FocusAbove + 500, Keys: 6, Clients: 4, MaxDelay: 30, UnknownPct: 2})
	victim := -1
	for i, op := range g.ops {
		if !op.Unknown && op.Input.Op == kv.OpGet && op.Input.Key == "k4" {
			victim = i
		}
	}
	require.GreaterOrEqual(t, victim, 0)
	g.ops[victim].Output = read("zz;")
	res := Check(g.ops, time.Minute)
	require.Equal(t, []string{"k4"}, res.FailingKeys)

	var buf bytes.Buffer
	require.NoError(t, WriteVisualization(&buf, res, faults))
	html := buf.String()
	assert.Contains(t, html, "get(k4)")
	assert.Contains(t, html, `\"zz;\"`)
	for _, other := range []string{"k0", "k1", "k2", "k3", "k5"} {
		assert.NotContains(t, html, fmt.Sprintf("get(%s)", other))
	}
	assert.Contains(t, html, `"Description":"crash"`)
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
	require.NoError(t, WriteVisualization(&buf, Result{}, nil))
	assert.Contains(t, buf.String(), "<html")
	buf.Reset()
	require.NoError(t, WriteVisualization(&buf, Check(nil, 0), faults))
	assert.Contains(t, buf.String(), `"Description":"crash"`)
}
