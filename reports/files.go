package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// HistoryOp is one operation in history.json. Clients and servers go by
// the run's names (c1..cM, n1..nN), as everywhere in a report.
type HistoryOp struct {
	Index    int    `json:"index"`
	Client   string `json:"client"`
	Seq      uint64 `json:"seq"`
	Op       string `json:"op"`
	Key      string `json:"key"`
	Value    string `json:"value,omitempty"`
	Expected string `json:"expected,omitempty"`
	CallNS   int64  `json:"call_ns"`
	ReturnNS *int64 `json:"return_ns"` // null: outcome unknown
	Output   *struct {
		Value   string `json:"value"`
		Found   bool   `json:"found"`
		Applied bool   `json:"applied"`
	} `json:"output"`
	Attempts int `json:"attempts"`
	// Server answered it, as leader (ServerRole) of ServerTerm by its own
	// view when it answered; empty when the outcome is unknown.
	Server     string `json:"server,omitempty"`
	ServerRole string `json:"server_role,omitempty"`
	ServerTerm uint64 `json:"server_term,omitempty"`
}

// History is history.json: every client operation, in call order.
func History(res *runner.Result) []HistoryOp {
	names := names(res)
	ops := res.Cluster.History.Operations()
	out := make([]HistoryOp, 0, len(ops))
	for i, op := range ops {
		h := HistoryOp{Index: i, Client: names.Client(op.ClientID), Seq: op.Seq, Op: op.Input.Op.String(), Key: op.Input.Key,
			Value: op.Input.Value, Expected: op.Input.Expected, CallNS: op.Call, Attempts: op.Attempts}
		if !op.Unknown {
			ret := op.Return
			h.ReturnNS = &ret
			h.Output = &struct {
				Value   string `json:"value"`
				Found   bool   `json:"found"`
				Applied bool   `json:"applied"`
			}{op.Output.Value, op.Output.Found, op.Output.Applied}
			h.Server = names.Name(int(op.Server))
			if ch := res.Chronicle; ch != nil {
				if a, ok := ch.Answer(op); ok {
					h.ServerRole, h.ServerTerm = roleWord(a.Role.String()), a.Term
				}
			}
		}
		out = append(out, h)
	}
	return out
}

func names(res *runner.Result) cluster.Names {
	if res.Chronicle != nil {
		return res.Chronicle.Names
	}
	return cluster.Names{Servers: res.Options.Servers}
}

// TraceEvent is one line of trace.jsonl: a sim.Event with the run's
// names (n1..nN, c1..cM) and, for a message, its type, term and index as
// the cluster's Describer reads them.
type TraceEvent struct {
	Seq   uint64 `json:"seq"`
	At    int64  `json:"t"`
	Kind  string `json:"kind"`
	Node  string `json:"node,omitempty"`
	Peer  string `json:"peer,omitempty"`
	Msg   uint64 `json:"msg,omitempty"`
	Size  int64  `json:"size,omitempty"`
	Type  string `json:"type,omitempty"`
	Term  uint64 `json:"term,omitempty"`
	Index uint64 `json:"index,omitempty"`
	Note  string `json:"note,omitempty"`
}

// writeTrace writes the kept trace as JSON Lines, one event a line.
func writeTrace(b *bytes.Buffer, res *runner.Result) error {
	n := names(res)
	name := func(id sim.NodeID) string {
		if id == 0 {
			return ""
		}
		return n.Name(int(id))
	}
	bw := bufio.NewWriter(b)
	enc := json.NewEncoder(bw)
	var err error
	tr := res.World.Trace()
	tr.Each(func(seq uint64, e *sim.Event) bool {
		te := TraceEvent{Seq: seq, At: int64(e.At), Kind: e.Kind.String(), Node: name(e.Node), Peer: name(e.Peer),
			Msg: e.Msg, Size: e.Size, Note: e.Note}
		if e.MsgType != 0 {
			te.Type, te.Term, te.Index = tr.TypeName(e.MsgType), e.Term, e.Index
		}
		err = enc.Encode(&te)
		return err == nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// samplesHeader is samples.csv's header: one row per server per sample.
const samplesHeader = "t_s,node,up,role,term,lead,commit,last_index,bytes_received,restarts,recovering\n"

// writeSamples writes the runner's 50 ms samples as CSV, one row per
// server per sample, for anyone who wants to plot them.
func writeSamples(b *bytes.Buffer, res *runner.Result) error {
	n := names(res)
	b.WriteString(samplesHeader)
	for _, s := range res.Samples {
		t := strconv.FormatFloat(s.At.Duration().Seconds(), 'f', 3, 64)
		for i, ns := range s.Nodes {
			lead := ""
			if ns.Lead != 0 {
				lead = n.Name(int(ns.Lead))
			}
			role := ""
			if ns.Up {
				role = roleWord(ns.Role.String())
			}
			fmt.Fprintf(b, "%s,%s,%t,%s,%d,%s,%d,%d,%d,%d,%t\n", t, n.Name(i+1), ns.Up, role, ns.Term, lead,
				ns.Commit, ns.LastIndex, ns.BytesReceived, ns.Incarnation, ns.Recovering)
		}
	}
	return nil
}

// writeTimeline writes what a person scans first: the verdict and its
// explanation, then faults, crashes, restarts, pauses and the nodes' own
// notes (role changes, replays), one dense line each. The link cuts and
// reconnections a partition makes are folded into the partition's line.
func writeTimeline(b *bytes.Buffer, res *runner.Result) error {
	fmt.Fprintf(b, "seed %d  verdict %s  trace %s\n", res.Options.Seed, res.Verdict, res.TraceHash)
	for _, f := range res.Failures {
		fmt.Fprintf(b, "failure: %s\n", f)
	}
	for _, e := range res.Explanations {
		for _, l := range e.Text {
			fmt.Fprintf(b, "  %s\n", l)
		}
	}
	if !res.World.Trace().Kept() {
		b.WriteString("(trace not kept: rerun with the full trace for a timeline)\n")
		return nil
	}
	n := names(res)
	name := func(id int) string { return n.Name(id) }
	// A server's note of its new role gets the term it took the role in,
	// from the chronicle (the note itself says only role and leader).
	type at struct {
		node int
		t    sim.Time
	}
	terms := map[at]uint64{}
	if ch := res.Chronicle; ch != nil {
		for _, r := range ch.Roles {
			terms[at{r.Node, r.At}] = r.Term
		}
	}
	// A fault line waits until the next line: the link cuts or
	// reconnections it makes at the same instant fold into it.
	var pending string
	var pendingAt sim.Time
	var links []string
	linksAt := sim.Time(-1)
	flush := func() {
		switch {
		case pending != "" && len(links) > 0 && linksAt == pendingAt:
			b.WriteString(pending + " " + summarizeLinks(links) + "\n")
		case pending != "":
			b.WriteString(pending + "\n")
			if len(links) > 0 {
				fmt.Fprintf(b, "%14s %-7s %s\n", linksAt, "fault", summarizeLinks(links))
			}
		case len(links) > 0:
			fmt.Fprintf(b, "%14s %-7s %s\n", linksAt, "fault", summarizeLinks(links))
		}
		pending, links, linksAt = "", links[:0], -1
	}
	res.World.Trace().Each(func(_ uint64, e *sim.Event) bool {
		if e.Kind == sim.KindFault && e.Peer != 0 && (e.Note == "cut" || e.Note == "connect") {
			if len(links) > 0 && linksAt != e.At {
				flush()
			}
			linksAt = e.At
			links = append(links, e.Note)
			return true
		}
		switch e.Kind {
		case sim.KindFault, sim.KindCrash, sim.KindRestart, sim.KindStart, sim.KindPause, sim.KindResume, sim.KindNote:
			flush()
			line := runner.FormatEvent(name, res.World.Trace(), e)
			if term, ok := terms[at{int(e.Node), e.At}]; ok && e.Kind == sim.KindNote && strings.HasPrefix(e.Note, "role=") {
				line += " term=" + strconv.FormatUint(term, 10)
			}
			if e.Kind == sim.KindFault {
				pending, pendingAt = line, e.At
			} else {
				b.WriteString(line + "\n")
			}
		}
		return true
	})
	flush()
	return nil
}

// summarizeLinks folds a partition's per-link events ("cut", "connect")
// into one phrase: "(12 links cut)".
func summarizeLinks(links []string) string {
	cut, conn := 0, 0
	for _, l := range links {
		if l == "cut" {
			cut++
		} else {
			conn++
		}
	}
	var parts []string
	if cut > 0 {
		parts = append(parts, plural(cut, "link")+" cut")
	}
	if conn > 0 {
		parts = append(parts, plural(conn, "link")+" reconnected")
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// roleWord is a subject.Role's String as reports print it: "leader",
// "pre-candidate".
func roleWord(s string) string {
	if s == "PreCandidate" {
		return "pre-candidate"
	}
	return strings.ToLower(s)
}

// WriteTraceFile writes res's kept trace as JSON Lines (trace.jsonl's
// form) to path, atomically: a second trace beside a report's own.
func WriteTraceFile(path string, res *runner.Result) error {
	var b bytes.Buffer
	if err := writeTrace(&b, res); err != nil {
		return fmt.Errorf("report %s: %w", path, err)
	}
	return WriteFileAtomic(path, b.Bytes())
}
