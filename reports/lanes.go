package reports

import (
	"slices"
	"strconv"
	"strings"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// What a run's page draws, in virtual time, before any pixel: each
// server's lane (role and term, down, paused, recovering), who led, the
// faults, and what each client was doing.

// span is a stretch of virtual time with what held during it.
type span struct {
	From, To sim.Time
	// Class names what held (a CSS class: "leader", "down", "side-a"...).
	Class string
	// Label is drawn inside the span if it fits (beside it, if Force);
	// Title is its tooltip.
	Label, Title string
	Force        bool
}

// lane is one row of a timeline: a server, the leader row, a client.
type lane struct {
	Name string
	// Title, if set, is a tooltip for the whole row.
	Title string
	Spans []span
	// Marks are thin overlays on the lane: partition sides, link, clock
	// and disk faults, pauses, recovery.
	Marks []span
}

// serverLanes draws each server's role over time from the chronicle,
// with terms refined by the 50 ms samples (a follower's term moves
// without a change of role).
func serverLanes(res *runner.Result, end sim.Time) []lane {
	ch := res.Chronicle
	n := ch.Names.Servers
	type state struct {
		class string
		term  uint64
		since sim.Time
	}
	cur := make([]state, n+1)
	lanes := make([]lane, n)
	for i := range lanes {
		lanes[i].Name = ch.Names.Name(i + 1)
		cur[i+1] = state{class: "down"}
	}
	set := func(node int, at sim.Time, class string, term uint64) {
		c := &cur[node]
		if c.class == class && c.term == term {
			return
		}
		if at > c.since {
			lanes[node-1].Spans = append(lanes[node-1].Spans, roleSpan(ch.Names.Name(node), c.since, at, c.class, c.term))
		}
		*c = state{class: class, term: term, since: at}
	}

	type ev struct {
		at     sim.Time
		order  int
		role   *runner.RoleChange
		life   *runner.LifeEvent
		sample *runner.NodeSample
		node   int
	}
	var evs []ev
	for i := range ch.Roles {
		evs = append(evs, ev{at: ch.Roles[i].At, order: 0, role: &ch.Roles[i], node: ch.Roles[i].Node})
	}
	for i := range ch.Life {
		evs = append(evs, ev{at: ch.Life[i].At, order: 1, life: &ch.Life[i], node: ch.Life[i].Node})
	}
	for i := range res.Samples {
		for j := range res.Samples[i].Nodes {
			evs = append(evs, ev{at: res.Samples[i].At, order: 2, sample: &res.Samples[i].Nodes[j], node: j + 1})
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int {
		if a.at != b.at {
			return cmpTime(a.at, b.at)
		}
		return a.order - b.order
	})
	paused := make([]sim.Time, n+1)
	recovering := make([]sim.Time, n+1)
	for i := range paused {
		paused[i], recovering[i] = -1, -1
	}
	endPause := func(node int, at sim.Time) {
		if p := paused[node]; p >= 0 {
			lanes[node-1].Marks = append(lanes[node-1].Marks, span{From: p, To: at, Class: "paused",
				Title: ch.Names.Name(node) + " paused from " + secs(p) + " to " + secs(at)})
			paused[node] = -1
		}
	}
	endRecovery := func(node int, at sim.Time) {
		if r := recovering[node]; r >= 0 {
			lanes[node-1].Marks = append(lanes[node-1].Marks, span{From: r, To: at, Class: "recovering",
				Title: ch.Names.Name(node) + " recovering (lost durable data; no vote, no quorum ack) from " + secs(r) + " to " + secs(at)})
			recovering[node] = -1
		}
	}
	for _, e := range evs {
		if e.node < 1 || e.node > n {
			continue
		}
		c := cur[e.node]
		switch {
		case e.role != nil:
			if c.class != "down" {
				set(e.node, e.at, roleWord(e.role.Role.String()), e.role.Term)
			}
		case e.life != nil:
			switch e.life.Kind {
			case runner.LifeStart, runner.LifeRestart:
				set(e.node, e.at, "follower", c.term)
			case runner.LifeCrash, runner.LifeExit, runner.LifeStartFailed:
				set(e.node, e.at, "down", c.term)
				endPause(e.node, e.at)
			case runner.LifePause:
				paused[e.node] = e.at
			case runner.LifeResume:
				endPause(e.node, e.at)
			case runner.LifeStorageFault:
				if recovering[e.node] < 0 {
					recovering[e.node] = e.at
				}
			case runner.LifeRecovered:
				endRecovery(e.node, e.at)
			}
		case e.sample != nil:
			s := e.sample
			if s.Up && c.class != "down" && s.Term > c.term {
				set(e.node, e.at, c.class, s.Term)
			}
			if s.Up && s.Recovering && recovering[e.node] < 0 {
				recovering[e.node] = e.at
			}
			if s.Up && !s.Recovering && recovering[e.node] >= 0 && e.at > recovering[e.node] {
				endRecovery(e.node, e.at)
			}
		}
	}
	for node := 1; node <= n; node++ {
		set(node, end, "end", 0)
		endPause(node, end)
		endRecovery(node, end)
	}
	for _, f := range ch.Faults {
		for _, m := range faultMarks(ch.Names.Name, f, end) {
			if m.node >= 1 && m.node <= n {
				lanes[m.node-1].Marks = append(lanes[m.node-1].Marks, m.span)
			}
		}
	}
	return lanes
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

func roleSpan(name string, from, to sim.Time, class string, term uint64) span {
	s := span{From: from, To: to, Class: class}
	when := " from " + secs(from) + " to " + secs(to)
	switch class {
	case "down":
		s.Title = name + " down" + when
	case "leader":
		s.Label = "t" + strconv.FormatUint(term, 10)
		s.Title = name + " leader of term " + strconv.FormatUint(term, 10) + when
	default:
		s.Title = name + " " + class + ", term " + strconv.FormatUint(term, 10) + when
	}
	return s
}

// leaderLane is who led the highest term over time; gaps are leaderless.
func leaderLane(ch *runner.Chronicle, end sim.Time) lane {
	ts := ch.Tenures()
	cuts := []sim.Time{0, end}
	for _, t := range ts {
		cuts = append(cuts, t.From, min(t.To, end))
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	l := lane{Name: "leader"}
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]
		if from >= end {
			break
		}
		var best *runner.Tenure
		for j := range ts {
			t := &ts[j]
			if t.From <= from && (t.To > from || !t.Ended) && (best == nil || t.Term > best.Term) {
				best = t
			}
		}
		s := span{From: from, To: to, Class: "leaderless", Title: "no leader from " + secs(from) + " to " + secs(to)}
		if best != nil {
			name := ch.Names.Name(best.Node)
			s = span{From: from, To: to, Class: "lead-" + strconv.Itoa((best.Node-1)%8), Label: name + " t" + strconv.FormatUint(best.Term, 10),
				Title: name + " led term " + strconv.FormatUint(best.Term, 10) + " from " + secs(from) + " to " + secs(to)}
		}
		if k := len(l.Spans); k > 0 && l.Spans[k-1].Label == s.Label && l.Spans[k-1].Class == s.Class && l.Spans[k-1].To == from {
			l.Spans[k-1].To = to
			continue
		}
		l.Spans = append(l.Spans, s)
	}
	return l
}

// faultClass sorts fault kinds into what a page colours alike: the
// kind's family (faults.Kind.Family).
func faultClass(k faults.Kind) string { return k.Family() }

type nodeMark struct {
	node int
	span span
}

// faultMarks are the marks a fault leaves on server lanes: each side of
// a partition in its own colour, the nodes a node fault hit.
func faultMarks(name func(int) string, f runner.FaultSpan, end sim.Time) []nodeMark {
	to := f.End
	if !f.Ended && f.Fault.Until > f.Fault.At {
		to = end
	}
	label := runner.FaultLabel(f)
	var out []nodeMark
	cls := faultClass(f.Fault.Kind)
	switch cls {
	case "partition":
		sides := []string{"side-a", "side-b", "side-c"}
		if f.Fault.Kind == faults.Bridge && len(f.Fault.Groups) == 3 {
			sides = []string{"side-a", "side-c", "side-b"} // the bridge node between two sides
		}
		for i, g := range f.Fault.Groups {
			for _, id := range g {
				side := "side " + string(rune('A'+i))
				if f.Fault.Kind == faults.Bridge && i == 1 {
					side = "the bridge"
				}
				out = append(out, nodeMark{id, span{From: f.Begin, To: to, Class: sides[min(i, 2)],
					Title: name(id) + " on " + side + ": " + label}})
			}
		}
	case "quiet", "other":
	default:
		for _, id := range f.Fault.Nodes {
			out = append(out, nodeMark{id, span{From: f.Begin, To: max(to, f.Begin), Class: cls, Title: label}})
		}
	}
	return out
}

// faultRows packs the faults into rows (a new row when one overlaps the
// row's last), at most maxRows; faults past that share the last row.
func faultRows(ch *runner.Chronicle, end sim.Time, minWidth sim.Time, maxRows int) []lane {
	var rows []lane
	var ends []sim.Time
	for _, f := range ch.Faults {
		to := f.End
		if !f.Ended && f.Fault.Until > f.Fault.At {
			to = end
		}
		s := span{From: f.Begin, To: max(to, f.Begin), Class: faultClass(f.Fault.Kind), Label: string(f.Fault.Kind),
			Title: runner.FaultLabel(f)}
		placed := false
		for i := range rows {
			if ends[i] <= s.From {
				rows[i].Spans = append(rows[i].Spans, s)
				ends[i] = max(s.To, s.From+minWidth)
				placed = true
				break
			}
		}
		if placed {
			continue
		}
		if len(rows) < maxRows {
			rows = append(rows, lane{Name: ""})
			ends = append(ends, 0)
		} else {
			s.Label = "" // overlaps others in the last row: the tooltip says what it is
		}
		i := len(rows) - 1
		rows[i].Spans = append(rows[i].Spans, s)
		ends[i] = max(ends[i], s.To, s.From+minWidth)
	}
	if len(rows) > 0 {
		rows[0].Name = "faults"
	}
	return rows
}

// quietSpans are the quiet periods (no client load), shaded across a
// whole timeline.
func quietSpans(ch *runner.Chronicle, end sim.Time) []span {
	var out []span
	for _, f := range ch.Faults {
		if f.Fault.Kind != faults.Quiet {
			continue
		}
		to := f.End
		if !f.Ended {
			to = end
		}
		out = append(out, span{From: f.Begin, To: to, Class: "quiet", Title: runner.FaultLabel(f)})
	}
	return out
}

// clientLanes draws what each client was doing: operations that
// completed, and those whose outcome is unknown (until the client's next
// call, or its give-up). Operations closer than res pixels of time merge,
// so a row has at most one span per pixel whatever the history's length.
func clientLanes(res *runner.Result, end, resolution sim.Time) []lane {
	names := names(res)
	ops := res.Cluster.History.Operations()
	clients := res.Options.Clients
	lanes := make([]lane, clients)
	for j := range lanes {
		lanes[j].Name = names.Name(res.Options.Servers + 1 + j)
	}
	next := map[uint64]sim.Time{} // client -> call of its next operation, scanning backwards
	type seg struct {
		from, to sim.Time
		unknown  bool
	}
	segs := make([][]seg, clients)
	for i := len(ops) - 1; i >= 0; i-- {
		op := ops[i]
		j := int(op.ClientID) - res.Options.Servers - 1
		if j < 0 || j >= clients {
			continue
		}
		to := sim.Time(op.Return)
		if op.Unknown {
			to = sim.Time(op.Call) + 2*sim.Time(1e9)
			if n, ok := next[op.ClientID]; ok {
				to = min(to, n)
			}
			to = min(to, end)
		}
		next[op.ClientID] = sim.Time(op.Call)
		segs[j] = append(segs[j], seg{sim.Time(op.Call), to, op.Unknown})
	}
	for j := range segs {
		slices.Reverse(segs[j])
		unknown := 0
		for _, s := range segs[j] {
			if s.unknown {
				unknown++
			}
		}
		lanes[j].Title = lanes[j].Name + ": " + plural(len(segs[j]), "operation") + ", " + strconv.Itoa(unknown) + " with unknown outcome"
		var cur *span
		var curCount, curUnknown int
		flush := func() {
			if cur != nil {
				cur.Title = lanes[j].Name + ": " + plural(curCount, "operation") + " from " + secs(cur.From) + " to " + secs(cur.To)
				if curUnknown > 0 {
					cur.Title += " (" + strconv.Itoa(curUnknown) + " with unknown outcome)"
				}
				lanes[j].Spans = append(lanes[j].Spans, *cur)
			}
		}
		for _, s := range segs[j] {
			class := "op-ok"
			if s.unknown {
				class = "op-unknown"
			}
			if cur != nil && cur.Class == class && s.from <= cur.To+resolution {
				cur.To = max(cur.To, s.to)
				curCount++
				if s.unknown {
					curUnknown++
				}
				continue
			}
			flush()
			cur = &span{From: s.from, To: s.to, Class: class}
			curCount, curUnknown = 1, 0
			if s.unknown {
				curUnknown = 1
			}
		}
		flush()
	}
	return lanes
}

// secs renders a virtual time in seconds with millisecond precision.
func secs(t sim.Time) string {
	return strconv.FormatFloat(t.Duration().Seconds(), 'f', 3, 64) + "s"
}

// shortValue shortens a value for a label: its tail, where appends pile up.
func shortValue(v string, n int) string {
	if len(v) <= n {
		return v
	}
	tail := v[len(v)-n:]
	if i := strings.IndexByte(tail, ';'); i >= 0 && i < len(tail)-1 {
		tail = tail[i+1:]
	}
	return "…" + tail
}
