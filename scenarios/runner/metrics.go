package runner

import (
	"slices"
	"time"

	"github.com/seed4fee1fef/raftsim/raft"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Metrics are the cluster health figures the operations lesson says to
// watch: leader stability, elections, commit latency, traffic per write,
// log size per node.
type Metrics struct {
	Elections     int    // times a node became leader
	LeaderChanges int    // times the newest leader was a different node than the one before
	MaxTerm       uint64 // highest term any node reached
	OpsIssued     uint64
	OpsCompleted  uint64
	OpsUnknown    uint64 // gave up: outcome unknown
	// Client-observed latency of completed operations, in virtual time.
	LatencyP50, LatencyP99 time.Duration
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
}

func newMetrics(w *sim.World, servers int) *metrics {
	return &metrics{w: w, taken: make([]uint64, servers), installed: make([]uint64, servers)}
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
	switch t, _ := raftpb.PeekType(body); t {
	case raftpb.MsgApp:
		m.entryBytes += uint64(len(msg))
	case raftpb.MsgSnap:
		m.snapBytes += uint64(len(msg))
	}
}

func (m *metrics) role(id uint64, role raft.Role, term uint64) {
	m.maxTerm = max(m.maxTerm, term)
	if role != raft.Leader {
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
	var lat []time.Duration
	for _, op := range c.History.Operations() {
		if !op.Unknown {
			lat = append(lat, time.Duration(op.Return-op.Call))
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		out.LatencyP50 = lat[len(lat)*50/100]
		out.LatencyP99 = lat[min(len(lat)-1, len(lat)*99/100)]
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
			st := s.Status()
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
