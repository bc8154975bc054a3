package etcdraft

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	etcd "go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjecttest"
)

// electionElapsed reads etcd's unexported raft.electionElapsed (reading
// through reflect is allowed; only this test does it).
func electionElapsed(r *Replica) int {
	return int(reflect.ValueOf(r.rn).Elem().FieldByName("raft").Elem().FieldByName("electionElapsed").Int())
}

// resetLogger counts etcd's calls of reset(): it logs "became follower",
// "became candidate" or "became leader" from exactly the three functions
// that call it (becoming pre-candidate does not reset).
type resetLogger struct {
	discard
	resets uint64
}

func (l *resetLogger) Infof(format string, _ ...any) {
	for _, s := range []string{"became follower", "became candidate", "became leader"} {
		if strings.Contains(format, s) {
			l.resets++
		}
	}
}

// TestTimerFollowsElectionElapsed is the evidence for the package
// documentation's argument: under random schedules (crashes, partitions,
// writes, snapshots), after every input and its Readies, the adapter's
// election timer equals etcd's own electionElapsed on every replica that
// is a follower or a candidate. (A pre-candidate is the one exception:
// etcd's tickElection would have zeroed electionElapsed when it
// campaigned, the adapter's Campaign does not, and etcd reads it there
// only under a known leader, which a pre-candidate has not.)
func TestTimerFollowsElectionElapsed(t *testing.T) {
	// The logger of each node's latest incarnation: the running one.
	var loggers map[uint64]*resetLogger
	prev := newLogger
	newLogger = func(id uint64) etcd.Logger {
		loggers[id] = &resetLogger{}
		return loggers[id]
	}
	t.Cleanup(func() { newLogger = prev })
	votes, prevotes := 0, 0
	rapid.Check(t, func(rt *rapid.T) {
		loggers = map[uint64]*resetLogger{}
		cfg := subjecttest.DefaultConfig()
		cfg.PreVote = rapid.Bool().Draw(rt, "prevote")
		cfg.CheckQuorum = rapid.Bool().Draw(rt, "checkquorum")
		c, err := subjecttest.NewCluster(Subject(), rapid.SampledFrom([]int{3, 5}).Draw(rt, "voters"), 0, rapid.Uint64().Draw(rt, "seed"), cfg)
		if err != nil {
			rt.Fatal(err)
		}
		check := func(when string) {
			for _, n := range c.Nodes[1:] {
				if !n.Up() {
					continue
				}
				r := n.R.(*Replica)
				if l := loggers[n.ID]; l.resets != r.resets {
					rt.Fatalf("%s: n%d (%s, term %d): etcd reset its election state %d times, the adapter its timer %d", when, n.ID, r.st.Role, r.st.Term, l.resets, r.resets)
				}
				switch r.st.Role {
				case subject.Follower, subject.Candidate:
					if got, want := r.timer.elapsed, electionElapsed(r); got != want {
						rt.Fatalf("%s: n%d (%s, term %d): timer %d, etcd's electionElapsed %d", when, n.ID, r.st.Role, r.st.Term, got, want)
					}
					if r.timer.timeout < r.electionTick || r.timer.timeout >= 2*r.electionTick {
						rt.Fatalf("%s: n%d timeout %d outside [%d, %d)", when, n.ID, r.timer.timeout, r.electionTick, 2*r.electionTick)
					}
				}
			}
		}
		for i := range rapid.IntRange(20, 150).Draw(rt, "steps") {
			id := uint64(rapid.IntRange(1, len(c.Nodes)-1).Draw(rt, "node"))
			switch rapid.IntRange(0, 7).Draw(rt, "op") {
			case 0:
				c.Crash(id)
			case 1:
				if c.Nodes[id].R == nil {
					if err := c.Restart(id); err != nil {
						rt.Fatal(err)
					}
					check("restart")
				}
			case 2:
				c.Isolate(id)
			case 3:
				c.Heal()
			case 4:
				if lead := c.Leader(); lead != 0 {
					_ = c.Propose(lead, fmt.Sprint(i))
				}
			case 5:
				for range rapid.IntRange(1, 12).Draw(rt, "ticks") {
					c.Tick()
					check(fmt.Sprintf("step %d tick", i))
				}
			default:
				// Deliver a few messages at a time, so checks land between
				// the steps of an election too.
				c.Deliver(rapid.IntRange(1, 6).Draw(rt, "msgs"))
			}
			check(fmt.Sprintf("step %d", i))
		}
		votes += c.SentByType[raftpb.MsgVote]
		prevotes += c.SentByType[raftpb.MsgPreVote]
	})
	// The schedules must reach the code under test: elections, pre-votes
	// that fail and succeed.
	if votes == 0 || prevotes == 0 {
		t.Fatalf("the schedules held %d vote and %d pre-vote requests", votes, prevotes)
	}
}

func drain(t *testing.T, r *Replica) []subject.Outbound {
	t.Helper()
	var out []subject.Outbound
	for r.HasReady() {
		rd, err := r.Ready()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rd.Messages {
			out = append(out, subject.Outbound{To: m.To, Data: slices.Clone(m.Data)})
		}
		if err := r.Advance(rd); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func vote(t *testing.T, from, to, term, logTerm, index uint64) []byte {
	t.Helper()
	b, err := proto.Marshal(&pb.Message{Type: pb.MsgVote.Enum(), From: new(from), To: new(to), Term: new(term), LogTerm: new(logTerm), Index: new(index)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVoteGrantZeroesTheTimer covers the one reset the random schedules
// rarely reach: a vote granted within the term the follower is already in
// (its term moved on a request it refused), after it has ticked.
func TestVoteGrantZeroesTheTimer(t *testing.T) {
	cfg := subjecttest.DefaultConfig()
	cfg.ID, cfg.Peers, cfg.PreVote, cfg.Rand = 3, []uint64{1, 2, 3}, false, rand.New(rand.NewPCG(1, 1))
	sr, err := Open(cfg, subject.Restored{})
	require.NoError(t, err)
	r := sr.(*Replica)
	drain(t, r)
	// n2 asks with a log behind n3's: the term moves, the vote is refused.
	require.NoError(t, r.Step(2, vote(t, 2, 3, 2, 0, 0)))
	drain(t, r)
	require.Equal(t, uint64(2), r.BasicStatus().Term)
	require.Zero(t, r.BasicStatus().Vote)
	for range 3 {
		require.NoError(t, r.Tick())
	}
	require.Equal(t, 3, electionElapsed(r))
	require.Equal(t, 3, r.timer.elapsed)
	// n1 asks in the same term with an up-to-date log: granted.
	require.NoError(t, r.Step(1, vote(t, 1, 3, 2, 1, 3)))
	msgs := drain(t, r)
	require.Len(t, msgs, 1)
	require.Equal(t, uint64(1), r.BasicStatus().Vote)
	assert.Zero(t, electionElapsed(r), "etcd zeroes electionElapsed on a grant")
	assert.Zero(t, r.timer.elapsed, "so must the adapter")
	// A repeated request from the same candidate is granted again.
	require.NoError(t, r.Tick())
	require.NoError(t, r.Step(1, vote(t, 1, 3, 2, 1, 3)))
	drain(t, r)
	assert.Zero(t, electionElapsed(r))
	assert.Zero(t, r.timer.elapsed)
}
