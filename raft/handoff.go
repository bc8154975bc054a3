package raft

import (
	"math"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// This file is what a node outside its own configuration does when it
// holds the only way forward.
//
// A configuration takes effect on a node when the node applies it, so a
// follower that has the entry removing the leader but has not learned it
// committed still counts the old leader as a voter. If the leader simply
// stepped down on applying its removal, that commit index could be the
// last thing it never sent (a full window, a lost message, a crash), and
// the old leader, whose log is the longest, refuses every candidate
// (their logs are behind) while never campaigning itself (it is not a
// voter): with one voter down, nobody reaches a quorum again (soak seed
// 102, shrunk: a removed leader and a bit-flipped voter). Two rules close
// it:
//
//   - Handoff: a leader whose removal applies stays leader, takes no
//     proposals and holds no lease, and transfers leadership to the most
//     up-to-date remaining voter (§3.10), its heartbeats and appends
//     carrying the commit index meanwhile. A transfer that does not end
//     within an election timeout is tried with the next voter (the first
//     may be down, or unable to campaign after storage damage); when every
//     voter was tried, it steps down. CheckQuorum still applies.
//   - Caretaker: a node outside its configuration that rejects a
//     (pre-)vote request because its own log is more up to date learns
//     that the candidate still counts it, and cannot win without it. It
//     campaigns itself, winning with a quorum of its own (applied)
//     configuration, which is what any node's election needs, and as
//     leader hands off at once. Its own vote is not counted (it is no
//     voter), so safety rests, as always, on the quorum that elects it.

// startHandoff makes this leader (outside its configuration) hand over
// to a remaining voter it has not tried yet, or step down once it has
// tried them all.
func (n *Node) startHandoff() {
	n.handoff = true
	if n.leadTransferee != None {
		return
	}
	to := n.handoffTarget()
	if to == None {
		n.becomeFollower(n.term, None)
		return
	}
	n.handedTo = append(n.handedTo, to)
	_ = n.TransferLeadership(to)
}

// handoffTarget is the next voter to hand over to: the most up to date
// among those not tried yet, those heard from recently first (lowest ID
// among equals); None if none is left.
func (n *Node) handoffTarget() uint64 {
	best, bestActive, match := None, false, uint64(0)
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id == n.id || !n.trk.IsVoter(id) || slices.Contains(n.handedTo, id) {
			return
		}
		if best == None || (pr.RecentActive && !bestActive) || (pr.RecentActive == bestActive && pr.Match > match) {
			best, bestActive, match = id, pr.RecentActive, pr.Match
		}
	})
	return best
}

// caretakerNeeded says whether rejecting m makes this node a caretaker:
// it is outside its configuration (no voter), may vote and campaign as far
// as its storage goes, and rejects m only because its log is more up to
// date than the candidate's.
func (n *Node) caretakerNeeded(m *raftpb.Message) bool {
	return n.role == Follower && !n.trk.IsVoter(n.id) && len(n.trk.Voters.IDs()) > 0 &&
		!n.withholdsVotes() && !n.log.isUpToDate(m.Index, m.LogTerm) && n.term < math.MaxUint64-1
}

// caretake campaigns outside the configuration (see above).
func (n *Node) caretake() {
	n.campaign(n.preVote)
}
