package runner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/raft/kv"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/sim"
)

// Explanation is one failure told in terms a person can act on: which
// operations, servers, terms and faults were involved, as a few sentences
// (Text) and as data. Names are the run's (servers n1..nN, clients
// c1..cM); times are virtual.
type Explanation struct {
	// Failure is the failure line (Result.Failures) it explains.
	Failure string `json:"failure"`
	// Text is a short paragraph, one sentence a line.
	Text []string `json:"text"`
	// At is the moment it is about; From and To bound the window worth
	// looking at around it.
	AtNS   int64 `json:"at_ns"`
	FromNS int64 `json:"from_ns"`
	ToNS   int64 `json:"to_ns"`
	// Key is the failing key of a linearizability failure.
	Key string `json:"key,omitempty"`
	// Operations are the operations involved, the one that cannot be
	// ordered first.
	Operations []ExplainedOp `json:"operations,omitempty"`
	// Invariant is the broken invariant, for an invariant failure.
	Invariant *ExplainedInvariant `json:"invariant,omitempty"`
	// Faults are the faults in effect at At (or just ended).
	Faults []string `json:"faults_active,omitempty"`
	// Conflict is the checker's own account of a linearizability
	// failure, for drawing it.
	Conflict *model.Conflict `json:"-"`
}

// ExplainedOp is one client operation in an Explanation.
type ExplainedOp struct {
	// Part is what the operation has to do with the failure.
	Part string `json:"part"`
	// Index is its position in the run's history (history.json).
	Index  int    `json:"index"`
	Client string `json:"client"`
	Seq    uint64 `json:"seq"`
	Op     string `json:"op"`
	// Result is what it returned, as the checker describes it.
	Result   string `json:"result"`
	CallNS   int64  `json:"call_ns"`
	ReturnNS int64  `json:"return_ns"`
	// Server answered it; Role and Term are that server's own view of
	// itself when it answered.
	Server     string `json:"server,omitempty"`
	ServerRole string `json:"server_role,omitempty"`
	ServerTerm uint64 `json:"server_term,omitempty"`
	// Leader led the highest term when it was answered (empty: no one).
	Leader     string `json:"leader_then,omitempty"`
	LeaderTerm uint64 `json:"leader_term_then,omitempty"`
}

// ExplainedInvariant is a broken Raft invariant in an Explanation.
type ExplainedInvariant struct {
	Name     string   `json:"name"`
	Message  string   `json:"message"`
	EventSeq uint64   `json:"event_seq"`
	Event    string   `json:"event,omitempty"` // the event after which it broke, if the trace was kept
	Nodes    []string `json:"nodes"`           // every server's state then
}

// explainWindow is how much time around a failure's operations its
// window shows.
const explainWindow = 500_000_000 // 0.5s

// explain builds the explanations of res's failures.
func explain(res *Result) []Explanation {
	ch := res.Chronicle
	if ch == nil {
		return nil
	}
	var out []Explanation
	if v := res.Invariant; v != nil {
		out = append(out, explainInvariant(res, ch))
	}
	if res.Linearizability.Verdict == model.NotLinearizable && res.Cluster != nil {
		ops := res.Cluster.History.Operations()
		tenures := ch.Tenures()
		for _, c := range res.Linearizability.Conflicts() {
			out = append(out, explainConflict(res, ch, tenures, ops, c))
		}
	}
	if l := res.Liveness; !l.Skipped && !l.OK && !l.ExpectUnavailable {
		out = append(out, explainLiveness(res, ch))
	}
	for i := range out {
		out[i].ToNS = min(out[i].ToNS, int64(res.VirtualTime))
		out[i].FromNS = min(out[i].FromNS, out[i].ToNS)
	}
	return out
}

func explainConflict(res *Result, ch *Chronicle, tenures []Tenure, ops []history.Operation, c model.Conflict) Explanation {
	failure := "history not linearizable on keys " + strings.Join(res.Linearizability.FailingKeys, ",")
	e := Explanation{Failure: failure, Key: c.Key, Conflict: &c}
	if c.Blocked < 0 {
		e.Text = []string{fmt.Sprintf("No order of the %d operations on %s explains every result: the longest consistent order covers %d of them and leaves %s %s, and only a write nobody observed could account for the rest.",
			c.Total, c.Key, c.Ordered, c.Key, value(c.State.Value, c.State.Found))}
		return e
	}
	b := ops[c.Blocked]
	e.AtNS, e.FromNS, e.ToNS = b.Call, b.Call, b.Return
	add := func(part string, i int) ExplainedOp {
		op := ops[i]
		x := ExplainedOp{Part: part, Index: i, Client: ch.Names.Client(op.ClientID), Seq: op.Seq,
			Op: history.Describe(op.Input), Result: result(op), CallNS: op.Call, ReturnNS: op.Return}
		if a, ok := ch.Answer(op); ok {
			x.Server, x.ServerRole, x.ServerTerm = ch.Names.Name(a.Server), roleWord(a.Role), a.Term
			if t, ok := leaderAt(tenures, a.At); ok {
				x.Leader, x.LeaderTerm = ch.Names.Name(t.Node), t.Term
			}
		}
		e.FromNS, e.ToNS = min(e.FromNS, op.Call), max(e.ToNS, op.Return)
		e.Operations = append(e.Operations, x)
		return x
	}

	bx := add("cannot be ordered", c.Blocked)
	line := fmt.Sprintf("%s by %s returned %s (called %s, returned %s)", bx.Op, bx.Client, bx.Result, secs(b.Call), secs(b.Return))
	if bx.Server != "" {
		line += ", answered by " + answeredBy(bx)
		if bx.Leader != "" && (bx.Leader != bx.Server || bx.LeaderTerm != bx.ServerTerm) {
			t, _ := leaderAt(tenures, sim.Time(b.Return))
			line += fmt.Sprintf("; but %s led term %d from %s", bx.Leader, bx.LeaderTerm, secs(int64(t.From)))
			a, _ := ch.Answer(b)
			if f, ok := separated(ch, a.Server, t.Node, a.At); ok {
				line += fmt.Sprintf(", and %s was cut off from %s by %s", bx.Server, bx.Leader, FaultLabel(f))
			}
		}
	}
	e.Text = append(e.Text, line+".")

	if c.Wrote >= 0 {
		wx := add("wrote the value returned", c.Wrote)
		w := ops[c.Wrote]
		line := fmt.Sprintf("That value was written by %s's %s (called %s", wx.Client, wx.Op, secs(w.Call))
		if w.Unknown {
			line += ", outcome unknown)"
		} else {
			line += ", returned " + secs(w.Return) + ")"
		}
		if wx.Server != "" {
			line += ", answered by " + answeredBy(wx)
		}
		e.Text = append(e.Text, line+".")
	}
	switch {
	case c.Witness >= 0:
		x := ops[c.Witness]
		xx := add("completed before it was called", c.Witness)
		line := fmt.Sprintf("It was stale: %s's %s", xx.Client, xx.Op)
		if c.Wrote >= 0 {
			line += fmt.Sprintf(" was called after that write returned (at %s) and", secs(x.Call))
		}
		line += fmt.Sprintf(" completed at %s, before the %s was called", secs(x.Return), verb(b))
		if xx.Server != "" {
			line += ", answered by " + answeredBy(xx)
		}
		e.Text = append(e.Text, line+".")
	case c.SetBy >= 0:
		s := ops[c.SetBy]
		sx := add("left the value the check expected", c.SetBy)
		line := fmt.Sprintf("No order of %s's operations explains it: the longest consistent one (%d of %d) leaves %s holding %s, last written by %s's %s (called %s, returned %s)",
			c.Key, c.Ordered, c.Total, c.Key, value(c.State.Value, c.State.Found), sx.Client, sx.Op, secs(s.Call), secs(s.Return))
		if sx.Server != "" {
			line += ", answered by " + answeredBy(sx)
		}
		e.Text = append(e.Text, line+".")
	default:
		e.Text = append(e.Text, fmt.Sprintf("No order of %s's operations explains it: in the longest consistent one (%d of %d) %s was never written.", c.Key, c.Ordered, c.Total, c.Key))
	}
	e.FromNS, e.ToNS = max(0, e.FromNS-explainWindow), e.ToNS+explainWindow
	e.Faults = faultsAt(ch, sim.Time(b.Call))
	e.Text = append(e.Text, faultLine(e.Faults, sim.Time(b.Call)))
	return e
}

func explainInvariant(res *Result, ch *Chronicle) Explanation {
	v := res.Invariant
	e := Explanation{Failure: "invariant " + v.Invariant + " broken at " + v.At.String() + ": " + v.Message,
		AtNS: int64(v.At), FromNS: max(0, int64(v.At)-2*explainWindow), ToNS: int64(v.At) + explainWindow}
	inv := &ExplainedInvariant{Name: v.Invariant, Message: v.Message, EventSeq: v.EventSeq}
	for _, l := range strings.Split(strings.TrimSpace(v.Nodes), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			inv.Nodes = append(inv.Nodes, l)
		}
	}
	line := fmt.Sprintf("Raft invariant %s broke at %s: %s.", v.Invariant, secs(int64(v.At)), strings.TrimSuffix(v.Message, "."))
	e.Text = append(e.Text, line)
	if res.World != nil && res.World.Trace().Kept() {
		res.World.Trace().Each(func(seq uint64, ev *sim.Event) bool {
			if seq == v.EventSeq {
				inv.Event = EventWords(ch.Names.Name, res.World.Trace(), ev)
				return false
			}
			return true
		})
	}
	if inv.Event != "" {
		e.Text = append(e.Text, "It broke after event "+strconv.FormatUint(v.EventSeq, 10)+": "+inv.Event+".")
	} else {
		e.Text = append(e.Text, "It broke after event "+strconv.FormatUint(v.EventSeq, 10)+" (the trace was not kept: rerun with the full trace to see it).")
	}
	if len(inv.Nodes) > 0 {
		e.Text = append(e.Text, "Servers then: "+strings.Join(inv.Nodes, "; ")+".")
	}
	e.Invariant = inv
	e.Faults = faultsAt(ch, v.At)
	e.Text = append(e.Text, faultLine(e.Faults, v.At))
	return e
}

func explainLiveness(res *Result, ch *Chronicle) Explanation {
	heal := res.HealedAt
	end := heal.Add(res.Options.Settle)
	e := Explanation{Failure: "liveness: no leader and completed operation within " + res.Options.Settle.String() + " after the heal",
		AtNS: int64(heal), FromNS: max(0, int64(heal)-2*explainWindow), ToNS: int64(end)}
	line := fmt.Sprintf("After every fault healed at %s, the cluster did not elect a leader and complete an operation by %s.", secs(int64(heal)), secs(int64(end)))
	e.Text = append(e.Text, line)
	var last *Tenure
	ts := ch.Tenures()
	for i := range ts {
		if ts[i].From <= end {
			last = &ts[i]
		}
	}
	switch {
	case last == nil:
		e.Text = append(e.Text, "No server ever became leader.")
	case !last.Ended || last.To > end:
		e.Text = append(e.Text, fmt.Sprintf("%s led term %d from %s, but no operation called after the heal completed.", ch.Names.Name(last.Node), last.Term, secs(int64(last.From))))
	default:
		e.Text = append(e.Text, fmt.Sprintf("The last leader was %s in term %d, from %s until it %s at %s.", ch.Names.Name(last.Node), last.Term, secs(int64(last.From)), last.EndedBy, secs(int64(last.To))))
	}
	if n := len(res.Samples); n > 0 {
		s := res.Samples[n-1]
		var parts []string
		for i, ns := range s.Nodes {
			parts = append(parts, ch.Names.Name(i+1)+" "+nodeState(ns))
		}
		e.Text = append(e.Text, "At the end ("+secs(int64(s.At))+"): "+strings.Join(parts, ", ")+".")
	}
	return e
}

func nodeState(n NodeSample) string {
	if !n.Up {
		return "down"
	}
	s := roleWord(n.Role) + " term " + strconv.FormatUint(n.Term, 10) + " commit " + strconv.FormatUint(n.Commit, 10)
	if n.Recovering {
		s += " recovering"
	}
	return s
}

// FormatEvent is ev as the timeline prints it, with the run's names and
// its message's type, term and index as tr's Describer reads them.
func FormatEvent(name func(int) string, tr *sim.Trace, ev *sim.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%14s %-7s", ev.At, ev.Kind)
	if ev.Node != 0 {
		b.WriteString(" " + name(int(ev.Node)))
	}
	if ev.Peer != 0 {
		b.WriteString(" peer=" + name(int(ev.Peer)))
	}
	if ev.Msg != 0 {
		fmt.Fprintf(&b, " msg=%d", ev.Msg)
	}
	if ev.Size != 0 {
		fmt.Fprintf(&b, " size=%d", ev.Size)
	}
	if ev.MsgType != 0 {
		fmt.Fprintf(&b, " %s term=%d index=%d", msgType(tr, ev), ev.Term, ev.Index)
	}
	if ev.Note != "" {
		b.WriteString(" " + ev.Note)
	}
	return b.String()
}

// msgType names ev's message type as tr's Describer does.
func msgType(tr *sim.Trace, ev *sim.Event) string {
	if t := tr.TypeName(ev.MsgType); t != "" {
		return t
	}
	return fmt.Sprintf("type(%d)", ev.MsgType)
}

// EventWords is ev as a sentence fragment with the run's names: what
// happened (with its message's type, term and index), where, when.
func EventWords(name func(int) string, tr *sim.Trace, ev *sim.Event) string {
	var b strings.Builder
	b.WriteString(ev.Kind.String())
	if ev.MsgType != 0 {
		fmt.Fprintf(&b, " of %s (term %d, index %d)", msgType(tr, ev), ev.Term, ev.Index)
	}
	if ev.Node != 0 {
		b.WriteString(" at " + name(int(ev.Node)))
	}
	if ev.Peer != 0 {
		b.WriteString(" (peer " + name(int(ev.Peer)) + ")")
	}
	if ev.Note != "" {
		b.WriteString(": " + ev.Note)
	}
	var extra []string
	if ev.Msg != 0 {
		extra = append(extra, "message "+strconv.FormatUint(ev.Msg, 10))
	}
	if ev.Size != 0 {
		extra = append(extra, strconv.FormatInt(ev.Size, 10)+" bytes")
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	b.WriteString(" at " + secs(int64(ev.At)))
	return b.String()
}

// separated finds a fault that held at t and kept servers a and b apart:
// a partition with them on different sides, or an isolation of either.
func separated(ch *Chronicle, a, b int, t sim.Time) (FaultSpan, bool) {
	for _, f := range ch.ActiveAt(t) {
		side := func(n int) int {
			for i, g := range f.Fault.Groups {
				if slices.Contains(g, n) {
					return i
				}
			}
			return -1
		}
		switch {
		case len(f.Fault.Groups) > 0 && side(a) >= 0 && side(b) >= 0 && side(a) != side(b):
			return f, true
		case (f.Fault.Kind == faults.Isolate || f.Fault.Kind == faults.IsolateLeader) &&
			(slices.Contains(f.Fault.Nodes, a) || slices.Contains(f.Fault.Nodes, b)):
			return f, true
		}
	}
	return FaultSpan{}, false
}

// recentFaults is how long after it ended a fault still counts as part of
// a failure's story (the kill whose restart broke an invariant).
const recentFaults = sim.Time(1_000_000_000)

// faultsAt lists the faults in effect at t or ended within recentFaults
// before it; faults alike but for their times (a repeated isolate-leader
// that found the same leader) are told once, with how many there were.
func faultsAt(ch *Chronicle, t sim.Time) []string {
	var order []string
	alike := map[string][]FaultSpan{}
	for _, f := range ch.Faults {
		if f.Holds(t) || (f.Begin <= t && f.End <= t && f.End+recentFaults >= t && (f.Ended || f.Fault.Until == f.Fault.At)) {
			what := faultWhat(f)
			if _, ok := alike[what]; !ok {
				order = append(order, what)
			}
			alike[what] = append(alike[what], f)
		}
	}
	var out []string
	for _, what := range order {
		fs := alike[what]
		if len(fs) == 1 {
			out = append(out, FaultLabel(fs[0]))
			continue
		}
		last := fs[len(fs)-1]
		end := "the end"
		if last.Ended {
			end = secs(int64(last.End))
		}
		out = append(out, fmt.Sprintf("%s %d times, from %s to %s", what, len(fs), secs(int64(fs[0].Begin)), end))
	}
	return out
}

// faultWhat is a fault without its times: kind, parameter, targets.
func faultWhat(f FaultSpan) string {
	d := f.Fault
	d.At, d.Until = 0, 0
	return strings.TrimPrefix(d.String(), "at 0s ")
}

// FaultLabel is a fault as a person reads it: its kind, its targets as
// resolved, and when it held.
func FaultLabel(f FaultSpan) string {
	s := faultWhat(f)
	if f.Fault.Until == f.Fault.At {
		return s + " at " + secs(int64(f.Begin))
	}
	end := "the end"
	if f.Ended {
		end = secs(int64(f.End))
	}
	return s + " from " + secs(int64(f.Begin)) + " to " + end
}

func faultLine(active []string, t sim.Time) string {
	if len(active) == 0 {
		return "No fault was in effect at " + secs(int64(t)) + " or in the second before."
	}
	return "Faults at " + secs(int64(t)) + " or in the second before: " + strings.Join(active, "; ") + "."
}

func answeredBy(x ExplainedOp) string {
	if x.ServerRole == "" {
		return x.Server
	}
	return fmt.Sprintf("%s as %s of term %d", x.Server, x.ServerRole, x.ServerTerm)
}

// verb names an operation by its kind: "get", "put", ...
func verb(op history.Operation) string { return op.Input.Op.String() }

func roleWord(r subject.Role) string {
	switch r {
	case subject.PreCandidate:
		return "pre-candidate"
	}
	return strings.ToLower(r.String())
}

// result describes what op returned, values shortened to their tail.
func result(op history.Operation) string {
	if op.Unknown {
		return "nothing (outcome unknown)"
	}
	r := op.Output
	prev := value(r.Value, r.Found)
	switch op.Input.Op {
	case kv.OpGet:
		return prev
	case kv.OpCAS:
		if r.Applied {
			return "ok (was " + prev + ")"
		}
		return "failed (was " + prev + ")"
	}
	return "ok (was " + prev + ")"
}

// value renders a key's value for a sentence: quoted, and for a long one
// (appends pile up) its last few writes and its length.
func value(v string, found bool) string {
	if !found {
		return "absent"
	}
	const keep = 36
	if len(v) <= keep+8 {
		return strconv.Quote(v)
	}
	tail := v[len(v)-keep:]
	if i := strings.IndexByte(tail, ';'); i >= 0 && i < len(tail)-1 {
		tail = tail[i+1:]
	}
	return strconv.Quote("…"+tail) + " (" + strconv.Itoa(len(v)) + " bytes)"
}

// secs renders a virtual time in seconds with millisecond precision.
func secs(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) + "s"
}
