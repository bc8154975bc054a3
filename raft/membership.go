package raft

import (
	"errors"
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/confchange"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// This file is membership: proposing configuration changes and making
// them take effect. A change takes effect on every node when its entry
// is applied (committed and handed to the host), as in etcd-io/raft,
// rather than when it is appended (the thesis): a node never acts on a
// configuration that may still be undone, and restart needs no rollback.
// The price is the rule that keeps it safe: one change at a time, and
// none before the leader has committed an entry of its own term (the
// known single-server-change bug: a new leader must not start a change
// while one of a previous term may be uncommitted yet effective
// elsewhere).

// ErrConfChangePending: a configuration change was proposed while
// another (or the new leader's first entry) is not yet applied.
var ErrConfChangePending = errors.New("raft: a configuration change is already pending")

// ErrLearnerBehind: a learner was to be promoted before it holds every
// committed entry. A voter that cannot acknowledge anything yet only
// makes the quorum harder to reach; promote it once it has caught up.
var ErrLearnerBehind = errors.New("raft: the learner has not caught up")

// ProposeConfChange proposes cc on the leader. It is refused (with a
// clear error, nothing appended) if this node does not lead, if a change
// is pending, or if cc is not a change Raft can make from the current
// configuration (confchange.ErrInvalid): in a joint configuration only
// leaving it. More than one voter changing goes through a joint
// configuration, left automatically once applied.
func (n *Node) ProposeConfChange(cc raftpb.ConfChangeV2) error {
	n.changes++
	if n.role != Leader {
		return ErrNotLeader
	}
	if !n.trk.IsVoter(n.id) {
		return ErrProposalDropped
	}
	if n.pendingConfIndex > n.log.applied && !n.planted.Has(plant.TwoPendingChanges) {
		return fmt.Errorf("%w: the change at %d is not applied yet (applied %d)", ErrConfChangePending, n.pendingConfIndex, n.log.applied)
	}
	if _, err := applyConfChange(n.trk.Config, cc, n.planted); err != nil {
		return err
	}
	for _, c := range cc.Changes {
		if c.Type != raftpb.ConfChangeAddNode || !n.trk.IsLearner(c.NodeID) || n.planted.Has(plant.PromoteLaggingLearner) {
			continue
		}
		if pr := n.trk.Progress(c.NodeID); pr == nil || pr.Match < n.log.committed {
			var match uint64
			if pr != nil {
				match = pr.Match
			}
			return fmt.Errorf("%w: n%d holds up to %d, %d is committed", ErrLearnerBehind, c.NodeID, match, n.log.committed)
		}
	}
	n.appendEntries(raftpb.Entry{Type: raftpb.EntryConfChange, Data: raftpb.EncodeConfChangeV2(cc)})
	n.pendingConfIndex = n.log.lastIndex()
	n.bcastAppend()
	return nil
}

// Member reports whether this node is in its configuration (a voter of
// either half, or a learner).
func (n *Node) Member() bool { return n.trk.IsVoter(n.id) || n.trk.IsLearner(n.id) }

// Config returns the configuration in force (as of the last change
// applied).
//
// It shares memory with the node: configurations are replaced on a
// change, never modified, so the value stays valid, but callers must not
// modify its slices (the invariant checker reads it on every event, and
// a copy each time was a fifth of all bytes a run allocated).
func (n *Node) Config() tracker.Config { return n.trk.Config }

func applyConfChange(cfg tracker.Config, cc raftpb.ConfChangeV2, planted plant.Set) (tracker.Config, error) {
	if planted.Has(plant.NaiveChange) {
		return confchange.Naive(cfg, cc)
	}
	return confchange.Apply(cfg, cc)
}

// applyConfEntry makes the change of a configuration entry the host has
// applied take effect. A committed change that does not apply (it cannot
// with the rules above) is skipped: every node skips it alike.
func (n *Node) applyConfEntry(e *raftpb.Entry) {
	n.confApplied = e.Index
	cc, err := raftpb.DecodeConfChangeV2(e.Data)
	if err != nil {
		return
	}
	next, err := applyConfChange(n.trk.Config, cc, n.planted)
	if err != nil {
		return
	}
	n.trk.SetConfig(next, n.log.lastIndex()+1)
	if n.role != Leader {
		return
	}
	if !n.trk.IsVoter(n.id) {
		// The change that removed this leader has committed: it hands
		// leadership to one of the remaining voters (handoff.go).
		n.startHandoff()
		return
	}
	// The commit index may move with the quorum, and new members need
	// the log.
	n.maybeCommit()
	n.bcastAppend()
}

// plantedEarlyRemoval is the planted EarlyRemoval bug: a follower makes
// the removals among entries it just appended take effect at once.
func (n *Node) plantedEarlyRemoval(ents []raftpb.Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Type != raftpb.EntryConfChange {
			continue
		}
		cc, err := raftpb.DecodeConfChangeV2(e.Data)
		if err != nil || cc.LeaveJoint() || slices.ContainsFunc(cc.Changes, func(c raftpb.ConfChange) bool { return c.Type != raftpb.ConfChangeRemoveNode }) {
			continue
		}
		if next, err := confchange.Apply(n.trk.Config, cc); err == nil {
			n.trk.SetConfig(next, n.log.lastIndex()+1)
		}
	}
}

// maybeAutoLeave has the leader propose leaving a joint configuration it
// entered with AutoLeave, once nothing else is pending (a new leader
// finds such a configuration too, if the old one died first).
func (n *Node) maybeAutoLeave() {
	if n.role != Leader || !n.trk.Voters.Joint() || !n.trk.AutoLeave || n.pendingConfIndex > n.log.applied {
		return
	}
	n.appendEntries(raftpb.Entry{Type: raftpb.EntryConfChange, Data: raftpb.EncodeConfChangeV2(raftpb.ConfChangeV2{})})
	n.pendingConfIndex = n.log.lastIndex()
	n.bcastAppend()
}
