package scenarios_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
)

const classic = `servers 5
clients 3
clients 2 on n1,n2
clients 2 on leader,leader+1 from 3s until 6s
value-size 1000..5000
faults-until 8s
at 3s partition leader,leader+1 | leader+2,leader+3,leader+4 until 6s
at 7s kill not-leader until 7500ms
expect same-term at 5s
expect committed 10 on 3 by 5s
expect logs-equal
expect messages <= 60 from 5s to 6s
expect rpcs type=vote,prevote <= 30 from 0s to 500ms
expect bytes <= 50000 from 1s to 2s
expect rpcs type=heartbeat >= 10 from 1s to 2s
expect ops clients=c6,c7 type=get,put <= 0 from 3s to 6s
`

// Every new command and expectation parses to what it says, and Script
// writes it back to the same scenario.
func TestParseClassicCommands(t *testing.T) {
	s := mustParse(t, classic)
	assert.Equal(t, 3, s.Clients)
	assert.Equal(t, []cluster.ClientGroup{
		{Count: 2, Servers: []int{1, 2}},
		{Count: 2, Servers: []int{faults.RefLeader, faults.LeaderPlus(1)}, From: 3 * time.Second, Until: 6 * time.Second},
	}, s.ClientGroups)
	assert.Equal(t, 1000, s.Workload.ValueMin)
	assert.Equal(t, 5000, s.Workload.ValueMax)
	assert.Equal(t, [][]int{{faults.RefLeader, faults.LeaderPlus(1)}, {faults.LeaderPlus(2), faults.LeaderPlus(3), faults.LeaderPlus(4)}}, s.Faults[0].Groups)
	assert.Equal(t, []int{faults.RefNotLeader}, s.Faults[1].Nodes)
	require.Len(t, s.Expect, 8)
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectSameTerm, At: 5 * time.Second}, s.Expect[0])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectCommitted, Index: 10, Count: 3, At: 5 * time.Second}, s.Expect[1])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectLogsEqual}, s.Expect[2])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectRPCs, Types: []string{"vote", "prevote"}, Bound: 30, To: 500 * time.Millisecond}, s.Expect[4])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectRPCs, Types: []string{"heartbeat"}, AtLeast: true, Bound: 10,
		From: time.Second, To: 2 * time.Second}, s.Expect[6])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectOps, Clients: []int{6, 7}, Types: []string{"get", "put"},
		Bound: 0, From: 3 * time.Second, To: 6 * time.Second}, s.Expect[7])

	again := mustParse(t, s.Script())
	assert.Equal(t, s, again, s.Script())
	assert.Contains(t, s.Script(), "clients 2 on leader,leader+1 from 3s until 6s\n")
	assert.Contains(t, s.Script(), "value-size 1000..5000\n")
	assert.Contains(t, s.Script(), "expect ops clients=c6,c7 type=get,put <= 0 from 3s to 6s\n")

	opts := s.Options(1)
	assert.Equal(t, 7, opts.AllClients())
	assert.NoError(t, opts.Validate())
}

func TestParseClassicErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"value-size 0", `t.scn:1:12: 0 out of range; expected a value size in bytes in 1..65536`},
		{"value-size 5..4", `t.scn:1:12: value-size "5..4": maximum below minimum; expected MIN..MAX like 1000..5000`},
		{"value-size 100000", `t.scn:1:12: 100000 out of range; expected a value size in bytes in 1..65536`},
		{"value-size 5 6", `t.scn:1:14: unexpected "6"; expected end of line`},
		{"clients 3\nclients 4", `t.scn:2:1: clients already set at line 1`},
		{"clients 2 at n1", `t.scn:1:11: unexpected "at"; expected "on NODES" or end of line`},
		{"clients 2 on n9", `t.scn:1:14: unknown node n9 (servers are n1..n5)`},
		{"clients 2 on leader", `t.scn:1:14: leader-relative servers need "from TIME": they are resolved then, against the leader then`},
		{"clients 2 on leader,n2 from 1s", `t.scn:1:14: mixes explicit nodes with leader-relative ones (an explicit node may be the leader)`},
		{"clients 2 on n1 from 2s until 1s", `t.scn:1:31: until 1s must be after from 2s`},
		{"clients 2 on n1 from 30s", `t.scn:1:14: from 30s is past the end of the run at 23s (faults-until 20s + drain 3s)`},
		{"clients 60\nclients 5 on n1", `t.scn:2:9: 65 clients in all; expected at most 64`},
		{"clients 2 on n1 soon", `t.scn:1:17: unexpected "soon"; expected "from TIME", "until TIME", "mix ..." or end of line`},
		{"clients 2 on n1 mix", `t.scn:1:21: expected weights like get=1 after mix`},
		{"clients 2 on n1 mix get=0", `t.scn:1:17: mix weights are all 0; expected at least one above 0`},
		{"clients 2 on n1 mix get=1 get=2", `t.scn:1:27: get weight given twice`},
		{"clients 2 on n1 mix read=1", `t.scn:1:21: bad weight "read=1"; expected put=N, get=N, append=N or cas=N`},
		{"expect same-term 5s", `t.scn:1:18: unexpected "5s"; expected "at TIME" after same-term`},
		{"expect same-term at 30s", `t.scn:1:21: time 30s is past the end of the run at 23s (faults-until 20s + drain 3s)`},
		{"expect committed 0 on 3 by 5s", `t.scn:1:18: 0 out of range; expected a log index in 1..2147483647`},
		{"expect committed 10 on 6 by 5s", `t.scn:1:24: 6 servers, but there are 5`},
		{"expect committed 10 by 5s", `t.scn:1:21: unexpected "by"; expected "on K by TIME" after the index`},
		{"expect logs-equal now", `t.scn:1:19: unexpected "now"; expected end of line`},
		{"expect messages 60 from 1s to 2s", `t.scn:1:17: unexpected "60"; expected type=TYPE,..., "<= N" or ">= N"`},
		{"expect messages < 60 from 1s to 2s", `t.scn:1:17: unexpected "<"; expected type=TYPE,..., "<= N" or ">= N"`},
		{"expect rpcs type=votes <= 3 from 1s to 2s", `t.scn:1:18: unknown message type "votes"; expected one of hup, beat, prop, app, app-resp, vote, vote-resp, prevote, prevote-resp, heartbeat, heartbeat-resp, snap, read-index, read-index-resp, timeout-now, snap-resp (counts are of messages between servers)`},
		{"expect rpcs type=request <= 3 from 1s to 2s", `t.scn:1:18: unknown message type "request"`},
		{"expect rpcs type=vote,vote <= 3 from 1s to 2s", `t.scn:1:23: type vote named twice`},
		{"expect rpcs type=vote type=app <= 3 from 1s to 2s", `t.scn:1:23: type= given twice`},
		{"expect bytes <= x from 1s to 2s", `t.scn:1:17: bad count "x"; expected a whole number`},
		{"expect bytes <= -1 from 1s to 2s", `t.scn:1:17: bad count "-1"; expected a whole number`},
		{"expect bytes <= 10 from 2s to 1s", `t.scn:1:31: to 1s must be after from 2s`},
		{"expect bytes <= 10", `t.scn:1:20: expected "from TIME to TIME" after the count`},
		{"expect messages clients=c1 <= 3 from 1s to 2s", `t.scn:1:17: unexpected "clients=c1"; expected type=TYPE,..., "<= N" or ">= N"`},
		{"expect ops clients=c9 <= 3 from 1s to 2s", `t.scn:1:20: unknown client c9 (clients are c1..c3)`},
		{"expect ops clients=x1 <= 3 from 1s to 2s", `t.scn:1:20: bad client "x1"; expected clients like c1,c4`},
		{"expect ops type=read <= 3 from 1s to 2s", `t.scn:1:17: unknown operation "read"; expected one of get, put, append, cas`},
	} {
		_, err := scenarios.Parse("t.scn", []byte(tt.src))
		if assert.Error(t, err, "%q", tt.src) {
			assert.Contains(t, err.Error(), tt.want, "%q", tt.src)
		}
	}
}

// The new expectations, judged on real runs.
func TestClassicExpectationsOnARun(t *testing.T) {
	out := runScript(t, `servers 3
server tick 10ms election-ticks 10 heartbeat-ticks 5
clients 1
clients 1 on n1
faults-until 4s
at 2s quiet until 4s
expect same-term at 1s
expect committed 5 on 3 by 2s
expect logs-equal
expect rpcs type=prevote,vote >= 1 from 0s to 1s
expect rpcs type=prevote,vote <= 0 from 2s to 4s
expect rpcs type=heartbeat >= 30 from 3s to 4s
expect messages <= 0 from 0s to 1ns
expect bytes >= 1000 from 0s to 2s
expect ops clients=c1,c2 >= 10 from 0s to 2s
expect ops <= 0 from 2500ms to 4s
`, 1)
	for _, c := range out.Checks {
		assert.True(t, c.OK && !c.Skipped, "%s", c)
	}
	// Clients bound to n1 send to n1 only.
	net := out.Result.World.Net()
	assert.NotZero(t, net.Stats(5, 1).Sent, "c2 (node 5) sends to n1")
	assert.Zero(t, net.Stats(5, 2).Sent+net.Stats(5, 3).Sent, "c2 is bound to n1")
	assert.NotZero(t, net.Stats(4, 2).Sent+net.Stats(4, 3).Sent, "c1 uses every server")
}
