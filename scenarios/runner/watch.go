package runner

import (
	"fmt"
	"slices"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The always-on checks that watch the run as it goes, at the moments the
// servers decide (the others in checks.go judge the run from what it
// recorded):
//
//   - read-safety: a leader confirms a read (by a heartbeat round, or
//     by its lease) only if it was asked for it while no leader of a
//     later term had been elected. A round a quorum acknowledges after
//     the read arrived shares a voter with the quorum that elects any
//     later leader, and that voter acknowledged first; a lease ends
//     before any follower that acknowledged its round may vote again.
//     A leader that answers without either serves a state a newer
//     leader may already have overwritten, whether or not a write
//     shows it in the history. Reads through the log are entries, and
//     the invariants judge them. Lease reads are held to it only where
//     the lease is the subject's drift-bounded one and no clock drifts
//     beyond the bound configured (a drift beyond it is a scenario of
//     its own: lease-drift-beyond).
//   - transfer-pause: a leader transferring leadership takes no client
//     command until the transfer ends (Raft thesis §3.10): new entries
//     would keep its target behind, and the transfer from completing.
//   - promotion-guard: a leader accepts the promotion of a learner to
//     voter only once the learner holds every entry it has committed
//     (a voter that cannot acknowledge anything yet only makes the
//     quorum wait), unless a storage fault took what the learner held.
//
// Each holds for a subject only with the mechanism it checks
// (subject.Capabilities): transfer, promotion-guard, and for lease reads
// drift-bounded-lease.
type watch struct {
	w     *sim.World
	c     *cluster.Cluster // set once the cluster exists
	names cluster.Names

	reads, transfers, promotions bool

	// The leader of the latest term elected so far, and when.
	newest     uint64
	newestNode int
	newestAt   sim.Time
	// asks are the reads asked of each server, by server and client (a
	// client has one get at a time), since its last change of role or
	// leader (which drops the reads it had not confirmed): suspect if
	// every ask of it came after a later term's leader was elected.
	// Confirming a suspect one is the failure. (A client retries a get
	// with the same sequence number, and the node may confirm any ask
	// of it that is still pending.)
	asks map[[2]uint64]askedRead

	readFound, transferFound string
}

type askedRead struct {
	seq     uint64
	suspect bool
	// For a suspect read: its term and the first ask, and the later
	// leader elected by then.
	term  uint64
	at    sim.Time
	newer uint64
	by    int
	since sim.Time
}

// newWatch sets up the watch for a run of opts with schedule sched (nil:
// none).
func newWatch(w *sim.World, opts *Options, sched *faults.Schedule) *watch {
	caps := opts.Server.Subject.Capabilities
	wt := &watch{w: w, names: cluster.Names{Servers: opts.Servers}, transfers: caps.Transfer, promotions: caps.PromotionGuard}
	switch opts.Server.Reads {
	case server.ReadIndex:
		wt.reads = caps.ReadIndex
	case server.ReadLease:
		wt.reads = caps.ReadIndex && caps.DriftBoundedLease && (sched == nil || maxDrift(*sched) <= opts.Server.MaxDriftPPM)
	}
	return wt
}

func (wt *watch) role(id uint64, role subject.Role, term uint64) {
	// A new role or leader drops the reads the node had not confirmed.
	for key := range wt.asks { //detguard:unordered deletes every key of one server, in any order
		if key[0] == id {
			delete(wt.asks, key)
		}
	}
	if role == subject.Leader && term > wt.newest {
		wt.newest, wt.newestNode, wt.newestAt = term, int(id), wt.w.Now()
	}
}

func (wt *watch) read(id uint64, ev server.ReadEvent) {
	if !wt.reads || wt.readFound != "" {
		return
	}
	key := [2]uint64{id, ev.Client}
	a, ok := wt.asks[key]
	if !ev.Confirmed {
		suspect := ev.Leader && wt.newest > ev.Term
		if ok && a.seq == ev.Seq {
			// Asked again: suspect only if every ask still pending is.
			a.suspect = a.suspect && suspect
		} else if suspect {
			a = askedRead{seq: ev.Seq, suspect: true, term: ev.Term, at: wt.w.Now(), newer: wt.newest, by: wt.newestNode, since: wt.newestAt}
		} else {
			a = askedRead{seq: ev.Seq}
		}
		if wt.asks == nil {
			wt.asks = map[[2]uint64]askedRead{}
		}
		wt.asks[key] = a
		return
	}
	if s := a; ok && s.suspect && s.seq == ev.Seq {
		wt.readFound = fmt.Sprintf("%s, leader of term %d, confirmed a get by %s at %v (read index %d) that it was asked for at %v, after %s had been elected leader of term %d at %v",
			wt.names.Name(int(id)), s.term, wt.names.Client(ev.Client), wt.w.Now(), ev.Index, s.at, wt.names.Name(s.by), s.newer, s.since)
	}
}

// propose sees a client command server id appended as leader.
func (wt *watch) propose(id, index uint64) {
	if !wt.transfers || wt.transferFound != "" || wt.c == nil {
		return
	}
	s := wt.c.Server(int(id))
	if s == nil {
		return
	}
	if st := s.BasicStatus(); st.Transferee != 0 {
		wt.transferFound = fmt.Sprintf("%s appended a client command at index %d at %v while transferring leadership to %s (term %d)",
			wt.names.Name(int(id)), index, wt.w.Now(), wt.names.Name(int(st.Transferee)), st.Term)
	}
}

// promotion finds a promotion of a learner that did not hold what the
// leader had committed, its storage untouched by any fault.
func (wt *watch) promotion(r *Result) string {
	if !wt.promotions || wt.c == nil {
		return ""
	}
	return promotionBehind(wt.c.Promotions(), r.StorageHit, wt.names)
}

// promotionBehind is the first of ps whose learner did not hold the
// leader's commit index, its storage not hit by a fault (hit), as a
// failure; "" if none.
func promotionBehind(ps []cluster.Promotion, hit []int, names cluster.Names) string {
	for _, p := range ps {
		if p.Down || p.Held || slices.Contains(hit, p.Learner) {
			continue
		}
		return fmt.Sprintf("%s accepted the promotion of learner %s to voter at %v, when it had committed entry %d and the learner's log did not hold it (its log ended at %d)",
			names.Name(p.Leader), names.Name(p.Learner), p.At, p.Commit, p.LearnerLast)
	}
	return ""
}
