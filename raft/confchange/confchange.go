// Package confchange computes Raft configurations: it applies a
// membership change (raftpb.ConfChangeV2) to a tracker.Config and refuses
// one Raft could not make safely. Configuration is data: this package
// never touches progress, messages or the log.
//
// Raft §6 (and Ongaro's thesis §4.3): a change that adds or removes at
// most one voter is made directly (any majority of the old voters
// overlaps any majority of the new ones); a change of several voters
// goes through a joint configuration, in which every decision needs a
// majority of the old voters and a majority of the new ones, and is left
// by a second change once the first has committed.
package confchange

import (
	"errors"
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/quorum"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// ErrInvalid is wrapped by every refusal.
var ErrInvalid = errors.New("raft: invalid configuration change")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Apply returns the configuration cc makes of cfg: leaving the joint
// configuration cfg is in (no changes), a simple change (at most one
// voter added or removed), or entering a joint configuration that the
// leader leaves on its own (more voters).
func Apply(cfg tracker.Config, cc raftpb.ConfChangeV2) (tracker.Config, error) {
	switch {
	case cc.LeaveJoint():
		return LeaveJoint(cfg)
	case cfg.Voters.Joint():
		return tracker.Config{}, invalid("%s while the joint configuration %s is not yet left", cc, cfg.Voters)
	}
	next, err := applyChanges(cfg, cc.Changes)
	if err != nil {
		return tracker.Config{}, err
	}
	if votersChanged(cfg.Voters.Incoming, next.Voters.Incoming) <= 1 {
		return next, nil
	}
	next.Voters.Outgoing = slices.Clone(cfg.Voters.Incoming)
	next.AutoLeave = true
	return next, nil
}

// Naive applies cc's changes directly, however many voters they change:
// the unsafe one-step change the joint phase exists to avoid (two
// disjoint majorities, of the old and of the new voters, can both
// decide). Only the planted bug naive-change uses it.
func Naive(cfg tracker.Config, cc raftpb.ConfChangeV2) (tracker.Config, error) {
	if cc.LeaveJoint() {
		return LeaveJoint(cfg)
	}
	return applyChanges(cfg, cc.Changes)
}

// LeaveJoint leaves a joint configuration: the outgoing voters not among
// the incoming ones stop being members.
func LeaveJoint(cfg tracker.Config) (tracker.Config, error) {
	if !cfg.Voters.Joint() {
		return tracker.Config{}, invalid("leave-joint, but %s is not a joint configuration", cfg.Voters)
	}
	next := cfg.Clone()
	next.Voters.Outgoing, next.AutoLeave = nil, false
	return next, nil
}

// applyChanges makes the changes to the incoming voters and the learners.
func applyChanges(cfg tracker.Config, changes []raftpb.ConfChange) (tracker.Config, error) {
	next := cfg.Clone()
	seen := map[uint64]bool{}
	for _, c := range changes {
		id := c.NodeID
		if id == 0 {
			return tracker.Config{}, invalid("a change of node 0")
		}
		if seen[id] {
			return tracker.Config{}, invalid("n%d changed twice in one change", id)
		}
		seen[id] = true
		voter, learner := next.Voters.Incoming.Contains(id), next.Learners.Contains(id)
		switch c.Type {
		case raftpb.ConfChangeAddNode:
			if voter {
				return tracker.Config{}, invalid("n%d is already a voter", id)
			}
			next.Learners = remove(next.Learners, id) // a promotion, if it was one
			next.Voters.Incoming = quorum.NewMajorityConfig(append(next.Voters.Incoming, id)...)
		case raftpb.ConfChangeAddLearner:
			switch {
			case voter:
				return tracker.Config{}, invalid("n%d is a voter: demoting a voter is not supported (remove it, then add it as a learner)", id)
			case learner:
				return tracker.Config{}, invalid("n%d is already a learner", id)
			}
			next.Learners = quorum.NewMajorityConfig(append(next.Learners, id)...)
		case raftpb.ConfChangeRemoveNode:
			if !voter && !learner {
				return tracker.Config{}, invalid("n%d is not a member", id)
			}
			next.Voters.Incoming = remove(next.Voters.Incoming, id)
			next.Learners = remove(next.Learners, id)
		default:
			return tracker.Config{}, invalid("unknown change type %d for n%d", c.Type, id)
		}
	}
	if len(next.Voters.Incoming) == 0 {
		return tracker.Config{}, invalid("%s would leave no voters", raftpb.ConfChangeV2{Changes: changes})
	}
	return next, nil
}

func remove(c quorum.MajorityConfig, id uint64) quorum.MajorityConfig {
	return slices.DeleteFunc(slices.Clone(c), func(x uint64) bool { return x == id })
}

// votersChanged counts the IDs in exactly one of a and b.
func votersChanged(a, b quorum.MajorityConfig) int {
	n := 0
	for _, id := range a {
		if !b.Contains(id) {
			n++
		}
	}
	for _, id := range b {
		if !a.Contains(id) {
			n++
		}
	}
	return n
}

// Restore is the configuration a ConfState records.
func Restore(cs raftpb.ConfState) tracker.Config {
	return tracker.Config{
		Voters: quorum.JointConfig{Incoming: quorum.NewMajorityConfig(cs.Voters...),
			Outgoing: quorum.NewMajorityConfig(cs.VotersOutgoing...)},
		Learners:  quorum.NewMajorityConfig(cs.Learners...),
		AutoLeave: cs.AutoLeave,
	}
}

// ConfState records cfg, for a snapshot.
func ConfState(cfg tracker.Config) raftpb.ConfState {
	return raftpb.ConfState{Voters: slices.Clone(cfg.Voters.Incoming), Learners: slices.Clone(cfg.Learners),
		VotersOutgoing: slices.Clone(cfg.Voters.Outgoing), AutoLeave: cfg.AutoLeave}
}
