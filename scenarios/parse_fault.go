package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
)

// Fault shapes: what parameter and targets each kind takes, and whether
// it needs an until (see the faults package doc).
type paramClass uint8

const (
	paramNone paramClass = iota
	paramProb
	paramDur
	paramSigned
	paramPPM
	paramBytes
	paramFlip
)

type targetClass uint8

const (
	targetNone targetClass = iota
	targetNodes
	targetGroups
	targetOneWay
	targetChange
)

type untilRule uint8

const (
	untilRequired  untilRule = iota // a state held from at to until
	untilOptional                   // kill-shaped: without until, restart at once
	untilForbidden                  // instantaneous
)

func shape(k faults.Kind) (paramClass, targetClass, untilRule) {
	switch k {
	case faults.Kill, faults.TornKill, faults.Wipe:
		return paramNone, targetNodes, untilOptional
	case faults.Pause, faults.Isolate, faults.FailFsync:
		return paramNone, targetNodes, untilRequired
	case faults.IsolateLeader, faults.Quiet:
		return paramNone, targetNone, untilRequired
	case faults.Partition, faults.MajorityMinority, faults.EvenSplit, faults.Bridge:
		return paramNone, targetGroups, untilRequired
	case faults.OneWay:
		return paramNone, targetOneWay, untilRequired
	case faults.Loss, faults.Duplicate, faults.Reorder:
		return paramProb, targetNodes, untilRequired
	case faults.Delay, faults.SlowFsync:
		return paramDur, targetNodes, untilRequired
	case faults.ClockSkew:
		return paramSigned, targetNodes, untilRequired
	case faults.ClockJump:
		return paramSigned, targetNodes, untilForbidden
	case faults.Transfer:
		return paramNone, targetNodes, untilForbidden
	case faults.ClockDrift:
		return paramPPM, targetNodes, untilRequired
	case faults.Truncate, faults.TruncateMark, faults.TruncateSnapshot:
		return paramBytes, targetNodes, untilOptional
	case faults.FullDisk:
		return paramBytes, targetNodes, untilRequired
	case faults.Bitflip, faults.BitflipMark, faults.BitflipSnapshot:
		return paramFlip, targetNodes, untilOptional
	case faults.AddLearner, faults.Promote, faults.Add, faults.Remove:
		return paramNone, targetNodes, untilForbidden
	case faults.Change:
		return paramNone, targetChange, untilForbidden
	}
	return paramNone, targetNone, untilRequired
}

var paramWant = [...]string{
	paramProb:   "a probability like 0.2",
	paramDur:    "a duration like 50ms",
	paramSigned: "a signed duration like +1.5s or -200ms",
	paramPPM:    "a drift like +500ppm",
	paramBytes:  "a byte count like 4096B",
	paramFlip:   "a bit like @8812:3 (byte offset:bit)",
}

// fault parses "at TIME KIND [PARAM] [TARGETS] [until TIME | for DURATION]".
func (p *parser) fault() error {
	at, err := p.tok(1, "a time after at")
	if err != nil {
		return err
	}
	start, err := p.duration(at, false)
	if err != nil {
		return err
	}
	if err := p.notBackwards(start, at); err != nil {
		return err
	}
	f, fp, err := p.faultTail(start, 2)
	if err != nil {
		return err
	}
	if err := p.roomFor(1); err != nil {
		return err
	}
	p.addFault(f, fp)
	p.lastAt, p.haveLastAt = start, true
	return nil
}

// MaxRepeat bounds how many faults one every line may make.
const MaxRepeat = 1000

// every parses "every DURATION from TIME to TIME KIND [PARAM] [TARGETS]
// [until TIME | for DURATION]": the same fault starting at from,
// from+DURATION, ... up to and including to; each until the same time,
// or each for the same length.
func (p *parser) every() error {
	st, err := p.tok(1, "a duration after every")
	if err != nil {
		return err
	}
	step, err := p.duration(st, true)
	if err != nil {
		return err
	}
	from, to, _, err := p.interval(2, "every DURATION")
	if err != nil {
		return err
	}
	n := (to-from)/step + 1
	if n > MaxRepeat {
		return p.errf(st.col, "every %v from %v to %v makes %d faults; expected at most %d", step, from, to, n, MaxRepeat)
	}
	if err := p.roomFor(int(n)); err != nil {
		return err
	}
	if err := p.notBackwards(from, p.toks[3]); err != nil {
		return err
	}
	f, fp, err := p.faultTail(from, 6)
	if err != nil {
		return err
	}
	last := from + (to-from)/step*step
	if fp.length == 0 && f.Until != f.At && f.Until <= last {
		return p.errf(fp.until.col, "until %v must be after the last start at %v", f.Until, last)
	}
	for k := time.Duration(0); k <= (to-from)/step; k++ {
		t := from + k*step
		g := cloneFault(f)
		g.At = t
		switch {
		case fp.length > 0:
			g.Until = t + fp.length
		case f.Until == f.At:
			g.Until = t
		}
		gp := fp
		gp.nodes = append([]nodeRef(nil), fp.nodes...)
		p.addFault(g, gp)
	}
	p.lastAt, p.haveLastAt = from, true
	return nil
}

func (p *parser) notBackwards(at time.Duration, t token) error {
	if p.haveLastAt && at < p.lastAt {
		return p.errf(t.col, "time %v goes backwards (previous fault at %v)", at, p.lastAt)
	}
	return nil
}

func (p *parser) addFault(f faults.Fault, fp faultPos) {
	p.s.Faults = append(p.s.Faults, f)
	p.faultPos = append(p.faultPos, fp)
}

// roomFor refuses a line that would take the script past MaxFaults.
func (p *parser) roomFor(n int) error {
	if len(p.s.Faults)+n > MaxFaults {
		return p.errf(p.toks[0].col, "more than %d faults; expected at most %d in one script", MaxFaults, MaxFaults)
	}
	return nil
}

// faultTail parses "KIND [PARAM] [TARGETS] [until TIME]" from token i on,
// for a fault starting at start.
func (p *parser) faultTail(start time.Duration, i int) (faults.Fault, faultPos, error) {
	f := faults.Fault{At: start}
	kt, err := p.tok(i, "a fault kind ("+kindList()+")")
	if err != nil {
		return f, faultPos{}, err
	}
	kind, ok := faults.ParseKind(kt.text)
	if !ok {
		return f, faultPos{}, p.errf(kt.col, "unknown fault kind %q; expected one of %s", echo(kt.text), kindList())
	}
	f.Kind = kind
	fp := faultPos{kind: pos{p.line, kt.col}}
	pc, tc, ur := shape(kind)
	i++
	if pc != paramNone {
		t, err := p.tok(i, fmt.Sprintf("%s after %s", paramWant[pc], kind))
		if err != nil {
			return f, fp, err
		}
		if err := p.param(&f, pc, t); err != nil {
			return f, fp, err
		}
		i++
	}
	if i, err = p.targets(&f, &fp, tc, i); err != nil {
		return f, fp, err
	}
	f.Until = f.At
	switch {
	case i < len(p.toks) && (p.toks[i].text == "until" || p.toks[i].text == "for"):
		ut := p.toks[i]
		if ur == untilForbidden {
			return f, fp, p.errf(ut.col, "%s is instantaneous; expected end of line, not %s", kind, ut.text)
		}
		t, err := p.tok(i+1, "a time after "+ut.text)
		if err != nil {
			return f, fp, err
		}
		d, err := p.duration(t, ut.text == "for")
		if err != nil {
			return f, fp, err
		}
		if ut.text == "for" {
			f.Until, fp.length = f.At+d, d
		} else {
			f.Until = d
		}
		if f.Until < f.At {
			return f, fp, p.errf(t.col, "until %v is before at %v", f.Until, f.At)
		}
		if f.Until == f.At {
			return f, fp, p.errf(t.col, "until %v must be after at %v", f.Until, f.At)
		}
		fp.until = pos{p.line, t.col}
		if err := p.noMore(i+2, "end of line"); err != nil {
			return f, fp, err
		}
	case i < len(p.toks):
		want := `"until TIME", "for DURATION" or end of line`
		if ur == untilForbidden {
			want = "end of line"
		}
		return f, fp, p.errf(p.toks[i].col, "unexpected %q; expected %s", echo(p.toks[i].text), want)
	case ur == untilRequired:
		return f, fp, p.errf(p.endCol()+1, `%s holds from its start to its end; expected "until TIME" or "for DURATION"`, kind)
	}
	return f, fp, nil
}

func (p *parser) param(f *faults.Fault, pc paramClass, t token) error {
	bad := func() error {
		return p.errf(t.col, "bad parameter %q; %s takes %s", echo(t.text), f.Kind, paramWant[pc])
	}
	var err error
	switch pc {
	case paramProb:
		f.Prob, err = p.probability(t)
	case paramDur:
		f.Delay, err = p.duration(t, false)
	case paramSigned:
		f.Delay, err = time.ParseDuration(t.text)
		if err != nil {
			return bad()
		}
		if f.Delay > MaxDuration || f.Delay < -MaxDuration {
			return p.errf(t.col, "duration %v beyond the limit of ±%v", f.Delay, MaxDuration)
		}
	case paramPPM:
		num, ok := strings.CutSuffix(t.text, "ppm")
		if !ok {
			return bad()
		}
		if f.PPM, err = strconv.ParseInt(num, 10, 64); err != nil {
			return bad()
		}
	case paramBytes:
		num, ok := strings.CutSuffix(t.text, "B")
		if !ok {
			return bad()
		}
		if f.Bytes, err = strconv.ParseInt(num, 10, 64); err != nil || strings.HasPrefix(num, "+") {
			return bad()
		}
		if f.Bytes < 0 {
			return p.errf(t.col, "byte count %d is negative", f.Bytes)
		}
	case paramFlip:
		rest, ok := strings.CutPrefix(t.text, "@")
		off, bit, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			return bad()
		}
		if f.Offset, err = strconv.ParseInt(off, 10, 64); err != nil || f.Offset < 0 || strings.HasPrefix(off, "+") {
			return bad()
		}
		b, err := strconv.Atoi(bit)
		if err != nil || b < 0 || b > 7 || strings.HasPrefix(bit, "+") {
			return p.errf(t.col, "bad bit %q in %q; expected 0..7", echo(bit), echo(t.text))
		}
		f.Bit = uint8(b)
	}
	return err
}

// targets parses the targets from token i on, up to "until" or the end,
// and returns the index after them.
func (p *parser) targets(f *faults.Fault, fp *faultPos, tc targetClass, i int) (int, error) {
	if i >= len(p.toks) || p.toks[i].text == "until" || p.toks[i].text == "for" {
		return i, nil
	}
	t := p.toks[i]
	if t.text == "leader" && tc == targetNodes {
		f.Leader = true // a lone leader, as faults.Fault writes it
		return i + 1, nil
	}
	if tc == targetNone {
		return 0, p.errf(t.col, "unexpected %q; %s takes no targets; expected \"until TIME\" or \"for DURATION\"", echo(t.text), f.Kind)
	}
	if tc == targetChange {
		adds, removes, err := p.changeList(t, fp)
		if err != nil {
			return 0, err
		}
		f.Groups = [][]int{adds, removes}
		return i + 1, nil
	}
	var groups [][]int
	sep := ""
	for {
		ids, err := p.nodes(p.toks[i], fp)
		if err != nil {
			return 0, err
		}
		groups = append(groups, ids)
		i++
		if i >= len(p.toks) || (p.toks[i].text != "|" && p.toks[i].text != "->") {
			break
		}
		s := p.toks[i]
		switch {
		case tc == targetNodes:
			return 0, p.errf(s.col, "unexpected %q; %s takes one node list like n1,n2", echo(s.text), f.Kind)
		case tc == targetGroups && s.text != "|":
			return 0, p.errf(s.col, "unexpected %q; expected \"|\" between groups", echo(s.text))
		case tc == targetOneWay && (s.text != "->" || sep != ""):
			return 0, p.errf(s.col, "unexpected %q; one-way takes FROM -> TO, like n1 -> n2,n3", echo(s.text))
		}
		sep = s.text
		i++
		if i >= len(p.toks) {
			return 0, p.errf(p.endCol()+1, "expected nodes like n1,n2 after %q", echo(sep))
		}
	}
	switch tc {
	case targetNodes:
		f.Nodes = groups[0]
	case targetOneWay:
		if len(groups) != 2 {
			return 0, p.errf(t.col, "one-way takes FROM -> TO, like n1 -> n2,n3")
		}
		f.Groups = groups
	default:
		f.Groups = groups
	}
	return i, nil
}

// changeList parses a change's servers: "+n4,+n5,-n1" adds n4 and n5
// and removes n1.
func (p *parser) changeList(t token, fp *faultPos) (adds, removes []int, err error) {
	col := t.col
	for _, part := range strings.Split(t.text, ",") {
		sign := byte(0)
		if part != "" {
			sign = part[0]
		}
		if sign != '+' && sign != '-' {
			return nil, nil, p.errf(col, "bad change %q in %q; expected servers to add and remove, like +n4,+n5,-n1", echo(part), echo(t.text))
		}
		ids, err := p.nodes(token{text: part[1:], col: col + 1}, fp)
		if err != nil {
			return nil, nil, err
		}
		if len(ids) != 1 || faults.IsRef(ids[0]) {
			return nil, nil, p.errf(col, "bad change %q; expected a server like %cn4", echo(part), sign)
		}
		if sign == '+' {
			adds = append(adds, ids[0])
		} else {
			removes = append(removes, ids[0])
		}
		col += len(part) + 1
	}
	return adds, removes, nil
}

// nodes parses "n1,n2,n5", or leader-relative targets such as
// "leader,leader+1" (see faults.RefLeader).
func (p *parser) nodes(t token, fp *faultPos) ([]int, error) {
	var ids []int
	col := t.col
	for _, part := range strings.Split(t.text, ",") {
		if ref, ok := faults.ParseRef(part); ok {
			ids = append(ids, ref)
			fp.nodes = append(fp.nodes, nodeRef{ref, pos{p.line, col}})
			col += len(part) + 1
			continue
		}
		num, ok := strings.CutPrefix(part, "n")
		id, err := strconv.Atoi(num)
		if !ok || err != nil || strings.HasPrefix(num, "+") || strings.HasPrefix(num, "-") {
			if part == "" {
				return nil, p.errf(col, "expected a node like n3 in %q", echo(t.text))
			}
			return nil, p.errf(col, "bad node %q; expected nodes like n1,n2 (or leader, leader+1, follower, not-leader)", echo(part))
		}
		if id < 1 {
			return nil, p.errf(col, "unknown node %s (servers are numbered from n1)", part)
		}
		ids = append(ids, id)
		fp.nodes = append(fp.nodes, nodeRef{id, pos{p.line, col}})
		col += len(part) + 1
	}
	return ids, nil
}
