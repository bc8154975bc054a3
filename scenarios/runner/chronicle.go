package runner

import (
	"slices"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Chronicle is what happened to each server over a run and who answered
// each client operation: the data behind a report's lanes and a failure's
// explanation. It is kept from hooks whatever the trace mode, so a run
// whose trace was only hashed still explains itself.
type Chronicle struct {
	Names cluster.Names
	// Roles are the servers' changes of role or leader, in time order.
	Roles []RoleChange
	// Life are the servers' starts, crashes, restarts, pauses, resumes,
	// exits and storage findings, in time order.
	Life []LifeEvent
	// Faults are the faults that began, in the order they began.
	Faults []FaultSpan
	// Membership are the operator's notes on membership commands
	// ("membership: OP: WHAT"), in time order.
	Membership []MembershipNote
	// End is when the run ended.
	End sim.Time

	// answers: who answered each operation, kept only with
	// Options.Record (only explanations read them, and they grow with
	// every operation). Roles, Life and Faults are kept in every run:
	// the always-on checks read them, and they grow with the faults.
	answers map[answerKey]Answer
	open    map[int]int // fault index -> position in Faults, while active
	// leading are the servers that believe they lead now, ledSince
	// when the current span in which some server leads began, and led
	// the time of the spans before: leaderless time, counted as it goes
	// whether or not the rest is kept.
	leading  map[int]bool
	ledSince sim.Time
	led      time.Duration // time during which some server led, so far
	c        *cluster.Cluster
	w        *sim.World
}

// RoleChange is one server changing role or leader.
type RoleChange struct {
	At   sim.Time
	Node int
	Role subject.Role
	Lead int
	Term uint64
}

// LifeKind names a LifeEvent.
type LifeKind string

const (
	LifeStart        LifeKind = "start"
	LifeCrash        LifeKind = "crash"
	LifeRestart      LifeKind = "restart"
	LifePause        LifeKind = "pause"
	LifeResume       LifeKind = "resume"
	LifeExit         LifeKind = "exit"          // the server stopped itself (fail-stop)
	LifeStartFailed  LifeKind = "start-failed"  // it could not start from its disk
	LifeStorageFault LifeKind = "storage-fault" // it found its durable data damaged
	LifeRecovered    LifeKind = "recovered"     // it caught up after a storage fault
)

// LifeEvent is one thing that happened to a server's process.
type LifeEvent struct {
	At   sim.Time
	Node int
	Kind LifeKind
	Note string
}

// MembershipNote is one step of an operator's membership command: Op is
// the command ("remove n2"), What the step ("requested", "done: ...").
type MembershipNote struct {
	At       sim.Time
	Op, What string
}

// FaultSpan is one fault as it happened: its targets as resolved when it
// began (the leader it found, the sides it drew) and when it held.
type FaultSpan struct {
	Index int
	Fault faults.Fault
	// Desc is the fault as the trace describes it.
	Desc  string
	Begin sim.Time
	// End is when it ended; a fault still holding when the run ended
	// (never: the schedule heals everything) or an instantaneous one has
	// End == Begin and Ended false.
	End   sim.Time
	Ended bool
}

// Holds reports whether the fault was in effect at t.
func (f FaultSpan) Holds(t sim.Time) bool {
	if !f.Ended {
		return t == f.Begin || (f.Fault.Until > f.Fault.At && t >= f.Begin)
	}
	return t >= f.Begin && t < f.End
}

// Answer is the server whose answer completed a client operation, as it
// saw itself when it sent that answer.
type Answer struct {
	Server int
	Role   subject.Role
	Term   uint64
	Lead   int
	At     sim.Time
}

type answerKey struct {
	client, seq uint64
	server      int
}

// newChronicle starts a chronicle; it keeps who answered each operation
// only if record.
func newChronicle(w *sim.World, servers int, record bool) *Chronicle {
	ch := &Chronicle{Names: cluster.Names{Servers: servers}, w: w, open: map[int]int{}, leading: map[int]bool{}}
	if record {
		ch.answers = map[answerKey]Answer{}
	}
	return ch
}

// lead counts leaderless time as servers start and stop leading: some
// server led from the first start to the last stop (Tenures' spans).
func (ch *Chronicle) lead(node int, on bool) {
	now := ch.w.Now()
	was := len(ch.leading) > 0
	if on {
		ch.leading[node] = true
	} else {
		delete(ch.leading, node)
	}
	switch is := len(ch.leading) > 0; {
	case is && !was:
		ch.ledSince = now
	case was && !is:
		ch.led += now.Sub(ch.ledSince)
	}
}

// Leaderless is how long in [0, end) no server believed it led.
func (ch *Chronicle) Leaderless(end sim.Time) time.Duration {
	led := ch.led
	if len(ch.leading) > 0 {
		led += end.Sub(ch.ledSince)
	}
	return end.Duration() - led
}

func (ch *Chronicle) role(id uint64, role subject.Role, lead, term uint64) {
	ch.lead(int(id), role == subject.Leader)
	ch.Roles = append(ch.Roles, RoleChange{At: ch.w.Now(), Node: int(id), Role: role, Lead: int(lead), Term: term})
}

// event files a traced event that concerns a server's life.
func (ch *Chronicle) event(e *sim.Event) {
	if e.Kind == sim.KindNote {
		if rest, ok := strings.CutPrefix(e.Note, "membership: "); ok {
			if i := strings.LastIndex(rest, ": "); i >= 0 {
				// "remove n2: done: voters=...": the op has no ": ".
				op, what, _ := strings.Cut(rest, ": ")
				ch.Membership = append(ch.Membership, MembershipNote{At: e.At, Op: op, What: what})
			}
			return
		}
	}
	n := int(e.Node)
	if n < 1 || n > ch.Names.Servers {
		return
	}
	var k LifeKind
	switch e.Kind {
	case sim.KindStart:
		k = LifeStart
	case sim.KindCrash:
		k = LifeCrash
	case sim.KindRestart:
		k = LifeRestart
	case sim.KindPause:
		k = LifePause
	case sim.KindResume:
		k = LifeResume
	case sim.KindNote:
		switch {
		case strings.HasPrefix(e.Note, "exit: "):
			k = LifeExit
		case strings.HasPrefix(e.Note, "start failed: "):
			k = LifeStartFailed
		case strings.HasPrefix(e.Note, "storage fault:"):
			k = LifeStorageFault
		case strings.HasPrefix(e.Note, "recovered:"):
			k = LifeRecovered
		default:
			return
		}
	default:
		return
	}
	if k == LifeCrash || k == LifeExit {
		ch.lead(n, false)
	}
	ch.Life = append(ch.Life, LifeEvent{At: e.At, Node: n, Kind: k, Note: e.Note})
}

// sent sees every message a server sends; an answer that completes a
// client operation is filed with the server's view of itself.
func (ch *Chronicle) sent(from, to uint64, msg []byte) {
	if ch.answers == nil || int(to) <= ch.Names.Servers || ch.c == nil {
		return
	}
	tag, body, err := kv.SplitTag(msg)
	if err != nil || tag != kv.TagResponse {
		return
	}
	resp, err := kv.DecodeResponse(body)
	if err != nil || resp.Status != kv.StatusOK || resp.Result.Stale {
		return
	}
	key := answerKey{resp.ClientID, resp.Seq, int(from)}
	if _, seen := ch.answers[key]; seen {
		return
	}
	a := Answer{Server: int(from), At: ch.w.Now()}
	if s := ch.c.Server(int(from)); s != nil {
		st := s.BasicStatus()
		a.Role, a.Term, a.Lead = st.Role, st.Term, int(st.Lead)
	}
	ch.answers[key] = a
}

// FaultBegan and FaultEnded make the runner's target a faults.Observer.
func (ch *Chronicle) FaultBegan(i int, f faults.Fault, desc string) {
	ch.open[i] = len(ch.Faults)
	ch.Faults = append(ch.Faults, FaultSpan{Index: i, Fault: f, Desc: desc, Begin: ch.w.Now(), End: ch.w.Now()})
}

func (ch *Chronicle) FaultEnded(i int, _ faults.Fault) {
	if p, ok := ch.open[i]; ok {
		delete(ch.open, i)
		ch.Faults[p].End, ch.Faults[p].Ended = ch.w.Now(), true
	}
}

// Answer is who answered op, if it completed.
func (ch *Chronicle) Answer(op history.Operation) (Answer, bool) {
	if op.Unknown || op.Server == 0 {
		return Answer{}, false
	}
	a, ok := ch.answers[answerKey{op.ClientID, op.Seq, int(op.Server)}]
	return a, ok
}

// ActiveAt lists the faults in effect at t, in the order they began.
func (ch *Chronicle) ActiveAt(t sim.Time) []FaultSpan {
	var out []FaultSpan
	for _, f := range ch.Faults {
		if f.Holds(t) {
			out = append(out, f)
		}
	}
	return out
}

// Tenure is one server leading one term, from when it became leader
// until it stopped leading (stepped down, crashed, or the run ended).
type Tenure struct {
	Node       int
	Term       uint64
	From, To   sim.Time
	Ended      bool // false: still leading when the run ended
	EndedBy    string
	Overlapped bool // another server led a higher term meanwhile
}

// Tenures are every leadership of the run, in the order they began.
func (ch *Chronicle) Tenures() []Tenure {
	type ev struct {
		at    sim.Time
		order int
		role  *RoleChange
		life  *LifeEvent
	}
	evs := make([]ev, 0, len(ch.Roles)+len(ch.Life))
	for i := range ch.Roles {
		evs = append(evs, ev{at: ch.Roles[i].At, order: i, role: &ch.Roles[i]})
	}
	for i := range ch.Life {
		evs = append(evs, ev{at: ch.Life[i].At, order: len(ch.Roles) + i, life: &ch.Life[i]})
	}
	slices.SortStableFunc(evs, func(a, b ev) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	var out []Tenure
	leading := map[int]int{} // node -> index in out
	stop := func(node int, at sim.Time, why string) {
		if i, ok := leading[node]; ok {
			out[i].To, out[i].Ended, out[i].EndedBy = at, true, why
			delete(leading, node)
		}
	}
	for _, e := range evs {
		switch {
		case e.role != nil && e.role.Role == subject.Leader:
			if _, ok := leading[e.role.Node]; ok {
				continue // a change of leader id only
			}
			leading[e.role.Node] = len(out)
			out = append(out, Tenure{Node: e.role.Node, Term: e.role.Term, From: e.at})
		case e.role != nil:
			stop(e.role.Node, e.at, "stepped down ("+strings.ToLower(e.role.Role.String())+")")
		case e.life.Kind == LifeCrash || e.life.Kind == LifeExit:
			stop(e.life.Node, e.at, string(e.life.Kind))
		}
	}
	for i := range out {
		if !out[i].Ended {
			out[i].To = ch.End
		}
	}
	for i := range out {
		for j := range out {
			if out[j].Term > out[i].Term && out[j].From < out[i].To && out[j].To > out[i].From {
				out[i].Overlapped = true
			}
		}
	}
	return out
}

// LeaderAt is the leadership of the highest term in effect at t (ok false
// if no server led then).
func (ch *Chronicle) LeaderAt(t sim.Time) (Tenure, bool) {
	return leaderAt(ch.Tenures(), t)
}

func leaderAt(ts []Tenure, t sim.Time) (Tenure, bool) {
	var best Tenure
	found := false
	for _, x := range ts {
		if x.From <= t && (t < x.To || (!x.Ended && t == x.To)) && (!found || x.Term > best.Term) {
			best, found = x, true
		}
	}
	return best, found
}
