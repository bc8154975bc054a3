package raft_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// An entry commits once a majority holds it, and not before.
func TestCommitRequiresMajority(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 5})
	require.NoError(t, c.ElectLeader(1))
	before := status(c, 1).Commit

	// The leader reaches one follower: 2 of 5 is no majority.
	for _, id := range []uint64{3, 4, 5} {
		c.Cut(1, id)
	}
	require.NoError(t, c.Propose(1, []byte("x")))
	stabilize(t, c)
	assert.Equal(t, before, status(c, 1).Commit)
	assert.Empty(t, data(c.Applied(1)))

	// A third copy makes a majority.
	c.Heal()
	c.Cut(1, 4)
	c.Cut(1, 5)
	// (Node 3 learns the commit from the next append or heartbeat.)
	tickUntil(t, c, 5, func() bool { return status(c, 3).Commit == before+1 })
	assert.Equal(t, []string{"x"}, data(c.Applied(1)))
	assert.Equal(t, []string{"x"}, data(c.Applied(3)))

	c.Heal()
	tickUntil(t, c, 5, func() bool { return status(c, 5).Commit == before+1 })
	for _, id := range c.IDs() {
		assert.Equal(t, []string{"x"}, data(c.Applied(id)), "node %d", id)
	}
}

// isApp matches an append from `from` to any of `to` that carries entry idx
// (or any entries, if idx is 0).
func isApp(m raftpb.Message, from uint64, idx uint64, to ...uint64) bool {
	if m.Type != raftpb.MsgApp || m.From != from || len(m.Entries) == 0 || !slices.Contains(to, m.To) {
		return false
	}
	return idx == 0 || slices.ContainsFunc(m.Entries, func(e raftpb.Entry) bool { return e.Index == idx })
}

// termAt is the term of the entry at idx on node id's disk (0 if none).
func termAt(c *rafttest.Cluster, id, idx uint64) uint64 {
	ents := c.Disk(id).Entries
	if idx == 0 || idx > uint64(len(ents)) {
		return 0
	}
	return ents[idx-1].Term
}

// Figure 8 of the Raft paper, scripted on five nodes. An entry of an old
// term that reaches a majority under a later leader must not be counted as
// committed, because a node with a later last term can still be elected
// and overwrite it. (Bootstrap entries are 1-5; index 7 plays the paper's
// index 2.)
func TestFigure8(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 5, MaxSizePerMsg: 1}) // one entry per append
	none := func(raftpb.Message) bool { return false }

	// (a) 1 leads term 2 and gets entry 7 to node 2 only.
	require.NoError(t, c.ElectLeader(1))
	require.Equal(t, uint64(2), status(c, 1).Term)
	require.NoError(t, c.Propose(1, []byte("x")))
	require.NoError(t, c.StabilizeDropping(func(m raftpb.Message) bool { return isApp(m, 1, 7, 3, 4, 5) }))
	require.Equal(t, uint64(2), termAt(c, 2, 7))

	// (b) 1 crashes; 5 wins term 3 with votes from 3 and 4, appends its
	// own entry 7 and crashes before sending it.
	c.Crash(1)
	c.Campaign(5)
	require.NoError(t, c.StabilizeDropping(func(m raftpb.Message) bool { return isApp(m, 5, 0, 1, 2, 3, 4) }))
	require.Equal(t, raft.Leader, status(c, 5).Role)
	require.Equal(t, uint64(3), termAt(c, 5, 7))
	c.Crash(5)

	// (c) 1 restarts and wins term 4 (its first try, term 3, fails: 3 and
	// 4 voted for 5). It copies its term-2 entry 7 to node 3, so 1, 2 and 3
	// hold it: a majority, but not of the current term. Node 4 hears
	// nothing and nobody but 2 gets the term-4 entry 8.
	require.NoError(t, c.Restart(1))
	c.Campaign(1)
	require.NoError(t, c.StabilizeDropping(none))
	require.Equal(t, raft.Candidate, status(c, 1).Role)
	c.Campaign(1)
	require.NoError(t, c.StabilizeDropping(func(m raftpb.Message) bool {
		// Node 3 must see (and reject) the first probe for 8 to be sent 7.
		return isApp(m, 1, 0, 4) || isApp(m, 1, 8, 3) && termAt(c, 3, 7) == 2
	}))
	require.Equal(t, raft.Leader, status(c, 1).Role)
	require.Equal(t, uint64(4), status(c, 1).Term)
	for _, id := range []uint64{1, 2, 3} {
		require.Equal(t, uint64(2), termAt(c, id, 7), "node %d holds the term-2 entry", id)
	}
	assert.Equal(t, uint64(6), status(c, 1).Commit, "an old-term entry on a majority is not committed by counting")
	assert.Empty(t, data(c.Applied(1)))

	// (d) 1 crashes; 5 restarts and wins term 5 with 3 and 4 (its last
	// term 3 beats their 2), and overwrites entry 7 everywhere. That is
	// only safe because nobody committed it.
	c.Crash(1)
	require.NoError(t, c.Restart(5))
	c.Campaign(5) // term 4: everyone already voted for 1
	require.NoError(t, c.StabilizeDropping(none))
	c.Campaign(5)
	require.NoError(t, c.StabilizeDropping(none))
	require.Equal(t, raft.Leader, status(c, 5).Role)
	require.Equal(t, uint64(5), status(c, 5).Term)

	require.NoError(t, c.Restart(1))
	tickUntil(t, c, 20, func() bool {
		for _, id := range c.IDs() {
			if status(c, id).Commit != status(c, 5).LastIndex {
				return false
			}
		}
		return true
	})
	for _, id := range c.IDs() {
		assert.Equal(t, uint64(3), termAt(c, id, 7), "node %d: entry 7 is 5's", id)
		assert.Equal(t, c.Disk(5).Entries, c.Disk(id).Entries, "node %d", id)
		assert.Empty(t, data(c.Applied(id)), "node %d never applied the overwritten entry", id)
	}
}

// A follower holding an uncommitted suffix from a deposed leader has it
// replaced by the new leader's entries; the committed prefix is untouched,
// and the host is told to truncate its stored log.
func TestDivergentSuffixIsReplaced(t *testing.T) {
	common := []uint64{2, 2}
	leaderLog := append(slices.Clone(common), 3, 3)
	stale := append(slices.Clone(common), 2, 2, 2)
	c := newCluster(t, rafttest.Config{N: 3, Restored: map[uint64]raft.Restored{
		1: restoredLog(3, leaderLog, 3, 5),
		2: restoredLog(3, stale, 3, 5),
		3: restoredLog(3, leaderLog, 3, 5),
	}})
	var truncatedFrom uint64
	c.OnReady = func(id uint64, rd raft.Ready) {
		if id == 2 && len(rd.Entries) > 0 && truncatedFrom == 0 && rd.Entries[0].Index <= 8 {
			truncatedFrom = rd.Entries[0].Index
		}
	}
	stabilize(t, c)
	require.NoError(t, c.ElectLeader(1))
	assert.Equal(t, uint64(6), truncatedFrom, "Ready.Entries start at the first conflicting index")
	heartbeat(t, c) // carries the commit index
	assert.Equal(t, c.Disk(1).Entries, c.Disk(2).Entries)
	assert.Equal(t, status(c, 1).Commit, status(c, 2).Commit)
	assert.Equal(t, c.Applied(1), c.Applied(2))
}

// A follower only commits what the append it just accepted vouches for:
// entries beyond it may be a stale suffix the leader has not yet replaced.
func TestFollowerCommitBoundedByAppend(t *testing.T) {
	// Node 2 holds 6:t2 7:t2 from a deposed term-2 leader; the new leader
	// has 6:t2 7:t3 and has committed 7.
	st := restoredLog(3, []uint64{2, 2, 2, 2}, 3, 5)
	n, err := raft.NewNode(raft.Config{ID: 2, ElectionTick: 10, HeartbeatTick: 1, MaxInflightMsgs: 4,
		Rand: rand.New(rand.NewPCG(1, 2))}, st)
	require.NoError(t, err)
	n.Advance(n.Ready())
	require.NoError(t, n.Step(raftpb.Message{Type: raftpb.MsgApp, From: 1, To: 2, Term: 3, Index: 5, LogTerm: 2,
		Entries: []raftpb.Entry{{Term: 2, Index: 6, Data: []byte{2}}}, Commit: 7}))
	assert.Equal(t, uint64(6), n.Status().Commit, "7 on this node is not the leader's 7")
	require.NoError(t, n.Step(raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 3, Commit: 6}))
	assert.Equal(t, uint64(6), n.Status().Commit)
}

// Fast backtracking: a follower with a long divergent suffix is repaired
// in a number of round trips bounded by the number of conflicting terms,
// not the number of conflicting entries.
func TestFastBacktracking(t *testing.T) {
	for _, tc := range []struct {
		name           string
		leader, follow []uint64
		maxRejections  int
	}{
		{"follower suffix of two other terms",
			append(repeat(2, 100), repeat(5, 1000)...), append(repeat(2, 100), append(repeat(3, 300), repeat(4, 700)...)...), 3},
		{"follower far behind",
			append(repeat(2, 100), repeat(5, 1000)...), repeat(2, 100), 1},
		{"follower long tail of an old term, leader many terms",
			func() []uint64 {
				l := repeat(2, 100)
				for tm := uint64(3); tm <= 12; tm++ {
					l = append(l, repeat(tm, 50)...)
				}
				return l
			}(), repeat(2, 1100), 2},
		{"leader long tail of an old term, follower many terms",
			repeat(2, 1100), func() []uint64 {
				l := repeat(1, 100)
				for tm := uint64(3); tm <= 12; tm++ {
					l = append(l, repeat(tm, 50)...)
				}
				return l
			}(), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt, ft := tc.leader[len(tc.leader)-1], tc.follow[len(tc.follow)-1]
			term := max(lt, ft)
			c := newCluster(t, rafttest.Config{N: 3, Restored: map[uint64]raft.Restored{
				1: restoredLog(3, tc.leader, term, 3),
				2: restoredLog(3, tc.follow, term, 3),
				3: restoredLog(3, tc.leader, term, 3),
			}})
			stabilize(t, c)
			rejections := 0
			c.OnSend = func(m raftpb.Message, _ int) {
				if m.Type == raftpb.MsgAppResp && m.Reject && m.From == 2 {
					rejections++
				}
			}
			c.Campaign(1)
			stabilize(t, c)
			if status(c, 1).Role != raft.Leader { // the follower's log may win ties; campaign again
				c.Campaign(1)
				stabilize(t, c)
			}
			require.Equal(t, raft.Leader, status(c, 1).Role)
			assert.LessOrEqual(t, rejections, tc.maxRejections)
			assert.Equal(t, c.Disk(1).Entries, c.Disk(2).Entries)
		})
	}
}

// normalizedSize is the wire size of m minus the varint bytes of its
// index-valued fields, whose width alone grows (logarithmically) with the
// log: what remains must not depend on the log's length at all.
func normalizedSize(m raftpb.Message, size int) int {
	w := func(v uint64) int {
		n := 1
		for v >= 0x80 {
			v >>= 7
			n++
		}
		return n
	}
	size -= w(m.Index) + w(m.Commit) + w(m.RejectHint)
	for _, e := range m.Entries {
		size -= w(e.Index)
	}
	return size
}

// Seed failure 3: the cost of a write must not grow with the log. With
// 100, 20,000 and 100,000 entries in the log, one write produces the same
// messages carrying the same entries; their bytes differ only in the
// varint width of index fields (identical for 20,000 vs 100,000, both
// three bytes).
func TestWriteCostIndependentOfLogLength(t *testing.T) {
	type cost struct{ msgs, entries, bytes, normalized int }
	measure := func(t *testing.T, logLen int, downFollower bool) []cost {
		terms := repeat(2, logLen-3)
		st := restoredLog(3, terms, 2, uint64(logLen))
		c := newCluster(t, rafttest.Config{N: 3, Restored: map[uint64]raft.Restored{1: st, 2: st, 3: st}})
		require.NoError(t, c.ElectLeader(1))
		if downFollower {
			c.Crash(3)
		}
		var out []cost
		for w := range 5 {
			var k cost
			c.OnSend = func(m raftpb.Message, size int) {
				k.msgs++
				k.entries += len(m.Entries)
				k.bytes += size
				k.normalized += normalizedSize(m, size)
			}
			require.NoError(t, c.Propose(1, fmt.Appendf(nil, "write-%02d-%s", w, "0123456789abcdef")))
			stabilize(t, c)
			out = append(out, k)
		}
		require.Equal(t, uint64(logLen+1+5), status(c, 1).Commit)
		return out
	}
	for _, down := range []bool{false, true} {
		t.Run(fmt.Sprintf("follower-down=%t", down), func(t *testing.T) {
			small, mid, large := measure(t, 100, down), measure(t, 20_000, down), measure(t, 100_000, down)
			assert.Equal(t, mid, large, "bytes per write identical at 20,000 and 100,000 entries")
			for i := range small {
				assert.Equal(t, small[i].msgs, large[i].msgs)
				assert.Equal(t, small[i].entries, large[i].entries)
				assert.Equal(t, small[i].normalized, large[i].normalized)
			}
			// Each write: the entry goes once to each live follower.
			live := 2
			if down {
				live = 1
			}
			for _, k := range large {
				assert.LessOrEqual(t, k.entries, 2)
				assert.GreaterOrEqual(t, k.entries, live)
				assert.Less(t, k.bytes, 500)
			}
		})
	}
}

// A follower that fell far behind is caught up from its match index in
// batches of at most MaxSizePerMsg, with at most MaxInflightMsgs appends in
// flight, and receives each missing entry once.
func TestLaggingFollowerCatchUpIsBatched(t *testing.T) {
	const maxSize, maxInflight = 1024, 4
	c := newCluster(t, rafttest.Config{N: 3, MaxSizePerMsg: maxSize, MaxInflightMsgs: maxInflight})
	require.NoError(t, c.ElectLeader(1))
	c.Cut(1, 3)
	payload := make([]byte, 100)
	for range 500 {
		require.NoError(t, c.Propose(1, payload))
	}
	stabilize(t, c)
	missing := status(c, 1).LastIndex - status(c, 3).LastIndex
	require.Equal(t, uint64(500), missing)
	c.Heal()

	sent := map[uint64]int{} // index -> times sent to 3
	batches := 0
	c.OnSend = func(m raftpb.Message, size int) {
		if m.Type != raftpb.MsgApp || m.To != 3 || len(m.Entries) == 0 {
			return
		}
		batches++
		payloadBytes := 0
		for i := range m.Entries {
			payloadBytes += len(raftpb.AppendEntry(nil, &m.Entries[i]))
			sent[m.Entries[i].Index]++
		}
		assert.LessOrEqual(t, payloadBytes, maxSize, "entries of one append")
		empty := m
		empty.Entries = nil
		assert.LessOrEqual(t, size, maxSize+len(empty.Marshal())+1, "whole message: limit plus header")
	}
	c.Tick(1) // a heartbeat; its response starts the catch-up
	for range 1000 {
		require.NoError(t, c.ProcessAll())
		if len(c.Queue) == 0 {
			break
		}
		inflight := 0
		for _, p := range c.Queue {
			if p.Type == raftpb.MsgApp && p.To == 3 && len(p.Msg().Entries) > 0 {
				inflight++
			}
		}
		require.LessOrEqual(t, inflight, maxInflight)
		for _, pr := range status(c, 1).Progress {
			require.LessOrEqual(t, pr.Inflight, maxInflight)
		}
		c.DeliverAll()
	}
	assert.Equal(t, status(c, 1).LastIndex, status(c, 3).LastIndex)
	assert.Equal(t, c.Disk(1).Entries, c.Disk(3).Entries)
	assert.Len(t, sent, int(missing))
	for idx, n := range sent { //detguard:unordered test assertion
		assert.Equal(t, 1, n, "entry %d sent once", idx)
	}
	// 500 entries of ~110 bytes in batches of <= 1 KiB: at least 55 batches, and no tiny ones.
	assert.GreaterOrEqual(t, batches, 55)
	assert.LessOrEqual(t, batches, 60)
}

// Replaying every message of a run, shuffled and duplicated, changes
// nothing: stale terms are ignored, old appends are already held, stale
// acknowledgements do not move progress backwards.
func TestStaleDuplicatedReorderedMessagesAreHarmless(t *testing.T) {
	c := newCluster(t, rafttest.Config{N: 3, PreVote: true, CheckQuorum: true})
	var history []rafttest.Packet
	c.OnSend = func(m raftpb.Message, _ int) {
		history = append(history, rafttest.Packet{From: m.From, To: m.To, Type: m.Type, Bytes: m.Marshal()})
	}
	require.NoError(t, c.ElectLeader(1))
	for i := range 20 {
		require.NoError(t, c.Propose(1, fmt.Appendf(nil, "a%d", i)))
		if i%5 == 0 {
			c.TickAll()
		}
		stabilize(t, c)
	}
	// A second leader, so history holds two terms.
	for range 3 {
		c.Tick(2)
	}
	c.Isolate(1)
	tickUntil(t, c, 100, func() bool { return c.Leader() != raft.None && c.Leader() != 1 })
	c.Heal()
	lead := c.Leader()
	for i := range 10 {
		require.NoError(t, c.Propose(lead, fmt.Appendf(nil, "b%d", i)))
		stabilize(t, c)
	}
	tickUntil(t, c, 20, func() bool { return status(c, 1).Commit == status(c, lead).Commit })

	type snap struct {
		st   raft.Status
		disk rafttest.Disk
	}
	before := map[uint64]snap{}
	for _, id := range c.IDs() {
		st := status(c, id)
		st.Progress = nil
		before[id] = snap{st, *c.Disk(id)}
	}
	c.OnSend = nil
	replay := slices.Clone(history)
	replay = append(replay, history...)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(replay), func(i, j int) { replay[i], replay[j] = replay[j], replay[i] })
	c.Queue = replay
	stabilize(t, c)
	for _, id := range c.IDs() {
		st := status(c, id)
		st.Progress = nil
		assert.Equal(t, before[id].st, st, "node %d", id)
		assert.Equal(t, before[id].disk, *c.Disk(id), "node %d", id)
	}
	require.NoError(t, c.Propose(lead, []byte("after")))
	stabilize(t, c)
	tickUntil(t, c, 5, func() bool { return slices.Contains(data(c.Applied(3)), "after") })
}

// Writes proposed while an append to a follower is in flight wait for its
// acknowledgement and then go out together: N concurrent writes cost two
// appends per follower (the first alone, the rest in one), not N, and
// each entry is still sent once.
func TestConcurrentWritesShareAppends(t *testing.T) {
	for _, n := range []int{3, 8, 32} {
		t.Run(fmt.Sprintf("writes=%d", n), func(t *testing.T) {
			c := newCluster(t, rafttest.Config{N: 3})
			require.NoError(t, c.ElectLeader(1))
			appends := map[uint64]int{}
			sent := map[uint64]int{} // index -> times sent, to any follower
			c.OnSend = func(m raftpb.Message, _ int) {
				if m.Type == raftpb.MsgApp && len(m.Entries) > 0 {
					appends[m.To]++
					for _, e := range m.Entries {
						sent[e.Index]++
					}
				}
			}
			first := status(c, 1).LastIndex + 1
			for i := range n {
				require.NoError(t, c.Propose(1, fmt.Appendf(nil, "w%d", i)))
				require.NoError(t, c.Process(1)) // each write's Ready goes out before the next arrives
			}
			stabilize(t, c)
			require.Equal(t, first+uint64(n)-1, status(c, 1).Commit, "every write committed")
			for _, f := range []uint64{2, 3} {
				assert.Less(t, appends[f], n, "appends to n%d for %d writes", f, n)
				assert.Equal(t, 2, appends[f], "the first write alone, the rest in one append")
			}
			for i := first; i < first+uint64(n); i++ {
				assert.Equal(t, 2, sent[i], "entry %d sent once to each follower", i)
			}
		})
	}
}
