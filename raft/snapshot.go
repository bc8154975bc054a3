package raft

import (
	"fmt"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// This file is log compaction: the host takes snapshots and compacts the
// log (SnapshotMeta, Compact); a leader sends its snapshot, in chunks, to
// a follower that needs entries it no longer holds (InstallSnapshot); the
// follower assembles the chunks and installs the snapshot whole.

// snapRecv is a snapshot a follower is receiving: the chunks that arrived
// in order so far. It lives in memory only (a crash drops it and the
// leader starts over); a chunk of the same snapshot from another leader
// continues it.
type snapRecv struct {
	meta  raftpb.SnapshotMetadata
	total uint64
	data  []byte
}

func (r *snapRecv) is(meta *raftpb.SnapshotMetadata, total uint64) bool {
	return r != nil && r.meta.Index == meta.Index && r.meta.Term == meta.Term && r.total == total
}

// SnapshotMeta returns the metadata of a snapshot of the state machine
// after applying the log up to index i: i's term and the configuration in
// force at i. i must be applied (the host snapshots what it has applied)
// and still in the log.
func (n *Node) SnapshotMeta(i uint64) (raftpb.SnapshotMetadata, error) {
	if i == 0 || i > n.snapshotLimit() {
		return raftpb.SnapshotMetadata{}, fmt.Errorf("%w: snapshot at %d: applied is %d", ErrCompacted, i, n.log.applied)
	}
	t, ok := n.log.term(i)
	if !ok {
		return raftpb.SnapshotMetadata{}, fmt.Errorf("%w: snapshot at %d: the log starts after %d", ErrCompacted, i, n.log.offset)
	}
	return raftpb.SnapshotMetadata{Index: i, Term: t, ConfState: n.confState()}, nil
}

// confState is the configuration as a snapshot records it.
func (n *Node) confState() raftpb.ConfState { return confchange.ConfState(n.trk.Config) }

// Compact records snap as the node's latest snapshot (the host has made
// it durable: a leader sends it to followers that need entries the log
// no longer holds) and drops the log's entries up to snap's index minus
// trailing. Keeping a trailing tail lets a follower that is only a little
// behind catch up by entries instead of a whole snapshot. snap must be at
// or below the applied index, with the metadata SnapshotMeta gives; the
// node keeps snap.Data, which must not be modified afterwards.
func (n *Node) Compact(snap raftpb.Snapshot, trailing uint64) error {
	n.changes++
	meta := snap.Metadata
	if meta.Index <= n.snap.Metadata.Index {
		return fmt.Errorf("%w: snapshot at %d is not newer than the one at %d", ErrCompacted, meta.Index, n.snap.Metadata.Index)
	}
	if meta.Index > n.snapshotLimit() {
		return fmt.Errorf("%w: snapshot at %d beyond applied %d", ErrCompacted, meta.Index, n.log.applied)
	}
	if t, ok := n.log.term(meta.Index); !ok || t != meta.Term {
		return fmt.Errorf("%w: snapshot at %d has term %d, the log %d (ok %t)", ErrCompacted, meta.Index, meta.Term, t, ok)
	}
	n.snap = snap
	to := meta.Index - min(trailing, meta.Index)
	n.log.compact(max(min(to, n.log.applying), n.log.offset))
	return nil
}

// maybeSendSnapshot starts (or continues) sending the node's snapshot to
// a follower whose next entry the log no longer holds. It reports whether
// it sent anything.
func (n *Node) maybeSendSnapshot(to uint64, pr *tracker.Progress) bool {
	if n.snap.IsEmpty() || n.snap.Metadata.Index < n.log.offset {
		// The log was compacted by no snapshot this node holds: it
		// cannot help this follower (only a restored node with a
		// damaged snapshot gets here; another leader will).
		return false
	}
	if pr.State != tracker.StateSnapshot {
		// The transfer keeps to this snapshot even if the node takes a
		// newer one meanwhile: a follower on a slow link would otherwise
		// start over with every snapshot and never finish.
		pr.BecomeSnapshot(n.snap.Metadata.Index)
		n.sending[to] = n.snap
	}
	return n.sendSnapshotChunks(to, pr)
}

// chunkSize is how many bytes of snapshot data one MsgSnap carries.
func (n *Node) chunkSize() uint64 { return max(n.maxMsgSize, 1) }

// sendSnapshotChunks fills the follower's window with chunks from
// pr.SnapSent on. An empty snapshot still goes out once, as one empty chunk.
func (n *Node) sendSnapshotChunks(to uint64, pr *tracker.Progress) bool {
	snap, ok := n.sending[to]
	if !ok || snap.Metadata.Index != pr.PendingSnapshot {
		return false
	}
	total := uint64(len(snap.Data))
	sent := false
	for !pr.Inflights.Full() && (pr.SnapSent < total || total == 0 && pr.Inflights.Count() == 0 && !sent) {
		if pr.SnapProbing && pr.Inflights.Count() > 0 {
			break // one chunk until the follower says what it holds
		}
		end := min(pr.SnapSent+n.chunkSize(), total)
		chunk := &raftpb.Snapshot{Metadata: snap.Metadata, Data: snap.Data[pr.SnapSent:end:end]}
		n.send(raftpb.Message{Type: raftpb.MsgSnap, To: to, Snapshot: chunk,
			SnapOffset: pr.SnapSent, SnapTotal: total, Commit: n.log.committed})
		n.snapBytesSent += end - pr.SnapSent
		pr.Inflights.Add(end, end-pr.SnapSent)
		pr.SnapSent = end
		sent = true
		if total == 0 {
			break
		}
	}
	return sent
}

// handleSnapResp is the leader's side of a follower's chunk progress.
func (n *Node) handleSnapResp(m *raftpb.Message, pr *tracker.Progress) {
	if pr.State != tracker.StateSnapshot || m.Index != pr.PendingSnapshot {
		return // about a snapshot no longer being sent
	}
	pr.SnapshotAcked(m.SnapOffset)
	n.sendSnapshotChunks(m.From, pr)
}

// snapshotHeartbeat runs on a heartbeat response from a follower being
// sent a snapshot: if no chunk was acknowledged since the previous one,
// the chunks in flight are presumed lost and sending resumes from the
// last acknowledged offset.
func (n *Node) snapshotHeartbeat(to uint64, pr *tracker.Progress) {
	if pr.SnapOffset == pr.SnapCheckpoint && pr.Inflights.Count() > 0 {
		pr.SnapshotRewind()
	}
	pr.SnapCheckpoint = pr.SnapOffset
	n.sendSnapshotChunks(to, pr)
}

// handleSnapshot is a follower's side of a MsgSnap chunk of the current
// term. A snapshot at or below the commit index is old news; one whose
// last entry the log already holds only moves the commit index; any other
// is assembled chunk by chunk and installed when complete.
func (n *Node) handleSnapshot(m *raftpb.Message) {
	s := m.Snapshot
	if s == nil {
		return
	}
	meta := s.Metadata
	if meta.Index <= n.log.committed {
		n.sendAppResp(raftpb.Message{To: m.From, Index: n.log.committed})
		return
	}
	if n.log.matchTerm(meta.Index, meta.Term) {
		// The snapshot is a prefix of our log: it only tells us the
		// entries up to its index are committed.
		n.log.commitTo(meta.Index)
		n.maybeRecovered(meta.Index)
		n.sendAppResp(raftpb.Message{To: m.From, Index: meta.Index})
		return
	}
	r := n.recv
	switch {
	case r.is(&meta, m.SnapTotal) && m.SnapOffset == uint64(len(r.data)):
		r.data = append(r.data, s.Data...)
	case r.is(&meta, m.SnapTotal):
		// A chunk we hold already, or one past a gap (an earlier chunk
		// was lost): say what we have, the leader resumes from there.
	case m.SnapOffset == 0:
		n.recv = &snapRecv{meta: meta, total: m.SnapTotal, data: append(make([]byte, 0, m.SnapTotal), s.Data...)}
		r = n.recv
	default:
		// The middle of a snapshot we know nothing of (we restarted, or
		// an older one was replaced): start it over.
		n.send(raftpb.Message{Type: raftpb.MsgSnapResp, To: m.From, Index: meta.Index})
		return
	}
	if have := uint64(len(r.data)); have < r.total {
		n.send(raftpb.Message{Type: raftpb.MsgSnapResp, To: m.From, Index: meta.Index, SnapOffset: have})
		return
	}
	n.recv = nil
	n.installSnapshot(raftpb.Snapshot{Metadata: r.meta, Data: r.data})
	n.maybeRecovered(meta.Index)
	n.sendAppResp(raftpb.Message{To: m.From, Index: meta.Index})
}

// installSnapshot replaces the log with snap; the host persists and
// installs it from the next Ready (Ready.Snapshot), before anything else
// of that Ready.
func (n *Node) installSnapshot(snap raftpb.Snapshot) {
	meta := snap.Metadata
	n.log.restore(meta.Index, meta.Term)
	n.snap = snap
	n.pendingSnap = &n.snap
	n.snapsInstalled++
	// The configuration comes with the snapshot.
	n.trk.SetConfig(confchange.Restore(meta.ConfState), n.log.lastIndex()+1)
	n.confApplied = meta.Index
}

// snapshotLimit is the highest index a snapshot may cover: what the host
// has applied. The planted SnapshotPastApplied bug lets it reach the
// commit index (entries still being applied), here alone.
func (n *Node) snapshotLimit() uint64 {
	if n.planted.Has(plant.SnapshotPastApplied) {
		return n.log.committed
	}
	return n.log.applied
}
