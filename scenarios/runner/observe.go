package runner

import (
	"fmt"
	"time"

	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// SampleEvery is how often the runner samples the cluster for expectations.
const SampleEvery = 50 * time.Millisecond

// Sample is the cluster as seen at one instant: what scenario expectations
// (a stable leader across an interval, no commit across an interval,
// progress after a heal, traffic to a restarted node) are judged on.
type Sample struct {
	At    sim.Time
	Nodes []NodeSample // index i is server i+1
}

// NodeSample is one server's state in a Sample.
type NodeSample struct {
	Up        bool
	Role      subject.Role
	Term      uint64
	Lead      uint64
	Commit    uint64
	LastIndex uint64
	// BytesReceived is everything delivered to the node so far (servers
	// and clients), cumulative across restarts.
	BytesReceived uint64
	// Incarnation counts the node's restarts.
	Incarnation int
	// LogEntries and LogBytes are how many entries its log holds (after
	// its snapshot) and their encoded size.
	LogEntries, LogBytes uint64
	// Recovering: the node lost durable data and is catching up (it
	// neither votes nor counts toward commit quorums).
	Recovering bool
}

// Leader returns the id of the up node that leads with the highest term, or 0.
func (s Sample) Leader() (id int, term uint64) {
	for i, n := range s.Nodes {
		if n.Up && n.Role == subject.Leader && n.Term >= term {
			id, term = i+1, n.Term
		}
	}
	return id, term
}

// MaxCommit is the highest commit index of any up node.
func (s Sample) MaxCommit() uint64 {
	var c uint64
	for _, n := range s.Nodes {
		if n.Up {
			c = max(c, n.Commit)
		}
	}
	return c
}

// sampler records a Sample every SampleEvery of virtual time: every one
// if record, else only the last (and, either way, the largest log any
// server held).
type sampler struct {
	w       *sim.World
	c       *cluster.Cluster
	record  bool
	samples []Sample
	incs    []int
	up      []bool
	// logEntriesMax and logBytesMax are the most entries and entry bytes
	// any server's log held in a sample.
	logEntriesMax, logBytesMax uint64
	// onSample, if set, sees each sample as it is taken.
	onSample func(Sample)
	// maxEvents is the run's event budget; overBudget says the sampler
	// stopped the world because the trace outgrew it.
	maxEvents  uint64
	overBudget bool
}

func startSampler(w *sim.World, c *cluster.Cluster, maxEvents uint64, record bool) *sampler {
	s := &sampler{w: w, c: c, record: record, incs: make([]int, c.Servers()), up: make([]bool, c.Servers()), maxEvents: maxEvents}
	var tick func()
	tick = func() {
		if maxEvents > 0 && w.Trace().Len() > maxEvents {
			s.overBudget = true
			w.Stop(fmt.Sprintf("run too large: more than %d events", maxEvents))
			return
		}
		s.take()
		w.After(SampleEvery, tick)
	}
	w.After(0, tick)
	return s
}

func (s *sampler) take() {
	smp := Sample{At: s.w.Now()}
	if !s.record && len(s.samples) == 1 {
		smp.Nodes = s.samples[0].Nodes[:0] // the last sample's memory: only it is kept
	} else {
		smp.Nodes = make([]NodeSample, s.c.Servers())
	}
	smp.Nodes = smp.Nodes[:s.c.Servers()]
	for i := range smp.Nodes {
		id := i + 1
		up := s.w.Up(sim.NodeID(id))
		if up && !s.up[i] && s.w.Now() > 0 {
			s.incs[i]++
		}
		s.up[i] = up
		n := NodeSample{Up: up, Incarnation: s.incs[i], BytesReceived: s.w.Net().Received(sim.NodeID(id)).BytesDelivered}
		if srv := s.c.Server(id); srv != nil {
			st := srv.BasicStatus()
			n.Role, n.Term, n.Lead, n.Commit, n.LastIndex = st.Role, st.Term, st.Lead, st.Commit, st.LastIndex
			n.LogEntries, n.LogBytes = st.LastIndex+1-st.FirstIndex, st.LogBytes
			n.Recovering = st.Recovering
		}
		smp.Nodes[i] = n
		s.logEntriesMax, s.logBytesMax = max(s.logEntriesMax, n.LogEntries), max(s.logBytesMax, n.LogBytes)
	}
	if s.onSample != nil {
		s.onSample(smp)
	}
	if !s.record && len(s.samples) == 1 {
		s.samples[0] = smp
		return
	}
	s.samples = append(s.samples, smp)
}
