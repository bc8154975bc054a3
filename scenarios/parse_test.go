package scenarios_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/scenarios"
	"github.com/seed4fee1fef/raftsim/sim"
)

func mustParse(t *testing.T, src string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse("t.scn", []byte(src))
	require.NoError(t, err)
	return s
}

func TestParseEverything(t *testing.T) {
	plant.Skip(t) // it plants bugs
	src, err := os.ReadFile(filepath.Join("testdata", "everything.scn"))
	require.NoError(t, err)
	s, err := scenarios.Parse("testdata/everything.scn", src)
	require.NoError(t, err)

	assert.Equal(t, "everything", s.Name)
	assert.Equal(t, "Every command of the language, parsed and written back", s.Description)
	assert.Equal(t, []plant.Bug{plant.BlankRestart, plant.NoHeartbeats}, s.Catches)
	assert.Equal(t, 5, s.Servers)
	assert.Equal(t, 4, s.Clients)
	assert.Equal(t, client.Workload{Keys: 8, Put: 3, Get: 4, Append: 2, CAS: 1, Think: 25 * time.Millisecond}, s.Workload)
	assert.Equal(t, sim.LinkConfig{MinLatency: 2 * time.Millisecond, MaxLatency: 6 * time.Millisecond,
		Loss: 0.01, Duplicate: 0.005, Reorder: 0.02}, s.Link)
	assert.Equal(t, scenarios.ServerTuning{TickInterval: 10 * time.Millisecond, ElectionTicks: 12, HeartbeatTicks: 3,
		MaxSizePerMsg: 4096, MaxInflightMsgs: 32}, s.Server)
	assert.Equal(t, 20*time.Second, s.FaultTime)
	assert.Equal(t, 8*time.Second, s.Settle)
	assert.Equal(t, 2*time.Second, s.Drain)
	assert.False(t, s.NoHeal)
	assert.Equal(t, plant.Of(plant.StaleLeaderReads), s.Planted)
	assert.Equal(t, &scenarios.RandomFaults{Kinds: []faults.Kind{faults.Kill, faults.Partition}, MeanGap: 800 * time.Millisecond}, s.Random)

	require.Len(t, s.Faults, 20)
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	assert.Equal(t, faults.Fault{Kind: faults.Kill, At: sec(1), Until: sec(2.5), Nodes: []int{3}}, s.Faults[0])
	assert.Equal(t, faults.Fault{Kind: faults.Partition, At: sec(3), Until: sec(5), Groups: [][]int{{1, 2}, {3, 4, 5}}}, s.Faults[2])
	assert.Equal(t, faults.Fault{Kind: faults.Quiet, At: sec(3), Until: sec(4)}, s.Faults[3], "for is relative")
	for i, at := range []float64{6, 6.5, 7} {
		assert.Equal(t, faults.Fault{Kind: faults.Pause, At: sec(at), Until: sec(at + 0.2), Leader: true}, s.Faults[4+i], "every")
	}
	assert.Equal(t, faults.Fault{Kind: faults.OneWay, At: sec(8), Until: sec(9), Groups: [][]int{{1}, {2, 3}}}, s.Faults[7])
	assert.Equal(t, faults.Fault{Kind: faults.ClockSkew, At: sec(10), Until: sec(12), Nodes: []int{2}, Delay: -1500 * time.Millisecond}, s.Faults[10])
	assert.Equal(t, faults.Fault{Kind: faults.ClockJump, At: sec(11), Until: sec(11), Nodes: []int{5}, Delay: 250 * time.Millisecond}, s.Faults[12])
	assert.Equal(t, faults.Fault{Kind: faults.Bitflip, At: sec(14), Until: sec(15), Nodes: []int{2}, Offset: 1234, Bit: 5}, s.Faults[15])
	assert.Equal(t, faults.Fault{Kind: faults.Bridge, At: sec(18), Until: sec(19), Groups: [][]int{{1, 2}, {3}, {4, 5}}}, s.Faults[19])

	require.Len(t, s.Expect, 9)
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectStableLeader, From: sec(0.5), To: sec(0.9)}, s.Expect[3])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectProgress, After: sec(5), Within: sec(2)}, s.Expect[6])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectRestartBytes, Node: 3, Factor: 2}, s.Expect[7])
	assert.Equal(t, scenarios.Expectation{Kind: scenarios.ExpectBytesPerWrite, From: sec(15), To: sec(20), Factor: 3,
		BaseFrom: sec(1), BaseTo: sec(5)}, s.Expect[8])

	// Script writes it back; Parse reads that to the same scenario.
	again, err := scenarios.Parse("everything.scn", []byte(s.Script()))
	require.NoError(t, err, s.Script())
	assert.Equal(t, s, again)
}

func TestParseDefaults(t *testing.T) {
	s := mustParse(t, "# nothing but a comment\n\n   \t\n")
	assert.Equal(t, &scenarios.Scenario{Name: "t"}, s)
	o := s.Options(7)
	assert.Equal(t, uint64(7), o.Seed)
	require.NotNil(t, o.Schedule, "a scenario always has an explicit (here empty) schedule")
	assert.Empty(t, o.Schedule.Faults)
	assert.Equal(t, 20*time.Second, o.Schedule.HealAt, "the runner's default fault time")

	// A workload or link line starts from the default and changes one thing.
	s = mustParse(t, "keys 9\nlink loss 0.5\n")
	w := client.DefaultWorkload()
	w.Keys = 9
	assert.Equal(t, w, s.Workload)
	assert.Equal(t, sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond, Loss: 0.5}, s.Link)
	// mix lists the weights; the ones left out are 0.
	s = mustParse(t, "mix get=1\n")
	assert.Equal(t, 1, s.Workload.Get)
	assert.Zero(t, s.Workload.Put+s.Workload.Append+s.Workload.CAS)
	// A fixed latency.
	assert.Equal(t, 3*time.Millisecond, mustParse(t, "link latency 3ms").Link.MinLatency)
}

func TestParseTolerates(t *testing.T) {
	for _, src := range []string{
		"servers 3\r\nat 1s kill n1 until 2s\r\n",        // CRLF
		"\tservers   3 # three\nat 1s kill n1 until 2s",  // tabs, comments, no final newline
		"at 1s kill n1 until 2s\nat 1s kill n2 until 2s", // equal times do not go backwards
		"catches blank-restart,no-heartbeats\nservers 3",
		"at 1s kill n1",          // without until: restart at once
		"at 1s kill n1 for 1s",   // for is relative
		"at 1s one-way until 2s", // targets drawn at start
		"no-heal\nfaults-until 5s\nat 1s kill n1 until 1h",
		"expect unavailable\nexpect progress within 1s after 30s",               // unavailable: the run lasts through settle
		"at 2s partition leader,leader+1 | leader+2,leader+3,leader+4 until 3s", // leader-relative
		"at 2s kill not-leader until 3s\nat 3s loss 0.5 follower until 4s\nat 4s one-way leader -> not-leader until 5s",
	} {
		_, err := scenarios.Parse("t.scn", []byte(src))
		assert.NoError(t, err, "%q", src)
	}
}

// A script plants bugs only in a build that has them compiled in; any
// other build refuses the line, saying where and how to get them.
func TestParsePlantNeedsTheTag(t *testing.T) {
	s, err := scenarios.Parse("t.scn", []byte("servers 3\nplant blank-restart , no-heartbeats"))
	if plant.Compiled {
		require.NoError(t, err)
		assert.Equal(t, plant.Of(plant.BlankRestart, plant.NoHeartbeats), s.Planted)
		return
	}
	require.ErrorContains(t, err, "t.scn:2:7: planted bugs are compiled out of this build")
	assert.ErrorContains(t, err, "-tags raftsim_plant")
}

// knownKinds is what an unknown-fault-kind error lists: every kind, in
// canonical order.
func knownKinds() string {
	var names []string
	for _, k := range faults.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// knownBugs is what an unknown-bug error lists: every planted bug, sorted.
func knownBugs() string {
	var names []string
	for _, b := range plant.All() {
		names = append(names, b.String())
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"kil n3", `t.scn:1:1: unknown command "kil"; expected one of describe, catches, subject, requires, servers, voters, min-voters, clients, keys, mix, think, value-size, reads, link, server, faults-until, settle, drain, no-heal, plant, random-faults, at, every, expect`},
		{"at 2x kill n3", `t.scn:1:4: bad duration "2x"; expected a duration like 500ms, 2s or 1m30s`},
		{"subject zookeeper", `t.scn:1:9: unknown subject "zookeeper"; expected raftsim, etcd, etcd-literal`},
		{"subject", `t.scn:1:9: expected a subject (raftsim, etcd, etcd-literal)`},
		{"subject etcd etcd", `t.scn:1:14: unexpected "etcd"; expected end of line after the subject`},
		{"subject etcd\nsubject raftsim", `t.scn:2:1: subject already set at line 1`},
		{"requires recovery,teleport", `t.scn:1:19: unknown mechanism "teleport"; expected one of recovery, chunked-snapshots, read-index, read-batching, drift-bounded-lease, transfer, promotion-guard, plants`},
		{"requires", `t.scn:1:10: expected a mechanism like recovery`},
		{"servers 5\nat 2s kill n9 until 3s", `t.scn:2:12: unknown node n9 (servers are n1..n5)`},
		{"at 2s kill n1,n2,n7 until 3s", `t.scn:1:18: unknown node n7 (servers are n1..n5)`},
		{"at 2s kill n0", `t.scn:1:12: unknown node n0 (servers are numbered from n1)`},
		{"at 2s kill n1,,n2", `t.scn:1:15: expected a node like n3 in "n1,,n2"`},
		{"at 2s kill x1", `t.scn:1:12: bad node "x1"; expected nodes like n1,n2 (or leader, leader+1, follower, not-leader)`},
		{"at 5s kill n1 until 6s\n\n# a comment\nat 3s kill n2 until 4s", `t.scn:4:4: time 3s goes backwards (previous fault at 5s)`},
		{"at 1s loss 1.5 n1 until 2s", `t.scn:1:12: probability 1.5 above 1`},
		{"at 1s loss -0.5 n1 until 2s", `t.scn:1:12: probability -0.5 below 0`},
		{"at 1s loss n1 until 2s", `t.scn:1:12: bad probability "n1"; expected a number in [0, 1] like 0.2`},
		{"at 1s loss", `t.scn:1:12: expected a probability like 0.2 after loss`},
		{"at 1s delay -5ms n1 until 2s", `t.scn:1:13: duration -5ms is negative`},
		{"at 1s truncate 12 n1", `t.scn:1:16: bad parameter "12"; truncate takes a byte count like 4096B`},
		{"at 1s bitflip @1:9 n1", `t.scn:1:15: bad bit "9" in "@1:9"; expected 0..7`},
		{"at 1s clock-drift +600000ppm n1 until 2s", `t.scn:1:7: drift 600000ppm outside (-500000, 500000)`},
		{"at 1s", `t.scn:1:7: expected a fault kind (` + knownKinds() + `)`},
		{"at 1s kil n1", `t.scn:1:7: unknown fault kind "kil"; expected one of ` + knownKinds() + ``},
		{"at 2s partition n1,n2 until 3s", `t.scn:1:7: partition needs at least 2 groups`},
		{"at 2s partition n1 | n2 -> n3 until 3s", `t.scn:1:25: unexpected "->"; expected "|" between groups`},
		{"at 2s partition n1 | until 3s", `t.scn:1:22: bad node "until"; expected nodes like n1,n2 (or leader, leader+1, follower, not-leader)`},
		{"at 2s partition n1 |", `t.scn:1:22: expected nodes like n1,n2 after "|"`},
		{"at 2s kill n1 | n2", `t.scn:1:15: unexpected "|"; kill takes one node list like n1,n2`},
		{"at 1s one-way n1 until 2s", `t.scn:1:15: one-way takes FROM -> TO, like n1 -> n2,n3`},
		{"servers 5\nat 2s even-split until 3s", `t.scn:2:7: even-split needs an even number of servers, have 5`},
		{"at 2s isolate leader until 3s", `t.scn:1:7: isolate takes no leader target (use isolate-leader)`},
		{"at 2s partition leader until 3s", `t.scn:1:7: partition needs at least 2 groups`},
		{"at 2s partition leader | leader+5 until 3s", `t.scn:1:26: leader+5 out of range; with 5 servers, expected leader+1..leader+4`},
		{"at 2s partition leader | n2 until 3s", `t.scn:1:7: mixes explicit nodes with leader-relative ones (an explicit node may be the leader)`},
		{"at 2s partition leader,leader+1 | leader+1 until 3s", `t.scn:1:7: leader+1 named twice`},
		{"at 2s partition leader | follower,leader+1 until 3s", `t.scn:1:7: follower and leader+1 may name the same server`},
		{"at 2s majority-minority leader | leader+1 until 3s", `t.scn:1:7: majority-minority needs 2 groups covering all 5 servers, one of them a majority`},
		{"at 2s kill leader+0", `t.scn:1:12: bad node "leader+0"; expected nodes like n1,n2 (or leader, leader+1, follower, not-leader)`},
		{"at 2s quiet leader until 3s", `t.scn:1:13: unexpected "leader"; quiet takes no targets; expected "until TIME" or "for DURATION"`},
		{"at 2s quiet", `t.scn:1:13: quiet holds from its start to its end; expected "until TIME" or "for DURATION"`},
		{"at 2s quiet n1 until 3s", `t.scn:1:13: unexpected "n1"; quiet takes no targets; expected "until TIME" or "for DURATION"`},
		{"at 2s clock-jump +1s n1 until 3s", `t.scn:1:25: clock-jump is instantaneous; expected end of line, not until`},
		{"at 2s kill n1 until 1s", `t.scn:1:21: until 1s is before at 2s`},
		{"at 2s kill n1 until 2s", `t.scn:1:21: until 2s must be after at 2s`},
		{"at 2s kill n1 for 0s", `t.scn:1:19: duration 0s must be above 0`},
		{"at 2s kill n1 until", `t.scn:1:21: expected a time after until`},
		{"at 1s kill leader extra", `t.scn:1:19: unexpected "extra"; expected "until TIME", "for DURATION" or end of line`},
		{"at 25s kill n1 until 30s", `t.scn:1:22: until 30s is after faults-until 20s, when everything heals; expected an earlier time, or no-heal to keep faults past the heal`},
		{"every 1ns from 0s to 1h kill n1", `t.scn:1:7: every 1ns from 0s to 1h0m0s makes 3600000000001 faults; expected at most 1000`},
		{"every 1s from 1s to 3s kill n1 until 2s", `t.scn:1:38: until 2s must be after the last start at 3s`},
		{"every 1s 1s to 3s kill n1", `t.scn:1:10: unexpected "1s"; expected "from TIME to TIME" after every DURATION`},
		{"servers", `t.scn:1:9: expected a server count`},
		{"servers 0", `t.scn:1:9: 0 out of range; expected a server count in 1..64`},
		{"servers x", `t.scn:1:9: bad number "x"; expected a server count (a whole number)`},
		{"servers 5 6", `t.scn:1:11: unexpected "6"; expected end of line`},
		{"servers 5\n servers 5", `t.scn:2:2: servers already set at line 1`},
		{"clients 0", `t.scn:1:9: 0 out of range; expected a client count in 1..64`},
		{"think -1s", `t.scn:1:7: duration -1s is negative`},
		{"faults-until 0s", `t.scn:1:14: duration 0s must be above 0`},
		{"mix put=0 get=0", `t.scn:1:1: mix weights are all 0; expected at least one above 0`},
		{"mix foo=1", `t.scn:1:5: bad weight "foo=1"; expected put=N, get=N, append=N or cas=N`},
		{"mix put=x", `t.scn:1:9: bad number "x"; expected put weight (a whole number)`},
		{"mix put=1 put=2", `t.scn:1:11: mix put already set at line 1`},
		{"link latency 5ms..1ms", `t.scn:1:14: latency 5ms..1ms: maximum below minimum; expected MIN..MAX like 1ms..5ms`},
		{"link latency 1ms..5", `t.scn:1:19: bad duration "5"; expected a duration like 500ms, 2s or 1m30s`},
		{"link latency 0s", `t.scn:1:14: latency 0s: expected a maximum above 0`},
		{"link bogus 1", `t.scn:1:6: unknown link field "bogus"; expected one of latency, loss, duplicate, reorder`},
		{"link", `t.scn:1:6: expected one of latency, loss, duplicate, reorder after link`},
		{"link loss", `t.scn:1:11: expected a value for loss`},
		{"link loss 0.1\nlink loss 0.2", `t.scn:2:6: link loss already set at line 1`},
		{"server election-ticks 0", `t.scn:1:23: 0 out of range; expected election ticks in 1..10000`},
		{"server heartbeat-ticks 10", `t.scn:1:8: heartbeat-ticks 10 must be below election-ticks 10`},
		{"plant nope", `t.scn:1:7: unknown bug "nope" (known: ` + knownBugs() + `)`},
		{"catches blank-restart,nope", `t.scn:1:23: unknown bug "nope" (known: ` + knownBugs() + `)`},
		{"plant", `t.scn:1:7: expected a bug name like blank-restart`},
		{"describe", `t.scn:1:10: expected a one-line description after describe`},
		{"describe # only a comment", `t.scn:1:10: expected a one-line description after describe`},
		{"no-heal now", `t.scn:1:9: unexpected "now"; expected end of line after no-heal`},
		{"random-faults kinds=kill,nope", `t.scn:1:26: unknown fault kind "nope"; expected one of ` + knownKinds() + ``},
		{"random-faults kinds=kill,kill", `t.scn:1:26: fault kind kill named twice`},
		{"random-faults often", `t.scn:1:15: unexpected "often"; expected kinds=KIND,... or mean-gap=DURATION`},
		{"expect", `t.scn:1:8: expected an expectation (linearizable, not-linearizable, invariants, liveness, unavailable, beyond-model, stable-leader, one-leader, term-stable, no-commit, progress, leader-change, restart-bytes, bytes-per-write, snapshot-installed, config, reads-per-round, same-term, committed, logs-equal, messages, rpcs, bytes, ops)`},
		{"expect foo", `t.scn:1:8: unknown expectation "foo"; expected one of linearizable, not-linearizable, invariants, liveness, unavailable, beyond-model, stable-leader, one-leader, term-stable, no-commit, progress, leader-change, restart-bytes, bytes-per-write, snapshot-installed, config, reads-per-round, same-term, committed, logs-equal, messages, rpcs, bytes, ops`},
		{"expect linearizable please", `t.scn:1:21: unexpected "please"; expected end of line`},
		{"expect stable-leader 10s 40s", `t.scn:1:22: unexpected "10s"; expected "from TIME to TIME" after stable-leader`},
		{"expect stable-leader from 10s", `t.scn:1:31: expected "to TIME" after the start`},
		{"expect stable-leader from 10s to 5s", `t.scn:1:34: to 5s must be after from 10s`},
		{"expect stable-leader from 10s to 40s", `t.scn:1:34: time 40s is past the end of the run at 23s (faults-until 20s + drain 3s)`},
		{"expect progress within 0s after 1s", `t.scn:1:24: duration 0s must be above 0`},
		{"expect progress after 1s", `t.scn:1:17: unexpected "after"; expected "within DURATION after TIME" after progress`},
		{"expect restart-bytes n9 <= 2x-missed", `t.scn:1:22: unknown node n9 (servers are n1..n5)`},
		{"expect restart-bytes n1,n2 <= 2x-missed", `t.scn:1:22: expected one node like n3, not "n1,n2"`},
		{"expect restart-bytes leader <= 2x-missed", `t.scn:1:22: expected one node like n3, not "leader"`},
		{"expect restart-bytes n3 <= 2x", `t.scn:1:28: bad bound "2x"; expected a factor like 2x-missed`},
		{"expect restart-bytes n3 <= 0x-missed", `t.scn:1:28: factor 0 must be above 0`},
		{"expect bytes-per-write from 5s to 10s <= 2x", `t.scn:1:45: expected "from TIME to TIME" after the factor`},
		{"expect unavailable\nexpect liveness", `t.scn:2:8: expect liveness contradicts expect unavailable at line 1`},
	} {
		_, err := scenarios.Parse("t.scn", []byte(tt.src))
		if assert.Error(t, err, "%q", tt.src) {
			assert.Equal(t, tt.want, err.Error(), "%q", tt.src)
		}
	}
}

func TestParseErrorIsTyped(t *testing.T) {
	_, err := scenarios.Parse("dir/quiet.scn", []byte("servers 5\n\nat 3s kil n3\n"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, scenarios.ErrParse))
	var pe *scenarios.ParseError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, "dir/quiet.scn", pe.File)
	assert.Equal(t, 3, pe.Line)
	assert.Equal(t, 7, pe.Col)
	assert.True(t, strings.HasPrefix(pe.Msg, `unknown fault kind "kil"`), pe.Msg)
}

// Every rendered fault reads back: the scenario language is the grammar
// Fault.String documents.
func TestFaultDocExamplesParse(t *testing.T) {
	for _, line := range []string{
		"at 2s partition n1,n2 | n3,n4,n5 until 5s",
		"at 1.5s kill n3 until 3s",
		"at 4s isolate-leader until 6s",
		"at 2s loss 0.2 n1,n2 until 4s",
		"at 3s clock-drift +500ppm n2 until 9s",
		"at 7s clock-jump -2s n4",
		"at 1s one-way n1 -> n2,n3 until 2s",
		"at 5s bitflip @8812:3 n4 until 6s",
	} {
		s, err := scenarios.Parse("t.scn", []byte(line))
		require.NoError(t, err, line)
		require.Len(t, s.Faults, 1)
		assert.Equal(t, line, s.Faults[0].String())
	}
}

// The parser knows every kind of faults' table, with no list of its own:
// each kind's example line reads as faults.ParseFault reads it, on its
// own and repeated by every, and Script writes it back.
func TestEveryKindParses(t *testing.T) {
	for _, k := range faults.Kinds() {
		line := k.Example()
		want, err := faults.ParseFault(line)
		require.NoError(t, err, line)
		servers := 5
		if want.Validate(servers) != nil {
			servers = 4
		}
		s, err := scenarios.Parse("t.scn", fmt.Appendf(nil, "servers %d\n%s\n", servers, line))
		require.NoError(t, err, line)
		require.Len(t, s.Faults, 1, line)
		assert.Equal(t, want, s.Faults[0], line)
		assert.Contains(t, s.Script(), line+"\n")

		bare := want
		bare.Until = bare.At
		tail := strings.TrimPrefix(bare.String(), "at "+want.At.String()+" ")
		if want.Until > want.At {
			tail += " for 500ms"
		}
		s, err = scenarios.Parse("t.scn", fmt.Appendf(nil, "servers %d\nevery 1s from 1s to 2s %s\n", servers, tail))
		require.NoError(t, err, tail)
		require.Len(t, s.Faults, 2, tail)
		for i, f := range s.Faults {
			w := want
			w.At, w.Until = time.Duration(i+1)*time.Second, time.Duration(i+1)*time.Second
			if want.Until > want.At {
				w.Until += 500 * time.Millisecond
			}
			assert.Equal(t, w, f, "every ... %s: fault %d", tail, i)
		}
	}
}
