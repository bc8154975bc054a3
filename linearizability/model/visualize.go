package model

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Annotation is one fault of the run (a crash, a partition, a restart, ...)
// to show alongside the history, in the same virtual time as the
// operations' Call and Return. Node names the node it hit ("n3"); empty
// means the whole cluster (a partition, a quiet period). End before Start
// is a point in time at Start.
type Annotation struct {
	Start, End  int64
	Description string
	Node        string
}

// ClusterTag is the visualization row for annotations with no Node.
const ClusterTag = "cluster"

// Naming is how a drawing names clients: as the run's reports do.
// Porcupine labels its rows by number, so Row gives c3 row 3 and Name
// "c3" for its tooltips: one client, one name. Nil fields keep the
// history's client ids.
type Naming struct {
	Name func(clientID uint64) string
	Row  func(clientID uint64) int
}

// WriteVisualization writes porcupine's HTML visualization of a whole
// checked history to w (every key), with annotations drawn as porcupine
// annotations: one row per tag ("node n3", ClusterTag, ...). Use it for
// small histories; WriteFocusedVisualization draws the part of a failing
// one worth looking at.
//
// It writes to an io.Writer, not a path: this package obeys the
// simulator's no-os rule; the caller opens the file.
func WriteVisualization(w io.Writer, res Result, n Naming, annotations []Annotation) error {
	ops := n.apply(indexed(res.operations(), func(porcupine.Operation) bool { return true }))
	m := ModelFor(ops)
	_, info := res.porcupine(m, ops)
	return visualize(w, m, info, annotations, math.MinInt64, Infinity)
}

// Focus is the part of a failing history worth drawing: one key's
// operations in a window of time around a Conflict, with clients named
// as the run names them.
type Focus struct {
	Conflict Conflict
	From, To int64
	Naming   Naming
	// MaxOps bounds the operations drawn (default 400).
	MaxOps int

	_ struct{}
}

// FocusResult says what WriteFocusedVisualization drew.
type FocusResult struct {
	// Ops is how many operations it drew, between From and To.
	Ops      int
	From, To int64
	// Whole: the window could not be isolated (its check passed, or it
	// held too many operations), so the page shows the key's whole
	// history instead; Skipped: even that was over MaxOps, and nothing
	// was written.
	Whole, Skipped bool
}

// WriteFocusedVisualization writes porcupine's visualization of the
// failing key of f.Conflict in the window [f.From, f.To]: the operations
// overlapping the window, starting from the state the longest consistent
// order leaves before it, so a long history stays small. The window is
// checked again on its own: if it does not fail there (its failure
// depended on operations outside it) it is widened, up to four times,
// and then the key's whole history is drawn, if small enough.
func WriteFocusedVisualization(w io.Writer, res Result, f Focus, annotations []Annotation) (FocusResult, error) {
	if f.MaxOps == 0 {
		f.MaxOps = 400
	}
	c := f.Conflict
	span := max(f.To-f.From, 1)
	from, to := f.From, f.To
	for range 5 {
		ops, init := res.window(c, from, to)
		if len(ops) > f.MaxOps {
			break
		}
		ops = f.Naming.apply(ops)
		m := ModelFor(ops)
		m.Init = func() any { return init }
		verdict, info := res.porcupine(m, ops)
		if verdict == porcupine.Illegal {
			return FocusResult{Ops: len(ops) - 1, From: from, To: to}, visualize(w, m, info, annotations, from, to)
		}
		from, to = max(0, from-span), to+span
		span *= 2
	}
	ops := indexed(res.operations(), func(op porcupine.Operation) bool { return opKey(op) == c.Key })
	if len(ops) > f.MaxOps {
		return FocusResult{Skipped: true}, nil
	}
	ops = f.Naming.apply(ops)
	m := ModelFor(ops)
	_, info := res.porcupine(m, ops)
	return FocusResult{Ops: len(ops) - 1, Whole: true}, visualize(w, m, info, annotations, 0, Infinity)
}

// window is c.Key's operations that overlap [from, to] (an unknown one
// only if called in the window), after the longest prefix of c.Order
// that returned before from, plus a fresh end marker; init is the state
// that prefix leaves.
func (r Result) window(c Conflict, from, to int64) ([]porcupine.Operation, State) {
	all := r.operations()
	m := ModelFor(all)
	state := State{}
	skip := map[int]bool{}
	for _, i := range c.Order {
		op := all[i]
		if op.Return >= from {
			break
		}
		_, next := m.Step(state, op.Input, op.Output)
		state = next.(State)
		skip[i] = true
	}
	state.Unseen, state.Closed = false, false
	var out []porcupine.Operation
	last := int64(0)
	for i, op := range all {
		if opKey(op) != c.Key || skip[i] || op.Metadata.(metadata).end {
			continue
		}
		unknown := op.Metadata.(metadata).unknown
		if op.Call > to || (!unknown && op.Return < from) || (unknown && op.Call < from) {
			continue
		}
		md := op.Metadata.(metadata)
		md.index = i
		op.Metadata = md
		out = append(out, op)
		last = max(last, op.Call)
		if !unknown {
			last = max(last, op.Return)
		}
	}
	out = append(out, porcupine.Operation{Input: EndMarker{Key: c.Key}, Call: last + 1, Return: last + 1,
		Metadata: metadata{end: true}})
	return out, state
}

// indexed returns the operations of ops that keep selects, each
// carrying its position in ops (= in the history) in its metadata.
func indexed(ops []porcupine.Operation, keep func(porcupine.Operation) bool) []porcupine.Operation {
	var out []porcupine.Operation
	for i, op := range ops {
		if !keep(op) {
			continue
		}
		md := op.Metadata.(metadata)
		md.index = i
		op.Metadata = md
		out = append(out, op)
	}
	return out
}

// apply returns ops with each operation's row and name as n says; the
// end markers get the row after the last client.
func (n Naming) apply(ops []porcupine.Operation) []porcupine.Operation {
	out := make([]porcupine.Operation, len(ops))
	rows := 0
	for i, op := range ops {
		md := op.Metadata.(metadata)
		if !md.end && n.Row != nil {
			op.ClientId = n.Row(md.clientID)
		}
		if !md.end {
			rows = max(rows, op.ClientId+1)
		}
		if !md.end && n.Name != nil {
			md.name = n.Name(md.clientID)
		}
		op.Metadata = md
		out[i] = op
	}
	for i := range out {
		if out[i].Metadata.(metadata).end {
			out[i].ClientId = rows
		}
	}
	return out
}

// visualize draws a check's info with the annotations that overlap
// [from, to].
func visualize(w io.Writer, m porcupine.Model, info porcupine.LinearizationInfo, as []Annotation, from, to int64) error {
	var keep []Annotation
	for _, a := range as {
		if max(a.End, a.Start) >= from && a.Start <= to {
			keep = append(keep, a)
		}
	}
	info.AddAnnotations(PorcupineAnnotations(keep))
	if err := porcupine.Visualize(m, info, w); err != nil {
		return fmt.Errorf("model: visualization: %w", err)
	}
	return nil
}

// PorcupineAnnotations converts fault annotations to porcupine's: tagged
// by node (or ClusterTag), coloured by the kind of fault the description
// names.
func PorcupineAnnotations(as []Annotation) []porcupine.Annotation {
	out := make([]porcupine.Annotation, 0, len(as))
	for _, a := range as {
		tag, where := ClusterTag, "the cluster"
		if a.Node != "" {
			tag, where = "node "+a.Node, a.Node
		}
		end := max(a.End, a.Start)
		out = append(out, porcupine.Annotation{
			Tag:             tag,
			Start:           a.Start,
			End:             end,
			Description:     a.Description,
			Details:         fmt.Sprintf("%s on %s, from %d to %d", a.Description, where, a.Start, end),
			BackgroundColor: faultColor(a.Description),
		})
	}
	return out
}

// faultColor picks a background by the first fault word in desc.
func faultColor(desc string) string {
	d := strings.ToLower(desc)
	for _, c := range []struct{ word, color string }{
		{"crash", "#ff9191"},
		{"kill", "#ff9191"},
		{"restart", "#a6e3b4"},
		{"partition", "#efaefc"},
		{"majority-minority", "#efaefc"},
		{"even-split", "#efaefc"},
		{"bridge", "#efaefc"},
		{"one-way", "#efaefc"},
		{"isolate", "#efaefc"},
		{"leader", "#c8e6c9"},
		{"pause", "#ffd59a"},
		{"disk", "#c7c7ff"},
		{"clock", "#b3e5fc"},
	} {
		if strings.Contains(d, c.word) {
			return c.color
		}
	}
	return "#e0e0e0"
}
