package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	cl "github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// threeNodes builds n samples 50ms apart of a 3-node cluster in which n1
// leads term 2 and commit and last index rise by 10 per sample, each node
// receiving 300 bytes per sample; edit adjusts sample k.
func threeNodes(n int, edit func(k int, s *runner.Sample)) []runner.Sample {
	out := make([]runner.Sample, n)
	for k := range out {
		s := runner.Sample{At: sim.Time(time.Duration(k) * runner.SampleEvery), Nodes: make([]runner.NodeSample, 3)}
		for i := range s.Nodes {
			s.Nodes[i] = runner.NodeSample{Up: true, Role: subject.Follower, Term: 2, Lead: 1,
				Commit: uint64(10 * k), LastIndex: uint64(10 * k), BytesReceived: uint64(300 * k)}
		}
		s.Nodes[0].Role = subject.Leader
		if edit != nil {
			edit(k, &s)
		}
		out[k] = s
	}
	return out
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func judge(t *testing.T, samples []runner.Sample, line string) Check {
	t.Helper()
	s, err := Parse("t.scn", []byte("servers 3\nfaults-until 10s\n"+line+"\n"))
	require.NoError(t, err)
	require.Len(t, s.Expect, 1)
	ev := &evaluator{samples: samples, stoppedAt: -1, entryBytes: 20}
	return ev.check(s.Expect[0])
}

func TestStableLeader(t *testing.T) {
	c := judge(t, threeNodes(100, nil), "expect stable-leader from 1s to 4s")
	assert.True(t, c.OK, c.Detail)
	assert.Equal(t, "n1 led term 2 in all 61 samples", c.Detail)

	c = judge(t, threeNodes(100, func(k int, s *runner.Sample) {
		if k >= 50 {
			s.Nodes[0].Role, s.Nodes[1].Role = subject.Follower, subject.Leader
			s.Nodes[1].Term = 3
		}
	}), "expect stable-leader from 1s to 4s")
	assert.False(t, c.OK)
	assert.Equal(t, "at 2.5s n2 led term 3, not n1 term 2 as at 1s", c.Detail)

	c = judge(t, threeNodes(100, func(k int, s *runner.Sample) {
		if k == 30 {
			s.Nodes[2].Role, s.Nodes[2].Term = subject.Leader, 3
		}
	}), "expect stable-leader from 1s to 4s")
	assert.Equal(t, "2 leaders at 1.5s (n1 term 2, n3 term 3)", c.Detail)

	c = judge(t, threeNodes(100, func(k int, s *runner.Sample) {
		if k == 70 {
			s.Nodes[0].Up = false // a leader that is down leads nothing
		}
	}), "expect stable-leader from 1s to 4s")
	assert.Equal(t, "no leader at 3.5s", c.Detail)
}

func TestTermStable(t *testing.T) {
	assert.True(t, judge(t, threeNodes(100, nil), "expect term-stable from 1s to 4s").OK)
	c := judge(t, threeNodes(100, func(k int, s *runner.Sample) {
		if k >= 40 {
			s.Nodes[2].Term = 5 // a follower's term alone moving counts
		}
	}), "expect term-stable from 1s to 4s")
	assert.False(t, c.OK)
	assert.Equal(t, "term went from 2 to 5 at 2s", c.Detail)
}

func TestNoCommitAndProgress(t *testing.T) {
	stall := threeNodes(100, func(k int, s *runner.Sample) {
		for i := range s.Nodes {
			c := uint64(10 * min(k, 40))
			if k >= 80 {
				c += uint64(k - 79)
			}
			s.Nodes[i].Commit = c
		}
	})
	c := judge(t, stall, "expect no-commit from 2s to 3950ms")
	assert.True(t, c.OK, c.Detail)
	assert.Equal(t, "commit index stayed at 400", c.Detail)
	c = judge(t, stall, "expect no-commit from 1s to 3s")
	assert.Equal(t, "commit index went from 200 to 210 at 1.05s", c.Detail)

	c = judge(t, stall, "expect progress within 1s after 3500ms")
	assert.True(t, c.OK)
	assert.Equal(t, "commit index rose from 400 to 401 by 4s", c.Detail)
	c = judge(t, stall, "expect progress within 1s after 2500ms")
	assert.False(t, c.OK)
	assert.Equal(t, "commit index stayed at 400 from 2.5s to 3.5s", c.Detail)

	// A commit index that drops (its node died) and comes back is not progress.
	dip := threeNodes(100, func(k int, s *runner.Sample) {
		for i := range s.Nodes {
			s.Nodes[i].Commit = 500
			if k >= 50 && k < 60 {
				s.Nodes[i].Commit = 400
			}
		}
	})
	assert.False(t, judge(t, dip, "expect progress within 1s after 2700ms").OK)
}

// restartSamples: n3 is down from 1s to 2s (samples 20..39) while the
// others go on; it restarts with its log and catches up by 2.1s, having
// received got bytes by then.
func restartSamples(blank bool) []runner.Sample {
	return threeNodes(80, func(k int, s *runner.Sample) {
		n := &s.Nodes[2]
		switch {
		case k >= 20 && k < 40:
			*n = runner.NodeSample{BytesReceived: 300 * 19}
		case k == 40:
			n.LastIndex, n.BytesReceived = 190, 300*19+100 // replayed its log
			if blank {
				n.LastIndex = 0
			}
		case k > 40:
			// Catching up: a correct leader sends the 210 entries it
			// missed (about 20 bytes each, plus headers); a blank
			// follower gets all 400.
			extra := uint64(210 * 25)
			if blank {
				extra = 400 * 25
			}
			n.BytesReceived = 300*19 + extra + uint64(300*(k-41))
		}
		if k >= 20 && k < 40 {
			n.Incarnation = 0
		}
	})
}

func TestRestartBytes(t *testing.T) {
	c := judge(t, restartSamples(false), "expect restart-bytes n3 <= 2x-missed")
	assert.True(t, c.OK, c.Detail)
	assert.Equal(t, "restart at 2s: caught up by 2.05s, 220 entries missed (190 to 410), 5250 bytes received, allowed 11053 (20.0 bytes/entry)", c.Detail)

	// A blank follower is sent the whole log: about twice what it missed
	// here, so 1.5x catches it (a long log catches it by far more).
	c = judge(t, restartSamples(true), "expect restart-bytes n3 <= 1x-missed")
	assert.False(t, c.OK)
	assert.Equal(t, "restart at 2s: caught up by 2.05s, 220 entries missed (190 to 410), 10000 bytes received, allowed 6653 (20.0 bytes/entry)", c.Detail)

	c = judge(t, threeNodes(80, nil), "expect restart-bytes n3 <= 2x-missed")
	assert.False(t, c.OK)
	assert.Equal(t, "n3 never restarted", c.Detail)

	// Restarted but never caught up (the others moved on, it did not).
	stuck := threeNodes(80, func(k int, s *runner.Sample) {
		if k >= 20 && k < 40 {
			s.Nodes[2] = runner.NodeSample{}
		} else if k >= 40 {
			s.Nodes[2].LastIndex = 190
		}
	})
	c = judge(t, stuck, "expect restart-bytes n3 <= 2x-missed")
	assert.False(t, c.OK)
	assert.Equal(t, "n3 restarted at 2s and had not caught up to index 400 when the run ended at 3.95s (at 190)", c.Detail)

	// A run stopped by a safety violation cannot be judged.
	ev := &evaluator{samples: stuck[:45], stoppedAt: sim.Time(2250 * time.Millisecond), entryBytes: 20}
	ok, skipped, detail := ev.restartBytes(3, 2)
	assert.False(t, ok)
	assert.True(t, skipped)
	assert.Equal(t, "the run stopped at 2.25s before n3 (restarted at 2s) caught up", detail)
}

func TestBytesPerWrite(t *testing.T) {
	flat := threeNodes(200, nil)
	c := judge(t, flat, "expect bytes-per-write from 8s to 9950ms <= 1.1x from 1s to 3s")
	assert.True(t, c.OK, c.Detail)
	assert.Equal(t, "90 bytes per write from 8s to 9.95s (390 writes), 90 from 1s to 3s (400 writes): 1.00x", c.Detail)

	// Every write resends the log so far: the cost grows with its length.
	growing := threeNodes(200, func(k int, s *runner.Sample) {
		for i := range s.Nodes {
			s.Nodes[i].BytesReceived = uint64(30 * k * k)
		}
	})
	c = judge(t, growing, "expect bytes-per-write from 8s to 9950ms <= 2x from 1s to 3s")
	assert.False(t, c.OK)
	assert.Contains(t, c.Detail, "4.49x")

	idle := threeNodes(200, func(k int, s *runner.Sample) {
		for i := range s.Nodes {
			s.Nodes[i].Commit = 0
		}
	})
	c = judge(t, idle, "expect bytes-per-write from 8s to 9950ms <= 2x from 1s to 3s")
	assert.Equal(t, "no entry committed from 8s to 9.95s", c.Detail)
}

func TestShortRunsAreReported(t *testing.T) {
	short := threeNodes(40, nil) // ends at 1.95s
	c := judge(t, short, "expect stable-leader from 1s to 4s")
	assert.False(t, c.OK)
	assert.False(t, c.Skipped)
	assert.Equal(t, "the run ended at 1.95s, before 4s", c.Detail)

	ev := &evaluator{samples: short, stoppedAt: sim.Time(1950 * time.Millisecond)}
	c = ev.check(Expectation{Kind: ExpectNoCommit, From: time.Second, To: 4 * time.Second})
	assert.True(t, c.Skipped)
	assert.Equal(t, "expect no-commit from 1s to 4s: skipped (the run stopped at 1.95s, before 4s)", c.String())
}

func TestJudgeUnavailable(t *testing.T) {
	s, err := Parse("t.scn", []byte("expect unavailable\n"))
	require.NoError(t, err)
	res := &runner.Result{Linearizability: model.Result{Verdict: model.Linearizable}, Liveness: runner.Liveness{OK: false}}
	out := Judge(s, res)
	assert.True(t, out.Pass, out.Failures)
	assert.Equal(t, "unavailable (expected)", res.Liveness.String())

	res = &runner.Result{Linearizability: model.Result{Verdict: model.Linearizable},
		Liveness: runner.Liveness{OK: true, RecoveredAfter: ms(250)}}
	out = Judge(s, res)
	assert.False(t, out.Pass)
	assert.Equal(t, []string{"liveness: expected the cluster to stay unavailable, but it recovered 250ms after the heal"}, out.Failures)
	assert.Equal(t, "ok (expected unavailable)", res.Liveness.String())

	// Without the expectation, the same run fails on liveness.
	res = &runner.Result{Linearizability: model.Result{Verdict: model.Linearizable}}
	out = Judge(&Scenario{}, res)
	assert.False(t, out.Pass)
	assert.Equal(t, "FAIL", res.Liveness.String())
	require.Len(t, out.Checks, 3)
	assert.Equal(t, ExpectLiveness, out.Checks[2].Expect.Kind)
}

func TestExpectationFailuresCount(t *testing.T) {
	s, err := Parse("t.scn", []byte("servers 3\nfaults-until 5s\nexpect term-stable from 1s to 2s\n"))
	require.NoError(t, err)
	res := &runner.Result{Linearizability: model.Result{Verdict: model.Linearizable}, Liveness: runner.Liveness{OK: true},
		Samples: threeNodes(100, func(k int, s *runner.Sample) {
			if k > 30 {
				s.Nodes[1].Term = 3
			}
		})}
	out := Judge(s, res)
	assert.Equal(t, runner.Fail, out.Verdict)
	assert.Equal(t, []string{"expect term-stable from 1s to 2s: term went from 2 to 3 at 1.55s"}, out.Failures)
	assert.Equal(t, out.Failures, res.Failures, "the result carries the expectation failures for reports")
	assert.Equal(t, out.Failures, res.ExpectationFailures)
}

// restarted: commit 400 and term 2 throughout, except that every node is
// down at samples 30..34 and comes back with the commit hint it had
// persisted (300), relearning 400 by sample 40; rise adds a real commit
// (to 401) at sample 70.
func restarted(rise bool) []runner.Sample {
	return threeNodes(100, func(k int, s *runner.Sample) {
		for i := range s.Nodes {
			n := &s.Nodes[i]
			n.Commit, n.Term = 400, 2
			switch {
			case k >= 30 && k < 35:
				*n = runner.NodeSample{} // down: the sampler sees nothing
			case k >= 35 && k < 40:
				n.Commit = 300
			case rise && k >= 70:
				n.Commit = 401
			}
		}
	})
}

// A restarted server's commit hint is below the real commit: relearning
// it is not a commit, and a node that is down commits nothing. Commit
// progress is judged on the highest commit index ever observed.
func TestNoCommitSurvivesRestarts(t *testing.T) {
	c := judge(t, restarted(false), "expect no-commit from 1s to 4s")
	assert.True(t, c.OK, c.Detail)
	assert.Equal(t, "commit index stayed at 400", c.Detail)
	c = judge(t, restarted(true), "expect no-commit from 1s to 4s")
	assert.False(t, c.OK)
	assert.Equal(t, "commit index went from 400 to 401 at 3.5s", c.Detail)
	// Progress, likewise, is a rise above the highest ever seen.
	c = judge(t, restarted(false), "expect progress within 1s after 1600ms")
	assert.False(t, c.OK, c.Detail)
	c = judge(t, restarted(true), "expect progress within 1s after 3s")
	assert.True(t, c.OK, c.Detail)
}

// The term, too: the server with the highest term going down (or coming
// back) does not move the cluster's term.
func TestTermStableSurvivesRestarts(t *testing.T) {
	s := threeNodes(100, func(k int, s *runner.Sample) {
		s.Nodes[2].Term = 3
		if k >= 30 && k < 40 {
			s.Nodes[2] = runner.NodeSample{}
		}
	})
	c := judge(t, s, "expect term-stable from 1s to 4s")
	assert.True(t, c.OK, c.Detail)
	assert.Equal(t, "term 3 throughout", c.Detail)
}

func TestSameTermAndCommitted(t *testing.T) {
	ok := judge(t, threeNodes(100, nil), "expect same-term at 1s")
	assert.True(t, ok.OK)
	assert.Equal(t, "3 servers in term 2 at 1s", ok.Detail)
	split := threeNodes(100, func(k int, s *runner.Sample) {
		s.Nodes[2].Term = 3
		if k < 20 {
			s.Nodes[2].Up = false // down: not asked
		}
	})
	assert.True(t, judge(t, split, "expect same-term at 890ms").OK, "at 900ms n3 is down: not asked")
	c := judge(t, split, "expect same-term at 1010ms")
	assert.False(t, c.OK)
	assert.Equal(t, "terms differ at 1.05s (n1:2 n2:2 n3:3)", c.Detail)

	// Commit rises 10 per sample on every node: index 200 on 3 at 1s.
	c = judge(t, threeNodes(100, nil), "expect committed 200 on 3 by 1s")
	assert.True(t, c.OK)
	assert.Equal(t, "index 200 committed on 3 servers at 1s", c.Detail)
	c = judge(t, threeNodes(100, nil), "expect committed 201 on 3 by 1s")
	assert.False(t, c.OK)
	assert.Equal(t, "index 201 committed on no server by 1s", c.Detail)
	lag := threeNodes(100, func(k int, s *runner.Sample) { s.Nodes[2].Commit = 0 })
	c = judge(t, lag, "expect committed 100 on 3 by 2s")
	assert.Equal(t, "index 100 committed on at most 2 servers by 2s (at 500ms)", c.Detail)
}

// Counts cover [from, to): a message at to belongs to the next window;
// rpcs leave responses out; type= filters.
func TestCounts(t *testing.T) {
	at := func(ms int) sim.Time { return sim.Time(time.Duration(ms) * time.Millisecond) }
	vote, voteResp, app := cl.RaftType(raftpb.MsgVote), cl.RaftType(raftpb.MsgVoteResp), cl.RaftType(raftpb.MsgApp)
	res := &runner.Result{Messages: []runner.Message{
		{At: at(0), Type: vote, Size: 10}, {At: at(5), Type: voteResp, Size: 7},
		{At: at(500), Type: app, Size: 100}, {At: at(999), Type: app, Size: 100}, {At: at(1000), Type: app, Size: 100},
	}}
	ev := &evaluator{stoppedAt: -1, res: res, samples: threeNodes(60, nil)}
	for _, tt := range []struct {
		line   string
		ok     bool
		detail string
	}{
		{"expect messages <= 4 from 0s to 1s", true, "4 messages from 0s to 1s"},
		{"expect messages <= 3 from 0s to 1s", false, "4 messages from 0s to 1s"},
		{"expect rpcs <= 3 from 0s to 1s", true, "3 requests from 0s to 1s"},
		{"expect rpcs type=vote >= 1 from 0s to 1s", true, "1 request from 0s to 1s"},
		{"expect messages type=vote-resp,vote >= 3 from 0s to 1s", false, "2 messages from 0s to 1s"},
		{"expect bytes <= 200 from 500ms to 1s", true, "200 bytes from 500ms to 1s"},
		{"expect bytes type=app <= 199 from 999ms to 2s", false, "200 bytes from 999ms to 2s"},
		{"expect messages <= 0 from 1001ms to 2s", true, "0 messages from 1.001s to 2s"},
	} {
		s, err := Parse("t.scn", []byte("servers 3\nfaults-until 10s\n"+tt.line+"\n"))
		require.NoError(t, err)
		c := ev.check(s.Expect[0])
		assert.Equal(t, tt.ok, c.OK, tt.line)
		assert.Equal(t, tt.detail, c.Detail, tt.line)
	}
}
