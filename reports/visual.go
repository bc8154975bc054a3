package reports

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/seed4fee1fef/raftsim/linearizability/model"
	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// wholeHistoryMax is the largest passing history whose porcupine view is
// written: above it the page and the data files say everything.
const wholeHistoryMax = 2000

// visualization returns what writes linearizability.html, if anything,
// and what the page should call it. A failing run gets porcupine's view of
// its failing key around the failure, small whatever the history; a small
// passing run its whole history.
func visualization(res *runner.Result) (func(*bytes.Buffer) error, string) {
	if res.Cluster == nil || res.Chronicle == nil {
		return nil, ""
	}
	names := res.Chronicle.Names
	naming := model.Naming{
		Name: func(id uint64) string { return names.Client(id) },
		Row:  func(id uint64) int { return int(id) - names.Servers },
	}
	as := annotations(res)
	lin := res.Linearizability
	if lin.Verdict == model.NotLinearizable {
		for _, e := range res.Explanations {
			if e.Key == "" {
				continue
			}
			if e.Conflict == nil {
				continue
			}
			c := *e.Conflict
			var buf bytes.Buffer
			got, err := model.WriteFocusedVisualization(&buf, lin, model.Focus{Conflict: c, From: e.FromNS, To: e.ToNS, Naming: naming}, as)
			if err != nil || got.Skipped {
				return nil, ""
			}
			note := fmt.Sprintf("porcupine's view of %s from %s to %s (%d operations), starting from the state the longest consistent order leaves before it",
				c.Key, secs(sim.Time(got.From)), secs(sim.Time(got.To)), got.Ops)
			if got.Whole {
				note = fmt.Sprintf("porcupine's view of every operation on %s (%d)", c.Key, got.Ops)
			}
			return func(b *bytes.Buffer) error { _, err := b.Write(buf.Bytes()); return err }, note
		}
		return nil, ""
	}
	if lin.Ops > wholeHistoryMax {
		return nil, ""
	}
	return func(b *bytes.Buffer) error { return model.WriteVisualization(b, lin, naming, as) },
		"porcupine's view of the whole history (" + strconv.Itoa(lin.Ops) + " operations), with its linearization"
}

// annotations are the run's faults and leaderships for porcupine's view:
// one per fault (a partition is one annotation, not one per link), and
// each leader's tenure on its node's row.
func annotations(res *runner.Result) []model.Annotation {
	ch := res.Chronicle
	var out []model.Annotation
	for _, f := range ch.Faults {
		end := f.End
		if !f.Ended && f.Fault.Until > f.Fault.At {
			end = res.VirtualTime
		}
		a := model.Annotation{Start: int64(f.Begin), End: int64(end), Description: runner.FaultLabel(f)}
		if len(f.Fault.Nodes) == 1 && len(f.Fault.Groups) == 0 {
			a.Node = ch.Names.Name(f.Fault.Nodes[0])
		}
		out = append(out, a)
	}
	for _, t := range ch.Tenures() {
		out = append(out, model.Annotation{Start: int64(t.From), End: int64(t.To), Node: ch.Names.Name(t.Node),
			Description: "leader, term " + strconv.FormatUint(t.Term, 10)})
	}
	return out
}
