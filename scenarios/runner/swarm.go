package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The swarm's share of reads and leadership transfers. Each draws from a
// named stream of its own, so adding them changed no seed's fault
// schedule; a scenario with random-faults draws them the same way, and a
// run written out as a scenario (FromSchedule) states what they drew.

// swarmReadModes are the modes the swarm picks from: every linearizable
// one (local is not, by design).
var swarmReadModes = []server.ReadMode{server.ReadIndex, server.ReadLease, server.ReadLog}

// ReadHeavyWorkload is the read-heavy load the swarm sometimes picks: one
// key, mostly gets, so stale reads have every chance to show.
func ReadHeavyWorkload() client.Workload {
	w := client.DefaultWorkload()
	w.Keys, w.Put, w.Get, w.Append, w.CAS = 1, 1, 8, 1, 0
	return w
}

// ReadHeavyClients is how many clients a read-heavy seed runs when the
// options leave the number open.
const ReadHeavyClients = 8

// SwarmReads is the swarm's share of a run's reads: a read mode (index,
// lease or log, each about a third of seeds) unless one is set, and on
// about one seed in four whose workload is not set, the read-heavy one
// (with ReadHeavyClients clients unless their number is set). It draws
// from the named stream "swarm-reads"; both draws are made whatever is
// set, so one setting never shifts the other's.
func SwarmReads(seed uint64, o *Options) (note string) {
	r := sim.NewRand(seed, "swarm-reads")
	mode := swarmReadModes[r.IntN(len(swarmReadModes))] // drawnReadMode's draw
	heavy := r.Chance(0.25)
	if o.Server.Reads == server.ReadDefault {
		if sub := subjectOf(o); mode == server.ReadLease && !sub.Capabilities.DriftBoundedLease {
			// The draw stands (nothing else shifts); the subject reads
			// by read index instead, and the run says so.
			mode, note = server.ReadIndex, "lease reads drawn, read index used: "+sub.Name+" lacks drift-bounded-lease"
		}
		o.Server.Reads = mode
	}
	if heavy && o.Workload == (client.Workload{}) {
		o.Workload = ReadHeavyWorkload()
		if o.Clients == 0 && len(o.ClientGroups) == 0 {
			o.Clients = ReadHeavyClients
		}
	}
	return note
}

// drawnReadMode is the read mode SwarmReads draws for seed, whatever the
// options set: the swarm's shapes lean on it (lease traps come mostly
// to seeds that draw lease reads), and it depends on the seed alone, so
// every caller of drawShapes draws the same plan.
func drawnReadMode(seed uint64) server.ReadMode {
	return swarmReadModes[sim.NewRand(seed, "swarm-reads").IntN(len(swarmReadModes))]
}

// subjectOf is the subject o runs (the default if unset).
func subjectOf(o *Options) subject.Subject {
	if o.Server.Subject.Open == nil {
		return native.Subject()
	}
	return o.Server.Subject
}

// SubjectKinds is kinds without what the subject cannot take: storage
// faults (which damage durable data) for a subject without a recovering
// mode, whose servers would stay down rather than rejoin unsafely. The
// note says what was left out, or is empty.
func SubjectKinds(sub subject.Subject, kinds []faults.Kind) ([]faults.Kind, string) {
	if sub.Open == nil || sub.Capabilities.Recovery {
		return kinds, ""
	}
	var out, dropped []faults.Kind
	for _, k := range kinds {
		if k.Storage() {
			dropped = append(dropped, k)
		} else {
			out = append(out, k)
		}
	}
	if len(dropped) == 0 {
		return kinds, ""
	}
	names := make([]string, len(dropped))
	for i, k := range dropped {
		names[i] = string(k)
	}
	return out, fmt.Sprintf("storage faults not drawn (%s): %s lacks recovery", strings.Join(names, ", "), sub.Name)
}

// SwarmTransfers are the leadership transfers the swarm adds to a run of
// servers servers whose faults last faultTime: on about one seed in
// three, one every few seconds (a mean gap drawn per seed in [500ms,
// 4s], stretched as faults.Generate stretches its gaps for an election
// timeout beyond faults.ReferenceElection), each to the leader's most up-to-date follower or to a server drawn
// at random (which may be down, cut off, or the leader itself: the
// transfer must then fail cleanly). From the named stream
// "swarm-transfers".
func SwarmTransfers(seed uint64, servers int, faultTime, election time.Duration) []faults.Fault {
	r := sim.NewRand(seed, "swarm-transfers")
	if servers < 2 || !r.Chance(1.0/3) {
		return nil
	}
	gap := r.Int64Range(500, 4000)
	if election > faults.ReferenceElection {
		gap = max(gap*int64(election)/int64(faults.ReferenceElection), 1)
	}
	var out []faults.Fault
	for t := time.Duration(0); ; {
		t += time.Duration(r.Int64Range(1, 2*gap)) * time.Millisecond
		if t >= faultTime {
			return out
		}
		f := faults.Fault{Kind: faults.Transfer, At: t, Until: t}
		if r.Chance(0.5) {
			f.Leader = true
		} else {
			f.Nodes = []int{1 + r.IntN(servers)}
		}
		out = append(out, f)
	}
}

// MergeFaults merges two fault lists, each in start order, into one:
// at equal start times a's come first.
func MergeFaults(a, b []faults.Fault) []faults.Fault {
	if len(b) == 0 {
		return a
	}
	out := append(slices.Clip(a), b...)
	slices.SortStableFunc(out, func(x, y faults.Fault) int {
		switch {
		case x.At < y.At:
			return -1
		case x.At > y.At:
			return 1
		}
		return 0
	})
	return out
}

// FitLease sizes a swarm run's lease to its schedule: with lease reads
// and no drift bound set, the bound becomes the largest drift the
// schedule's clock-drift faults can give any clock (overlapping faults
// add up; one on the leader or drawn at start counts on every server).
// If no lease is left under that bound, the run reads by read index
// instead. A script's own bound (or its absence) is never changed: a
// drift beyond what a script configured is a scenario of its own.
func FitLease(s *server.Config, sched faults.Schedule) {
	if s.Reads != server.ReadLease || s.MaxDriftPPM != 0 {
		return
	}
	d := maxDrift(sched)
	elect := s.ElectionTicks
	if elect == 0 {
		elect = server.DefaultElectionTicks
	}
	if raft.LeaseTicks(elect, d) == 0 {
		s.Reads = server.ReadIndex
		return
	}
	s.MaxDriftPPM = d
}

// maxDrift is the largest |drift| the schedule's clock-drift faults give
// any one server at any time, capped as the simulator caps it.
func maxDrift(sched faults.Schedule) int64 {
	type step struct {
		at    time.Duration
		end   bool
		nodes []int // nil: any server (the leader, or drawn at start)
		ppm   int64
	}
	var steps []step
	for _, f := range sched.Faults {
		if f.Kind != faults.ClockDrift {
			continue
		}
		var nodes []int
		if !f.Leader && !slices.ContainsFunc(f.Nodes, faults.IsRef) {
			nodes = f.Nodes
		}
		steps = append(steps, step{at: f.At, nodes: nodes, ppm: f.PPM}, step{at: f.Until, end: true, nodes: nodes, ppm: f.PPM})
	}
	// In time order, ends before starts at one instant (the nemesis
	// undoes the faults that end before it begins the ones that start).
	slices.SortStableFunc(steps, func(a, b step) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		case a.end && !b.end:
			return -1
		case b.end && !a.end:
			return 1
		}
		return 0
	})
	// Fast and slow drift are summed apart, per server; a fault that may
	// land on any server adds to every one.
	var fast, slow [MaxServers + 1]int64
	var anyFast, anySlow, most int64
	for _, st := range steps {
		d := st.ppm
		if st.end {
			d = -d
		}
		add := func(fast, slow *int64) {
			if st.ppm > 0 {
				*fast += d
			} else {
				*slow -= d
			}
		}
		if st.nodes == nil {
			add(&anyFast, &anySlow)
		}
		for _, id := range st.nodes {
			if id >= 1 && id <= MaxServers {
				add(&fast[id], &slow[id])
			}
		}
		for id := 1; id <= MaxServers; id++ {
			most = max(most, fast[id]+anyFast, slow[id]+anySlow)
		}
	}
	return min(most, sim.MaxDriftPPM-1)
}
