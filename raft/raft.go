package raft

import (
	"fmt"
	"math"
	"slices"

	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/quorum"
	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
)

// This file is the protocol: role transitions, message handling and
// replication. Everything here runs inside Tick, Step, Propose or Campaign
// and only changes the Node and appends to n.msgs.

// --- role transitions ---

// reset enters term (forgetting the vote if the term changes) and clears
// everything that belongs to one role in one term.
func (n *Node) reset(term uint64) {
	if term != n.term {
		n.term = term
		n.vote = None
	}
	n.lead = None
	n.electionElapsed = 0
	n.heartbeatElapsed = 0
	n.resetRandomizedElectionTimeout()
	n.trk.ResetVotes()
	clear(n.sending)
	n.resetReads()
	n.leadTransferee, n.transferElapsed = None, 0
	n.handoff, n.handedTo = false, n.handedTo[:0]
	last := n.log.lastIndex()
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		// A new term knows nothing of the followers' logs: probe each
		// from the end of ours.
		pr.BecomeProbe()
		pr.Match, pr.Next = 0, last+1
		pr.RecentActive = false
		if id == n.id {
			pr.Match = last
			pr.RecentActive = true
		}
	})
}

func (n *Node) resetRandomizedElectionTimeout() {
	n.randomizedElectionTimeout = n.electionTick + n.rand.IntN(n.electionTick)
	if n.planted.Has(plant.FixedElectionTimeout) {
		n.randomizedElectionTimeout = n.electionTick
	}
}

func (n *Node) becomeFollower(term, lead uint64) {
	n.reset(term)
	n.lead = lead
	n.role = Follower
}

// becomePreCandidate polls for a future election without changing term or
// vote: a node that cannot win leaves no trace on the others.
func (n *Node) becomePreCandidate() {
	n.trk.ResetVotes()
	n.lead = None
	n.role = PreCandidate
}

func (n *Node) becomeCandidate() {
	n.reset(n.term + 1)
	n.vote = n.id
	n.role = Candidate
	n.campaigns++
}

func (n *Node) becomeLeader() {
	n.reset(n.term)
	n.lead = n.id
	n.role = Leader
	// The leader's own progress streams: it always holds its own log.
	if pr := n.trk.Progress(n.id); pr != nil {
		pr.BecomeReplicate()
	}
	// An entry of the new term lets earlier-term entries commit (§5.4.2:
	// only current-term entries commit by counting replicas) without
	// waiting for a client write.
	n.appendEntries(raftpb.Entry{Type: raftpb.EntryNormal})
	// No configuration change until that entry is applied: a change of a
	// previous term may still be uncommitted yet in force elsewhere.
	n.pendingConfIndex = n.log.lastIndex()
}

// promotable reports whether this node may campaign: it must be a voter,
// and neither recovering from lost durable data nor unsure of its vote.
func (n *Node) promotable() bool {
	return n.trk.IsVoter(n.id) && !n.withholdsVotes()
}

// withholdsVotes reports whether storage damage keeps this node from
// voting: it may have lost entries a commit counted on (recovering), or
// the vote it cast in a term it no longer knows (voteLost).
func (n *Node) withholdsVotes() bool {
	recovering, voteLost := n.storageDamage()
	return recovering || voteLost
}

// storageDamage is what lost durable data holds this node to: recovering
// (it may have lost entries a commit counted on) and voteLost (it may have
// lost a vote). The planted IgnoreRecovery bug ignores both, here alone.
func (n *Node) storageDamage() (recovering, voteLost bool) {
	if n.planted.Has(plant.IgnoreRecovery) {
		return false, false
	}
	return n.recovering, n.voteLost
}

// maybeRecovered ends recovery once the log is known to match a leader's
// (or to be committed) up to matched >= recoverTo. Log length alone is not
// enough: a WAL cut at a damaged record may replay an older log, as long
// as the newer one or longer, whose suffix a leader since overwrote.
func (n *Node) maybeRecovered(matched uint64) {
	if n.recovering && n.recoverTo > 0 && matched >= n.recoverTo {
		n.recovering, n.recoverTo = false, 0
	}
}

func (n *Node) committedTerm() uint64 {
	t, _ := n.log.term(n.log.committed)
	return t
}

// sendAppResp sends an append response. A recovering node's acks count
// toward commit like any other: each says the log matches the leader's up
// to its index and is durable, which stays true whatever the node lost
// before (see docs/ARCHITECTURE.md, "Storage faults").
func (n *Node) sendAppResp(m raftpb.Message) {
	m.Type = raftpb.MsgAppResp
	n.send(m)
}

// --- elections ---

func (n *Node) tickElection() {
	n.electionElapsed++
	if n.promotable() && n.electionElapsed >= n.randomizedElectionTimeout {
		n.electionElapsed = 0
		n.hup()
	}
}

func (n *Node) hup() {
	// A term this close to overflow only comes from a corrupt or forged
	// message; campaigning would wrap the term to 0.
	if n.role == Leader || !n.promotable() || n.term >= math.MaxUint64-1 {
		return
	}
	if n.preVote {
		n.campaign(true)
	} else {
		n.campaign(false)
	}
}

// campaign starts a pre-vote (pre) or a real election.
func (n *Node) campaign(pre bool) {
	var term uint64
	var typ raftpb.MessageType
	if pre {
		n.becomePreCandidate()
		term, typ = n.term+1, raftpb.MsgPreVote // the term it would campaign at
	} else {
		n.becomeCandidate()
		term, typ = n.term, raftpb.MsgVote
	}
	if n.poll(n.id, true) == quorum.VoteWon {
		// A single-voter cluster needs nobody else.
		n.electionWon(pre)
		return
	}
	lastIndex, lastTerm := n.log.lastIndex(), n.log.lastTerm()
	for _, id := range n.trk.Voters.IDs() {
		if id == n.id {
			continue
		}
		n.send(raftpb.Message{Type: typ, To: id, Term: term, Index: lastIndex, LogTerm: lastTerm, Context: n.voteContext()})
	}
}

func (n *Node) electionWon(pre bool) {
	if pre {
		n.campaign(false)
	} else {
		n.becomeLeader()
		n.bcastAppend()
		if !n.trk.IsVoter(n.id) {
			n.startHandoff() // a caretaker (handoff.go)
		}
	}
}

func (n *Node) poll(id uint64, granted bool) quorum.VoteResult {
	n.trk.RecordVote(id, granted)
	g, _, res := n.trk.TallyVotes()
	if n.planted.Has(plant.LooseQuorum) && 2*g >= len(n.trk.Voters.IDs()) {
		return quorum.VoteWon
	}
	return res
}

// looseCommitted is the planted LooseQuorum's commit index: the highest
// index held by half the voters (not a majority).
func (n *Node) looseCommitted() uint64 {
	var acked []uint64
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if n.trk.Voters.Contains(id) {
			acked = append(acked, pr.Match)
		}
	})
	slices.Sort(acked)
	return acked[len(acked)-max(len(acked)/2, 1)]
}

// handleVote answers a (pre-)vote request whose term is >= n.term.
func (n *Node) handleVote(m *raftpb.Message) {
	respType := raftpb.MsgVoteResp
	if m.Type == raftpb.MsgPreVote {
		respType = raftpb.MsgPreVoteResp
	}
	// A vote may go to whom we already voted for (a retransmission), or
	// to anyone if we have neither voted nor follow a leader this term. A
	// pre-vote for a later term may be granted even then: it changes
	// nothing here.
	// A node that lost durable data may have lost the entries (and the
	// vote) a committed decision counted on: it votes for nobody until
	// it has caught up, and never again if it may have lost its vote.
	canVote := !n.withholdsVotes() && (n.vote == m.From ||
		(n.vote == None && n.lead == None) ||
		(m.Type == raftpb.MsgPreVote && m.Term > n.term))
	if canVote && n.log.isUpToDate(m.Index, m.LogTerm) {
		// Granted responses carry the request's term (for a pre-vote, the
		// future term), so the candidate counts them.
		n.send(raftpb.Message{Type: respType, To: m.From, Term: m.Term})
		if m.Type == raftpb.MsgVote {
			// The vote reaches the HardState of the same Ready that sends
			// this response, so it is durable before anyone sees it.
			n.electionElapsed = 0
			n.vote = m.From
		}
		return
	}
	if n.caretakerNeeded(m) {
		n.send(raftpb.Message{Type: respType, To: m.From, Term: n.term, Reject: true})
		n.caretake()
		return
	}
	if n.term == 0 {
		// A new server (no log, term 0) asked for a pre-vote: a rejection
		// must carry a term, and the candidate's would make it move to
		// the term it only polls for. Silence rejects just as well.
		return
	}
	n.send(raftpb.Message{Type: respType, To: m.From, Term: n.term, Reject: true})
}

// --- ticks on the leader ---

func (n *Node) tickHeartbeat() {
	n.heartbeatElapsed++
	n.electionElapsed++
	if n.electionElapsed >= n.electionTick {
		n.electionElapsed = 0
		if n.checkQuorum {
			if !n.trk.QuorumActive() && !n.planted.Has(plant.NoStepDown) {
				// Cut off from a majority: a new leader may already exist.
				// Stepping down stops serving clients a stale view and
				// lets this node vote again.
				n.becomeFollower(n.term, None)
				return
			}
			n.trk.Visit(func(id uint64, pr *tracker.Progress) {
				if id != n.id {
					pr.RecentActive = false
				}
			})
		}
	}
	n.tickTransfer()
	if n.heartbeatElapsed >= n.heartbeatTick {
		n.heartbeatElapsed = 0
		if !n.planted.Has(plant.NoHeartbeats) {
			n.bcastHeartbeat()
		}
	}
}

// bcastHeartbeat tells every follower the leader is alive, so quiet
// periods do not look like a dead leader. The commit index is capped at
// what the follower is known to hold, so a heartbeat never commits an
// entry the follower has not matched. Index is the leader's last index:
// a follower that lost durable data without knowing how far it had
// acknowledged recovers up to it (see handleHeartbeat). Every broadcast is
// a new round of the read index (Context: see readindex.go), taking the
// reads that queued for it.
func (n *Node) bcastHeartbeat() {
	last := n.log.lastIndex()
	ctx := n.newRound()
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id == n.id {
			return
		}
		pr.HeartbeatSent = pr.Next - 1
		n.send(raftpb.Message{Type: raftpb.MsgHeartbeat, To: id, Index: last, Commit: min(pr.Match, n.log.committed), Context: ctx})
	})
}

// --- Step ---

// Step feeds a message from a peer (or a MsgProp) into the node. Messages
// from stale terms, duplicates and reordered messages are harmless: they
// are answered or dropped (ErrStepIgnored). Other errors mean the message
// was malformed and dropped (ErrInvalidMessage) or a proposal was refused
// (ErrNotLeader, ErrProposalDropped). Either way the node stays
// consistent; no message makes it panic.
func (n *Node) Step(m raftpb.Message) error {
	n.changes++
	if err := n.checkMessage(&m); err != nil {
		return err
	}
	if m.Type == raftpb.MsgProp {
		return n.stepProp(&m)
	}

	switch {
	case m.Term > n.term:
		if m.Type == raftpb.MsgVote || m.Type == raftpb.MsgPreVote {
			// The leader lease: with CheckQuorum, a node that heard from
			// a live leader less than an election timeout ago knows a
			// quorum does too, so a candidate (typically one returning
			// from a partition) cannot win; ignoring it keeps it from
			// bumping everyone's term and deposing the leader.
			if n.inLease(isTransferVote(&m)) {
				return ErrStepIgnored
			}
		}
		switch {
		case m.Type == raftpb.MsgPreVote:
			// Pre-votes never change the receiver's term.
		case m.Type == raftpb.MsgPreVoteResp && !m.Reject:
			// A granted pre-vote carries the term we would campaign at;
			// the term moves only if the pre-vote wins.
		case m.Type == raftpb.MsgApp || m.Type == raftpb.MsgHeartbeat || m.Type == raftpb.MsgSnap:
			n.becomeFollower(m.Term, m.From)
		default:
			n.becomeFollower(m.Term, None)
		}
	case m.Term < n.term:
		switch {
		case (n.checkQuorum || n.preVote) && (m.Type == raftpb.MsgHeartbeat || m.Type == raftpb.MsgApp):
			// A leader of an old term is still talking (it may have been
			// cut off while we moved on). Without CheckQuorum or PreVote
			// its term would be bumped by the next vote request; with
			// them that request may never come, so tell it our term and
			// let it step down.
			n.send(raftpb.Message{Type: raftpb.MsgAppResp, To: m.From})
		case m.Type == raftpb.MsgPreVote:
			// Answer so the pre-candidate learns the current term; a
			// silent drop could leave it polling forever.
			n.send(raftpb.Message{Type: raftpb.MsgPreVoteResp, To: m.From, Term: n.term, Reject: true})
		default:
			return ErrStepIgnored
		}
		return nil
	}

	switch m.Type {
	case raftpb.MsgVote, raftpb.MsgPreVote:
		n.handleVote(&m)
		return nil
	case raftpb.MsgReadIndex, raftpb.MsgReadIndexResp:
		return n.stepRead(&m)
	case raftpb.MsgTimeoutNow:
		return n.stepTimeoutNow(&m)
	}
	switch n.role {
	case Leader:
		return n.stepLeader(&m)
	case PreCandidate, Candidate:
		return n.stepCandidate(&m)
	default:
		return n.stepFollower(&m)
	}
}

// checkMessage rejects what no correct peer sends, before any state
// changes, so the rest of Step may trust the shape of m.
func (n *Node) checkMessage(m *raftpb.Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidMessage, m.Type, fmt.Sprintf(format, args...))
	}
	switch m.Type {
	case raftpb.MsgHup, raftpb.MsgBeat:
		return bad("local message; use Campaign or Tick")
	case raftpb.MsgProp:
		if m.To != None && m.To != n.id {
			return bad("addressed to %d, this is %d", m.To, n.id)
		}
		return nil
	case raftpb.MsgApp, raftpb.MsgAppResp, raftpb.MsgVote, raftpb.MsgVoteResp,
		raftpb.MsgPreVote, raftpb.MsgPreVoteResp, raftpb.MsgHeartbeat, raftpb.MsgHeartbeatResp,
		raftpb.MsgSnap, raftpb.MsgSnapResp, raftpb.MsgReadIndex, raftpb.MsgReadIndexResp, raftpb.MsgTimeoutNow:
	default:
		return bad("unknown message type")
	}
	switch {
	case m.To != n.id:
		return bad("addressed to %d, this is %d", m.To, n.id)
	case m.From == None || m.From == n.id:
		return bad("from %d", m.From)
	case m.Term == 0:
		return bad("term 0 from a peer")
	}
	if m.Type == raftpb.MsgSnap {
		s := m.Snapshot
		switch {
		case s == nil:
			return bad("no snapshot")
		case s.Metadata.Index == 0 || s.Metadata.Term == 0 || s.Metadata.Term > m.Term:
			return bad("snapshot at %d of term %d (message term %d)", s.Metadata.Index, s.Metadata.Term, m.Term)
		case m.SnapOffset > m.SnapTotal || uint64(len(s.Data)) > m.SnapTotal-m.SnapOffset:
			return bad("chunk of %d bytes at %d of a %d-byte snapshot", len(s.Data), m.SnapOffset, m.SnapTotal)
		case len(s.Metadata.ConfState.Voters) == 0:
			return bad("snapshot at %d names no voters", s.Metadata.Index)
		}
	}
	if m.Type == raftpb.MsgApp && len(m.Entries) > 0 {
		// The entries must continue the log after (Index, LogTerm), in
		// order, within the leader's term; anything else would corrupt
		// the log's invariants.
		if m.Index > math.MaxUint64-uint64(len(m.Entries)) {
			return bad("index %d overflows", m.Index)
		}
		prevTerm := m.LogTerm
		for i := range m.Entries {
			e := &m.Entries[i]
			if e.Index != m.Index+1+uint64(i) {
				return bad("entry %d has index %d, want %d", i, e.Index, m.Index+1+uint64(i))
			}
			if e.Term < prevTerm || e.Term > m.Term || e.Term == 0 {
				return bad("entry %d has term %d (previous %d, message term %d)", e.Index, e.Term, prevTerm, m.Term)
			}
			if e.Type > raftpb.EntryConfChange {
				return bad("entry %d has unknown type %d", e.Index, e.Type)
			}
			prevTerm = e.Term
		}
	}
	return nil
}

// stepProp handles MsgProp stepped by the host (or sent by a peer): on the
// leader its entries are appended as ordinary commands.
func (n *Node) stepProp(m *raftpb.Message) error {
	if n.role != Leader {
		return ErrNotLeader
	}
	if !n.trk.IsVoter(n.id) {
		return ErrProposalDropped
	}
	if err := n.refuseProposal(); err != nil {
		return err
	}
	if len(m.Entries) == 0 {
		return nil
	}
	ents := make([]raftpb.Entry, len(m.Entries))
	for i := range m.Entries {
		if m.Entries[i].Type != raftpb.EntryNormal {
			return fmt.Errorf("%w: MsgProp: entry %d is %d; only EntryNormal may be proposed", ErrInvalidMessage, i, m.Entries[i].Type)
		}
		ents[i] = raftpb.Entry{Type: raftpb.EntryNormal, Data: m.Entries[i].Data}
	}
	n.appendEntries(ents...)
	n.bcastProposed()
	return nil
}

func (n *Node) stepLeader(m *raftpb.Message) error {
	pr := n.trk.Progress(m.From)
	if pr == nil {
		return ErrStepIgnored // not a member: nothing to track
	}
	switch m.Type {
	case raftpb.MsgSnapResp:
		pr.RecentActive = true
		n.handleSnapResp(m, pr)
	case raftpb.MsgAppResp:
		pr.RecentActive = true
		if m.Reject {
			n.handleAppReject(m, pr)
			return nil
		}
		err := n.handleAppAck(m, pr)
		n.maybeSendTimeoutNow(m.From, pr)
		return err
	case raftpb.MsgHeartbeatResp:
		pr.RecentActive = true
		pr.MsgAppFlowPaused = false
		n.readAck(m)
		n.maybeSendTimeoutNow(m.From, pr)
		if pr.State == tracker.StateSnapshot {
			n.snapshotHeartbeat(m.From, pr)
			return nil
		}
		stalled := pr.Match < pr.HeartbeatSent
		switch {
		case pr.Match >= n.log.lastIndex():
		case pr.State != tracker.StateReplicate:
			// A lost probe is retried once per heartbeat: heartbeats are
			// what drive catch-up when there are no new writes to carry it.
			n.sendAppend(m.From, pr, true)
		case stalled:
			// An append sent before the heartbeat is still unacknowledged
			// now that the heartbeat's response is back: it may be lost,
			// or only slow (a long link can hold a whole window). One
			// empty append after the last entry sent tells which, without
			// resending any: accepted, it frees the window; rejected, its
			// hint restarts probing from where the follower's log ends.
			n.sendWindowProbe(m.From, pr)
		default:
			// Entries not sent yet (the window was full) go now.
			n.sendAppend(m.From, pr, false)
		}
	}
	return nil
}

// handleAppReject moves the follower's Next back using its hint: it
// returned (RejectHint, LogTerm), the last entry of its log at or below the
// probe whose term is <= the probe's term. Every leader entry above the
// largest index with term <= LogTerm is certain not to match, so one round
// trip skips a whole term of mismatched entries on each side.
func (n *Node) handleAppReject(m *raftpb.Message, pr *tracker.Progress) {
	hint := m.RejectHint
	if m.LogTerm > 0 {
		hint, _ = n.log.findConflictByTerm(m.RejectHint, m.LogTerm)
	}
	if pr.MaybeDecrTo(m.Index, hint) {
		n.sendAppend(m.From, pr, true)
	}
}

func (n *Node) handleAppAck(m *raftpb.Message, pr *tracker.Progress) error {
	if m.Index > n.log.lastIndex() {
		return fmt.Errorf("%w: %s acknowledges index %d beyond last index %d", ErrInvalidMessage, m.Type, m.Index, n.log.lastIndex())
	}
	if !pr.MaybeUpdate(m.Index) {
		return nil // stale or duplicate
	}
	switch pr.State {
	case tracker.StateProbe:
		pr.BecomeReplicate()
	case tracker.StateReplicate:
		pr.Inflights.FreeLE(m.Index)
	case tracker.StateSnapshot:
		if pr.Match >= pr.PendingSnapshot {
			// Installed (or caught up otherwise): stream from here.
			pr.BecomeReplicate()
		}
	}
	// A new commit index is not sent in appends of its own: the next
	// append or heartbeat to each follower carries it, so a write costs
	// one append and one ack per follower.
	n.maybeCommit()
	// The ack may have opened the window by several slots (or switched
	// to streaming): fill it, batch by batch.
	for n.sendAppend(m.From, pr, false) {
	}
	return nil
}

// maybeCommit advances the commit index to what a quorum holds, if that
// entry is of the current term (Raft §5.4.2, Figure 8: an entry of an
// earlier term may be on a majority and still be overwritten, so counting
// replicas only ever commits current-term entries; earlier ones commit with
// them).
func (n *Node) maybeCommit() bool {
	mci := n.trk.Committed()
	if n.planted.Has(plant.LearnerCounts) && len(n.trk.Learners) > 0 {
		// The bug: learners count as voters of the incoming config.
		mci = n.trk.CommittedOver(quorum.NewMajorityConfig(append(n.trk.Voters.IDs(), n.trk.Learners...)...))
	}
	if n.planted.Has(plant.LooseQuorum) {
		mci = max(mci, n.looseCommitted())
	}
	if mci <= n.log.committed {
		return false
	}
	if t, ok := n.log.term(mci); !ok || (t != n.term && !n.planted.Has(plant.CommitPriorTerm)) {
		return false
	}
	prev := n.log.committed
	n.log.commitTo(mci)
	if n.commitsConfChange(prev, mci) {
		// A configuration change takes effect as each member applies
		// it: tell them of its commit now, not with the next heartbeat
		// (a leader that removed itself sends none).
		n.bcastAppend()
	}
	n.releaseWaitingReads()
	return true
}

// commitsConfChange reports whether the log holds a configuration change
// in (from, to].
func (n *Node) commitsConfChange(from, to uint64) bool {
	for i := max(from, n.log.offset) + 1; i <= to; i++ {
		if e, ok := n.LogEntry(i); ok && e.Type == raftpb.EntryConfChange {
			return true
		}
	}
	return false
}

func (n *Node) stepCandidate(m *raftpb.Message) error {
	respType := raftpb.MsgVoteResp
	if n.role == PreCandidate {
		respType = raftpb.MsgPreVoteResp
	}
	switch m.Type {
	case raftpb.MsgApp:
		// A leader exists for this term (m.Term >= n.term here).
		n.becomeFollower(m.Term, m.From)
		return n.handleAppend(m)
	case raftpb.MsgHeartbeat:
		n.becomeFollower(m.Term, m.From)
		n.handleHeartbeat(m)
	case raftpb.MsgSnap:
		n.becomeFollower(m.Term, m.From)
		n.handleSnapshot(m)
	case respType:
		switch n.poll(m.From, !m.Reject) {
		case quorum.VoteWon:
			n.electionWon(n.role == PreCandidate)
		case quorum.VoteLost:
			// Lost: wait for a leader (or the next timeout) as a follower.
			n.becomeFollower(n.term, None)
		}
	}
	return nil
}

func (n *Node) stepFollower(m *raftpb.Message) error {
	switch m.Type {
	case raftpb.MsgApp:
		n.electionElapsed = 0
		n.lead = m.From
		return n.handleAppend(m)
	case raftpb.MsgHeartbeat:
		n.electionElapsed = 0
		n.lead = m.From
		n.handleHeartbeat(m)
	case raftpb.MsgSnap:
		n.electionElapsed = 0
		n.lead = m.From
		n.handleSnapshot(m)
	}
	return nil
}

// handleAppend answers a MsgApp of the current term.
func (n *Node) handleAppend(m *raftpb.Message) error {
	if m.Index < n.log.committed {
		// Everything up to committed is settled. If the append reaches
		// past it, drop the settled prefix and take the rest (anchored at
		// the committed entry, whose term must match); otherwise just
		// acknowledge committed so the leader moves on.
		c := n.log.committed
		if last := m.Index + uint64(len(m.Entries)); last > c && c >= m.Index+1 {
			anchor := m.Entries[c-m.Index-1]
			m.Index, m.LogTerm, m.Entries = c, anchor.Term, m.Entries[c-m.Index:]
		} else {
			n.maybeRecovered(c)
			n.sendAppResp(raftpb.Message{To: m.From, Index: c})
			return nil
		}
	}
	lastNew, ok, err := n.log.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries)
	if err != nil {
		return err // contradicts a committed entry: no correct leader sends this
	}
	if ok && n.planted.Has(plant.EarlyRemoval) {
		n.plantedEarlyRemoval(m.Entries)
	}
	if ok {
		n.maybeRecovered(lastNew)
		n.sendAppResp(raftpb.Message{To: m.From, Index: lastNew})
		return nil
	}
	// The log lacks (Index, LogTerm). Hint where it could match: the last
	// entry at or below the probe whose term is <= LogTerm. Entries above
	// it are of terms the leader did not have at those positions.
	hintIndex, hintTerm := n.log.findConflictByTerm(min(m.Index, n.log.lastIndex()), m.LogTerm)
	n.sendAppResp(raftpb.Message{To: m.From, Index: m.Index, Reject: true,
		RejectHint: hintIndex, LogTerm: hintTerm})
	return nil
}

func (n *Node) handleHeartbeat(m *raftpb.Message) {
	if n.recovering && n.recoverTo == 0 && m.Index > 0 {
		// Recovering to an unknown point: this node may have acknowledged
		// entries a commit counted on, up to an index it no longer knows.
		// A leader elected without its vote (it grants none while
		// recovering), or the one it acknowledged them to, holds every
		// committed entry, so its last index bounds them; its commit
		// index does not (it may not have heard of the commit yet).
		n.recoverTo = m.Index
	}
	// The leader caps Commit at our Match, so it is within the log unless
	// the log lost acknowledged entries; never commit past the log.
	recovering, _ := n.storageDamage()
	if !recovering {
		// (A recovering node may hold an older log than the one it
		// acknowledged, which the leader's Match cannot know: it
		// commits only through appends, which check the log matches.)
		n.log.commitTo(min(m.Commit, n.log.lastIndex()))
	}
	// The response echoes the round's context: the leader counts it
	// toward confirming reads and its lease (readindex.go).
	n.send(raftpb.Message{Type: raftpb.MsgHeartbeatResp, To: m.From, Context: m.Context})
	if recovering && m.Commit > n.log.committed {
		// Recovering: the leader's Match for us may count entries we
		// lost (or an older log we replayed). Ask it to resend from
		// what is surely ours, the committed prefix; its acks end the
		// recovery once they reach recoverTo.
		n.sendAppResp(raftpb.Message{To: m.From, Index: m.Commit, Reject: true,
			RejectHint: n.log.committed, LogTerm: n.committedTerm()})
	} else if last := n.log.lastIndex(); m.Commit > last {
		// The leader believes we hold entries up to m.Commit, yet our
		// log ends before it: our disk lost entries we acknowledged.
		// Say so the way a failed probe does, so the leader lowers its
		// Match for us and resends (with no new writes nothing else
		// would make it).
		n.sendAppResp(raftpb.Message{To: m.From, Index: m.Commit, Reject: true,
			RejectHint: last, LogTerm: n.log.lastTerm()})
	}
}

// --- replication ---

// appendEntries assigns the leader's term and the next indexes to es and
// appends them, counting the leader's own copy toward commit.
func (n *Node) appendEntries(es ...raftpb.Entry) {
	li := n.log.lastIndex()
	for i := range es {
		es[i].Term = n.term
		es[i].Index = li + 1 + uint64(i)
	}
	n.log.truncateAndAppend(es)
	if pr := n.trk.Progress(n.id); pr != nil {
		pr.MaybeUpdate(n.log.lastIndex())
	}
	// A single-voter cluster commits on its own.
	n.maybeCommit()
}

// bcastAppend sends every follower what it is missing (or, if nothing, an
// empty append carrying the new commit index).
func (n *Node) bcastAppend() {
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id != n.id {
			n.sendAppend(id, pr, true)
		}
	})
}

// bcastProposed sends newly proposed entries to every follower, except
// to one that still has an append of entries in flight: what is proposed
// meanwhile waits for that append's acknowledgement (or, if it was lost,
// the next heartbeat's response) and then goes out in one append, as
// Nagle's rule batches a TCP stream. Writes that arrive while the leader
// waits on a round trip share one append, one fsync and one ack per
// follower instead of one each; a write waits at most the round trip
// already under way. (etcd batches what arrives while its Ready loop is
// busy; here the host's Ready takes no time, so the round trip is the
// natural batch.)
func (n *Node) bcastProposed() {
	n.trk.Visit(func(id uint64, pr *tracker.Progress) {
		if id == n.id || (pr.State == tracker.StateReplicate && pr.Inflights.Count() > 0) {
			return
		}
		n.sendAppend(id, pr, true)
	})
}

// sendAppend sends to one follower the entries from pr.Next on, at most
// maxMsgSize of them, unless its flow is paused. With sendIfEmpty it sends
// an entry-less append too (to carry the commit index or probe). It
// reports whether a message was sent. In StateReplicate only entries never
// sent before go out, so the cost of a write does not depend on the length
// of the log.
func (n *Node) sendAppend(to uint64, pr *tracker.Progress, sendIfEmpty bool) bool {
	if pr.IsPaused() {
		return false
	}
	prevIndex, maxSize := pr.Next-1, n.maxMsgSize
	if n.planted.Has(plant.ResendWholeLog) && n.log.lastIndex() >= pr.Next {
		prevIndex, maxSize = n.log.firstIndex()-1, math.MaxUint64
	}
	prevTerm, okTerm := n.log.term(prevIndex)
	ents, size, okEnts := n.log.entriesFrom(prevIndex+1, maxSize)
	if !okTerm || !okEnts {
		// The follower needs entries the log no longer holds: only the
		// snapshot that replaced them can bring it up.
		return n.maybeSendSnapshot(to, pr)
	}
	n.entryBytesSent += size
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	// Flow control counts only entries never sent before (a planted
	// ResendWholeLog repeats old ones on top).
	pr.SentEntries(prevIndex+uint64(len(ents)), size, prevIndex+uint64(len(ents)) >= pr.Next)
	n.send(raftpb.Message{Type: raftpb.MsgApp, To: to, Index: prevIndex, LogTerm: prevTerm,
		Entries: ents, Commit: n.log.committed})
	return true
}

// sendWindowProbe sends a follower whose appends went unacknowledged for
// a heartbeat round trip one empty append at the last entry sent
// (Next-1), carrying the commit index. It takes no window slot: the
// follower's answer frees the window or starts probing, and nothing in
// flight is sent twice.
func (n *Node) sendWindowProbe(to uint64, pr *tracker.Progress) {
	prev := pr.Next - 1
	term, ok := n.log.term(prev)
	if !ok {
		// Compacted away: the follower can only be brought up by the
		// snapshot, which probing from its match leads to.
		pr.BecomeProbe()
		n.sendAppend(to, pr, true)
		return
	}
	n.send(raftpb.Message{Type: raftpb.MsgApp, To: to, Index: prev, LogTerm: term, Commit: n.log.committed})
}

// send queues m for the next Ready, stamping From and (except on vote
// traffic, whose term is chosen by the caller) the current term.
func (n *Node) send(m raftpb.Message) {
	m.From = n.id
	switch m.Type {
	case raftpb.MsgVote, raftpb.MsgVoteResp, raftpb.MsgPreVote, raftpb.MsgPreVoteResp:
		if m.Term == 0 {
			panic(fmt.Sprintf("raft: %s sent without a term", m.Type))
		}
	default:
		m.Term = n.term
	}
	n.msgs = append(n.msgs, m)
}
