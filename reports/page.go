package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/linearizability/history"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// The run's page (index.html): one self-contained HTML file, no script,
// no network, drawn from a small SVG template. Its size is bounded by
// construction, whatever the history: lanes have a span per change of
// role, a client row at most a span per pixel, the zoomed window at most
// maxFocusOps operations, a chart at most maxBuckets points.

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"f": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"css": func() template.CSS {
		return template.CSS(pageCSS) //nolint:gosec // our own embedded stylesheet
	},
	"legendClass": func(s string) string { c, _, _ := strings.Cut(s, ":"); return c },
	"legendName":  func(s string) string { _, n, _ := strings.Cut(s, ":"); return n },
}).Parse(pageHTML))

// maxFocusOps bounds the operations the zoomed window draws.
const maxFocusOps = 120

type fact struct{ Key, Value string }

type fileLink struct{ Name, What string }

type explanationView struct {
	Failure string
	Text    []string
}

type pageView struct {
	Title       string
	Verdict     string
	Class       string // pass, fail, unknown
	Headline    string
	Explained   []explanationView
	Unexplained []string
	Command     string
	Script      string
	Facts       []fact
	Whole       *figure
	Focus       *figure
	FocusOps    bool
	Charts      []*chart
	Metrics     []fact
	Files       []fileLink
	VisualNote  string
}

// WritePage writes the run's page: what went wrong in words, the command
// that reproduces it, the servers' lanes with faults and client
// operations over the whole run, a zoom on the failure, charts of the
// run's health, its metrics, and links to the data files (written, by
// name). visualNote says what linearizability.html shows, if anything.
func WritePage(b *bytes.Buffer, res *runner.Result, sum Summary, written []string, visualNote string) error {
	v := pageView{Verdict: sum.Verdict, Command: sum.Command, Script: sum.Script, VisualNote: visualNote}
	v.Title = fmt.Sprintf("raftsim seed %d", sum.Seed)
	if sum.Scenario != "" {
		v.Title = fmt.Sprintf("raftsim %s, seed %d", sum.Scenario, sum.Seed)
	}
	switch sum.Verdict {
	case string(runner.Pass):
		v.Class = "pass"
		v.Headline = passHeadline(res)
	case string(runner.Fail):
		v.Class = "fail"
		v.Headline = failHeadline(res)
	default:
		v.Class = "unknown"
		v.Headline = "Nothing failed, but the linearizability check did not finish in time: this run is not shown correct."
	}
	explained := map[string]bool{}
	for _, e := range res.Explanations {
		v.Explained = append(v.Explained, explanationView{Failure: e.Failure, Text: e.Text})
		explained[e.Failure] = true
	}
	for _, f := range res.Failures {
		if !explained[f] {
			v.Unexplained = append(v.Unexplained, f)
		}
	}
	v.Facts = facts(res, sum)
	v.Metrics = metrics(res, sum)

	end := res.VirtualTime
	if res.Chronicle != nil && res.Cluster != nil {
		v.Whole = wholeRun(res, end)
		v.Focus = focus(res)
		v.FocusOps = len(res.Explanations) > 0 && res.Explanations[0].Key != ""
		v.Charts = charts(res, end)
	}
	what := map[string]string{
		SummaryFile:  "the run in one JSON object: verdicts, explanations, metrics, the command",
		HistoryFile:  "every client operation: call, return, result, the server that answered, its role and term",
		SamplesFile:  "every server's role, term, commit index and traffic every 50 ms, for plotting",
		TimelineFile: "faults, crashes, restarts, role changes, one line each",
		TraceFile:    "every event of the run, one JSON object a line",
		VisualFile:   "porcupine's view of the failing key around the failure",
		ReproFile:    "the command that reproduces this run",
	}
	for _, name := range written {
		if name == VisualFile && visualNote != "" {
			v.Files = append(v.Files, fileLink{name, visualNote})
			continue
		}
		v.Files = append(v.Files, fileLink{name, what[name]})
	}
	return pageTmpl.Execute(b, v)
}

func passHeadline(res *runner.Result) string {
	s := "Passed: the history is linearizable and every Raft invariant held"
	if l := res.Liveness; l.OK && !l.ExpectUnavailable {
		s += fmt.Sprintf(", and the cluster recovered %v after the last fault", l.RecoveredAfter)
	}
	return s + "."
}

func failHeadline(res *runner.Result) string {
	switch {
	case res.BeyondTolerance():
		return "Storage faults damaged a majority of servers: more than Raft promises to survive."
	case res.Invariant != nil:
		return "A Raft safety invariant broke: " + res.Invariant.Invariant + "."
	case len(res.Explanations) > 0 && len(res.Explanations[0].Operations) > 0:
		op := res.Explanations[0].Operations[0]
		if strings.HasPrefix(op.Op, "get(") {
			return fmt.Sprintf("A read returned a value no correct execution allows: %s by %s, answered by %s.", op.Op, op.Client, op.Server)
		}
		return fmt.Sprintf("An operation returned a result no correct execution allows: %s by %s, answered by %s.", op.Op, op.Client, op.Server)
	case len(res.Failures) > 0:
		return "Failed: " + res.Failures[0]
	}
	return "Failed."
}

func facts(res *runner.Result, sum Summary) []fact {
	out := []fact{{"seed", strconv.FormatUint(sum.Seed, 10)}}
	if sum.Scenario != "" {
		out = append(out, fact{"scenario", sum.Scenario})
	}
	if sum.Subject != "" {
		out = append(out, fact{"subject", sum.Subject + " (" + sum.SubjectVersion + ")"})
		if len(sum.SubjectLacks) > 0 {
			out = append(out, fact{"subject lacks", strings.Join(sum.SubjectLacks, "; ")})
		}
		if len(sum.SubjectNotes) > 0 {
			out = append(out, fact{"left out for the subject", strings.Join(sum.SubjectNotes, "; ")})
		}
	}
	out = append(out, fact{"cluster", fmt.Sprintf("%d servers (n1..n%d), %d clients (c1..c%d)", sum.Servers, sum.Servers, sum.Clients, sum.Clients)})
	if sum.Planted != "" {
		out = append(out, fact{"planted bug", sum.Planted})
	}
	out = append(out,
		fact{"virtual time", time.Duration(sum.VirtualTimeNS).String()},
		fact{"faults", strconv.Itoa(len(sum.Faults))},
		fact{"linearizable", sum.Linearizable},
		fact{"invariants", firstLine(sum.Invariants)},
		fact{"liveness", sum.Liveness},
		fact{"events", strconv.FormatUint(sum.Events, 10)},
		fact{"trace hash", sum.TraceHash},
		fact{"build", sum.Build})
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func metrics(res *runner.Result, sum Summary) []fact {
	m := sum.Metrics
	out := []fact{
		{"operations completed", strconv.FormatUint(m.OpsCompleted, 10)},
		{"operations with unknown outcome", strconv.FormatUint(m.OpsUnknown, 10)},
		{"elections won", strconv.Itoa(m.Elections)},
		{"leader changes", strconv.Itoa(m.LeaderChanges)},
		{"highest term", strconv.FormatUint(m.MaxTerm, 10)},
		{"client latency p50", time.Duration(m.ClientLatencyP50NS).String()},
		{"client latency p99", time.Duration(m.ClientLatencyP99NS).String()},
		{"entries committed", strconv.FormatUint(m.CommittedEntries, 10)},
		{"Raft messages per entry", strconv.FormatFloat(m.MessagesPerEntry, 'f', 2, 64)},
		{"Raft bytes per entry", strconv.FormatFloat(m.BytesPerEntry, 'f', 0, 64)},
	}
	if res.Chronicle != nil {
		var leaderless sim.Time
		for _, s := range leaderLane(res.Chronicle, res.VirtualTime).Spans {
			if s.Class == "leaderless" {
				leaderless += s.To - s.From
			}
		}
		out = append(out, fact{"time without a leader", leaderless.Duration().Round(time.Millisecond).String()})
	}
	var logs []string
	for i, n := range m.LogEntries {
		logs = append(logs, fmt.Sprintf("n%d %d", i+1, n))
	}
	out = append(out, fact{"log length per server", strings.Join(logs, ", ")})
	return out
}

// wholeRun is the timeline of the whole run: faults, who led, each
// server's lane, each client's row, the failing operations marked.
func wholeRun(res *runner.Result, end sim.Time) *figure {
	ch := res.Chronicle
	f := newFigure("whole", 0, end)
	f.Caption = "The whole run. Each server's lane shows its role (colour) and term (tN); coloured ticks under a lane are the faults on it " +
		"(partition sides A and B in different colours). The leader row shows who led the highest term; clients' rows show when they had an operation open."
	for _, q := range quietSpans(ch, end) {
		f.band(q)
	}
	if len(res.Explanations) > 0 {
		e := res.Explanations[0]
		f.band(span{From: sim.Time(e.FromNS), To: sim.Time(e.ToNS), Class: "window", Title: "the window drawn below, around the failure"})
	}
	f.gap(14) // room for the line captions
	for _, r := range faultRows(ch, end, f.perPixel()*40, 6) {
		f.addRow(r, 12, "fault-row")
	}
	f.gap(4)
	f.addRow(leaderLane(ch, end), 16, "leader-row")
	for _, l := range serverLanes(res, end) {
		f.addRow(l, 20, "server-row")
	}
	f.gap(6)
	rowOf := map[string]row{}
	for _, l := range clientLanes(res, end, 2*f.perPixel()) {
		f.addCompactRow(l, 7, "client-row")
		rowOf[l.Name] = f.Rows[len(f.Rows)-1]
	}
	// The operation that cannot be ordered, on its client's row.
	for _, e := range res.Explanations {
		for _, op := range e.Operations {
			if r, ok := rowOf[op.Client]; ok && op.Part == "cannot be ordered" {
				s := f.shapeOf(span{From: sim.Time(op.CallNS), To: sim.Time(op.ReturnNS), Class: "op-blocked",
					Title: fmt.Sprintf("%s by %s returned %s, answered by %s (%s, term %d)", op.Op, op.Client, op.Result, op.Server, op.ServerRole, op.ServerTerm)},
					r.Y-1, r.H+2)
				s.X, s.W = s.X-1, max(s.W, 3)
				f.Shapes = append(f.Shapes, s)
			}
		}
	}
	markFailures(f, res)
	if h := res.HealedAt; h > 0 {
		f.line(h, "heal", "heal", "every fault healed at "+secs(h))
	}
	return f.finish()
}

// markFailures draws a line at each explained failure's moment.
func markFailures(f *figure, res *runner.Result) {
	for _, e := range res.Explanations {
		label := "✗ " + e.Failure
		if len(e.Operations) > 0 {
			op := e.Operations[0]
			label = "✗ " + op.Op + " by " + op.Client + " ← " + op.Server
		} else if e.Invariant != nil {
			label = "✗ " + e.Invariant.Name
		}
		f.line(sim.Time(e.AtNS), "failure", label, strings.Join(e.Text, " "))
	}
}

// focus zooms on the first explained failure: the servers' lanes in its
// window and, for a linearizability failure, every operation on the
// failing key there, the ones involved highlighted.
func focus(res *runner.Result) *figure {
	if len(res.Explanations) == 0 {
		return nil
	}
	e := res.Explanations[0]
	from, to := sim.Time(e.FromNS), sim.Time(e.ToNS)
	ops := res.Cluster.History.Operations()
	involved := map[int]string{}
	for _, op := range e.Operations {
		involved[op.Index] = op.Part
	}
	inWindow := func(from, to sim.Time) []int {
		var out []int
		for i, op := range ops {
			if e.Key == "" || op.Input.Key != e.Key {
				continue
			}
			ret := sim.Time(op.Return)
			if op.Unknown {
				ret = to
			}
			if _, ok := involved[i]; ok || (sim.Time(op.Call) <= to && ret >= from) {
				out = append(out, i)
			}
		}
		return out
	}
	shown := inWindow(from, to)
	// Too many operations: narrow the window around the one that cannot
	// be ordered, keeping the ones involved.
	at := sim.Time(e.AtNS)
	for len(shown) > maxFocusOps && to-from > 2*sim.Time(time.Millisecond) {
		from, to = at-(at-from)/2, at+(to-at)/2
		shown = inWindow(from, to)
	}
	if len(shown) > maxFocusOps {
		shown = shown[:maxFocusOps]
	}
	for _, i := range shown {
		from, to = min(from, sim.Time(ops[i].Call)), max(to, sim.Time(ops[i].Call))
		if !ops[i].Unknown {
			to = max(to, sim.Time(ops[i].Return))
		}
	}

	ch := res.Chronicle
	f := newFigure("focus", from, to)
	f.Caption = fmt.Sprintf("Zoom on %s to %s.", secs(from), secs(to))
	if e.Key != "" {
		f.Caption += fmt.Sprintf(" Every operation on %s in this window, by client; the red one is the one no correct order can place, "+
			"blue the write it should have seen, purple the write whose value it returned. Each is labelled with what it returned and who answered it.", e.Key)
	}
	for _, q := range quietSpans(ch, res.VirtualTime) {
		f.band(q)
	}
	f.gap(14)
	for _, r := range faultRows(ch, res.VirtualTime, f.perPixel()*80, 4) {
		f.addRow(r, 12, "fault-row")
	}
	f.gap(4)
	f.addRow(leaderLane(ch, res.VirtualTime), 16, "leader-row")
	for _, l := range serverLanes(res, res.VirtualTime) {
		f.addRow(l, 20, "server-row")
	}
	if e.Key != "" {
		f.gap(8)
		byClient := map[uint64][]int{}
		var clients []uint64
		for _, i := range shown {
			c := ops[i].ClientID
			if _, ok := byClient[c]; !ok {
				clients = append(clients, c)
			}
			byClient[c] = append(byClient[c], i)
		}
		sort.Slice(clients, func(a, b int) bool { return clients[a] < clients[b] })
		for _, c := range clients {
			l := lane{Name: ch.Names.Client(c)}
			for _, i := range byClient[c] {
				l.Spans = append(l.Spans, opSpan(res, ops, i, involved[i], to))
			}
			f.addRow(l, 18, "op-row")
		}
	}
	markFailures(f, res)
	return f.finish()
}

// opSpan is one operation in the zoomed window, labelled with its result
// and who answered it.
func opSpan(res *runner.Result, ops []history.Operation, i int, part string, end sim.Time) span {
	op := ops[i]
	ch := res.Chronicle
	class := map[string]string{"cannot be ordered": "op-blocked", "completed before it was called": "op-witness",
		"wrote the value returned": "op-wrote", "left the value the check expected": "op-witness"}[part]
	if class == "" {
		class = "op-key"
	}
	to := sim.Time(op.Return)
	label := opLabel(op)
	title := history.Describe(op.Input) + " by " + ch.Names.Client(op.ClientID) + ", called " + secs(sim.Time(op.Call))
	if op.Unknown {
		to = end
		class += " op-open"
		label += " ?"
		title += ", outcome unknown"
	} else {
		title += ", returned " + secs(to) + ": " + resultWords(op)
		if a, ok := ch.Answer(op); ok {
			who := fmt.Sprintf("%s %s t%d", ch.Names.Name(a.Server), roleWord(a.Role.String()), a.Term)
			label += " · " + ch.Names.Name(a.Server) + " t" + strconv.FormatUint(a.Term, 10)
			title += "; answered by " + who
		}
	}
	if part != "" {
		title = strings.ToUpper(part[:1]) + part[1:] + ": " + title
	}
	return span{From: sim.Time(op.Call), To: to, Class: class, Label: label, Force: part != "",
		Title: title + " (history.json index " + strconv.Itoa(i) + ")"}
}

func opLabel(op history.Operation) string {
	switch {
	case op.Unknown:
		return op.Input.Op.String()
	case op.Input.Op.String() == "get":
		if !op.Output.Found {
			return "get → absent"
		}
		return "get → " + shortValue(op.Output.Value, 14)
	}
	return op.Input.Op.String() + " " + shortValue(op.Input.Value, 10)
}

func resultWords(op history.Operation) string {
	prev := "absent"
	if op.Output.Found {
		prev = strconv.Quote(shortValue(op.Output.Value, 40))
	}
	switch op.Input.Op.String() {
	case "get":
		return prev
	case "cas":
		if op.Output.Applied {
			return "ok, was " + prev
		}
		return "failed, was " + prev
	}
	return "ok, was " + prev
}
