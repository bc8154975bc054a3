package raft

import (
	"errors"
	"fmt"
	"math"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// This file is leadership transfer (Raft thesis §3.10): the leader stops
// taking proposals, brings the target's log up to its own, and sends it
// MsgTimeoutNow; the target campaigns at once, skipping PreVote, with vote
// requests marked as a transfer so followers inside a leader lease still
// answer them. A transfer that has not ended with a new leader within an
// election timeout is given up, and the leader takes proposals again.

// ErrTransfer is wrapped by every TransferLeadership error.
var ErrTransfer = errors.New("raft: cannot transfer leadership")

// transferCtx marks the vote requests of a transfer's campaign.
var transferCtx = []byte("transfer")

func isTransferVote(m *raftpb.Message) bool {
	return m.Type == raftpb.MsgVote && string(m.Context) == string(transferCtx)
}

// TransferLeadership starts handing this leader's leadership to voter to,
// or with None to the follower whose log is the most up to date (lowest
// ID among equals). Until the transfer ends the leader refuses proposals
// (ErrProposalDropped); it ends when the leader steps down, or after an
// election timeout (given up: proposals are taken again). A transfer to
// the same target while one is under way changes nothing; to another, it
// starts over.
func (n *Node) TransferLeadership(to uint64) error {
	n.changes++
	if n.role != Leader {
		return ErrNotLeader
	}
	if to == None {
		to = n.mostUpToDateFollower()
		if to == None {
			return fmt.Errorf("%w: no other voter", ErrTransfer)
		}
	}
	switch {
	case to == n.id:
		return fmt.Errorf("%w: %d already leads", ErrTransfer, to)
	case !n.trk.IsVoter(to):
		return fmt.Errorf("%w: %d is not a voter", ErrTransfer, to)
	case to == n.leadTransferee:
		return nil
	}
	n.leadTransferee, n.transferElapsed = to, 0
	n.ro.revoked = true
	n.transfers++
	pr := n.trk.Progress(to)
	if pr.Match == n.log.lastIndex() {
		n.sendTimeoutNow(to)
	} else {
		n.sendAppend(to, pr, true)
	}
	return nil
}

// Transferee is the target of the leadership transfer under way, or None.
func (n *Node) Transferee() uint64 { return n.leadTransferee }

// mostUpToDateFollower is the voter other than this node with the highest
// Match, lowest ID first among equals; None if there is none.
func (n *Node) mostUpToDateFollower() uint64 {
	best, match := None, uint64(0)
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id != n.id && n.trk.IsVoter(id) && (best == None || pr.Match > match) {
			best, match = id, pr.Match
		}
	})
	return best
}

// refuseProposal says why the leader cannot take a proposal now, or nil.
func (n *Node) refuseProposal() error {
	if n.leadTransferee != None && !n.planted.Has(plant.TransferKeepsProposing) {
		// New entries would keep the target behind and the transfer
		// from ever completing.
		return fmt.Errorf("%w: transferring leadership to %d", ErrProposalDropped, n.leadTransferee)
	}
	return nil
}

// maybeSendTimeoutNow sends the target its MsgTimeoutNow once it has
// caught up (after an acknowledgement, or a heartbeat response: sending
// it again is harmless, the target campaigns only in the leader's term).
func (n *Node) maybeSendTimeoutNow(from uint64, pr *tracker.Progress) {
	if from == n.leadTransferee && pr.Match == n.log.lastIndex() {
		n.sendTimeoutNow(from)
	}
}

func (n *Node) sendTimeoutNow(to uint64) {
	n.send(raftpb.Message{Type: raftpb.MsgTimeoutNow, To: to})
}

// tickTransfer gives up a transfer that did not end within an election
// timeout: the target is down, cut off, or lost the election.
func (n *Node) tickTransfer() {
	if n.leadTransferee == None {
		return
	}
	n.transferElapsed++
	if n.transferElapsed >= n.electionTick {
		n.leadTransferee, n.transferElapsed = None, 0
		n.transfersAborted++
		if n.handoff {
			n.startHandoff() // try again, perhaps another voter
		}
	}
}

// stepTimeoutNow is the target's side: campaign now, without PreVote, as
// the leader asked. Only the leader of this term can ask.
func (n *Node) stepTimeoutNow(m *raftpb.Message) error {
	if n.role != Follower || m.From != n.lead || !n.promotable() || n.term >= math.MaxUint64-1 {
		return ErrStepIgnored
	}
	n.transferCampaign = true
	n.campaign(false)
	n.transferCampaign = false
	return nil
}

// voteContext is what this node's vote requests carry: the transfer mark
// during a transfer's campaign.
func (n *Node) voteContext() []byte {
	if n.transferCampaign {
		return transferCtx
	}
	return nil
}
