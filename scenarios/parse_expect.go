package scenarios

import (
	"math"
	"strconv"
	"strings"
	"time"

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
	case ExpectProgress:
		if err := p.word(i, "within", `"within DURATION after TIME" after progress`); err != nil {
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
	case ExpectSnapshotInstalled:
		t, err := p.tok(i, "a node like n3 after snapshot-installed")
		if err != nil {
			return err
		}
		var fp faultPos
		ids, err := p.nodes(t, &fp)
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
		var fp faultPos
		ids, err := p.nodes(t, &fp)
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
