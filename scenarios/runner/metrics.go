package runner

import (
	"time"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/native"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
	"github.com/seed4fee1fef/raftsim/sim/disk"
)

// Metrics are the cluster health figures the operations lesson says to
// watch: leader stability (term changes, elections, leaderless time),
// commit latency, traffic per write, log size per node, fsync latency;
// and for reads, their latency and how well rounds batch them.
type Metrics struct {
	Elections     int    // times a node became leader
	LeaderChanges int    // times the newest leader was a different node than the one before
	MaxTerm       uint64 // highest term any node reached
	// ElectionsStarted counts campaigns (a node becoming candidate, won
	// or not; pre-votes not counted); TermChangesPerHour is the rise of
	// the highest term per hour of virtual time; LeaderlessTime is how
	// long no server believed it led.
	ElectionsStarted   uint64
	TermChangesPerHour float64
	LeaderlessTime     time.Duration
	OpsIssued          uint64
	OpsCompleted       uint64
	OpsUnknown         uint64 // gave up: outcome unknown
	// Client-observed latency of completed operations, in virtual time.
	ClientLatencyP50, ClientLatencyP99 time.Duration
	// CommitLatency is measured on the leader, from a client command's
	// proposal to the leader's commit index reaching it (commands whose
	// proposer lost leadership first are not counted).
	CommitLatencyP50, CommitLatencyP99 time.Duration
	// ReadMode is how gets were answered; ReadLatency the client-observed
	// latency of completed gets. ReadRounds are the heartbeat rounds that
	// confirmed reads, RoundReads the reads they confirmed (ReadsPerRound
	// is their ratio: the batching), LeaseReads the reads a leader
	// answered at once under its lease.
	ReadMode                       string
	ReadLatencyP50, ReadLatencyP99 time.Duration
	ReadRounds, RoundReads         uint64
	ReadsPerRound                  float64
	LeaseReads                     uint64
	// Transfers counts leadership transfers started, TransfersAborted
	// those given up after an election timeout.
	Transfers, TransfersAborted uint64
	// FsyncLatencyP99 is over every fsync servers issued (slow-fsync
	// faults make some slow), Fsyncs how many.
	FsyncLatencyP99 time.Duration
	Fsyncs          uint64
	// Entries committed and applied (on the most advanced live node).
	CommittedEntries uint64
	// Server-to-server traffic.
	RaftMessages, RaftBytes uint64
	MessagesPerWrite        float64
	BytesPerWrite           float64
	// LogEntries is each server's last log index, in node order.
	LogEntries []uint64
	// Log compaction: snapshots taken and installed (from a leader) over
	// the run, the bytes servers sent in appends and in snapshot chunks
	// (whole messages, on the wire), and the most entries and entry bytes
	// any server's log held at once (sampled every SampleEvery).
	SnapshotsTaken, SnapshotsInstalled uint64
	EntryBytesSent, SnapshotBytesSent  uint64
	LogEntriesMax, LogBytesMax         uint64
	// Traffic is server-to-server traffic by message type.
	Traffic Traffic
}

type metrics struct {
	w          *sim.World
	elections  int
	changes    int
	lastLeader uint64
	maxTerm    uint64
	// per node (index id-1)
	taken, installed []uint64
	entryBytes       uint64
	snapBytes        uint64
	// raft counters, summed over servers and restarts
	counters subject.Counters
	// peek reads a Raft message's header (the subject's).
	peek func([]byte) (subject.Header, bool)
	// proposed are each leader's client commands awaiting commit, in
	// index order (index id-1), and commitLat the latencies measured.
	proposed  [][]proposal
	commitLat dist
	// fsyncs counts servers' fsyncs; slowSyncs are the latencies of the
	// ones that took time.
	fsyncs    uint64
	slowSyncs dist
	// clientLat and readLat are the latencies of completed operations
	// and of completed gets (op, as the history hands them on).
	clientLat, readLat dist
}

type proposal struct {
	index uint64
	at    sim.Time
}

func newMetrics(w *sim.World, servers int) *metrics {
	return &metrics{w: w, taken: make([]uint64, servers), installed: make([]uint64, servers),
		proposed: make([][]proposal, servers), peek: native.Peek}
}

// propose and commit measure commit latency on the leader.
func (m *metrics) propose(id, index uint64) {
	if id >= 1 && int(id) <= len(m.proposed) {
		m.proposed[id-1] = append(m.proposed[id-1], proposal{index: index, at: m.w.Now()})
	}
}

func (m *metrics) commit(id, index uint64) {
	if id < 1 || int(id) > len(m.proposed) {
		return
	}
	q := m.proposed[id-1]
	k := 0
	for ; k < len(q) && q[k].index <= index; k++ {
		m.commitLat.add(m.w.Now().Sub(q[k].at))
	}
	m.proposed[id-1] = q[k:]
}

// count adds a server's raft counters' rise.
func (m *metrics) count(d subject.Counters) {
	c := &m.counters
	c.Campaigns += d.Campaigns
	c.ReadRounds += d.ReadRounds
	c.RoundReads += d.RoundReads
	c.LeaseReads += d.LeaseReads
	c.Transfers += d.Transfers
	c.TransfersAborted += d.TransfersAborted
}

// disk sees every disk operation: servers' fsyncs and their latency.
func (m *metrics) disk(id sim.NodeID, op disk.Op) {
	if int(id) > len(m.proposed) || op.Kind != disk.OpSync && op.Kind != disk.OpSyncDir {
		return
	}
	m.fsyncs++
	if op.Latency > 0 {
		m.slowSyncs.add(op.Latency)
	}
}

// finished sees a client operation finish (history.Watch): a completed
// one counts toward the latencies.
func (m *metrics) finished(op *history.Operation) {
	if op.Unknown {
		return
	}
	d := time.Duration(op.Return - op.Call)
	m.clientLat.add(d)
	if op.Input.Op == kv.OpGet {
		m.readLat.add(d)
	}
}

// snapshot counts a snapshot taken or installed by server id.
func (m *metrics) snapshot(id uint64, installed bool) {
	if id < 1 || int(id) > len(m.taken) {
		return
	}
	if installed {
		m.installed[id-1]++
	} else {
		m.taken[id-1]++
	}
}

// sent accounts for a message a server sent (tagged wire bytes).
func (m *metrics) sent(msg []byte) {
	tag, body, err := kv.SplitTag(msg)
	if err != nil || tag != kv.TagRaft {
		return
	}
	h, _ := m.peek(body)
	switch h.Type {
	case raftpb.MsgApp:
		m.entryBytes += uint64(len(msg))
	case raftpb.MsgSnap:
		m.snapBytes += uint64(len(msg))
	}
}

func (m *metrics) role(id uint64, role subject.Role, term uint64) {
	m.maxTerm = max(m.maxTerm, term)
	if role != subject.Leader {
		if id >= 1 && int(id) <= len(m.proposed) {
			m.proposed[id-1] = nil // what it proposed commits, if at all, under another leader
		}
		return
	}
	m.elections++
	if m.lastLeader != 0 && m.lastLeader != id {
		m.changes++
	}
	m.lastLeader = id
}

func (m *metrics) finish(c *cluster.Cluster) Metrics {
	out := Metrics{Elections: m.elections, LeaderChanges: m.changes, MaxTerm: m.maxTerm,
		EntryBytesSent: m.entryBytes, SnapshotBytesSent: m.snapBytes}
	for i := range m.taken {
		out.SnapshotsTaken += m.taken[i]
		out.SnapshotsInstalled += m.installed[i]
	}
	cs := c.ClientStats()
	out.OpsIssued, out.OpsCompleted, out.OpsUnknown = cs.Issued, cs.Completed, cs.GaveUp
	out.ClientLatencyP50, out.ClientLatencyP99 = m.clientLat.percentiles()
	out.ReadLatencyP50, out.ReadLatencyP99 = m.readLat.percentiles()
	out.CommitLatencyP50, out.CommitLatencyP99 = m.commitLat.percentiles()
	k := m.counters
	out.ElectionsStarted, out.ReadRounds, out.RoundReads, out.LeaseReads = k.Campaigns, k.ReadRounds, k.RoundReads, k.LeaseReads
	out.Transfers, out.TransfersAborted = k.Transfers, k.TransfersAborted
	if k.ReadRounds > 0 {
		out.ReadsPerRound = float64(k.RoundReads) / float64(k.ReadRounds)
	}
	if hours := m.w.Now().Duration().Hours(); hours > 0 && m.maxTerm > 1 {
		out.TermChangesPerHour = float64(m.maxTerm-1) / hours
	}
	out.Fsyncs = m.fsyncs
	if slow := m.slowSyncs.n; slow > 0 && m.fsyncs > 0 {
		// The p99 of every fsync: the fast ones (latency 0) are the
		// first fsyncs-slow of the sorted list.
		i := min(m.fsyncs-1, m.fsyncs*99/100)
		if fast := m.fsyncs - slow; i >= fast {
			out.FsyncLatencyP99 = m.slowSyncs.at(i - fast)
		}
	}
	net := m.w.Net()
	for f := 1; f <= c.Servers(); f++ {
		for t := 1; t <= c.Servers(); t++ {
			st := net.Stats(sim.NodeID(f), sim.NodeID(t))
			out.RaftMessages += st.Sent
			out.RaftBytes += st.BytesSent
		}
	}
	for id := 1; id <= c.Servers(); id++ {
		var last uint64
		if s := c.Server(id); s != nil {
			st := s.BasicStatus()
			last = st.LastIndex
			out.CommittedEntries = max(out.CommittedEntries, s.Store().AppliedIndex())
		}
		out.LogEntries = append(out.LogEntries, last)
	}
	if out.CommittedEntries > 0 {
		out.MessagesPerWrite = float64(out.RaftMessages) / float64(out.CommittedEntries)
		out.BytesPerWrite = float64(out.RaftBytes) / float64(out.CommittedEntries)
	}
	return out
}
