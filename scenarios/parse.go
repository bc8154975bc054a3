package scenarios

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/linearizability/client"
	"github.com/seed4fee1fef/raftsim/raft/plant"
	"github.com/seed4fee1fef/raftsim/raft/server"
	"github.com/seed4fee1fef/raftsim/raft/subject"
	"github.com/seed4fee1fef/raftsim/raft/subject/subjects"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// ErrParse is what every *ParseError wraps: errors.Is(err, ErrParse)
// tells a bad script from any other failure.
var ErrParse = errors.New("scenario parse error")

// ParseError is one problem in a script: where it is and what was
// expected there. Line and Col are 1-based; Col counts bytes.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
}

// Error is "file:line:col: msg".
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Unwrap makes errors.Is(err, ErrParse) hold.
func (e *ParseError) Unwrap() error { return ErrParse }

// echo is a word of the script quoted in an error message as
// faults.Quote does it: cut to echoLimit bytes (at a rune boundary), with
// its length, so a bad token of 5000 bytes reads "xxxx…" (5000 bytes).
type echo string

const echoLimit = 40 // faults.Quote's

// Format implements fmt.Formatter (for %q and %s alike).
func (e echo) Format(f fmt.State, _ rune) { fmt.Fprint(f, faults.Quote(string(e))) }

// Limits on the cluster a script may ask for: beyond them a run would
// effectively never finish (the runner's limits, checked here with the
// line that passes them).
const (
	MaxServers = runner.MaxServers
	MaxClients = runner.MaxClients
	MaxKeys    = 1 << 20
	// MaxDuration bounds every time and duration (as in fault lines), so
	// sums of them cannot overflow; the run itself (faults-until + settle
	// + drain) is bounded by runner.MaxRunLength.
	MaxDuration = faults.MaxDuration
	// MaxFaults bounds the faults of one script, every lines expanded.
	MaxFaults = 10_000
)

// commands lists every command, in the order errors suggest them.
var commands = []string{"describe", "catches", "subject", "requires", "servers", "voters", "min-voters", "clients", "keys", "mix", "think", "value-size", "reads", "link", "server",
	"faults-until", "settle", "drain", "no-heal", "plant", "random-faults", "at", "every", "expect"}

type token struct {
	text string
	col  int // 1-based byte column
}

// tokenize splits a line at spaces and tabs; a word starting with '#'
// begins a comment that runs to the end of the line.
func tokenize(line string) []token {
	var toks []token
	for i := 0; i < len(line); {
		if isSpace(line[i]) {
			i++
			continue
		}
		if line[i] == '#' {
			break
		}
		j := i
		for j < len(line) && !isSpace(line[j]) {
			j++
		}
		toks = append(toks, token{text: line[i:j], col: i + 1})
		i = j
	}
	return toks
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// pos is a place in the script, kept for checks made after the whole
// script is read (they need the final server count).
type pos struct{ line, col int }

type nodeRef struct {
	id int
	at pos
}

// faultPos is where one fault's parts are: its line, and where on it
// (faults.ParseWords says).
type faultPos struct {
	line  int
	where faults.Where
}

type expectPos struct {
	kind    pos
	end     pos // the token of the latest time the expectation looks at
	node    pos // restart-bytes' node, committed's server count
	clients []nodeRef
}

type parser struct {
	file string
	s    *Scenario
	line int
	raw  string
	toks []token
	// once remembers the line of each command or field that may appear
	// only once (lookups only).
	once map[string]pos
	// lastAt is the previous fault's start.
	lastAt     time.Duration
	haveLastAt bool
	faultPos   []faultPos
	expectPos  []expectPos
	workload   bool // a workload command started from the default
	link       bool
	// values remembers where faults-until, settle and drain set their
	// value, for the run-length check.
	values map[string]pos
	// groupPos is where each client group's parts are.
	groupPos []groupPos
	// votersAt is where the voters line lists them.
	votersAt pos
}

type groupPos struct {
	count, servers pos
	nodes          []faults.NodeWord // on the line of servers
}

// Parse reads a script. name is the file name errors report (and whose
// base, without ".scn", names the scenario). Everything is checked before
// anything runs: the first problem comes back as a *ParseError. Parse
// never panics.
func Parse(name string, src []byte) (*Scenario, error) {
	p := &parser{file: name, s: &Scenario{Name: baseName(name)}, once: map[string]pos{}, values: map[string]pos{}}
	// A UTF-8 byte-order mark (some editors write one) is not a command.
	lines := strings.Split(strings.TrimPrefix(string(src), "\uFEFF"), "\n")
	for i, l := range lines {
		p.line = i + 1
		p.raw = l
		p.toks = tokenize(l)
		if len(p.toks) == 0 {
			continue
		}
		if err := p.command(); err != nil {
			return nil, err
		}
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.s, nil
}

// baseName is name without directories and without ".scn".
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSuffix(name, ".scn")
}

func (p *parser) errAt(line, col int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// errf reports a problem at column col of the current line.
func (p *parser) errf(col int, format string, args ...any) error {
	return p.errAt(p.line, col, format, args...)
}

// endCol is the column just past the line's last token (a missing word
// is reported one column further, where it would start).
func (p *parser) endCol() int {
	t := p.toks[len(p.toks)-1]
	return t.col + len(t.text)
}

// syntax places a faults.SyntaxError on the current line.
func (p *parser) syntax(err error) error { return p.syntaxOn(p.line, err) }

// syntaxOn places a faults.SyntaxError on line.
func (p *parser) syntaxOn(line int, err error) error {
	var se *faults.SyntaxError
	if errors.As(err, &se) {
		return p.errAt(line, se.Col, "%s", se.Msg)
	}
	return p.errAt(line, 1, "%v", err)
}

// words is the line's tokens as the faults package reads them.
func (p *parser) words() []faults.Word {
	ws := make([]faults.Word, len(p.toks))
	for i, t := range p.toks {
		ws[i] = faults.Word{Text: t.text, Col: t.col}
	}
	return ws
}

// tok returns token i, or reports what was expected there.
func (p *parser) tok(i int, expected string) (token, error) {
	if i < len(p.toks) {
		return p.toks[i], nil
	}
	return token{}, p.errf(p.endCol()+1, "expected %s", expected)
}

// noMore reports an unexpected token from i on.
func (p *parser) noMore(i int, expected string) error {
	if i < len(p.toks) {
		return p.errf(p.toks[i].col, "unexpected %q; expected %s", echo(p.toks[i].text), expected)
	}
	return nil
}

// setOnce records key (a command or field) as set on this line, or says
// where it was set before.
func (p *parser) setOnce(key string, col int) error {
	if at, ok := p.once[key]; ok {
		return p.errf(col, "%s already set at line %d", key, at.line)
	}
	p.once[key] = pos{p.line, col}
	return nil
}

func (p *parser) command() error {
	cmd := p.toks[0]
	switch cmd.text {
	case "describe", "catches", "servers", "voters", "min-voters", "keys", "mix", "think", "value-size", "reads", "faults-until", "settle",
		"drain", "no-heal", "random-faults", "subject", "requires":
		if err := p.setOnce(cmd.text, cmd.col); err != nil {
			return err
		}
	}
	switch cmd.text {
	case "describe":
		if len(p.toks) < 2 {
			return p.errf(p.endCol()+1, "expected a one-line description after describe")
		}
		last := p.toks[len(p.toks)-1]
		p.s.Description = p.raw[p.toks[1].col-1 : last.col-1+len(last.text)]
		return nil
	case "catches":
		bugs, err := p.bugs(1)
		if err != nil {
			return err
		}
		p.s.Catches = bugs
		return nil
	case "plant":
		bugs, err := p.bugs(1)
		if err != nil {
			return err
		}
		if err := plant.Check(plant.Of(bugs...)); err != nil {
			return p.errf(p.toks[1].col, "%v", err)
		}
		for _, b := range bugs {
			p.s.Planted |= plant.Of(b)
		}
		return nil
	case "servers":
		n, err := p.intArg(1, "a server count", 1, MaxServers)
		p.s.Servers = n
		return err
	case "min-voters":
		n, err := p.intArg(1, "a voter count", 1, MaxServers)
		p.s.MinVoters = n
		return err
	case "voters":
		t, err := p.tok(1, "the initial voters, like n1,n2,n3")
		if err != nil {
			return err
		}
		ids, _, err := p.nodes(t)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(ids, faults.IsRef) {
			return p.errf(t.col, "voters are servers like n1,n2,n3, not %q", echo(t.text))
		}
		p.s.Voters = ids
		p.votersAt = pos{p.line, t.col}
		return p.noMore(2, "end of line")
	case "clients":
		return p.clients()
	case "keys":
		n, err := p.intArg(1, "a key count", 1, MaxKeys)
		p.startWorkload()
		p.s.Workload.Keys = n
		return err
	case "mix":
		return p.mix()
	case "think":
		d, err := p.durArg(1, "a think time", false)
		p.startWorkload()
		p.s.Workload.Think = d
		return err
	case "value-size":
		return p.valueSize()
	case "subject":
		want := "a subject (" + strings.Join(subjects.Names(), ", ") + ")"
		t, err := p.tok(1, want)
		if err != nil {
			return err
		}
		if _, err := subjects.ByName(t.text); err != nil {
			return p.errf(t.col, "unknown subject %q; expected %s", echo(t.text), strings.Join(subjects.Names(), ", "))
		}
		p.s.Subject = subjectName(t.text)
		return p.noMore(2, "end of line after the subject")
	case "requires":
		var names []string
		for _, t := range p.toks[1:] {
			off := 0
			for _, name := range strings.Split(t.text, ",") {
				if name != "" {
					if !subject.IsMechanism(name) {
						return p.errf(t.col+off, "unknown mechanism %q; expected one of %s", echo(name), strings.Join(subject.Mechanisms(), ", "))
					}
					names = append(names, name)
				}
				off += len(name) + 1
			}
		}
		if len(names) == 0 {
			return p.errf(p.endCol()+1, "expected a mechanism like %s", subject.Mechanisms()[0])
		}
		p.s.Requires = names
		return nil
	case "reads":
		t, err := p.tok(1, "a read mode (index, lease, log, local)")
		if err != nil {
			return err
		}
		m, ok := server.ParseReadMode(t.text)
		if !ok {
			return p.errf(t.col, "unknown read mode %q; expected index, lease, log or local", echo(t.text))
		}
		p.s.Reads = m
		p.values["reads"] = pos{p.line, t.col}
		return p.noMore(2, "end of line after the read mode")
	case "link":
		return p.linkCmd()
	case "server":
		return p.serverCmd()
	case "faults-until", "settle", "drain":
		d, err := p.durArg(1, "a duration", true)
		if err != nil {
			return err
		}
		p.values[cmd.text] = pos{p.line, p.toks[1].col}
		switch cmd.text {
		case "faults-until":
			p.s.FaultTime = d
		case "settle":
			p.s.Settle = d
		default:
			p.s.Drain = d
		}
		return nil
	case "no-heal":
		p.s.NoHeal = true
		return p.noMore(1, "end of line after no-heal")
	case "random-faults":
		return p.randomFaults()
	case "at":
		return p.fault()
	case "every":
		return p.every()
	case "expect":
		return p.expect()
	}
	return p.errf(cmd.col, "unknown command %q; expected one of %s", echo(cmd.text), strings.Join(commands, ", "))
}

// clients parses "clients N" (unbound, once) or "clients N on NODES
// [from TIME] [until TIME]" (a bound group, any number).
func (p *parser) clients() error {
	t, err := p.tok(1, "a client count")
	if err != nil {
		return err
	}
	n, err := p.integer(t, "a client count", 1, MaxClients)
	if err != nil {
		return err
	}
	if len(p.toks) == 2 {
		if err := p.setOnce("clients", p.toks[0].col); err != nil {
			return err
		}
		p.s.Clients = n
		return nil
	}
	if err := p.word(2, "on", `"on NODES" or end of line`); err != nil {
		return err
	}
	nt, err := p.tok(3, "servers like n1,n2 (or leader,leader+1) after on")
	if err != nil {
		return err
	}
	ids, at, err := p.nodes(nt)
	if err != nil {
		return err
	}
	g := cluster.ClientGroup{Count: n, Servers: ids}
	i := 4
	for _, w := range []string{"from", "until"} {
		if i >= len(p.toks) || p.toks[i].text != w {
			continue
		}
		vt, err := p.tok(i+1, "a time after "+w)
		if err != nil {
			return err
		}
		d, err := p.duration(vt, true)
		if err != nil {
			return err
		}
		if w == "from" {
			g.From = d
		} else {
			if d <= g.From {
				return p.errf(vt.col, "until %v must be after from %v", d, g.From)
			}
			g.Until = d
		}
		i += 2
	}
	if i < len(p.toks) && p.toks[i].text == "mix" {
		if i+1 >= len(p.toks) {
			return p.errf(p.endCol()+1, "expected weights like get=1 after mix")
		}
		seen := map[string]bool{}
		for _, t := range p.toks[i+1:] {
			name, val, ok := strings.Cut(t.text, "=")
			dst := map[string]*int{"put": &g.Mix.Put, "get": &g.Mix.Get, "append": &g.Mix.Append, "cas": &g.Mix.CAS}[name]
			if !ok || dst == nil {
				return p.errf(t.col, "bad weight %q; expected put=N, get=N, append=N or cas=N", echo(t.text))
			}
			if seen[name] {
				return p.errf(t.col, "%s weight given twice", name)
			}
			seen[name] = true
			n, err := p.integer(token{val, t.col + len(name) + 1}, name+" weight", 0, 1_000_000)
			if err != nil {
				return err
			}
			*dst = n
		}
		if g.Mix.IsZero() {
			return p.errf(p.toks[i].col, "mix weights are all 0; expected at least one above 0")
		}
		i = len(p.toks)
	}
	if err := p.noMore(i, `"from TIME", "until TIME", "mix ..." or end of line`); err != nil {
		return err
	}
	p.s.ClientGroups = append(p.s.ClientGroups, g)
	p.groupPos = append(p.groupPos, groupPos{nodes: at, count: pos{p.line, t.col}, servers: pos{p.line, nt.col}})
	return nil
}

func (p *parser) startWorkload() {
	if !p.workload {
		p.workload = true
		p.s.Workload = client.DefaultWorkload()
	}
}

func (p *parser) bugs(from int) ([]plant.Bug, error) {
	var out []plant.Bug
	for _, t := range p.toks[from:] {
		off := 0
		for _, name := range strings.Split(t.text, ",") {
			if name != "" { // "a,b", "a, b" and "a ,b" all list two
				b, err := plant.Parse(name)
				if err != nil && len(name) > echoLimit {
					return nil, p.errf(t.col+off, "unknown bug %q", echo(name))
				}
				if err != nil {
					return nil, p.errf(t.col+off, "%v", err)
				}
				out = append(out, b)
			}
			off += len(name) + 1
		}
	}
	if len(out) == 0 {
		return nil, p.errf(p.endCol()+1, "expected a bug name like %s", plant.BlankRestart)
	}
	return out, nil
}

// intArg reads the command's single whole-number argument in [lo, hi].
func (p *parser) intArg(i int, what string, lo, hi int) (int, error) {
	t, err := p.tok(i, what)
	if err != nil {
		return 0, err
	}
	n, err := p.integer(t, what, lo, hi)
	if err != nil {
		return 0, err
	}
	return n, p.noMore(i+1, "end of line")
}

func (p *parser) integer(t token, what string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(t.text)
	if err != nil {
		return 0, p.errf(t.col, "bad number %q; expected %s (a whole number)", echo(t.text), what)
	}
	if n < lo || n > hi {
		return 0, p.errf(t.col, "%d out of range; expected %s in %d..%d", n, what, lo, hi)
	}
	return n, nil
}

// durArg reads the command's single duration argument (above zero if
// positive).
func (p *parser) durArg(i int, what string, positive bool) (time.Duration, error) {
	t, err := p.tok(i, what)
	if err != nil {
		return 0, err
	}
	d, err := p.duration(t, positive)
	if err != nil {
		return 0, err
	}
	return d, p.noMore(i+1, "end of line")
}

// duration parses a Go duration, never negative (above zero if positive),
// at most MaxDuration.
func (p *parser) duration(t token, positive bool) (time.Duration, error) {
	d, err := faults.ParseDuration(faults.Word{Text: t.text, Col: t.col}, positive)
	if err != nil {
		return 0, p.syntax(err)
	}
	return d, nil
}

// probability parses a probability in [0, 1].
func (p *parser) probability(t token) (float64, error) {
	f, err := faults.ParseProbability(faults.Word{Text: t.text, Col: t.col})
	if err != nil {
		return 0, p.syntax(err)
	}
	return f, nil
}

// nodes parses "n1,n2,n5", or leader-relative targets such as
// "leader,leader+1" (see faults.RefLeader), with where each is.
func (p *parser) nodes(t token) ([]int, []faults.NodeWord, error) {
	ids, at, err := faults.ParseNodes(faults.Word{Text: t.text, Col: t.col})
	if err != nil {
		return nil, nil, p.syntax(err)
	}
	return ids, at, nil
}

// fields reads "name value" pairs from token 1 on; each name at most
// once across the lines of cmd.
func (p *parser) fields(cmd string, names []string, set func(name string, v token) error) error {
	if len(p.toks) < 2 {
		return p.errf(p.endCol()+1, "expected one of %s after %s", strings.Join(names, ", "), cmd)
	}
	for i := 1; i < len(p.toks); i += 2 {
		name := p.toks[i]
		known := false
		for _, n := range names {
			known = known || n == name.text
		}
		if !known {
			return p.errf(name.col, "unknown %s field %q; expected one of %s", cmd, echo(name.text), strings.Join(names, ", "))
		}
		if err := p.setOnce(cmd+" "+name.text, name.col); err != nil {
			return err
		}
		v, err := p.tok(i+1, "a value for "+name.text)
		if err != nil {
			return err
		}
		if err := set(name.text, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) mix() error {
	w := p.toks[0]
	p.startWorkload()
	wl := &p.s.Workload
	wl.Put, wl.Get, wl.Append, wl.CAS = 0, 0, 0, 0
	if len(p.toks) < 2 {
		return p.errf(p.endCol()+1, "expected weights like put=3 get=4 append=2 cas=1")
	}
	for _, t := range p.toks[1:] {
		name, val, ok := strings.Cut(t.text, "=")
		var dst *int
		switch name {
		case "put":
			dst = &wl.Put
		case "get":
			dst = &wl.Get
		case "append":
			dst = &wl.Append
		case "cas":
			dst = &wl.CAS
		}
		if !ok || dst == nil {
			return p.errf(t.col, "bad weight %q; expected put=N, get=N, append=N or cas=N", echo(t.text))
		}
		if err := p.setOnce("mix "+name, t.col); err != nil {
			return err
		}
		n, err := p.integer(token{val, t.col + len(name) + 1}, name+" weight", 0, 1_000_000)
		if err != nil {
			return err
		}
		*dst = n
	}
	if wl.Put+wl.Get+wl.Append+wl.CAS == 0 {
		return p.errf(w.col, "mix weights are all 0; expected at least one above 0")
	}
	return nil
}

// valueSize parses "value-size BYTES" or "value-size MIN..MAX".
func (p *parser) valueSize() error {
	t, err := p.tok(1, "a size in bytes like 5000, or a range like 1000..5000")
	if err != nil {
		return err
	}
	p.startWorkload()
	lo, hi, isRange := strings.Cut(t.text, "..")
	if !isRange {
		hi = lo
	}
	what := "a value size in bytes"
	if p.s.Workload.ValueMin, err = p.integer(token{lo, t.col}, what, 1, client.MaxValueSize); err != nil {
		return err
	}
	if p.s.Workload.ValueMax, err = p.integer(token{hi, t.col + len(lo) + 2}, what, 1, client.MaxValueSize); err != nil {
		return err
	}
	if p.s.Workload.ValueMax < p.s.Workload.ValueMin {
		return p.errf(t.col, "value-size %s: maximum below minimum; expected MIN..MAX like 1000..5000", echo(t.text))
	}
	return p.noMore(2, "end of line")
}

func (p *parser) linkCmd() error {
	if !p.link {
		p.link = true
		p.s.Link = sim.LinkConfig{MinLatency: time.Millisecond, MaxLatency: 5 * time.Millisecond}
	}
	l := &p.s.Link
	return p.fields("link", []string{"latency", "loss", "duplicate", "reorder"}, func(name string, v token) error {
		var err error
		switch name {
		case "latency":
			lo, hi, ok := strings.Cut(v.text, "..")
			if !ok {
				hi = lo
			}
			if l.MinLatency, err = p.duration(token{lo, v.col}, false); err != nil {
				return err
			}
			if l.MaxLatency, err = p.duration(token{hi, v.col + len(lo) + 2}, false); err != nil {
				return err
			}
			if l.MaxLatency < l.MinLatency {
				return p.errf(v.col, "latency %s: maximum below minimum; expected MIN..MAX like 1ms..5ms", v.text)
			}
			if l.MaxLatency == 0 {
				return p.errf(v.col, "latency %s: expected a maximum above 0", v.text)
			}
		case "loss":
			l.Loss, err = p.probability(v)
		case "duplicate":
			l.Duplicate, err = p.probability(v)
		case "reorder":
			l.Reorder, err = p.probability(v)
		}
		return err
	})
}

func (p *parser) serverCmd() error {
	st := &p.s.Server
	names := []string{"tick", "election-ticks", "heartbeat-ticks", "max-size-per-msg", "max-inflight",
		"snapshot-entries", "snapshot-ratio", "trailing-entries", "max-drift"}
	return p.fields("server", names, func(name string, v token) error {
		var err error
		switch name {
		case "tick":
			st.TickInterval, err = p.duration(v, true)
			if err == nil && st.TickInterval < runner.MinTick {
				err = p.errf(v.col, "tick %v below the limit of %v", st.TickInterval, runner.MinTick)
			}
		case "election-ticks":
			st.ElectionTicks, err = p.integer(v, "election ticks", 1, 10_000)
		case "heartbeat-ticks":
			st.HeartbeatTicks, err = p.integer(v, "heartbeat ticks", 1, 10_000)
		case "max-size-per-msg":
			var n int
			n, err = p.integer(v, "a message size in bytes", 1, 1<<30)
			st.MaxSizePerMsg = uint64(n)
		case "max-inflight":
			st.MaxInflightMsgs, err = p.integer(v, "a message count", 1, 1<<20)
		case "snapshot-entries":
			st.SnapshotEntries, err = p.integer(v, "an entry count (0: never snapshot)", 0, 1<<30)
			st.SnapshotEntries = offIfZero(st.SnapshotEntries)
		case "trailing-entries":
			st.TrailingEntries, err = p.integer(v, "an entry count", 0, 1<<30)
			st.TrailingEntries = offIfZero(st.TrailingEntries)
		case "snapshot-ratio":
			st.SnapshotRatio, err = p.ratio(v)
		case "max-drift":
			var d int
			d, err = p.integer(token{strings.TrimSuffix(v.text, "ppm"), v.col}, "a drift bound in ppm (0..499999)", 0, sim.MaxDriftPPM-1)
			st.MaxDriftPPM = int64(d)
			if d == 0 {
				st.MaxDriftPPM = -1 // what the script says as 0; the zero value is unset
			}
			p.values["max-drift"] = pos{p.line, v.col}
		}
		return err
	})
}

// offIfZero maps a script's 0 to the server's "none" (-1): the server's
// zero value means its default.
func offIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// ratio parses a snapshot ratio: a number in [0, 1000] (0: no size
// condition, which the server spells -1).
func (p *parser) ratio(t token) (float64, error) {
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1000 {
		return 0, p.errf(t.col, "bad ratio %q; expected a number in [0, 1000] like 10 (0: no size condition)", t.text)
	}
	if f == 0 {
		return -1, nil
	}
	return f, nil
}

func (p *parser) randomFaults() error {
	r := &RandomFaults{}
	p.s.Random = r
	for _, t := range p.toks[1:] {
		name, val, ok := strings.Cut(t.text, "=")
		switch {
		case ok && name == "kinds":
			if err := p.setOnce("random-faults kinds", t.col); err != nil {
				return err
			}
			off := t.col + len(name) + 1
			for _, k := range strings.Split(val, ",") {
				kind, ok := faults.ParseKind(k)
				if !ok {
					return p.errf(off, "unknown fault kind %q; expected one of %s", echo(k), kindList())
				}
				for _, seen := range r.Kinds {
					if seen == kind {
						return p.errf(off, "fault kind %s named twice", kind)
					}
				}
				r.Kinds = append(r.Kinds, kind)
				off += len(k) + 1
			}
		case ok && name == "mean-gap":
			if err := p.setOnce("random-faults mean-gap", t.col); err != nil {
				return err
			}
			d, err := p.duration(token{val, t.col + len(name) + 1}, true)
			if err != nil {
				return err
			}
			r.MeanGap = d
		default:
			return p.errf(t.col, "unexpected %q; expected kinds=KIND,... or mean-gap=DURATION", echo(t.text))
		}
	}
	return nil
}

func kindList() string {
	ks := faults.Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// finish makes the checks that need the whole script: node ids against
// the server count, each fault against the faults package's rules, fault
// ends against the heal, expectation times against the run's length.
func (p *parser) finish() error {
	s := p.s
	eff := s.effective()
	n := eff.Servers
	if err := p.checkRunLength(eff); err != nil {
		return err
	}
	if st := s.Server; st.ElectionTicks != 0 || st.HeartbeatTicks != 0 {
		et, ht := cmpOr(st.ElectionTicks, server.DefaultElectionTicks), cmpOr(st.HeartbeatTicks, server.DefaultHeartbeatTicks)
		if ht >= et {
			at := p.once["server heartbeat-ticks"]
			if e := p.once["server election-ticks"]; e.line > at.line {
				at = e
			}
			return p.errAt(at.line, at.col, "heartbeat-ticks %d must be below election-ticks %d", ht, et)
		}
	}
	seenVoter := map[int]bool{}
	for _, id := range s.Voters {
		switch {
		case id > n:
			return p.errAt(p.votersAt.line, p.votersAt.col, "unknown voter n%d (servers are n1..n%d)", id, n)
		case seenVoter[id]:
			return p.errAt(p.votersAt.line, p.votersAt.col, "voter n%d named twice", id)
		}
		seenVoter[id] = true
	}
	for i, f := range s.Faults {
		fp := p.faultPos[i]
		if err := fp.where.Validate(f, n); err != nil {
			return p.syntaxOn(fp.line, err)
		}
		if !s.NoHeal && f.Until > eff.FaultTime {
			col := fp.where.Until
			if col == 0 {
				col = fp.where.Kind
			}
			return p.errAt(fp.line, col, "until %v is after faults-until %v, when everything heals; expected an earlier time, or no-heal to keep faults past the heal", f.Until, eff.FaultTime)
		}
	}
	runEnd := eff.FaultTime + eff.Drain
	endWhat := fmt.Sprintf("faults-until %v + drain %v", eff.FaultTime, eff.Drain)
	liveness, unavailable := 0, 0
	seen := map[ExpectKind]int{}
	for i, e := range s.Expect {
		ep := p.expectPos[i]
		switch e.Kind {
		case ExpectLiveness:
			liveness = ep.kind.line
		case ExpectUnavailable:
			unavailable = ep.kind.line
		}
		if liveness != 0 && unavailable != 0 {
			other, line := ExpectUnavailable, unavailable
			if e.Kind == ExpectUnavailable {
				other, line = ExpectLiveness, liveness
			}
			return p.errAt(ep.kind.line, ep.kind.col, "expect %s contradicts expect %s at line %d", e.Kind, other, line)
		}
		seen[e.Kind] = ep.kind.line
		for _, pair := range [][2]ExpectKind{{ExpectLinearizable, ExpectNotLinearizable}, {ExpectNotLinearizable, ExpectLinearizable}} {
			if e.Kind == pair[0] && seen[pair[1]] != 0 {
				return p.errAt(ep.kind.line, ep.kind.col, "expect %s contradicts expect %s at line %d", e.Kind, pair[1], seen[pair[1]])
			}
		}
	}
	if unavailable != 0 {
		runEnd += eff.Settle
		endWhat = fmt.Sprintf("faults-until %v + settle %v + drain %v", eff.FaultTime, eff.Settle, eff.Drain)
	}
	if err := p.checkClients(n, runEnd, endWhat); err != nil {
		return err
	}
	for i, e := range s.Expect {
		ep := p.expectPos[i]
		if (e.Kind == ExpectRestartBytes || e.Kind == ExpectSnapshotInstalled) && e.Node > n {
			return p.errAt(ep.node.line, ep.node.col, "unknown node n%d (servers are n1..n%d)", e.Node, n)
		}
		if e.Kind == ExpectCommitted && e.Count > n {
			return p.errAt(ep.node.line, ep.node.col, "%d servers, but there are %d", e.Count, n)
		}
		for _, c := range ep.clients {
			if all := eff.AllClients(); c.id > all {
				return p.errAt(c.at.line, c.at.col, "unknown client c%d (clients are c1..c%d)", c.id, all)
			}
		}
		if end := e.end(); end > runEnd {
			return p.errAt(ep.end.line, ep.end.col, "time %v is past the end of the run at %v (%s)", end, runEnd, endWhat)
		}
	}
	// Lines are in start order, but an every line's faults interleave
	// with the lines after it: sort (stably, so line order at equal times).
	slices.SortStableFunc(s.Faults, func(a, b faults.Fault) int { return compareDur(a.At, b.At) })
	return nil
}

// checkClients checks the client groups against the server count and
// the run's end.
func (p *parser) checkClients(n int, runEnd time.Duration, endWhat string) error {
	total := p.s.Clients
	for i, g := range p.s.ClientGroups {
		gp := p.groupPos[i]
		if err := faults.CheckNodes(gp.nodes, n); err != nil {
			return p.syntaxOn(gp.servers.line, err)
		}
		if slices.ContainsFunc(g.Servers, faults.IsRef) && g.From == 0 {
			return p.errAt(gp.servers.line, gp.servers.col, `leader-relative servers need "from TIME": they are resolved then, against the leader then`)
		}
		if g.From > runEnd {
			return p.errAt(gp.servers.line, gp.servers.col, "from %v is past the end of the run at %v (%s)", g.From, runEnd, endWhat)
		}
		if err := g.Validate(n); err != nil {
			return p.errAt(gp.servers.line, gp.servers.col, "%v", err)
		}
		total += g.Count
		if total > MaxClients {
			return p.errAt(gp.count.line, gp.count.col, "%d clients in all; expected at most %d", total, MaxClients)
		}
	}
	return nil
}

// checkRunLength refuses a run longer than runner.MaxRunLength, at the
// value of the longest of faults-until, settle and drain the script set.
func (p *parser) checkRunLength(eff runner.Options) error {
	total := eff.FaultTime + eff.Settle + eff.Drain // each at most MaxDuration: no overflow
	if total <= runner.MaxRunLength {
		return nil
	}
	at, longest := pos{1, 1}, time.Duration(-1)
	for _, c := range []struct {
		cmd string
		d   time.Duration
	}{{"faults-until", eff.FaultTime}, {"settle", eff.Settle}, {"drain", eff.Drain}} {
		if v, ok := p.values[c.cmd]; ok && c.d > longest {
			at, longest = v, c.d
		}
	}
	return p.errAt(at.line, at.col, "the run would last %v (faults-until %v + settle %v + drain %v); expected at most %v of virtual time",
		total, eff.FaultTime, eff.Settle, eff.Drain, runner.MaxRunLength)
}

// cmpOr is v, or def if v is zero.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
