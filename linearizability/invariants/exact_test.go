package invariants_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/linearizability/invariants"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/sim"
)

// fakeNode is a scripted server: tests change its log the way a buggy
// Raft would and the checker must see every change that matters.
type fakeNode struct {
	st  subject.Status
	log []raftpb.Entry // index i at log[i-1]
}

func (f *fakeNode) BasicStatus() subject.Status {
	s := f.st
	s.LastIndex = uint64(len(f.log))
	s.LastTerm = 0
	if n := len(f.log); n > 0 {
		s.LastTerm = f.log[n-1].Term
	}
	return s
}

func (f *fakeNode) LogTerm(i uint64) (uint64, bool) {
	if i == 0 {
		return 0, true
	}
	if i > uint64(len(f.log)) {
		return 0, false
	}
	return f.log[i-1].Term, true
}

func (f *fakeNode) LogEntry(i uint64) (raftpb.Entry, bool) {
	if i == 0 || i > uint64(len(f.log)) {
		return raftpb.Entry{}, false
	}
	return f.log[i-1], true
}

// replace rewrites the log from index from on with ents, counting the
// rewrite as a raft log does.
func (f *fakeNode) replace(from uint64, ents ...raftpb.Entry) {
	if from <= uint64(len(f.log)) {
		f.st.LogRewrites++
		f.st.LogRewriteFrom = from
	}
	f.log = append(f.log[:from-1:from-1], ents...)
	for i := range f.log {
		f.log[i].Index = uint64(i + 1)
	}
}

type fakeCluster struct {
	w     *sim.World
	nodes []*fakeNode // by id, index 0 unused
}

func (c *fakeCluster) World() *sim.World { return c.w }
func (c *fakeCluster) Servers() int      { return len(c.nodes) - 1 }
func (c *fakeCluster) Node(id int) invariants.Node {
	if n := c.nodes[id]; n != nil {
		return n
	}
	return nil
}

func ent(term uint64, data string) raftpb.Entry { return raftpb.Entry{Term: term, Data: []byte(data)} }

// newFakeCluster has three nodes holding the same five entries, all
// committed, and a checker that has looked at them once.
func newFakeCluster(t *testing.T) (*fakeCluster, *invariants.Checker) {
	w, err := sim.New(sim.Config{Seed: 1, Nodes: 3})
	require.NoError(t, err)
	c := &fakeCluster{w: w, nodes: make([]*fakeNode, 4)}
	for id := 1; id <= 3; id++ {
		n := &fakeNode{st: subject.Status{ID: uint64(id), Term: 2, Role: subject.Follower}}
		n.replace(1, ent(1, "a"), ent(1, "b"), ent(2, "c"), ent(2, "d"), ent(2, "e"))
		n.st.Commit = 5
		c.nodes[id] = n
	}
	c.nodes[1].st.Role = subject.Leader
	ck := invariants.New(invariants.Options{})
	ck.Attach(c)
	ck.Check()
	require.Nil(t, ck.Violation())
	return c, ck
}

// The checker is exact about committed prefixes: every change to a
// committed entry, in term or data only, deep in the log or with the last
// entry left as it was, and a log shorter than its own commit index, is a
// violation (before, it compared one term below commit and sampled the
// rest every fourth check, term only).
func TestCommittedPrefixChecksAreExact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(n *fakeNode)
		want   string
	}{
		{"term changed deep in the log, last entry unchanged", func(n *fakeNode) {
			n.replace(2, ent(2, "b"), ent(2, "c"), ent(2, "d"), ent(2, "e"))
		}, "committed entry 2 (term 1) was replaced by term 2"},
		{"data changed, same terms", func(n *fakeNode) {
			n.replace(3, ent(2, "C"), ent(2, "d"), ent(2, "e"))
		}, "committed entry 3 (term 2) was replaced by term 2"},
		{"two rewrites between looks", func(n *fakeNode) {
			n.replace(4, ent(2, "x"))
			n.replace(2, ent(1, "b"), ent(2, "c"), ent(2, "D"), ent(2, "e"))
		}, "committed entry 4 (term 2) was replaced by term 2"},
		{"log shorter than its commit index", func(n *fakeNode) {
			n.log = n.log[:3]
		}, "n2's log ends at 3, below its own commit index 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ck := newFakeCluster(t)
			tc.mutate(c.nodes[2])
			ck.Check()
			v := ck.Violation()
			require.NotNil(t, v, "the change must not go unnoticed")
			assert.Equal(t, invariants.CommittedNeverLost, v.Invariant)
			assert.Contains(t, v.Message, tc.want)
		})
	}
}

// Rewriting an uncommitted suffix is legal, and the rewritten entries are
// compared with what is known committed once they commit: a node that
// commits a different entry at an index another node committed is caught.
func TestRewrittenSuffixIsCheckedWhenItCommits(t *testing.T) {
	c, ck := newFakeCluster(t)
	n := c.nodes[3]
	n.replace(6, ent(2, "f"), ent(2, "g"))
	ck.Check()
	n.replace(6, ent(3, "F"))
	ck.Check()
	require.Nil(t, ck.Violation(), "an uncommitted suffix may be replaced")

	// n1 commits (6, term 2, f); n3 then commits its own entry 6.
	c.nodes[1].replace(6, ent(2, "f"))
	c.nodes[1].st.Commit = 6
	ck.Check()
	require.Nil(t, ck.Violation())
	n.st.Commit = 6
	ck.Check()
	v := ck.Violation()
	require.NotNil(t, v)
	assert.Equal(t, invariants.CommittedNeverLost, v.Invariant)
	assert.Contains(t, v.Message, "covers entry 6 of term 3")
}
