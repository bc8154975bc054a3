package scenarios

import (
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
)

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
	if fp.where.For == 0 && f.Until != f.At && f.Until <= last {
		return p.errf(fp.where.Until, "until %v must be after the last start at %v", f.Until, last)
	}
	for k := time.Duration(0); k <= (to-from)/step; k++ {
		t := from + k*step
		g := cloneFault(f)
		g.At = t
		switch {
		case fp.where.For > 0:
			g.Until = t + fp.where.For
		case f.Until == f.At:
			g.Until = t
		}
		p.addFault(g, fp)
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

// faultTail parses "KIND [PARAM] [TARGETS] [until TIME | for DURATION]"
// from token i on, for a fault starting at start: the fault grammar,
// which the faults package reads next to where it prints it.
func (p *parser) faultTail(start time.Duration, i int) (faults.Fault, faultPos, error) {
	f, where, err := faults.ParseWords(p.words(), i, start)
	if err != nil {
		return f, faultPos{}, p.syntax(err)
	}
	return f, faultPos{line: p.line, where: where}, nil
}
