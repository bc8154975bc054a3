package reports

import (
	"fmt"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/sim"
)

// From virtual time to pixels: a figure is rows of spans on one time
// axis, which page.html turns into SVG rectangles and text. Positions are
// computed here, once, so the template stays a plain list of shapes.

// shape is one rectangle of a figure, with an optional label inside and
// a tooltip.
type shape struct {
	X, Y, W, H   float64
	Class        string
	Label, Title string
	// LabelX is where the label starts (left-aligned inside the shape,
	// or just after it if Outside).
	LabelX  float64
	Outside bool
}

// MidY is the vertical middle of s, where its label goes.
func (s shape) MidY() float64 { return s.Y + s.H/2 }

// MidY is the vertical middle of r, where its name goes.
func (r row) MidY() float64 { return r.Y + r.H/2 }

// path is many rectangles of one class drawn as one SVG path: a row
// with hundreds of spans (a client's operations) costs bytes per span,
// not an element each.
type path struct {
	D, Class, Title string
}

// row is one labelled row of a figure.
type row struct {
	Y, H  float64
	Name  string
	Class string
}

// vline is a vertical line across a figure's rows (a failing operation,
// the heal), with a caption at its top.
type vline struct {
	X, Y1, Y2 float64
	Class     string
	Label     string
	Title     string
	// Anchor is "start" or "end": which side of the line the label sits.
	Anchor string
}

type tick struct {
	X     float64
	Label string
}

// figure is a timeline: rows of spans over [From, To].
type figure struct {
	ID, Caption string
	W, H        float64
	// Left is the width of the row-name column; the plot starts there.
	Left        float64
	PlotW       float64
	AxisY       float64
	Rows        []row
	Bands       []shape // shading behind everything (quiet periods, the zoomed window)
	Shapes      []shape
	Paths       []path
	Marks       []shape
	Lines       []vline
	Ticks       []tick
	from, to    sim.Time
	y           float64
	labelPxChar float64
}

const (
	figLeft  = 64.0
	figWidth = 1180.0
)

func newFigure(id string, from, to sim.Time) *figure {
	if to <= from {
		to = from + 1
	}
	return &figure{ID: id, W: figWidth, Left: figLeft, PlotW: figWidth - figLeft - 8, from: from, to: to, y: 4, labelPxChar: 6.2}
}

// x is t's horizontal position, clamped to the plot.
func (f *figure) x(t sim.Time) float64 {
	t = min(max(t, f.from), f.to)
	return f.Left + f.PlotW*float64(t-f.from)/float64(f.to-f.from)
}

// perPixel is how much virtual time one pixel spans.
func (f *figure) perPixel() sim.Time { return max(sim.Time(float64(f.to-f.from)/f.PlotW), 1) }

// addRow adds a row of height h with l's spans and marks, and returns
// its top.
func (f *figure) addRow(l lane, h float64, class string) float64 {
	top := f.y
	f.Rows = append(f.Rows, row{Y: top, H: h, Name: l.Name, Class: class})
	for _, s := range l.Spans {
		f.addShape(s, top, h)
	}
	for _, m := range l.Marks {
		if m.To >= f.from && m.From <= f.to {
			f.Marks = append(f.Marks, f.shapeOf(m, top+h-5, 5))
		}
	}
	f.y += h + 3
	return top
}

// addCompactRow adds a row whose spans are drawn as one path per class,
// with the lane's Title as the only tooltip.
func (f *figure) addCompactRow(l lane, h float64, class string) {
	top := f.y
	f.Rows = append(f.Rows, row{Y: top, H: h, Name: l.Name, Class: class})
	var order []string
	ds := map[string]*strings.Builder{}
	for _, s := range l.Spans {
		if s.To < f.from || s.From > f.to {
			continue
		}
		b, ok := ds[s.Class]
		if !ok {
			b = &strings.Builder{}
			ds[s.Class] = b
			order = append(order, s.Class)
		}
		x0 := f.x(s.From)
		w := max(f.x(s.To)-x0, 1)
		fmt.Fprintf(b, "M%s %sh%sv%sh-%sz", coord(x0), coord(top), coord(w), coord(h), coord(w))
	}
	for _, c := range order {
		f.Paths = append(f.Paths, path{D: ds[c].String(), Class: c, Title: l.Title})
	}
	f.y += h + 3
}

func (f *figure) addShape(s span, top, h float64) {
	if s.To < f.from || s.From > f.to {
		return
	}
	f.Shapes = append(f.Shapes, f.shapeOf(s, top, h))
}

// shapeOf places s at [top, top+h]: at least one pixel wide, with its
// label only if it fits.
func (f *figure) shapeOf(s span, top, h float64) shape {
	x0, x1 := f.x(s.From), f.x(s.To)
	w := max(x1-x0, 1)
	sh := shape{X: x0, Y: top, W: w, H: h, Class: s.Class, Title: s.Title}
	switch {
	case s.Label == "" || h < 10:
	case float64(len(s.Label))*f.labelPxChar+6 <= w:
		sh.Label, sh.LabelX = s.Label, x0+3
	case s.Force:
		sh.Label, sh.LabelX, sh.Outside = s.Label, x0+w+3, true
	}
	return sh
}

// band shades [from, to] behind every row.
func (f *figure) band(s span) {
	if s.To < f.from || s.From > f.to {
		return
	}
	f.Bands = append(f.Bands, shape{X: f.x(s.From), W: max(f.x(s.To)-f.x(s.From), 1), Class: s.Class, Title: s.Title})
}

// line marks t across every row, captioned.
func (f *figure) line(t sim.Time, class, label, title string) {
	if t < f.from || t > f.to {
		return
	}
	x := f.x(t)
	anchor := "start"
	if x > f.Left+f.PlotW*0.7 {
		anchor = "end"
	}
	f.Lines = append(f.Lines, vline{X: x, Class: class, Label: label, Title: title, Anchor: anchor})
}

// gap adds vertical space between groups of rows.
func (f *figure) gap(h float64) { f.y += h }

// finish lays out the axis under the rows and sizes the figure.
func (f *figure) finish() *figure {
	f.AxisY = f.y + 2
	f.H = f.AxisY + 18
	for i := range f.Bands {
		f.Bands[i].Y, f.Bands[i].H = 0, f.AxisY
	}
	for i := range f.Lines {
		f.Lines[i].Y1, f.Lines[i].Y2 = 12, f.AxisY
	}
	step := tickStep(f.to - f.from)
	first := (f.from + step - 1) / step * step
	for t := first; t <= f.to; t += step {
		f.Ticks = append(f.Ticks, tick{X: f.x(t), Label: tickLabel(t, step)})
	}
	return f
}

// tickStep is a round step that puts at most about 12 ticks on span.
func tickStep(span sim.Time) sim.Time {
	for _, d := range []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
		10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
		200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second,
		10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
		10 * time.Minute, 30 * time.Minute, time.Hour} {
		if span/sim.Time(d) <= 12 {
			return sim.Time(d)
		}
	}
	return sim.Time(time.Hour)
}

func tickLabel(t, step sim.Time) string {
	if step < sim.Time(time.Second) {
		return time.Duration(t).Round(time.Millisecond).String()
	}
	return time.Duration(t).Round(time.Second).String()
}
