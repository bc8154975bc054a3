package model

import (
	"fmt"
	"io"
	"slices"
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

// FocusAbove is the history size above which WriteVisualization shows only
// the failing keys of a non-linearizable run: a whole large history makes
// a page too big to read, and the failing keys are what one needs.
const FocusAbove = 2000

// ClusterTag is the visualization row for annotations with no Node.
const ClusterTag = "cluster"

// WriteVisualization writes porcupine's HTML visualization of a checked
// history to w, with annotations drawn as porcupine annotations (v1.3.1's
// LinearizationInfo.AddAnnotations): one row per node, tagged "node <n>",
// plus a ClusterTag row for cluster-wide faults.
//
// For a NotLinearizable result over more than FocusAbove operations, only
// the failing keys are shown; porcupine's LinearizationInfo cannot be
// filtered, so their operations are checked again (with the original
// timeout) to build it. Anything else shows res.Info, every key.
//
// It writes to an io.Writer, not a path: this package obeys the
// simulator's no-os rule; the caller opens the file.
func WriteVisualization(w io.Writer, res Result, annotations []Annotation) error {
	info, m := res.Info, ModelFor(res.ops)
	if res.Verdict == NotLinearizable && len(res.ops) > FocusAbove && len(res.FailingKeys) > 0 {
		var focus []porcupine.Operation
		for _, op := range res.ops {
			if _, failing := slices.BinarySearch(res.FailingKeys, opKey(op)); failing {
				focus = append(focus, op)
			}
		}
		_, info = porcupine.CheckOperationsVerbose(m, focus, res.timeout)
	}
	info.AddAnnotations(PorcupineAnnotations(annotations))
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
		{"isolate", "#efaefc"},
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
