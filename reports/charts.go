package reports

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed4fee1fef/raftsim/scenarios/runner"
	"github.com/seed4fee1fef/raftsim/sim"
)

// chart is one small chart of a figure over the run: bars or lines per
// time bucket, with a y axis from zero to a round maximum.
type chart struct {
	Title, Caption string
	W, H           float64
	Left, Top      float64
	PlotW, PlotH   float64
	Bars           []shape
	Lines          []polyline
	YTicks         []ytick
	XTicks         []tick
	Marks          []vline
	Legend         []string // class:name pairs, for lines
	Empty          string   // said instead of a chart with no data
}

type polyline struct {
	Points string
	Class  string
}

type ytick struct {
	Y     float64
	Label string
}

const (
	chartW = 580.0
	chartH = 150.0
	// maxBuckets bounds the points of a chart, so its size does not grow
	// with the run.
	maxBuckets = 120
)

// bucketWidth is a round width that cuts [0, end] into at most maxBuckets.
func bucketWidth(end sim.Time) sim.Time {
	for _, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond,
		500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute} {
		if end/sim.Time(d) < maxBuckets {
			return sim.Time(d)
		}
	}
	return max(end/maxBuckets+1, 1)
}

func newChart(title, caption string, end sim.Time) *chart {
	return &chart{Title: title, Caption: caption, W: chartW, H: chartH, Left: 48, Top: 10,
		PlotW: chartW - 48 - 26, PlotH: chartH - 10 - 24}
}

func (c *chart) x(t, end sim.Time) float64 {
	return c.Left + c.PlotW*float64(min(max(t, 0), end))/float64(max(end, 1))
}

func (c *chart) y(v, top float64) float64 {
	if top <= 0 {
		return c.Top + c.PlotH
	}
	return c.Top + c.PlotH*(1-min(v, top)/top)
}

// axes adds y ticks for [0, top] and x ticks for [0, end], and the heal.
func (c *chart) axes(top float64, unit string, end, heal sim.Time) {
	for _, v := range []float64{0, top / 2, top} {
		c.YTicks = append(c.YTicks, ytick{Y: c.y(v, top), Label: number(v) + unit})
	}
	step := tickStep(end)
	if end/step > 6 {
		step *= 2
	}
	for t := sim.Time(0); t <= end; t += step {
		c.XTicks = append(c.XTicks, tick{X: c.x(t, end), Label: tickLabel(t, step)})
	}
	if heal > 0 && heal < end {
		c.Marks = append(c.Marks, vline{X: c.x(heal, end), Y1: c.Top, Y2: c.Top + c.PlotH, Class: "heal",
			Label: "heal", Title: "every fault healed at " + secs(heal), Anchor: "start"})
	}
}

// roundUp is the smallest 1, 2 or 5 times a power of ten at or above v.
func roundUp(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func number(v float64) string {
	switch {
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// charts are the run's health over time: throughput, latency,
// leaderless time and the commit index, in buckets of one width.
func charts(res *runner.Result, end sim.Time) []*chart {
	b := bucketWidth(end)
	n := int(end/b) + 1
	ops := res.Cluster.History.Operations()
	done := make([]float64, n)
	lat := make([][]time.Duration, n)
	for _, op := range ops {
		if op.Unknown {
			continue
		}
		i := min(int(sim.Time(op.Return)/b), n-1)
		done[i]++
		lat[i] = append(lat[i], time.Duration(op.Return-op.Call))
	}
	heal := res.HealedAt
	bucketName := time.Duration(b).String()

	tp := newChart("Throughput", "completed client operations per second, in "+bucketName+" buckets", end)
	perSec := make([]float64, n)
	for i := range done {
		perSec[i] = done[i] / time.Duration(b).Seconds()
	}
	top := roundUp(slices.Max(perSec))
	tp.axes(top, "/s", end, heal)
	for i, v := range perSec {
		if v > 0 {
			t := sim.Time(i) * b
			tp.Bars = append(tp.Bars, shape{X: tp.x(t, end), Y: tp.y(v, top), W: max(tp.x(t+b, end)-tp.x(t, end)-0.5, 0.5),
				H: tp.Top + tp.PlotH - tp.y(v, top), Class: "bar-ops",
				Title: number(v) + " ops/s from " + secs(t) + " to " + secs(t+b)})
		}
	}

	lc := newChart("Client latency", "p50 and p99 of operations completed in each "+bucketName+", call to return", end)
	p50, p99 := make([]float64, n), make([]float64, n)
	var maxLat float64
	for i, l := range lat {
		if len(l) == 0 {
			p50[i], p99[i] = -1, -1
			continue
		}
		slices.Sort(l)
		p50[i] = float64(l[len(l)*50/100]) / 1e6
		p99[i] = float64(l[min(len(l)-1, len(l)*99/100)]) / 1e6
		maxLat = max(maxLat, p99[i])
	}
	top = roundUp(maxLat)
	lc.axes(top, "ms", end, heal)
	lc.Lines = append(lc.Lines, lc.series(p50, b, end, top, "line-p50")...)
	lc.Lines = append(lc.Lines, lc.series(p99, b, end, top, "line-p99")...)
	lc.Legend = []string{"line-p50:p50", "line-p99:p99"}
	if maxLat == 0 {
		lc.Empty = "no operation completed"
	}

	ll := newChart("Leaderless time", "share of each "+bucketName+" with no leader (from the 50 ms samples)", end)
	ll.axes(100, "%", end, heal)
	noLead, count := make([]float64, n), make([]float64, n)
	for _, s := range res.Samples {
		i := min(int(s.At/b), n-1)
		count[i]++
		if id, _ := s.Leader(); id == 0 {
			noLead[i]++
		}
	}
	for i := range noLead {
		if count[i] == 0 || noLead[i] == 0 {
			continue
		}
		v := 100 * noLead[i] / count[i]
		t := sim.Time(i) * b
		ll.Bars = append(ll.Bars, shape{X: ll.x(t, end), Y: ll.y(v, 100), W: max(ll.x(t+b, end)-ll.x(t, end)-0.5, 0.5),
			H: ll.Top + ll.PlotH - ll.y(v, 100), Class: "bar-leaderless",
			Title: number(v) + "% without a leader from " + secs(t) + " to " + secs(t+b)})
	}

	ci := newChart("Commit index", "highest commit index of any server that is up", end)
	commit := make([]float64, n)
	for i := range commit {
		commit[i] = -1
	}
	var maxCommit float64
	for _, s := range res.Samples {
		i := min(int(s.At/b), n-1)
		v := float64(s.MaxCommit())
		commit[i] = max(commit[i], v)
		maxCommit = max(maxCommit, v)
	}
	top = roundUp(maxCommit)
	ci.axes(top, "", end, heal)
	ci.Lines = ci.series(commit, b, end, top, "line-commit")
	return []*chart{tp, lc, ll, ci}
}

// series draws vs (one per bucket, negative: no data) as polylines,
// broken where a bucket has no data.
func (c *chart) series(vs []float64, b, end sim.Time, top float64, class string) []polyline {
	var out []polyline
	var pts []string
	flush := func() {
		if len(pts) > 0 {
			out = append(out, polyline{Points: strings.Join(pts, " "), Class: class})
			pts = nil
		}
	}
	for i, v := range vs {
		if v < 0 {
			flush()
			continue
		}
		mid := sim.Time(i)*b + b/2
		pts = append(pts, coord(c.x(mid, end))+","+coord(c.y(v, top)))
	}
	flush()
	return out
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
