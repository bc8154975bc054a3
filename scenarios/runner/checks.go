package runner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The always-on checks: properties every run of a correct Raft shows,
// whatever its faults, that the safety invariants and linearizability do
// not see. Scenarios state them for one window (expect one-leader,
// term-stable, bytes-per-write); here they hold over every run, with
// bounds loose enough for any fault the nemesis deals and far below what
// the bugs they exist for do (docs/PERFORMANCE.md has both sides).
//
//   - one-leader: a leader cut off from its quorum steps down. Two
//     servers may both believe they lead (the old one has not noticed
//     yet), but the older term's leader does so for at most
//     StaleLeaderBound of the time it was running (paused time and a
//     slowed clock excused).
//   - term-stable: once the cluster is settled (one leader, every up
//     server on its term and following it) and no fault is in effect,
//     no server reaches a new term until a fault begins again. Quiet
//     periods (no client load) are calm: a leader must keep its
//     followers with heartbeats alone.
//   - election-rounds: an election held while no fault is in effect
//     (the first one, or one after a leader stepped down in calm) elects
//     a leader within MaxElectionRounds terms: randomized timeouts make
//     split votes rare, and rarer still one after another.
//   - bytes-per-write: what leaders send in appends is at most
//     EntryBytesFactor times the committed entries' bytes to every
//     follower: a leader sends each follower what it lacks, not its log.
const (
	// StaleLeaderBound is how long, in election timeouts of the stale
	// leader's own clock, it may go on leading next to a newer leader.
	// CheckQuorum steps it down within two; the rest is margin for
	// delayed messages and slow disks.
	StaleLeaderBound = 8
	// StaleLeaderMargin is added to it (message delays, slow fsyncs).
	StaleLeaderMargin = 500 * time.Millisecond
	// MembershipSettle is how long a membership change counts as a
	// fault in effect after its instant.
	MembershipSettle = 2 * time.Second
	// MaxElectionRounds bounds the terms a calm election may take.
	MaxElectionRounds = 5
	// EntryBytesFactor bounds append bytes per committed entry byte per
	// follower.
	EntryBytesFactor = 40
	// MinEntriesForBytes is the fewest committed entries the byte check
	// judges (below, fixed costs dominate).
	MinEntriesForBytes = 200
)

// readSafety starts a read-safety failure line (Result.decide puts it
// before linearizability's).
const readSafety = "check read-safety: "

// alwaysOn runs the always-on checks on a finished run: failure lines
// "check NAME: what happened".
func alwaysOn(r *Result) []string {
	var out []string
	if s := r.staleLeader(); s != "" {
		out = append(out, "check one-leader: "+s)
	}
	if s := r.calmTerms(); s != "" {
		out = append(out, "check term-stable: "+s)
	}
	if s := r.entryBytes(); s != "" {
		out = append(out, "check bytes-per-write: "+s)
	}
	if s := r.electionRounds(); s != "" {
		out = append(out, "check election-rounds: "+s)
	}
	if wt := r.watch; wt != nil {
		if wt.readFound != "" {
			out = append(out, readSafety+wt.readFound)
		}
		if wt.transferFound != "" {
			out = append(out, "check transfer-pause: "+wt.transferFound)
		}
		if s := wt.promotion(r); s != "" {
			out = append(out, "check promotion-guard: "+s)
		}
	}
	return out
}

// electionTimeout is the servers' election timeout on their own clocks.
func (r *Result) electionTimeout() time.Duration { return r.Options.Server.ElectionTimeout() }

// staleLeader finds a leader that went on leading next to a newer one for
// longer than the bound, counting only time it was running.
func (r *Result) staleLeader() string {
	ch := r.Chronicle
	if ch == nil {
		return ""
	}
	ts := ch.Tenures()
	base := r.electionTimeout() * StaleLeaderBound
	for _, t := range ts {
		newer := sim.Time(-1)
		by := Tenure{}
		for _, u := range ts {
			if u.Term > t.Term && u.From >= t.From && u.From < t.To && (newer < 0 || u.From < newer) {
				newer, by = u.From, u
			}
		}
		if newer < 0 {
			continue
		}
		running := r.runningTime(t.Node, newer, t.To)
		slow := r.slowestClock(t.Node, newer, t.To)
		bound := time.Duration(float64(base)/slow) + StaleLeaderMargin
		if running > bound {
			return fmt.Sprintf("%s led term %d until %v, for %v of running time after %s took term %d at %v (bound %v)",
				ch.Names.Name(t.Node), t.Term, t.To, running.Round(time.Millisecond), ch.Names.Name(by.Node), by.Term, newer, bound.Round(time.Millisecond))
		}
	}
	return ""
}

// runningTime is how much of [from, to) node was up, not paused, and not
// slowed by a slow-fsync fault (a server whose every fsync is slow
// handles nothing else while it waits: to the others it is all but
// paused).
func (r *Result) runningTime(node int, from, to sim.Time) time.Duration {
	ch := r.Chronicle
	var slowed []FaultSpan
	for _, f := range ch.Faults {
		if f.Fault.Kind == faults.SlowFsync && r.hits(f, node) {
			slowed = append(slowed, f)
		}
	}
	var stalled time.Duration
	for t := from; t < to; {
		// Walk [from, to) in pieces, one slowed window at a time.
		next := to
		in := false
		for _, f := range slowed {
			end := r.spanEnd(f)
			if f.Begin <= t && t < end {
				in, next = true, min(next, end)
			} else if f.Begin > t {
				next = min(next, f.Begin)
			}
		}
		if in {
			stalled += next.Sub(t)
		}
		t = next
	}
	paused := false
	pausedSince := sim.Time(0)
	var stopped time.Duration
	for _, e := range ch.Life {
		if e.Node != node || e.At >= to {
			continue
		}
		switch e.Kind {
		case LifePause:
			if !paused {
				paused, pausedSince = true, e.At
			}
		case LifeResume, LifeCrash, LifeRestart, LifeStart:
			if paused {
				paused = false
				stopped += overlap(pausedSince, e.At, from, to)
			}
		}
	}
	if paused {
		stopped += overlap(pausedSince, to, from, to)
	}
	return max(to.Sub(from)-stopped-stalled, 0)
}

// hits says whether fault span f (its targets as resolved) held node.
func (r *Result) hits(f FaultSpan, node int) bool { return slices.Contains(f.Fault.Nodes, node) }

// spanEnd is when a fault span stopped holding.
func (r *Result) spanEnd(f FaultSpan) sim.Time {
	if f.Ended {
		return f.End
	}
	return r.VirtualTime
}

func overlap(a, b, from, to sim.Time) time.Duration {
	lo, hi := max(a, from), min(b, to)
	if hi <= lo {
		return 0
	}
	return hi.Sub(lo)
}

// slowestClock is the slowest rate node's clock ran at in [from, to)
// (1: real time), from the clock-drift faults that held it.
func (r *Result) slowestClock(node int, from, to sim.Time) float64 {
	rate := 1.0
	for _, f := range r.Chronicle.Faults {
		if f.Fault.Kind != faults.ClockDrift || f.Fault.PPM >= 0 || !slices.Contains(f.Fault.Nodes, node) {
			continue
		}
		end := f.End
		if !f.Ended {
			end = r.VirtualTime
		}
		if end > from && f.Begin < to {
			rate = min(rate, 1+float64(f.Fault.PPM)/1e6)
		}
	}
	return max(rate, 0.01)
}

// calmTerms finds a new term reached in a calm period after the cluster
// had settled: from every sample, or as the run went (a run without
// Options.Record keeps only its last sample).
func (r *Result) calmTerms() string {
	if r.calmWatch != nil {
		return r.calmWatch.found
	}
	if r.Chronicle == nil {
		return ""
	}
	var w calmWatch
	for _, s := range r.Samples {
		w.sample(r, s)
	}
	return w.found
}

// calmWatch is calmTerms taking samples one at a time, in order: as the
// run goes, each sample judged when it is taken. Whether a sample's
// instant was calm is already known then: the faults and membership
// commands that matter began at or before it, and one still holding
// then covers it whenever it ends.
type calmWatch struct {
	calm        calmTracker
	settled     bool
	settledTerm uint64
	settledLead int
	found       string // the first failure
}

func (w *calmWatch) sample(r *Result, s Sample) {
	if w.found != "" {
		return
	}
	if !w.calm.at(r, s.At) {
		w.settled = false
		return
	}
	lead, term, ok := agreed(s)
	if !w.settled {
		if ok {
			w.settled, w.settledTerm, w.settledLead = true, term, lead
		}
		return
	}
	for i, n := range s.Nodes {
		if n.Up && n.Term > w.settledTerm {
			names := r.Chronicle.Names
			w.found = fmt.Sprintf("%s reached term %d at %v, though no fault was in effect since %s settled as leader of term %d",
				names.Name(i+1), n.Term, s.At, names.Name(w.settledLead), w.settledTerm)
			return
		}
	}
}

// agreed says whether the cluster looks settled: a leader, and every up
// server that knows of a leader follows it in its term, a majority of
// the servers among them. (A server removed from the configuration stays
// up, in its old term, with no leader: it does not count either way.)
func agreed(s Sample) (lead int, term uint64, ok bool) {
	lead, term = s.Leader()
	if lead == 0 {
		return 0, 0, false
	}
	following := 0
	for _, n := range s.Nodes {
		switch {
		case !n.Up:
		case n.Term > term || (n.Lead != 0 && (n.Term != term || int(n.Lead) != lead)):
			return 0, 0, false
		case n.Term == term && int(n.Lead) == lead:
			following++
		}
	}
	return lead, term, following > len(s.Nodes)/2
}

// calmTracker is calm for instants taken in order, each fault and
// membership note looked at once (calm looks at every one for each
// instant: over a long run's samples, a fourth of its CPU, and growing
// with it). It reads what the chronicle holds by each instant: every
// fault and note of it begun by then; one not known ended holds.
type calmTracker struct {
	nextFault int
	holding   []int    // faults begun and not seen ended (indexes in Chronicle.Faults)
	ended     bool     // some fault has ended
	lastEnd   sim.Time // the latest end (membership: and settle) among them
	nextNote  int
	requested []string // membership commands requested and not ended, by Op
	mEnded    bool
	lastMEnd  sim.Time
}

// at is calm(t), for t no earlier than the previous call's.
func (c *calmTracker) at(r *Result, t sim.Time) bool {
	ch := r.Chronicle
	from := t.Add(-3*r.electionTimeout() - SampleEvery)
	for ; c.nextFault < len(ch.Faults) && ch.Faults[c.nextFault].Begin <= t; c.nextFault++ {
		if ch.Faults[c.nextFault].Fault.Kind != faults.Quiet {
			c.holding = append(c.holding, c.nextFault)
		}
	}
	keep := c.holding[:0]
	for _, i := range c.holding {
		f := &ch.Faults[i]
		if !f.Ended && f.Fault.Until > f.Fault.At {
			keep = append(keep, i) // holds: not calm, whenever it ends
			continue
		}
		end := f.End // an instantaneous fault: its begin
		if f.Fault.Kind.Membership() {
			end = end.Add(MembershipSettle)
		}
		if !c.ended || end > c.lastEnd {
			c.ended, c.lastEnd = true, end
		}
	}
	c.holding = keep
	for ; c.nextNote < len(ch.Membership) && ch.Membership[c.nextNote].At <= t; c.nextNote++ {
		n := ch.Membership[c.nextNote]
		switch {
		case n.What == "requested":
			c.requested = append(c.requested, n.Op)
		case strings.HasPrefix(n.What, "done") || strings.HasPrefix(n.What, "gave up") ||
			strings.HasPrefix(n.What, "impossible") || strings.HasPrefix(n.What, "superseded"):
			if slices.Contains(c.requested, n.Op) {
				// The end of every request of that command before it.
				c.requested = slices.DeleteFunc(c.requested, func(op string) bool { return op == n.Op })
				if end := n.At.Add(MembershipSettle); !c.mEnded || end > c.lastMEnd {
					c.mEnded, c.lastMEnd = true, end
				}
			}
		}
	}
	return len(c.holding) == 0 && (!c.ended || c.lastEnd < from) &&
		len(c.requested) == 0 && (!c.mEnded || c.lastMEnd < from)
}

// calm says whether no fault but a quiet period holds at t, nor has for
// three election timeouts before it (a leader's quorum check looks back
// one timeout, and steps it down at the next: the echo of a fault that
// just ended). A membership command holds from its request until the
// operator is done with it (or gives up), and for MembershipSettle more:
// the time it takes the new configuration to reach everyone and, if it
// removed the leader, to elect another.
func (r *Result) calm(t sim.Time) bool { return r.calmBetween(t, t) }

// calmBetween is calm at every instant of [from, to].
func (r *Result) calmBetween(from, t sim.Time) bool {
	from = from.Add(-3*r.electionTimeout() - SampleEvery)
	for _, f := range r.Chronicle.Faults {
		if f.Fault.Kind == faults.Quiet {
			continue
		}
		end := f.End // an instantaneous fault: its begin
		if !f.Ended && f.Fault.Until > f.Fault.At {
			end = r.VirtualTime // still holding when the run ended
		}
		if f.Fault.Kind.Membership() {
			end = end.Add(MembershipSettle)
		}
		if f.Begin <= t && end >= from {
			return false
		}
	}
	for _, m := range r.membershipSpans() {
		if m[0] <= t && m[1].Add(MembershipSettle) >= from {
			return false
		}
	}
	return true
}

// membershipSpans are the operator's membership commands, from request
// to their end (done, gave up, impossible, superseded; the run's end if
// none).
func (r *Result) membershipSpans() [][2]sim.Time {
	var out [][2]sim.Time
	notes := r.Chronicle.Membership
	for i, n := range notes {
		if n.What != "requested" {
			continue
		}
		end := r.VirtualTime
		for _, m := range notes[i+1:] {
			if m.Op == n.Op && (strings.HasPrefix(m.What, "done") || strings.HasPrefix(m.What, "gave up") ||
				strings.HasPrefix(m.What, "impossible") || strings.HasPrefix(m.What, "superseded")) {
				end = m.At
				break
			}
		}
		out = append(out, [2]sim.Time{n.At, end})
	}
	return out
}

// entryBytes compares what leaders sent in appends with the committed
// entries' bytes.
func (r *Result) entryBytes() string {
	m := r.Metrics
	if m.CommittedEntries < MinEntriesForBytes || m.LogEntriesMax == 0 || r.Options.Servers < 2 {
		return ""
	}
	mean := float64(m.LogBytesMax) / float64(m.LogEntriesMax)
	per := float64(m.EntryBytesSent) / float64(m.CommittedEntries) / float64(r.Options.Servers-1)
	if per > EntryBytesFactor*mean {
		return fmt.Sprintf("leaders sent %d bytes of appends for %d committed entries of about %.0f bytes: %.0f bytes per entry per follower, more than %dx the entry",
			m.EntryBytesSent, m.CommittedEntries, mean, per, EntryBytesFactor)
	}
	return ""
}

// electionRounds finds an election, held with no fault in effect, that
// took more than MaxElectionRounds terms to elect a leader.
func (r *Result) electionRounds() string {
	if worst := r.calmElections(); worst.rounds > MaxElectionRounds {
		return fmt.Sprintf("the election from %v to %v took %d terms (%d to %d) with no fault in effect, more than %d",
			worst.from, worst.to, worst.rounds, worst.fromTerm, worst.toTerm, MaxElectionRounds)
	}
	return ""
}

// calmElection is one election held with no fault in effect.
type calmElection struct {
	from, to         sim.Time
	fromTerm, toTerm uint64
	rounds           uint64
}

// calmElections is the calm election that took the most terms.
func (r *Result) calmElections() calmElection {
	var worst calmElection
	ch := r.Chronicle
	if ch == nil {
		return worst
	}
	ts := ch.Tenures()
	slices.SortStableFunc(ts, func(a, b Tenure) int { return cmpTime(a.From, b.From) })
	covered, term := sim.Time(0), uint64(1) // servers start in term 1
	for _, u := range ts {
		if u.From > covered {
			// No leader in [covered, u.From): an election.
			rounds := u.Term - min(term, u.Term)
			if rounds > worst.rounds && r.calmBetween(covered, u.From) {
				worst = calmElection{from: covered, to: u.From, fromTerm: term, toTerm: u.Term, rounds: rounds}
			}
		}
		if u.To > covered {
			covered = u.To
		}
		term = max(term, u.Term)
	}
	return worst
}

func cmpTime(a, b sim.Time) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
