package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/raft/raftpb"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/tracker"
	"github.com/seed4fee1fef/raftsim/sim"
)

// MembershipKind names an operator's membership command.
type MembershipKind uint8

const (
	AddLearner MembershipKind = iota // add-learner nX: it replicates, never votes
	Promote                          // promote nX: a learner becomes a voter
	Add                              // add nX: a learner first, a voter once caught up
	Remove                           // remove nX (or the leader at the time)
	Change                           // change +nA,-nB,...: several at once, through a joint configuration
)

var membershipNames = [...]string{AddLearner: "add-learner", Promote: "promote", Add: "add", Remove: "remove", Change: "change"}

func (k MembershipKind) String() string {
	if int(k) < len(membershipNames) {
		return membershipNames[k]
	}
	return "membership(" + strconv.Itoa(int(k)) + ")"
}

// Membership is one operator command. Add and Remove name servers
// (for AddLearner, Promote and Add: Add[0]; for Remove: Remove[0], or the
// leader at the time with Leader).
type Membership struct {
	Kind        MembershipKind
	Add, Remove []int
	Leader      bool
	// Within bounds how long the operator keeps trying (default 10s):
	// without a leader, while another change is pending, or (add) while
	// the learner catches up.
	Within time.Duration
}

func (m Membership) String() string {
	switch m.Kind {
	case Change:
		var parts []string
		for _, id := range m.Add {
			parts = append(parts, "+n"+strconv.Itoa(id))
		}
		for _, id := range m.Remove {
			parts = append(parts, "-n"+strconv.Itoa(id))
		}
		return "change " + strings.Join(parts, ",")
	case Remove:
		if m.Leader {
			return "remove leader"
		}
		return "remove n" + strconv.Itoa(first(m.Remove))
	}
	return m.Kind.String() + " n" + strconv.Itoa(first(m.Add))
}

func first(ids []int) int {
	if len(ids) == 0 {
		return 0
	}
	return ids[0]
}

// retryEvery is how often the operator tries again.
const retryEvery = 100 * time.Millisecond

// operation is a membership command in progress.
type operation struct {
	m        Membership
	deadline sim.Time
	done     bool
	// target is the server a Remove of the leader resolved to.
	target int
}

// ChangeMembership starts m now (a Change supersedes the commands still in
// progress): the operator proposes it at the leader
// and tries again every 100ms until the configuration is what m asks for,
// m turns out impossible, or m.Within passes. Every step is a note in the
// trace ("membership: ...").
func (c *Cluster) ChangeMembership(m Membership) {
	if m.Within <= 0 {
		m.Within = 10 * time.Second
	}
	op := &operation{m: m, deadline: c.W.Now().Add(m.Within)}
	if m.Kind == Change {
		// A change states the configuration wanted: it supersedes every
		// command still in progress.
		for _, old := range c.ops {
			if !old.done {
				old.done = true
				c.note(old, "superseded by "+m.String())
			}
		}
	}
	c.ops = append(c.ops, op)
	c.note(op, "requested")
	c.attempt(op)
}

// SetMinVoters makes the operator refuse a command that would leave fewer
// than n voters: a random schedule's changes stay within what its other
// faults are sized for (a script may go as low as it likes).
func (c *Cluster) SetMinVoters(n int) { c.minVoters = n }

// Pending reports whether a membership command is still in progress.
func (c *Cluster) Pending() bool {
	return slices.ContainsFunc(c.ops, func(op *operation) bool { return !op.done })
}

func (c *Cluster) note(op *operation, what string) {
	c.W.Note(0, "membership: "+op.m.String()+": "+what)
}

func (c *Cluster) retry(op *operation) {
	if c.W.Now() >= op.deadline {
		op.done = true
		c.note(op, "gave up after "+op.m.Within.String())
		return
	}
	c.W.After(retryEvery, func() { c.attempt(op) })
}

// attempt does one step of op.
func (c *Cluster) attempt(op *operation) {
	if op.done {
		return
	}
	lead, _ := c.Leader()
	if lead == 0 {
		c.retry(op)
		return
	}
	s := c.servers[lead]
	cfg := s.Config()
	cc, finished, why := c.next(op, lead, cfg)
	if cc != nil && c.minVoters > 0 {
		if n := votersAfter(cfg, cc); n < c.minVoters {
			cc, why = nil, fmt.Sprintf("%s would leave %d voters, below the operator's floor of %d", cc, n, c.minVoters)
		}
	}
	switch {
	case finished:
		op.done = true
		c.note(op, "done: "+describeConfig(cfg))
		return
	case why != "":
		op.done = true
		c.note(op, "impossible: "+why)
		return
	case cc == nil:
		c.retry(op) // waiting (a learner catching up, a joint configuration being left)
		return
	}
	err := s.ProposeConfChange(*cc)
	switch {
	case err == nil:
		c.note(op, fmt.Sprintf("proposed %s at leader n%d", cc, lead))
		c.notePromotions(lead, cfg, cc)
	case errors.Is(err, subject.ErrConfChangeInvalid):
		op.done = true
		c.note(op, "refused: "+err.Error())
		return
	case errors.Is(err, subject.ErrConfChangePending), errors.Is(err, subject.ErrNotLeader), errors.Is(err, subject.ErrProposalDropped):
		// Try again later.
	default:
		c.note(op, "error: "+err.Error())
	}
	c.retry(op)
}

// next is op's next change given the leader's configuration: a change to
// propose, or finished, or why it cannot be done; none of these means
// wait.
func (c *Cluster) next(op *operation, lead int, cfg tracker.Config) (cc *raftpb.ConfChangeV2, finished bool, why string) {
	one := func(t raftpb.ConfChangeType, id int) *raftpb.ConfChangeV2 {
		return &raftpb.ConfChangeV2{Changes: []raftpb.ConfChange{{Type: t, NodeID: uint64(id)}}}
	}
	voter := func(id int) bool { return cfg.Voters.Incoming.Contains(uint64(id)) }
	learner := func(id int) bool { return cfg.Learners.Contains(uint64(id)) }
	member := func(id int) bool { return voter(id) || learner(id) || cfg.Voters.Outgoing.Contains(uint64(id)) }
	joint := cfg.Voters.Joint()
	m := op.m
	switch m.Kind {
	case AddLearner:
		if id := first(m.Add); member(id) {
			return nil, true, ""
		} else if !joint {
			return one(raftpb.ConfChangeAddLearner, id), false, ""
		}
	case Promote:
		id := first(m.Add)
		switch {
		case voter(id):
			return nil, true, ""
		case !learner(id) && !joint:
			return nil, false, fmt.Sprintf("n%d is not a learner", id)
		case !joint:
			return one(raftpb.ConfChangeAddNode, id), false, ""
		}
	case Add:
		id := first(m.Add)
		switch {
		case voter(id):
			return nil, true, ""
		case joint:
		case !learner(id):
			return one(raftpb.ConfChangeAddLearner, id), false, ""
		case c.caughtUp(lead, id):
			return one(raftpb.ConfChangeAddNode, id), false, ""
		}
	case Remove:
		if op.target == 0 {
			op.target = first(m.Remove)
			if m.Leader {
				op.target = lead
			}
		}
		if !member(op.target) {
			return nil, true, ""
		} else if !joint {
			return one(raftpb.ConfChangeRemoveNode, op.target), false, ""
		}
	case Change:
		if joint {
			return nil, false, "" // wait until it is left
		}
		var changes []raftpb.ConfChange
		for _, id := range m.Add {
			if !voter(id) {
				changes = append(changes, raftpb.ConfChange{Type: raftpb.ConfChangeAddNode, NodeID: uint64(id)})
			}
		}
		for _, id := range m.Remove {
			if member(id) {
				changes = append(changes, raftpb.ConfChange{Type: raftpb.ConfChangeRemoveNode, NodeID: uint64(id)})
			}
		}
		if len(changes) == 0 {
			return nil, true, ""
		}
		return &raftpb.ConfChangeV2{Changes: changes}, false, ""
	}
	return nil, false, ""
}

// votersAfter is how many voters cfg has once cc's changes are made (the
// incoming ones, for a joint change).
func votersAfter(cfg tracker.Config, cc *raftpb.ConfChangeV2) int {
	voters := slices.Clone(cfg.Voters.Incoming)
	for _, ch := range cc.Changes {
		switch ch.Type {
		case raftpb.ConfChangeAddNode:
			if !slices.Contains(voters, ch.NodeID) {
				voters = append(voters, ch.NodeID)
			}
		case raftpb.ConfChangeRemoveNode:
			voters = slices.DeleteFunc(voters, func(id uint64) bool { return id == ch.NodeID })
		}
	}
	return len(voters)
}

// Promotion is a learner's promotion to voter that a leader accepted
// (appended to its log), and what the learner's own log held at that
// instant: a leader with the promotion guard accepts one only once the
// learner holds every entry it has committed (see Cluster.Promotions).
type Promotion struct {
	At              sim.Time
	Leader, Learner int
	// Commit is the leader's commit index; Held says the learner's log
	// holds entry Commit as the leader's does (or a snapshot covers it).
	Commit uint64
	Held   bool
	// Down: the learner was down, so its log could not be read.
	Down bool
	// LearnerLast is the last index of the learner's log.
	LearnerLast uint64
}

// Promotions are the promotions of learners that leaders accepted, in
// order.
func (c *Cluster) Promotions() []Promotion { return c.promotions }

// notePromotions records each learner that cc, accepted by leader lead
// whose configuration was cfg, promotes.
func (c *Cluster) notePromotions(lead int, cfg tracker.Config, cc *raftpb.ConfChangeV2) {
	for _, ch := range cc.Changes {
		if ch.Type != raftpb.ConfChangeAddNode || !cfg.Learners.Contains(ch.NodeID) {
			continue
		}
		ls := c.servers[lead]
		commit := ls.BasicStatus().Commit
		p := Promotion{At: c.W.Now(), Leader: lead, Learner: int(ch.NodeID), Commit: commit}
		if s := c.Server(int(ch.NodeID)); s == nil {
			p.Down = true
		} else {
			st := s.BasicStatus()
			p.LearnerLast = st.LastIndex
			want, ok := ls.LogTerm(commit)
			have, hok := s.LogTerm(commit)
			// Entries before a snapshot are committed ones, the same on
			// every server.
			p.Held = st.SnapshotIndex >= commit || ok && hok && want == have
		}
		c.promotions = append(c.promotions, p)
	}
}

// caughtUp reports whether the leader knows id holds everything it has
// committed.
func (c *Cluster) caughtUp(lead, id int) bool {
	s := c.servers[lead]
	match, ok := s.Match(uint64(id))
	return ok && match >= s.BasicStatus().Commit
}

// Config is the configuration in force at the leader (or, without one,
// at the live server with the highest term), and whether any server was
// live to say.
func (c *Cluster) Config() (tracker.Config, bool) {
	if lead, _ := c.Leader(); lead != 0 {
		return c.servers[lead].Config(), true
	}
	var best *raftSrv
	for id := 1; id <= c.cfg.Servers; id++ {
		if s := c.Server(id); s != nil {
			st := s.BasicStatus()
			if best == nil || st.Term > best.term {
				best = &raftSrv{id: id, term: st.Term}
			}
		}
	}
	if best == nil {
		return tracker.Config{}, false
	}
	return c.servers[best.id].Config(), true
}

type raftSrv struct {
	id   int
	term uint64
}

// DescribeConfig renders a configuration with server names:
// "voters=n1,n2,n3 learners=n4" (and "outgoing=..." while joint).
func DescribeConfig(cfg tracker.Config) string { return describeConfig(cfg) }

func describeConfig(cfg tracker.Config) string {
	names := func(ids []uint64) string {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = "n" + strconv.FormatUint(id, 10)
		}
		return strings.Join(s, ",")
	}
	out := "voters=" + names(cfg.Voters.Incoming)
	if cfg.Voters.Joint() {
		out += " outgoing=" + names(cfg.Voters.Outgoing)
	}
	return out + " learners=" + names(cfg.Learners)
}
