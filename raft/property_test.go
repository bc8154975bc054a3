package raft_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/rafttest"
)

// safetyChecker watches a cluster and fails on any violation of Raft's
// safety properties. It only trusts what a node has externalized: its
// Status, its Disk and its applied entries.
type safetyChecker struct {
	c *rafttest.Cluster
	// leaders[term] is the node seen leading term.
	leaders map[uint64]uint64
	// committed[i] is the entry first seen committed at i, and
	// committedBy[i] an upper bound on the term it was committed in.
	committed   map[uint64]raftpb.Entry
	committedBy map[uint64]uint64
	// applied[i] is the entry first seen applied at i.
	applied map[uint64]raftpb.Entry
	// durable is each node's last persisted HardState: term and vote must
	// never go back, even across a crash.
	durable map[uint64]raftpb.HardState
	// lastTerm is each node's last observed live term, and inst the node
	// instance it was observed on: a restart may forget a term that was
	// never persisted (nobody heard of it), but never a durable one.
	lastTerm map[uint64]uint64
	inst     map[uint64]*raft.Node
	// looks is what check last saw of each node: while its Changes count
	// stands still, nothing it shows may differ (the invariant checker
	// relies on it to skip unchanged nodes).
	looks map[*raft.Node]look
}

type look struct {
	changes uint64
	status  raft.Status
	config  string
	last    raftpb.Entry
}

func newSafetyChecker(c *rafttest.Cluster) *safetyChecker {
	return &safetyChecker{
		c: c, leaders: map[uint64]uint64{}, committed: map[uint64]raftpb.Entry{},
		committedBy: map[uint64]uint64{}, applied: map[uint64]raftpb.Entry{},
		durable: map[uint64]raftpb.HardState{}, lastTerm: map[uint64]uint64{},
		inst: map[uint64]*raft.Node{}, looks: map[*raft.Node]look{},
	}
}

func sameEntry(a, b raftpb.Entry) bool {
	return a.Term == b.Term && a.Index == b.Index && a.Type == b.Type && string(a.Data) == string(b.Data)
}

func (s *safetyChecker) check() error {
	for _, id := range s.c.IDs() {
		// Durable term and vote only move forward.
		hs := s.c.Disk(id).HardState
		prev := s.durable[id]
		if hs.Term < prev.Term {
			return fmt.Errorf("node %d: durable term went back %d -> %d", id, prev.Term, hs.Term)
		}
		if hs.Term == prev.Term && prev.Vote != raft.None && hs.Vote != prev.Vote {
			return fmt.Errorf("node %d: durable vote in term %d changed %d -> %d", id, hs.Term, prev.Vote, hs.Vote)
		}
		s.durable[id] = hs

		n := s.c.Node(id)
		if n == nil {
			continue
		}
		st := n.Status()
		now := look{changes: n.Changes(), status: st, config: n.Config().String()}
		now.last, _ = n.LogEntry(st.LastIndex)
		if prev, ok := s.looks[n]; ok && prev.changes == now.changes && !reflect.DeepEqual(prev, now) {
			return fmt.Errorf("node %d changed without a call counted by Changes (%d):\nbefore %+v\nafter  %+v", id, now.changes, prev, now)
		}
		s.looks[n] = now
		if s.inst[id] != n {
			s.inst[id], s.lastTerm[id] = n, 0
		}
		if st.Term < s.lastTerm[id] || st.Term < hs.Term {
			return fmt.Errorf("node %d: term went back to %d (seen %d, durable %d)", id, st.Term, s.lastTerm[id], hs.Term)
		}
		if st.Term == hs.Term && hs.Vote != raft.None && st.Vote != hs.Vote {
			return fmt.Errorf("node %d: vote in term %d is %d, durable vote %d", id, st.Term, st.Vote, hs.Vote)
		}
		s.lastTerm[id] = st.Term

		// Election safety.
		if st.Role == raft.Leader {
			if l, ok := s.leaders[st.Term]; ok && l != id {
				return fmt.Errorf("two leaders in term %d: %d and %d", st.Term, l, id)
			}
			s.leaders[st.Term] = id
		}

		// State machine safety: every node applies the same entry at an index.
		for _, e := range s.c.Applied(id) {
			if a, ok := s.applied[e.Index]; ok && !sameEntry(a, e) {
				return fmt.Errorf("node %d applied %+v at %d, another node applied %+v", id, e, e.Index, a)
			}
			s.applied[e.Index] = e
		}

		// The rest compares logs, which needs the disk to hold what the
		// node holds in memory: only between Readies.
		if n.HasReady() {
			continue
		}
		ents := s.c.Disk(id).Entries
		if uint64(len(ents)) != st.LastIndex {
			return fmt.Errorf("node %d: processed but disk has %d entries, log %d", id, len(ents), st.LastIndex)
		}
		// Log matching on the committed prefix, and committed entries
		// never change.
		for _, e := range ents[:st.Commit] {
			if c, ok := s.committed[e.Index]; ok {
				if !sameEntry(c, e) {
					return fmt.Errorf("node %d: committed entry %d is %+v, was %+v", id, e.Index, e, c)
				}
				continue
			}
			s.committed[e.Index] = e
			s.committedBy[e.Index] = st.Term
		}
		// Leader completeness: a leader of a later term than the one an
		// entry committed in holds it (so committed entries never vanish).
		if st.Role == raft.Leader {
			for idx, e := range s.committed { //detguard:unordered test-only check, any violation fails
				if s.committedBy[idx] < st.Term {
					if idx > uint64(len(ents)) || !sameEntry(ents[idx-1], e) {
						return fmt.Errorf("leader %d of term %d lacks committed entry %d %+v", id, st.Term, idx, e)
					}
				}
			}
		}
	}
	return nil
}

func TestRandomizedSafety(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := rafttest.Config{
			N:               rapid.IntRange(3, 5).Draw(t, "n"),
			ElectionTick:    rapid.IntRange(4, 10).Draw(t, "electionTick"),
			HeartbeatTick:   1,
			PreVote:         rapid.Bool().Draw(t, "preVote"),
			CheckQuorum:     rapid.Bool().Draw(t, "checkQuorum"),
			MaxSizePerMsg:   rapid.Uint64Range(1, 300).Draw(t, "maxSize"),
			MaxInflightMsgs: rapid.IntRange(1, 8).Draw(t, "maxInflight"),
			Seed:            rapid.Uint64().Draw(t, "seed"),
		}
		c, err := rafttest.New(cfg)
		require.NoError(t, err)
		chk := newSafetyChecker(c)
		ids := c.IDs()
		pickID := func(label string) uint64 { return rapid.SampledFrom(ids).Draw(t, label) }
		pickPacket := func() int { return rapid.IntRange(0, len(c.Queue)-1).Draw(t, "packet") }
		proposals := 0

		// The actions, with weights out of 100. Targeted delivery (all
		// packets to one node) and proposal bursts make followers end up
		// with different, partly replicated suffixes, which is where
		// replication bugs hide.
		actions := []struct {
			weight int
			do     func()
		}{
			{20, func() { // one packet, any: reordering
				if len(c.Queue) > 0 {
					c.Deliver(pickPacket())
				}
			}},
			{8, func() { c.DeliverAll() }},
			{5, func() {
				to := pickID("deliverTo")
				c.DeliverWhere(func(p rafttest.Packet) bool { return p.To == to })
			}},
			{4, func() { c.Tick(pickID("tick")) }},
			{6, func() { c.TickAll() }},
			{12, func() { require.NoError(t, c.Process(pickID("process"))) }},
			{14, func() { require.NoError(t, c.ProcessAll()) }},
			{3, func() { // loss
				if len(c.Queue) > 0 {
					i := pickPacket()
					c.Queue = slices.Delete(c.Queue, i, i+1)
				}
			}},
			{3, func() { // duplication
				if len(c.Queue) > 0 {
					c.Queue = append(c.Queue, c.Queue[pickPacket()])
				}
			}},
			{2, func() {
				var g1, g2 []uint64
				for _, id := range ids {
					if rapid.Bool().Draw(t, "side") {
						g1 = append(g1, id)
					} else {
						g2 = append(g2, id)
					}
				}
				c.Partition(g1, g2)
			}},
			{1, func() {
				if l := c.Leader(); l != raft.None {
					c.Isolate(l)
				}
			}},
			{4, func() { c.Heal() }},
			{1, func() { c.Crash(pickID("crash")) }},
			{2, func() {
				// Mostly bring a crashed node back; sometimes restart a
				// running one (a crash and restart between two steps).
				id := pickID("restart")
				for _, d := range ids {
					if c.Node(d) == nil && rapid.Bool().Draw(t, "preferDown") {
						id = d
						break
					}
				}
				require.NoError(t, c.Restart(id))
			}},
			{15, func() {
				id := pickID("propose")
				if l := c.Leader(); l != raft.None && rapid.Bool().Draw(t, "atLeader") {
					id = l
				}
				for range rapid.IntRange(1, 3).Draw(t, "burst") {
					if c.Node(id) != nil {
						proposals++
						_ = c.Propose(id, fmt.Appendf(nil, "p%d", proposals))
					}
				}
			}},
		}

		steps := rapid.IntRange(1000, 3000).Draw(t, "steps")
		for range steps {
			// rapid draws small integers far more often than large ones;
			// a multiplicative hash spreads them evenly over the actions
			// (and 0, where shrinking heads, is still the first action).
			a := int((rapid.Uint64().Draw(t, "action") * 0x9E3779B97F4A7C15 >> 32) % 100)
			for _, act := range actions {
				if a < act.weight {
					act.do()
					break
				}
				a -= act.weight
			}
			if err := chk.check(); err != nil {
				t.Fatalf("%v\n%s", err, c)
			}
		}
		require.Empty(t, c.StepErrors)

		// Liveness once the faults stop: everyone back, links healed, a
		// leader emerges and a new write reaches every state machine.
		c.Heal()
		for _, id := range ids {
			if c.Node(id) == nil {
				require.NoError(t, c.Restart(id))
			}
		}
		done := false
		for tick := 0; tick < 50*cfg.ElectionTick && !done; tick++ {
			c.TickAll()
			require.NoError(t, c.Stabilize())
			if err := chk.check(); err != nil {
				t.Fatalf("%v\n%s", err, c)
			}
			if l := c.Leader(); l != raft.None && c.Propose(l, []byte("final")) == nil {
				require.NoError(t, c.Stabilize())
				done = true
				for _, id := range ids {
					done = done && slices.Contains(data(c.Applied(id)), "final")
				}
			}
		}
		require.True(t, done, "no progress after healing:\n%s", c)
		require.NoError(t, chk.check())
	})
}
