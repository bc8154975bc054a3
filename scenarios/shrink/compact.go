package shrink

import (
	"reflect"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/faults"
	"github.com/seed4fee1fef/raftsim/scenarios"
)

// Script renders sc as scenario text with repeated faults (the same fault
// at evenly spaced starts) folded into every lines, where the folded text
// reads back to exactly the same faults in the same order; otherwise it
// is sc.Script().
func Script(sc *scenarios.Scenario) string {
	plain := sc.Script()
	lines := faultLines(sc.Faults)
	if len(lines) == len(sc.Faults) {
		return plain
	}
	head := clone(sc)
	head.Faults, head.Expect = nil, nil
	var b strings.Builder
	b.WriteString(head.Script())
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	for _, e := range sc.Expect {
		b.WriteString(e.String() + "\n")
	}
	folded := b.String()
	back, err := scenarios.Parse(sc.Name+".scn", []byte(folded))
	if err != nil || !sameFaults(back.Faults, sc.Faults) {
		return plain
	}
	return folded
}

// FaultLines is how many fault lines Script writes for sc.
func FaultLines(sc *scenarios.Scenario) int {
	s := Script(sc)
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "at ") || strings.HasPrefix(l, "every ") {
			n++
		}
	}
	return n
}

func sameFaults(a, b []faults.Fault) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(norm(a[i]), norm(b[i])) {
			return false
		}
	}
	return true
}

// norm makes empty and nil target lists compare equal.
func norm(f faults.Fault) faults.Fault {
	if len(f.Nodes) == 0 {
		f.Nodes = nil
	}
	if len(f.Groups) == 0 {
		f.Groups = nil
	}
	return f
}

// body is a fault without its start: "isolate-leader for 200ms".
func body(f faults.Fault) string {
	g := f
	g.At, g.Until = 0, 0
	s := strings.TrimPrefix(g.String(), "at 0s ")
	if f.Until > f.At {
		s += " for " + (f.Until - f.At).String()
	}
	return s
}

// faultLines renders faults, folding each longest evenly spaced run of
// one body (three or more) into an every line placed where its first
// fault was.
func faultLines(fs []faults.Fault) []string {
	used := make([]bool, len(fs))
	var out []string
	for i, f := range fs {
		if used[i] {
			continue
		}
		b := body(f)
		var run []int
		for j := i + 1; j < len(fs) && len(run) == 0; j++ {
			if !used[j] && body(fs[j]) == b && fs[j].At > f.At {
				run = []int{i, j}
			}
		}
		if len(run) == 2 {
			step := fs[run[1]].At - f.At
			next := fs[run[1]].At + step
			for j := run[1] + 1; j < len(fs); j++ {
				if !used[j] && body(fs[j]) == b && fs[j].At == next {
					run = append(run, j)
					next += step
				}
			}
		}
		if len(run) < 3 {
			out = append(out, f.String())
			used[i] = true
			continue
		}
		for _, j := range run {
			used[j] = true
		}
		last := fs[run[len(run)-1]].At
		out = append(out, "every "+durText(fs[run[1]].At-f.At)+" from "+durText(f.At)+" to "+durText(last)+" "+b)
	}
	return out
}

func durText(d time.Duration) string { return d.String() }
