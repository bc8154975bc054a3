package cluster_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

func TestWireDescribesEachMessage(t *testing.T) {
	m := raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 4, Index: 17, Entries: []raftpb.Entry{{Term: 4, Index: 18}}}
	raft := kv.WithTag(kv.TagRaft, m.Marshal())
	tests := []struct {
		b    []byte
		want sim.MsgInfo
		name string
	}{
		{raft, sim.MsgInfo{Type: cluster.RaftType(raftpb.MsgApp), Term: 4, Index: 17}, "app"},
		{kv.WithTag(kv.TagRequest, []byte{1, 2}), sim.MsgInfo{Type: cluster.TypeRequest}, "request"},
		{kv.WithTag(kv.TagResponse, nil), sim.MsgInfo{Type: cluster.TypeResponse}, "response"},
		{nil, sim.MsgInfo{}, ""},
		{[]byte("x"), sim.MsgInfo{}, ""},
		{raft[:4], sim.MsgInfo{}, ""},
	}
	for _, tt := range tests {
		got := cluster.Wire{}.Describe(tt.b)
		assert.Equal(t, tt.want, got, "%q", tt.b)
		assert.Equal(t, tt.name, cluster.TypeName(got.Type))
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { cluster.Wire{}.Describe(raft) }))
}

func TestTypeNamesRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range cluster.Types() {
		name := cluster.TypeName(typ)
		require.NotEmpty(t, name)
		assert.False(t, seen[name], "%s named twice", name)
		seen[name] = true
		back, ok := cluster.ParseType(name)
		assert.True(t, ok, name)
		assert.Equal(t, typ, back, name)
	}
	assert.True(t, cluster.IsResponse(cluster.RaftType(raftpb.MsgVoteResp)))
	assert.False(t, cluster.IsResponse(cluster.RaftType(raftpb.MsgVote)))
	assert.True(t, cluster.IsResponse(cluster.TypeResponse))
	assert.False(t, cluster.IsRaft(cluster.TypeRequest))
	_, ok := cluster.ParseType("MsgApp")
	assert.False(t, ok)
}

// A cluster's trace records each message's type, term and index, and the
// exported trace names the type.
func TestTraceRecordsMessageTypes(t *testing.T) {
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 4, Link: lan, Trace: sim.TraceFull})
	require.NoError(t, err)
	c, err := cluster.New(w, cluster.Config{Servers: 3, Clients: 1, Workload: client.DefaultWorkload()})
	require.NoError(t, err)
	c.StartLoad()
	w.RunFor(2 * time.Second)

	counts := map[string]int{}
	w.Trace().Each(func(_ uint64, e *sim.Event) bool {
		if e.Kind == sim.KindSend {
			counts[cluster.TypeName(e.MsgType)]++
			if e.MsgType == cluster.RaftType(raftpb.MsgApp) {
				assert.NotZero(t, e.Term)
			}
		}
		return true
	})
	for _, name := range []string{"prevote", "vote", "vote-resp", "app", "app-resp", "heartbeat", "request", "response"} {
		assert.NotZero(t, counts[name], "no %s sent: %v", name, counts)
	}
	assert.Zero(t, counts[""], "undescribed messages: %v", counts)

	var b bytes.Buffer
	require.NoError(t, w.Trace().WriteJSONL(&b))
	apps := 0
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var je sim.JSONEvent
		require.NoError(t, json.Unmarshal([]byte(line), &je))
		if je.Type == "app" && je.Kind == "deliver" {
			apps++
			assert.NotZero(t, je.Term, line)
		}
	}
	assert.NotZero(t, apps)
}
