package runner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/etcdraft"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The read-safety check, one step at a time: a read a leader was asked
// for after a later term's leader was elected must not be confirmed; one
// it was asked for before, or again after, or as a follower, may be.
func TestReadSafety(t *testing.T) {
	type step struct {
		at    time.Duration
		role  bool // a role change (elected: leader of term)
		id    uint64
		term  uint64
		lead  bool
		ask   bool // else a confirmation of seq
		seq   uint64
		leads bool
	}
	elect := func(at time.Duration, id, term uint64) step {
		return step{at: at, role: true, id: id, term: term, lead: true}
	}
	follow := func(at time.Duration, id, term uint64) step {
		return step{at: at, role: true, id: id, term: term}
	}
	ask := func(at time.Duration, id, term, seq uint64, leads bool) step {
		return step{at: at, id: id, term: term, ask: true, seq: seq, leads: leads}
	}
	confirm := func(at time.Duration, id, seq uint64) step { return step{at: at, id: id, seq: seq} }
	for _, tt := range []struct {
		name  string
		steps []step
		fails bool
	}{
		{"asked after a later leader was elected", []step{elect(0, 1, 4), elect(time.Second, 2, 5), ask(2*time.Second, 1, 4, 1, true), confirm(2*time.Second, 1, 1)}, true},
		{"asked before it", []step{elect(0, 1, 4), ask(time.Second, 1, 4, 1, true), elect(2*time.Second, 2, 5), confirm(3*time.Second, 1, 1)}, false},
		{"asked of the latest leader", []step{elect(0, 1, 4), elect(time.Second, 2, 5), ask(2*time.Second, 2, 5, 1, true), confirm(2*time.Second, 2, 1)}, false},
		{"asked before and again after: either may be confirmed", []step{elect(0, 1, 4), ask(time.Second, 1, 4, 1, true), elect(2*time.Second, 2, 5),
			ask(3*time.Second, 1, 4, 1, true), confirm(3*time.Second, 1, 1)}, false},
		{"asked twice after", []step{elect(0, 1, 4), elect(time.Second, 2, 5), ask(2*time.Second, 1, 4, 1, true),
			ask(3*time.Second, 1, 4, 1, true), confirm(3*time.Second, 1, 1)}, true},
		{"a new role drops what was asked before it", []step{elect(0, 1, 4), elect(time.Second, 2, 5), ask(2*time.Second, 1, 4, 1, true),
			follow(2*time.Second, 1, 5), ask(3*time.Second, 1, 5, 1, false), confirm(3*time.Second, 1, 1)}, false},
		{"asked as a follower", []step{elect(0, 1, 4), elect(time.Second, 2, 5), ask(2*time.Second, 1, 4, 1, false), confirm(2*time.Second, 1, 1)}, false},
		{"another read confirmed", []step{elect(0, 1, 4), elect(time.Second, 2, 5), ask(2*time.Second, 1, 4, 1, true), confirm(2*time.Second, 1, 2)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := sim.New(sim.Config{Seed: 1, Nodes: 6})
			require.NoError(t, err)
			opts := Options{Servers: 5, Server: server.Config{Subject: native.Subject(), Reads: server.ReadIndex}}
			wt := newWatch(w, &opts, nil)
			require.True(t, wt.reads)
			for _, s := range tt.steps {
				w.RunUntil(sim.Time(s.at))
				switch {
				case s.role && s.lead:
					wt.role(s.id, subject.Leader, s.term)
				case s.role:
					wt.role(s.id, subject.Follower, s.term)
				case s.ask:
					wt.read(s.id, server.ReadEvent{Client: 6, Seq: s.seq, Term: s.term, Leader: s.leads})
				default:
					wt.read(s.id, server.ReadEvent{Client: 6, Seq: s.seq, Confirmed: true, Index: 9})
				}
			}
			if tt.fails {
				assert.Contains(t, wt.readFound, "n1, leader of term 4, confirmed a get by c1")
			} else {
				assert.Empty(t, wt.readFound)
			}
		})
	}
}

// Read-safety holds lease reads to it only where the lease is the
// subject's drift-bounded one and no clock drifts beyond the bound
// configured; the other checks need the subject's mechanism.
func TestWatchTakesWhatTheSubjectHas(t *testing.T) {
	drift := func(ppm int64) *faults.Schedule {
		return &faults.Schedule{Faults: []faults.Fault{{Kind: faults.ClockDrift, At: time.Second, Until: 2 * time.Second, PPM: ppm, Leader: true}}}
	}
	for _, tt := range []struct {
		name                      string
		sub                       subject.Subject
		reads                     server.ReadMode
		bound                     int64
		sched                     *faults.Schedule
		read, transfer, promotion bool
	}{
		{"raftsim, read index", native.Subject(), server.ReadIndex, 0, drift(400_000), true, true, true},
		{"raftsim, lease within its bound", native.Subject(), server.ReadLease, 200_000, drift(-200_000), true, true, true},
		{"raftsim, lease beyond its bound", native.Subject(), server.ReadLease, 10_000, drift(-499_999), false, true, true},
		{"raftsim, reads through the log", native.Subject(), server.ReadLog, 0, nil, false, true, true},
		{"etcd, read index", etcdraft.Subject(), server.ReadIndex, 0, nil, true, true, false},
		{"etcd, lease", etcdraft.Subject(), server.ReadLease, 0, nil, false, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := sim.New(sim.Config{Seed: 1, Nodes: 5})
			require.NoError(t, err)
			opts := Options{Servers: 5, Server: server.Config{Subject: tt.sub, Reads: tt.reads, MaxDriftPPM: tt.bound}}
			wt := newWatch(w, &opts, tt.sched)
			assert.Equal(t, tt.read, wt.reads, "read-safety")
			assert.Equal(t, tt.transfer, wt.transfers, "transfer-pause")
			assert.Equal(t, tt.promotion, wt.promotions, "promotion-guard")
		})
	}
}

// A promotion fails the check when the learner was up and its log did
// not hold the leader's commit index, unless a storage fault hit it.
func TestPromotionBehind(t *testing.T) {
	names := cluster.Names{Servers: 5}
	behind := cluster.Promotion{At: sim.Time(3 * time.Second), Leader: 1, Learner: 4, Commit: 90, LearnerLast: 40}
	held := behind
	held.Held = true
	down := behind
	down.Down = true
	assert.Empty(t, promotionBehind([]cluster.Promotion{held, down}, nil, names))
	assert.Empty(t, promotionBehind([]cluster.Promotion{behind}, []int{4}, names), "its storage was hit")
	assert.Equal(t, "n1 accepted the promotion of learner n4 to voter at 3s, when it had committed entry 90 and the learner's log did not hold it (its log ended at 40)",
		promotionBehind([]cluster.Promotion{held, behind}, []int{2}, names))
}
