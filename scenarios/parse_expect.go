package scenarios

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios/cluster"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
)

// expect parses an expect line.
func (p *parser) expect() error {
	kt, err := p.tok(1, "an expectation ("+expectList()+")")
	if err != nil {
		return err
	}
	e := Expectation{Kind: ExpectKind(kt.text)}
	ep := expectPos{kind: pos{p.line, kt.col}}
	known := false
	for _, k := range expectKinds {
		known = known || k == e.Kind
	}
	if !known {
		return p.errf(kt.col, "unknown expectation %q; expected one of %s", echo(kt.text), expectList())
	}
	i := 2
	switch e.Kind {
	case ExpectStableLeader, ExpectOneLeader, ExpectTermStable, ExpectNoCommit:
		if e.From, e.To, i, err = p.interval(i, string(e.Kind)); err != nil {
			return err
		}
		ep.end = pos{p.line, p.toks[i-1].col}
		if err := p.sampled(e.To-e.From, p.toks[i-1], "interval of "); err != nil {
			return err
		}
	case ExpectReadsPerRound:
		t, err := p.tok(i, ">= or <= after reads-per-round")
		if err != nil {
			return err
		}
		switch t.text {
		case ">=":
			e.AtLeast = true
		case "<=":
		default:
			return p.errf(t.col, "expected >= or <= after reads-per-round, not %q", echo(t.text))
		}
		v, err := p.tok(i+1, "a number of reads like 2.5")
		if err != nil {
			return err
		}
		f, perr := strconv.ParseFloat(v.text, 64)
		if perr != nil || math.IsNaN(f) || f < 0 || f > 1e6 {
			return p.errf(v.col, "bad number of reads %q; expected a number like 2.5", echo(v.text))
		}
		e.Factor = f
		i += 2
	case ExpectProgress, ExpectLeaderChange:
		if err := p.word(i, "within", `"within DURATION after TIME" after `+string(e.Kind)); err != nil {
			return err
		}
		t, err := p.tok(i+1, "a duration after within")
		if err != nil {
			return err
		}
		if e.Within, err = p.duration(t, true); err != nil {
			return err
		}
		if err := p.sampled(e.Within, t, ""); err != nil {
			return err
		}
		if err := p.word(i+2, "after", `"after TIME" after the duration`); err != nil {
			return err
		}
		t, err = p.tok(i+3, "a time after after")
		if err != nil {
			return err
		}
		if e.After, err = p.duration(t, false); err != nil {
			return err
		}
		ep.end = pos{p.line, t.col}
		i += 4
	case ExpectConfig:
		for ; i < len(p.toks); i++ {
			t := p.toks[i]
			name, val, ok := strings.Cut(t.text, "=")
			if !ok || (name != "voters" && name != "learners") {
				return p.errf(t.col, "unexpected %q; expected voters=n1,n2,n3 and learners=n4", echo(t.text))
			}
			var ids []int
			if val != "" {
				var err error
				if ids, _, err = p.nodes(token{text: val, col: t.col + len(name) + 1}); err != nil {
					return err
				}
				if slices.ContainsFunc(ids, faults.IsRef) {
					return p.errf(t.col, "%s takes servers like n1,n2", name)
				}
			}
			slices.Sort(ids)
			if name == "voters" {
				e.Voters = ids
			} else {
				e.Learners = ids
			}
		}
		if len(e.Voters) == 0 {
			return p.errf(p.endCol()+1, "expected voters=n1,n2,n3 after config")
		}
	case ExpectSnapshotInstalled:
		t, err := p.tok(i, "a node like n3 after snapshot-installed")
		if err != nil {
			return err
		}
		ids, _, err := p.nodes(t)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return p.errf(t.col, "expected one node like n3, not %q", t.text)
		}
		e.Node, ep.node = ids[0], pos{p.line, t.col}
		i++
	case ExpectRestartBytes:
		t, err := p.tok(i, "a node like n3 after restart-bytes")
		if err != nil {
			return err
		}
		ids, _, err := p.nodes(t)
		if err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] < 1 {
			return p.errf(t.col, "expected one node like n3, not %q", echo(t.text))
		}
		e.Node, ep.node = ids[0], pos{p.line, t.col}
		if err := p.word(i+1, "<=", `"<= Kx-missed" after the node`); err != nil {
			return err
		}
		t, err = p.tok(i+2, "a bound like 2x-missed")
		if err != nil {
			return err
		}
		if e.Factor, err = p.factor(t, "x-missed", "2x-missed"); err != nil {
			return err
		}
		i += 3
	case ExpectBytesPerWrite:
		if e.From, e.To, i, err = p.interval(i, string(e.Kind)); err != nil {
			return err
		}
		end := p.toks[i-1]
		if err := p.word(i, "<=", `"<= Kx from TIME to TIME" after the interval`); err != nil {
			return err
		}
		t, err := p.tok(i+1, "a factor like 3x")
		if err != nil {
			return err
		}
		if e.Factor, err = p.factor(t, "x", "3x"); err != nil {
			return err
		}
		if e.BaseFrom, e.BaseTo, i, err = p.interval(i+2, "the factor"); err != nil {
			return err
		}
		if e.BaseTo > e.To {
			end = p.toks[i-1]
		}
		ep.end = pos{p.line, end.col}
	case ExpectSameTerm:
		if err := p.word(i, "at", `"at TIME" after same-term`); err != nil {
			return err
		}
		t, err := p.tok(i+1, "a time after at")
		if err != nil {
			return err
		}
		if e.At, err = p.duration(t, false); err != nil {
			return err
		}
		ep.end = pos{p.line, t.col}
		i += 2
	case ExpectCommitted:
		t, err := p.tok(i, "a log index after committed")
		if err != nil {
			return err
		}
		idx, err := p.integer(t, "a log index", 1, math.MaxInt32)
		if err != nil {
			return err
		}
		e.Index = uint64(idx)
		if err := p.word(i+1, "on", `"on K by TIME" after the index`); err != nil {
			return err
		}
		t, err = p.tok(i+2, "a server count after on")
		if err != nil {
			return err
		}
		if e.Count, err = p.integer(t, "a server count", 1, MaxServers); err != nil {
			return err
		}
		ep.node = pos{p.line, t.col}
		if err := p.word(i+3, "by", `"by TIME" after the server count`); err != nil {
			return err
		}
		t, err = p.tok(i+4, "a time after by")
		if err != nil {
			return err
		}
		if e.At, err = p.duration(t, false); err != nil {
			return err
		}
		ep.end = pos{p.line, t.col}
		i += 5
	case ExpectLogsEqual:
	case ExpectMessages, ExpectRPCs, ExpectBytes, ExpectOps:
		if i, err = p.count(&e, &ep, i); err != nil {
			return err
		}
	}
	if err := p.noMore(i, "end of line"); err != nil {
		return err
	}
	p.s.Expect = append(p.s.Expect, e)
	p.expectPos = append(p.expectPos, ep)
	return nil
}

// sampled refuses a span that samples cannot judge: shorter than the
// sampling period, it holds one sample or none, and would pass (or fail)
// without looking.
func (p *parser) sampled(d time.Duration, t token, what string) error {
	if d < runner.SampleEvery {
		return p.errf(t.col, "%s%v is shorter than the %v sampling period; expected at least %v", what, d, runner.SampleEvery, runner.SampleEvery)
	}
	return nil
}

// opNames are the operation types ops counts.
var opNames = []string{"get", "put", "append", "cas"}

// count parses a counting expectation's tail from token i: filters
// (type=..., and clients=... for ops), "<=" or ">=", the bound, and
// "from TIME to TIME".
func (p *parser) count(e *Expectation, ep *expectPos, i int) (int, error) {
	for i < len(p.toks) {
		t := p.toks[i]
		name, val, ok := strings.Cut(t.text, "=")
		if !ok || (name != "type" && (name != "clients" || e.Kind != ExpectOps)) {
			break
		}
		if (name == "type" && e.Types != nil) || (name == "clients" && e.Clients != nil) {
			return 0, p.errf(t.col, "%s= given twice", name)
		}
		off := t.col + len(name) + 1
		for _, v := range strings.Split(val, ",") {
			if name == "clients" {
				num, ok := strings.CutPrefix(v, "c")
				c, err := strconv.Atoi(num)
				if !ok || err != nil || c < 1 || strings.HasPrefix(num, "+") {
					return 0, p.errf(off, "bad client %q; expected clients like c1,c4", echo(v))
				}
				if slices.Contains(e.Clients, c) {
					return 0, p.errf(off, "client %s named twice", v)
				}
				e.Clients = append(e.Clients, c)
				ep.clients = append(ep.clients, nodeRef{c, pos{p.line, off}})
			} else {
				if err := p.countType(e, v, off); err != nil {
					return 0, err
				}
			}
			off += len(v) + 1
		}
		i++
	}
	want := `"<= N" or ">= N"`
	if e.Kind != ExpectOps && len(e.Types) == 0 {
		want = `type=TYPE,..., "<= N" or ">= N"`
	}
	t, err := p.tok(i, want)
	if err != nil {
		return 0, err
	}
	switch t.text {
	case "<=":
	case ">=":
		e.AtLeast = true
	default:
		return 0, p.errf(t.col, "unexpected %q; expected %s", echo(t.text), want)
	}
	t, err = p.tok(i+1, "a count after "+e.op())
	if err != nil {
		return 0, err
	}
	b, err := strconv.ParseUint(t.text, 10, 63)
	if err != nil {
		return 0, p.errf(t.col, "bad count %q; expected a whole number", echo(t.text))
	}
	e.Bound = b
	if e.From, e.To, i, err = p.interval(i+2, "the count"); err != nil {
		return 0, err
	}
	ep.end = pos{p.line, p.toks[i-1].col}
	return i, nil
}

// countType adds one type= value to a count's filter.
func (p *parser) countType(e *Expectation, v string, col int) error {
	if slices.Contains(e.Types, v) {
		return p.errf(col, "type %s named twice", v)
	}
	if e.Kind == ExpectOps {
		if !slices.Contains(opNames, v) {
			return p.errf(col, "unknown operation %q; expected one of %s", echo(v), strings.Join(opNames, ", "))
		}
		e.Types = append(e.Types, v)
		return nil
	}
	typ, ok := cluster.ParseType(v)
	if !ok || !cluster.IsRaft(typ) {
		var names []string
		for _, t := range cluster.Types() {
			if cluster.IsRaft(t) {
				names = append(names, cluster.TypeName(t))
			}
		}
		return p.errf(col, "unknown message type %q; expected one of %s (counts are of messages between servers)", echo(v), strings.Join(names, ", "))
	}
	e.Types = append(e.Types, v)
	return nil
}

func expectList() string {
	names := make([]string, len(expectKinds))
	for i, k := range expectKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// word requires token i to be w.
func (p *parser) word(i int, w, expected string) error {
	t, err := p.tok(i, expected)
	if err != nil {
		return err
	}
	if t.text != w {
		return p.errf(t.col, "unexpected %q; expected %s", echo(t.text), expected)
	}
	return nil
}

// interval parses "from TIME to TIME" at token i.
func (p *parser) interval(i int, after string) (from, to time.Duration, next int, err error) {
	want := `"from TIME to TIME" after ` + after
	if err := p.word(i, "from", want); err != nil {
		return 0, 0, 0, err
	}
	t, err := p.tok(i+1, "a time after from")
	if err != nil {
		return 0, 0, 0, err
	}
	if from, err = p.duration(t, false); err != nil {
		return 0, 0, 0, err
	}
	if err := p.word(i+2, "to", `"to TIME" after the start`); err != nil {
		return 0, 0, 0, err
	}
	t, err = p.tok(i+3, "a time after to")
	if err != nil {
		return 0, 0, 0, err
	}
	if to, err = p.duration(t, false); err != nil {
		return 0, 0, 0, err
	}
	if to <= from {
		return 0, 0, 0, p.errf(t.col, "to %v must be after from %v", to, from)
	}
	return from, to, i + 4, nil
}

// factor parses "Kx" (suffix "x") or "Kx-missed": K a number above 0.
func (p *parser) factor(t token, suffix, example string) (float64, error) {
	num, ok := strings.CutSuffix(t.text, suffix)
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, p.errf(t.col, "bad bound %q; expected a factor like %s", echo(t.text), example)
	}
	if f <= 0 {
		return 0, p.errf(t.col, "factor %s must be above 0", num)
	}
	return f, nil
}
