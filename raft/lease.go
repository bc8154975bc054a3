package raft

import "github.com/seed4fee1fef/raftsim/raft/plant"

// This file is the leader lease for reads (Raft thesis §6.4.1). With
// CheckQuorum a follower ignores vote requests for ElectionTick of its own
// ticks after it last heard from its leader, so once a quorum has
// acknowledged a heartbeat round, no other leader can be elected until
// ElectionTick ticks after the round's heartbeats arrived, which is after
// they were sent. The leader counts its lease from the tick it sent the
// round, on its own ticks, and ends it early enough that the fastest
// follower clock and its own slowest cannot make the two overlap:
//
//	lease = floor(ElectionTick × (1 − 2·drift)) − 1 ticks
//
// where drift d is Config.MaxClockDriftPPM, the bound on how far any
// clock runs fast or slow. Reads are served while fewer than L (the
// lease) ticks have passed since the tick of the send, so for less than
// L tick intervals of the leader's clock: at most L/(1−d) in true time. A
// follower ignores votes until its ElectionTick-th tick after the
// heartbeat arrived, and its first tick may come at once: at least
// (E−1)/(1+d) tick intervals of true time. L = E(1−2d) − 1 ≤ (E−1)(1−2d)
// ≤ (E−1)(1−d)/(1+d), so the lease always ends first. Nothing else is
// assumed: a clock that drifts beyond the bound (a drift fault larger
// than max-drift) breaks it, and the harness must see the stale read
// (the lease-drift-beyond scenario). The host must tick by a monotonic
// clock: ticks a paused or stalled host missed must still be counted, or
// the lease outlives its time (see raft/server).
//
// Two more things end a lease before its time: a leadership transfer (its
// target campaigns with votes that ignore the followers' leases, so the
// lease is given up for the rest of the term), and a restart of a
// follower that acknowledged the round (it forgot whom it followed, so a
// node restarted with ReadOnlyLeaseBased ignores vote requests for its
// first ElectionTick ticks, as if it had just heard from a leader).

// LeaseTicks is how many of its own ticks a leader's lease lasts from the
// send of the round that won it, with election timeout electionTick and
// a clock drift bound of driftPPM: floor(electionTick(1-2d)) - 1; 0 means
// no lease at all (Config.Validate refuses lease reads then).
func LeaseTicks(electionTick int, driftPPM int64) uint64 {
	t := int64(electionTick)*(1_000_000-2*driftPPM)/1_000_000 - 1
	return uint64(max(t, 0))
}

// leaseTicks is LeaseTicks, unless the planted bug drops the margins.
func leaseTicks(electionTick int, driftPPM int64, planted plant.Set) uint64 {
	if planted.Has(plant.LeaseNoDriftMargin) {
		return uint64(electionTick)
	}
	return LeaseTicks(electionTick, driftPPM)
}

// leaseValid reports whether the leader may answer a read from its own
// state now: lease reads are on, the lease was not given up, and a round
// a quorum acknowledged was sent less than a lease ago.
func (n *Node) leaseValid() bool {
	ro := &n.ro
	return n.readOnly == ReadOnlyLeaseBased && !ro.revoked && ro.confirmed > 0 &&
		n.ticks-ro.leaseFrom < n.leaseTicks
}

// inLease reports whether this node ignores a (pre-)vote request for a
// later term because a leader may hold a lease on it: it heard from one
// less than an election timeout ago (CheckQuorum), or it restarted less
// than one ago with lease reads on (startHold). A transfer's campaign is
// exempt: its leader gave up its lease to start it.
func (n *Node) inLease(forced bool) bool {
	if !n.checkQuorum || forced {
		return false
	}
	return n.lead != None && n.electionElapsed < n.electionTick || n.startHold > 0
}
